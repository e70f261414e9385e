"""Opening films: drag and drop, folders with next / previous, recent files, export of a result."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from vald_desktop.core.base.settings import RunSettings

pytestmark = pytest.mark.gui


def test_dropping_a_file_on_the_window_opens_it(open_and_wait, make_window, phantom_png):
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(phantom_png))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(w, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)  # fmt: skip
    assert open_and_wait(w, lambda: QApplication.sendEvent(w, drop))
    assert w.film is not None and w.film.source == phantom_png.name
    assert phantom_png.name in w.windowTitle()


def test_folder_opens_first_film_and_page_keys_step_through(
    open_and_wait, make_window, phantom_png, tmp_path, qtbot
):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "0-notes.txt").write_text("not a film")
    (folder / "a.png").write_bytes(b"broken")
    shutil.copy(phantom_png, folder / "b.png")
    Image.open(phantom_png).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "c.png")
    w = make_window()
    w.activateWindow()  # window shortcuts only fire in the active window
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    assert open_and_wait(w, folder)
    assert w.film.source == "b.png", "the unreadable a.png should be skipped"
    assert open_and_wait(w, lambda: qtbot.keyClick(w.panels.original, Qt.Key.Key_PageDown))
    assert w.film.source == "c.png"
    qtbot.keyClick(w.panels.original, Qt.Key.Key_PageDown)  # already the last film: nothing to open
    assert not w.film_loader.busy and w.film.source == "c.png"
    assert open_and_wait(w, lambda: qtbot.keyClick(w.panels.original, Qt.Key.Key_PageUp))
    assert w.film.source == "b.png"


def test_export_writes_pngs_with_record_and_refuses_without_a_result(open_and_wait, make_window, slow_engine, phantom_png,
                                                                      tmp_path, qtbot):  # fmt: skip
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, phantom_png)
    w.export_dialog("png", "")
    assert "Generate" in w.last_error
    slow_engine.steps = 2
    w.controls.set_settings(RunSettings(steps=10, mask_mode="none"))
    with qtbot.waitSignal(w.controller.finished, timeout=10000):
        w.generate()
    # A PNG film does not say whether text is burned into it: the user confirmed (the menu asks, see test_gui_deid).
    files = w.export_to("png", tmp_path / "case-overlay.png", accept_burned_in_risk=True)
    names = sorted(p.name for p in files)
    assert "case-overlay.png" in names and "case-composite.png" in names
    assert all(p.exists() for p in files)
    assert Image.open(tmp_path / "case-overlay.png").size == tuple(reversed(w.film.shape))
    assert w.export_to("dicom", tmp_path / "x.dcm") == []
    assert "DICOM" in w.last_error, "a PNG film cannot become a DICOM SC; the user must be told why"
