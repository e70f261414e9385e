"""A real 2k chest film (RG1, 1955 x 1841) opens and shows its result without the window freezing."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.base.settings import RunSettings

pytestmark = pytest.mark.gui


def test_a_2k_film_opens_in_the_background_and_the_old_film_stays_until_it_arrives(
    open_and_wait, make_window, phantom_png, rg1_path, qtbot
):
    w = make_window()
    assert open_and_wait(w, phantom_png)
    with qtbot.waitSignal(w.film_loader.loaded, timeout=60000):
        assert w.open_path(rg1_path)
        # open_path returned before decoding: the window says what it is doing and still shows the old film
        assert w.film_loader.busy and w.open_progress.isVisible()
        assert f"Opening {rg1_path.name}" in w.statusBar().currentMessage()
        assert w.film.source == phantom_png.name
    assert w.film.source == rg1_path.name and w.film.shape == (1955, 1841)
    assert not w.open_progress.isVisible() and "Opened" in w.statusBar().currentMessage()
    assert w.panels.original.has_image() and w.panels.original.image_array.shape == (1955, 1841)
    assert w.recent[0].endswith(rg1_path.name)


def test_a_slow_film_opened_first_never_replaces_the_film_opened_after_it(
    open_and_wait, make_window, phantom_png, pydicom_data_dir, qtbot
):
    slow = pydicom_data_dir / "RG1_J2KR.dcm"  # JPEG 2000: the slowest decode of the chest film
    w = make_window()
    w.open_path(slow)
    assert open_and_wait(w, phantom_png)
    assert w.film_loader.wait(60000)  # the JPEG 2000 job has finished too...
    qtbot.wait(50)  # ...and its reply has had the chance to arrive
    assert w.film.source == phantom_png.name, "a stale film replaced the one opened last"
    assert w.last_error is None


def test_a_2k_result_is_drawn_off_the_gui_thread_and_follows_the_overlay_controls(
    open_and_wait, make_window, slow_engine, rg1_path, qtbot
):
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, rg1_path, timeout_ms=60000)
    slow_engine.steps, slow_engine.step_s = 2, 0.01
    w.controls.set_settings(RunSettings(steps=10, mask_mode="none"))
    with qtbot.waitSignal(w.view.drawn, timeout=60000):
        w.generate()
    r = w.result
    shown = w.panels.counterfactual.image_array
    assert shown.shape == (1955, 1841)
    assert np.abs(shown - w.view._relative(r.counterfactual)).max() < 1e-6
    assert w.panels.overlay.has_layer() and w.panels.overlay.layer_owner is r
    assert w.history.list.count() == 1
    # a new threshold: computed on the pool thread; the old layer of the same run stays meanwhile
    before = w.panels.overlay._layer.pixmap().toImage()
    w.overlay_controls.set_values({"mode": "signed", "opacity": 0.6, "threshold": 0.5})
    w.view.set_overlay(w.overlay_controls.values())
    assert w.view.drawing and w.panels.overlay.has_layer()
    qtbot.waitUntil(lambda: not w.view.drawing, timeout=30000)
    assert w.panels.overlay._layer.pixmap().toImage() != before, "the threshold did not change the overlay"
