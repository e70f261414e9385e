"""The event loop keeps running while a film opens and while a run is in progress.

These tests assert behaviour, not speed: the heavy work happens elsewhere (a worker thread, the helper process) and
the window keeps handling events meanwhile. A stall only fails them when it takes most of the work's time, which
is what work on the GUI thread does; a busy machine only slows both. The numbers themselves come from
`python -m vald_desktop.gui.stall` and `vald bench`.
"""

from __future__ import annotations

import pytest

from vald_desktop.core.base.settings import RunSettings

pytestmark = pytest.mark.gui

FLOOR_MS = 500.0  # below this a stall says nothing on a loaded 2-core machine


def _never_froze(stall_ms: float, phase_s: float) -> bool:
    """No stall took most of the phase (work on the GUI thread would freeze it for the whole of it)."""
    return stall_ms < max(FLOOR_MS, 0.5 * phase_s * 1000.0)


def test_gui_thread_never_stalls_long_during_a_run(qapp, tiny_model_dir, phantom_png):
    from vald_desktop.gui.stall import measure_stall

    report = measure_stall(phantom_png, tiny_model_dir, settings=RunSettings(steps=20, mask_mode="none"))
    assert report["outcome"] == "finished", report
    assert report["progress_events"] >= 10
    assert report["ticks"] > 20, "the timer hardly ticked: the event loop was blocked"
    busy_s = report["run_s"] + (report["result_draw_s"] or 0.0)
    assert _never_froze(report["worst_stall_ms"], busy_s), f"the window froze during a run: {report}"


def test_stall_meter_sees_a_blocked_event_loop(qapp, phantom_png):
    """The meter must be able to fail: an engine whose progress callback blocks the GUI thread is caught."""
    import time

    from PySide6.QtCore import QObject, Qt, Signal

    from vald_desktop.gui.stall import measure_stall

    class Blocker(QObject):
        poke = Signal()

        def block(self) -> None:
            time.sleep(0.3)  # runs on the GUI thread

    blocker = Blocker()
    blocker.poke.connect(blocker.block, Qt.ConnectionType.QueuedConnection)

    class BlockingEngine:
        def load(self):
            return type("Info", (), {"name": "blocking", "device": "cpu", "dtype": "float32"})()

        def run(self, image, settings, *, mask=None, progress=None, cancel=None, **_):
            from vald_desktop.core.engine.sampler import RunResult

            blocker.poke.emit()
            time.sleep(0.6)
            return RunResult(
                settings=settings, original=image, counterfactual=image, counterfactuals=[image],
                map=image * 0, map_std=None, mask=None,
            )  # fmt: skip

    report = measure_stall(
        phantom_png, engine=BlockingEngine(), settings=RunSettings(steps=5, mask_mode="none")
    )
    assert report["outcome"] == "finished"
    assert report["worst_stall_ms"] >= 250


def test_opening_a_2k_jpeg2000_film_never_freezes_the_window(qapp, pydicom_data_dir, monkeypatch):
    """RG1_J2KR.dcm takes about a second to decode; decoded on the GUI thread it froze the window that long.
    Nor does finding and drawing its lung outline."""
    from vald_desktop.gui import film_decoding, helper_process, lung_finding
    from vald_desktop.gui.stall import measure_stall

    in_helper: list[str] = []

    def spy(fn, *args):  # type: ignore[no-untyped-def]
        in_helper.append(fn.__name__)
        return helper_process.run_in_helper(fn, *args)

    monkeypatch.setattr(film_decoding, "run_in_helper", spy)
    monkeypatch.setattr(lung_finding, "run_in_helper", spy)
    report = measure_stall(pydicom_data_dir / "RG1_J2KR.dcm", open_only=True)
    assert report["film_shape"] == [1955, 1841]
    # Decoding and finding the lungs hold the interpreter lock for long stretches (a JPEG 2000 codec; numpy and
    # scipy): both happen in the helper process, which has a lock of its own.
    assert "decode" in in_helper, "the film was not decoded in the helper process"
    assert {"find_remembered", "_find"} & set(in_helper), "the lungs were not found in the helper process"
    # Meanwhile the window kept handling events.
    assert report["open_ticks"] >= 3, f"the event loop hardly ran while the film opened: {report}"
    assert _never_froze(report["open_stall_ms"], report["open_s"]), (
        f"the window froze opening a film: {report}"
    )
    assert "outline_stall_ms" in report, f"the lung outline never arrived: {report}"
    assert _never_froze(report["outline_stall_ms"], report["outline_s"]), (
        f"the window froze outlining: {report}"
    )


def test_automatic_mask_from_the_helper_process_is_the_one_found_here(qapp, phantom_png):
    """The lungs are found in the film helper process (its own interpreter lock); same mask, bit for bit."""
    import numpy as np

    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks.edit import outline
    from vald_desktop.core.masks.resolve import resolve_mask
    from vald_desktop.gui.film_decoding import decode_elsewhere
    from vald_desktop.gui.lung_finding import find_lungs, outline_thickness

    film = load_film(phantom_png)
    here = resolve_mask(film)
    decoded = decode_elsewhere(phantom_png)  # the helper now holds this film: only its checksum travels
    assert not isinstance(decoded, str)
    for sent in (decoded[0], film):
        found = find_lungs(sent, None)
        assert found.mask.source == here.source
        for a, b in (
            (found.mask.mask, here.mask),
            (found.mask.left, here.left),
            (found.mask.right, here.right),
        ):
            assert a.dtype == bool and np.array_equal(a, b)
        assert np.array_equal(found.edge, outline(here.mask, outline_thickness(here.shape)))


def test_prepared_outline_layer_shows_what_the_editor_draws(qapp):
    """The outline made off the GUI thread has the pixels the editor's own rendering has, once shown."""
    import numpy as np
    from PySide6.QtGui import QImage

    from vald_desktop.core.masks.edit import outline
    from vald_desktop.gui.mask_editor import OUTLINE_COLOR, outline_layer
    from vald_desktop.gui.qimage import outline_rgba, pixmap_ready_qimage

    mask = np.zeros((90, 120), bool)
    mask[10:80, 8:50] = True
    mask[15:85, 70:115] = True
    edge = outline(mask, 2)
    prepared = outline_layer(edge).image.convertToFormat(QImage.Format.Format_RGBA8888)
    drawn = pixmap_ready_qimage(outline_rgba(edge, OUTLINE_COLOR, mask, 0)).convertToFormat(
        QImage.Format.Format_RGBA8888
    )
    assert prepared == drawn
    assert prepared.pixelColor(8, 40).getRgb() == OUTLINE_COLOR
    assert prepared.pixelColor(30, 40).alpha() == 0


def test_a_prepared_outline_is_dropped_once_the_mask_is_edited(qtbot):
    import numpy as np

    from vald_desktop.core.masks.edit import outline
    from vald_desktop.gui.mask_editor import MaskEditor, outline_layer

    editor = MaskEditor()
    qtbot.addWidget(editor)
    images, arrays = [], []
    editor.layerImageChanged.connect(images.append)
    editor.layerChanged.connect(arrays.append)
    mask = np.zeros((60, 80), bool)
    mask[10:50, 10:70] = True
    editor.set_automatic(mask, "atlas", outline_layer(outline(mask, 1)))
    assert len(images) == 1 and not arrays
    editor.brush.setChecked(True)  # painting shows the fill: drawn here
    editor.stroke_start(5, 5)
    editor.stroke_end()
    editor.brush.setChecked(False)
    assert arrays and arrays[-1] is not None and len(images) == 1
    assert arrays[-1][0, 5, 3] > 0  # the stroke reached the film's top edge: outlined there now
