"""Lung-mask editing in the window: outline, brush / eraser strokes with the mouse, undo, reset, PNG save / load."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def _send(vp, kind, pos, button, buttons):
    QApplication.sendEvent(
        vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    )


def _stroke(panel, film_points):
    """Drag the left button through film pixel coordinates on ``panel``."""
    vp = panel.viewport()
    pts = [QPointF(panel.mapFromScene(QPointF(x, y))) for x, y in film_points]
    left = Qt.MouseButton.LeftButton
    _send(vp, QEvent.Type.MouseButtonPress, pts[0], left, left)
    for p in pts[1:]:
        _send(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    _send(vp, QEvent.Type.MouseButtonRelease, pts[-1], left, Qt.MouseButton.NoButton)


@pytest.fixture
def window(open_and_wait, make_window, phantom_png, qtbot):
    w = make_window()
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    qtbot.waitExposed(w)
    auto = np.zeros(w.film.shape, bool)
    auto[60:200, 30:110] = True
    auto[60:200, 150:230] = True
    w.mask_editor.set_automatic(auto, "auto")
    return w


def test_outline_shows_and_hides(window):
    assert window.panels.original.has_layer()
    window.actions_by_name["toggle_outline"].trigger()
    assert not window.panels.original.has_layer()
    window.actions_by_name["toggle_outline"].trigger()
    assert window.panels.original.has_layer()


def test_brush_and_eraser_strokes_with_the_mouse_then_undo(window, qtbot):
    ed = window.mask_editor
    auto = ed.mask().copy()
    assert not auto[130, 130]
    window.actions_by_name["brush"].trigger()
    assert window.panels.original.paint_mode
    ed.size.setValue(6)
    _stroke(window.panels.overlay, [(125, 100), (130, 130), (135, 160)])  # any panel paints on the film grid
    assert ed.mask()[130, 130], "the brush stroke did not paint the mask"
    assert window.controls.settings().mask_mode == "edited"
    window.actions_by_name["eraser"].trigger()
    assert not window.mask_editor.brush.isChecked()
    _stroke(window.panels.original, [(70, 100), (70, 101)])
    assert not ed.mask()[100, 70], "the eraser did not erase"
    window.actions_by_name["undo_mask"].trigger()
    assert ed.mask()[100, 70] and ed.mask()[130, 130]
    window.actions_by_name["undo_mask"].trigger()
    assert np.array_equal(ed.mask(), auto)
    window.actions_by_name["eraser"].trigger()
    assert not window.panels.original.paint_mode, "left-drag must pan again when no tool is on"


def test_reset_returns_to_the_automatic_mask(window):
    ed = window.mask_editor
    auto = ed.mask().copy()
    ed.brush.setChecked(True)
    _stroke(window.panels.original, [(130, 20), (130, 240)])
    assert not np.array_equal(ed.mask(), auto)
    ed.reset_button.click()
    assert np.array_equal(ed.mask(), auto)
    assert window.controls.settings().mask_mode == "auto"


def test_edited_mask_saves_as_png_and_loads_back(window, tmp_path):
    ed = window.mask_editor
    ed.brush.setChecked(True)
    ed.size.setValue(8)
    _stroke(window.panels.original, [(130, 120), (130, 140)])
    edited = ed.mask().copy()
    path = ed.save_to(tmp_path / "lungs.png")
    saved = np.asarray(Image.open(path))
    assert saved.shape[:2] == window.film.shape and set(np.unique(saved)) <= {0, 255}
    assert np.array_equal(saved > 127, edited)
    ed.reset()
    ed.load_from(path)
    assert np.array_equal(ed.mask(), edited)
    assert window.controls.settings().mask_mode == "file"
    lung = ed.lung_mask()
    assert np.array_equal(lung.left | lung.right, edited)
    assert lung.left[:, 200].any() and not lung.left[:, 60].any(), "patient left must be the image right"


def test_edited_mode_without_a_mask_explains_itself(open_and_wait, make_window, phantom_png, slow_engine):
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, phantom_png)
    w.mask_editor.set_automatic(None)
    w.controls.set_mask_mode("edited")
    w.generate()
    assert "no lung mask" in w.last_error.lower() and not w.controller.busy


def test_a_segmentation_loaded_from_the_toolbar_must_be_of_the_open_film(
    make_window, open_and_wait, rg1_path, tmp_path, monkeypatch
):
    """The mask toolbar passes the open film's SOP Instance UID, so a SEG of another image is refused."""
    import pydicom

    from vald_desktop.core.masks import resolve
    from vald_desktop.gui import mask_editor as editor_module

    w = make_window()
    assert open_and_wait(w, rg1_path)
    uid = str(pydicom.dcmread(rg1_path, stop_before_pixels=True).SOPInstanceUID)
    assert w.mask_editor.film_uid == uid
    asked = []

    def fake_load(path, shape, source="file", film_uid=None):  # type: ignore[no-untyped-def]
        asked.append(film_uid)
        raise resolve.MaskError("The Segmentation was made on another image, not on this film.")

    monkeypatch.setattr(resolve, "load_mask", fake_load)
    monkeypatch.setattr(
        editor_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "seg.dcm"), "")
    )
    said = []
    w.mask_editor.message.connect(said.append)
    w.mask_editor.set_automatic(np.ones(w.film.shape, bool))  # a mask found later keeps the film's UID
    w.mask_editor._load_dialog()
    assert asked == [uid] and said and "another image" in said[-1]


def test_a_drawn_mask_on_a_film_shown_mirrored_names_the_image_left_lung_the_patients_left(qtbot):
    """Patient Orientation R\\F: rows run toward the patient's right, so the lung on the image left is the left."""
    import dataclasses

    import pydicom

    from vald_desktop.core.films.film import film_from_array
    from vald_desktop.gui.mask_editor import MaskEditor

    ed = MaskEditor()
    qtbot.addWidget(ed)
    ds = pydicom.Dataset()
    ds.PatientOrientation = ["R", "F"]
    film = dataclasses.replace(film_from_array(np.zeros((60, 80), np.float32), "m.dcm"), dataset=ds)
    ed.set_automatic(None, film=film)
    lungs = np.zeros((60, 80), bool)
    lungs[10:50, 8:30] = True
    lungs[10:50, 50:72] = True
    ed.set_automatic(lungs)
    got = ed.lung_mask()
    assert got is not None and got.left[:, :40].any() and not got.left[:, 40:].any()
    plain = dataclasses.replace(film, dataset=None)
    ed.set_automatic(None, film=plain)
    ed.set_automatic(lungs)
    got = ed.lung_mask()
    assert got is not None and got.left[:, 40:].any() and not got.left[:, :40].any()
