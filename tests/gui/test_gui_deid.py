"""De-identified exports from the menu: burned-in text is asked about (once per film) or refused, before any file."""

from __future__ import annotations

import copy

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.gui import burned_in_prompt, files_controller

pytestmark = pytest.mark.gui


def _generate(qtbot, w, slow_engine):  # type: ignore[no-untyped-def]
    slow_engine.steps = 2
    w.controls.set_settings(RunSettings(steps=10, mask_mode="none"))
    with qtbot.waitSignal(w.controller.finished, timeout=10000):
        w.generate()


def _spy_dialogs(monkeypatch, tmp_path, answers):  # type: ignore[no-untyped-def]
    asked: list[str] = []
    named: list[str] = []

    def ask(_parent) -> bool:  # type: ignore[no-untyped-def]
        asked.append("burned-in")
        return answers.pop(0)

    def save(_parent, _title, suggested, _pattern):  # type: ignore[no-untyped-def]
        named.append(suggested)
        return str(tmp_path / suggested), ""

    monkeypatch.setattr(burned_in_prompt, "ask_burned_in_risk", ask)
    monkeypatch.setattr(files_controller.QFileDialog, "getSaveFileName", save)
    return asked, named


def test_a_film_that_does_not_say_is_exported_only_after_the_user_confirms_once(
    open_and_wait, make_window, slow_engine, phantom_png, tmp_path, qtbot, monkeypatch
):  # type: ignore[no-untyped-def]
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, phantom_png)
    _generate(qtbot, w, slow_engine)
    asked, named = _spy_dialogs(monkeypatch, tmp_path, [False, True])
    w.export_dialog("png", "")
    assert asked == ["burned-in"] and named == [], "cancelled: no file name asked, nothing written"
    assert not list(tmp_path.glob("*.png"))
    w.export_dialog("png", "")
    assert named == ["vald-overlay.png"] and (tmp_path / "vald-overlay.png").is_file()
    w.export_dialog("pdf", "")
    assert asked == ["burned-in", "burned-in"], "the answer holds for this film's later exports"
    assert (tmp_path / "vald-report.pdf").is_file()


def test_a_film_declaring_burned_in_text_is_refused_de_identified_but_not_into_its_study(
    open_and_wait, make_window, slow_engine, rg1_path, tmp_path, qtbot, monkeypatch
):  # type: ignore[no-untyped-def]
    src = pydicom.dcmread(rg1_path)
    ds = copy.deepcopy(src)
    small = src.pixel_array[::24, ::24].astype(np.uint16)
    ds.Rows, ds.Columns = small.shape
    ds.PixelData = small.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.BurnedInAnnotation = "YES"
    film = tmp_path / "films" / "burned.dcm"
    film.parent.mkdir()
    ds.save_as(film, enforce_file_format=True)
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, film)
    _generate(qtbot, w, slow_engine)
    asked, named = _spy_dialogs(monkeypatch, tmp_path, [])
    w.export_dialog("dicom-deid", "")
    assert "burned into its pixels" in w.last_error
    assert asked == [] and named == [] and not list(tmp_path.glob("*.dcm"))
    w.export_dialog("dicom", "")  # into the source study, identified: its pixels may show what they show
    assert named == ["burned.dcm"]
    assert pydicom.dcmread(tmp_path / "burned.dcm").BurnedInAnnotation == "YES"


def test_the_question_says_what_to_look_for_and_defaults_to_cancel(make_window, qtbot):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    w = make_window(engine=object())
    seen: list[str] = []

    def answer(button: str) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text() + " " + box.informativeText())
        if button == "default":
            box.defaultButton().click()
        else:
            next(b for b in box.buttons() if "no identifying text" in b.text()).click()

    QTimer.singleShot(0, lambda: answer("default"))
    assert burned_in_prompt.ask_burned_in_risk(w) is False
    QTimer.singleShot(0, lambda: answer("confirm"))
    assert burned_in_prompt.ask_burned_in_risk(w) is True
    assert "burned into its pixels" in seen[0] and "name, ID or date" in seen[0]
