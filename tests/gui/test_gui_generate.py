"""Generate in the real window: signals in order, previews, history, cancel, errors, restore."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vald_desktop.core.base.settings import RunSettings

pytestmark = pytest.mark.gui

FAST = RunSettings(steps=10, strength=0.6, mask_mode="none", preview_every=2)


def _record(controller):
    events: list = []
    controller.started.connect(lambda: events.append(("started",)))
    controller.progress.connect(lambda s, t, eta: events.append(("progress", s, t, eta)))
    controller.preview.connect(lambda img: events.append(("preview", np.shape(img))))
    controller.finished.connect(lambda r: events.append(("finished",)))
    controller.failed.connect(lambda s: events.append(("failed", s)))
    controller.cancelled.connect(lambda: events.append(("cancelled",)))
    return events


def _generate(qtbot, w, settings=FAST, timeout=60000):
    w.controls.set_settings(settings)
    with qtbot.waitSignals([w.controller.started, w.controller.finished], order="strict", timeout=timeout):
        w.generate()


def test_generate_reports_started_progress_previews_finished_in_order(
    open_and_wait, make_window, tiny_model_dir, phantom_png, qtbot
):
    w = make_window(model_dir=tiny_model_dir)
    assert open_and_wait(w, phantom_png)
    events = _record(w.controller)
    _generate(qtbot, w)
    names = [e[0] for e in events]
    assert names[0] == "started" and names[-1] == "finished" and "failed" not in names
    steps = [e for e in events if e[0] == "progress"]
    total = steps[0][2]
    assert [e[1] for e in steps] == list(range(1, total + 1)), "progress steps skipped or out of order"
    assert all(e[2] == total for e in steps) and steps[-1][3] == pytest.approx(0.0, abs=1e-6)
    assert any(e[0] == "preview" for e in events), "no live preview during the run"
    assert all(e[1] == tuple(w.film.shape) for e in events if e[0] == "preview")
    # the window shows the result and remembers it
    assert w.panels.counterfactual.has_image() and w.panels.overlay.has_layer()
    assert w.history.list.count() == 1
    assert w.controls.progress.format().startswith("Done") and w.controls.generate.isEnabled()
    assert all(a.isEnabled() for a in w.export_actions)


def test_restoring_a_history_entry_brings_back_its_settings_and_images(
    open_and_wait, make_window, tiny_model_dir, phantom_png, qtbot
):
    w = make_window(model_dir=tiny_model_dir)
    assert open_and_wait(w, phantom_png)
    _generate(qtbot, w, FAST.replace(seed=1))
    first = w.result
    _generate(qtbot, w, FAST.replace(seed=2, prompt="cardiomegaly"))
    assert w.history.list.count() == 2 and w.result is not first
    assert not np.array_equal(first.counterfactual, w.result.counterfactual)
    entry = w.history.entry(1)
    w.history.restoreRequested.emit(entry)
    assert w.result is first
    assert w.controls.settings().seed == 1 and w.controls.settings().prompt == FAST.prompt
    shown = w.panels.counterfactual.image_array
    assert np.abs(shown - w.view._relative(first.counterfactual)).max() < 1e-6
    w.history.compareRequested.emit(w.history.entry(1), w.history.entry(2))
    assert "Run #1" in w.panels.titles[1].text() and "Run #2" in w.panels.titles[2].text()
    assert w.panels.counterfactual.has_layer()


def test_cancel_stops_the_run_within_a_step_and_the_app_stays_usable(
    open_and_wait, make_window, slow_engine, phantom_png, qtbot
):
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, phantom_png)
    w.controls.set_settings(FAST)
    steps: list[int] = []
    w.controller.progress.connect(lambda s, t, e: steps.append(s))
    with qtbot.waitSignal(w.controller.progress, timeout=10000, check_params_cb=lambda s, t, e: s >= 3):
        w.generate()
    assert w.controls.cancel.isEnabled() and not w.controls.generate.isEnabled()
    with qtbot.waitSignal(w.controller.cancelled, timeout=2000):
        qtbot.mouseClick(w.controls.cancel, Qt.MouseButton.LeftButton)
    assert max(steps) <= 5, f"the run went on for {max(steps)} steps after Cancel"
    assert w.controls.progress.format() == "Cancelled" and w.controls.generate.isEnabled()
    assert w.history.list.count() == 0
    slow_engine.steps = 3
    _generate(qtbot, w, timeout=10000)
    assert w.history.list.count() == 1


def test_cancel_interrupts_the_real_pipeline(open_and_wait, make_window, tiny_model_dir, phantom_png, qtbot):
    w = make_window(model_dir=tiny_model_dir)
    assert open_and_wait(w, phantom_png)
    w.controls.set_settings(RunSettings(steps=400, strength=1.0, mask_mode="none", preview_every=0))
    last: list[tuple[int, int]] = []
    w.controller.progress.connect(lambda s, t, e: last.append((s, t)))
    with qtbot.waitSignal(w.controller.progress, timeout=60000, check_params_cb=lambda s, t, e: s >= 2):
        w.generate()
    w.cancel_run()
    qtbot.waitSignal(w.controller.cancelled, timeout=10000).wait()
    step, total = last[-1]
    assert step < total, "the run finished although it was cancelled"


def test_missing_model_shows_one_sentence_and_generate_fails_cleanly(
    open_and_wait, make_window, tmp_path, phantom_png, qtbot
):
    w = make_window(model_dir=tmp_path / "no-such-model")
    with qtbot.waitSignal(w.controller.model_failed, timeout=30000):
        w.start()
    assert "does not exist" in w.last_error and "Traceback" not in w.last_error
    assert "Not available" in w.controls.model_label.text()
    assert open_and_wait(w, phantom_png)
    w.controls.set_settings(FAST)
    with qtbot.waitSignal(w.controller.failed, timeout=30000):
        w.generate()
    assert "does not exist" in w.last_error and len(w.last_error.splitlines()) == 1
    assert w.controls.generate.isEnabled(), "Generate stays disabled after a failed run"


def test_bad_file_shows_a_sentence_and_keeps_the_open_film(open_and_wait, make_window, phantom_png, tmp_path):
    w = make_window()
    assert open_and_wait(w, phantom_png)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    assert not open_and_wait(w, bad)
    assert w.last_error and "Traceback" not in w.last_error and len(w.last_error.splitlines()) == 1
    assert w.film.source == phantom_png.name
    assert not open_and_wait(w, tmp_path / "missing.dcm")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    assert not open_and_wait(w, empty) and "no films" in w.last_error


def test_generate_without_a_film_or_with_invalid_settings_explains_why(
    open_and_wait, make_window, slow_engine, phantom_png
):
    w = make_window(engine=slow_engine)
    w.generate()
    assert "Open a film" in w.last_error
    assert open_and_wait(w, phantom_png)
    w.controls.steps.setValue(1)
    w.controls.strength.setValue(0.5)
    assert not w.controls.generate.isEnabled()
    assert "no denoising step" in w.controls.notice.text()
    w.generate()
    assert "no denoising step" in w.last_error and not w.controller.busy


def test_automatic_lung_mask_is_outlined_and_confines_the_map(
    open_and_wait, make_window, tiny_model_dir, phantom_png, qtbot
):
    w = make_window(model_dir=tiny_model_dir)
    with qtbot.waitSignal(w.controller.mask_ready, timeout=60000):
        assert open_and_wait(w, phantom_png)
    assert w.auto_mask is not None and w.auto_mask.mask.any()
    assert w.panels.original.has_layer(), "the lung outline is not shown"
    _generate(qtbot, w, FAST.replace(mask_mode="auto", confine_to_mask=True))
    m = w.result.map
    assert np.all(m[~w.auto_mask.mask] == 0), "the map leaks outside the lungs"
    ys, xs = np.nonzero(w.result.mask.left)
    text = w.view.describe(int(xs[len(xs) // 2]), int(ys[len(ys) // 2]))
    assert "patient left lung" in text
