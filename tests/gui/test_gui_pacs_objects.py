"""The DICOMweb node in the PACS dialog, and the run's SEG / Parametric Map / SR from the Export menu and to a PACS.

The DICOMweb server is the private Orthanc with its DICOMweb plugin and basic sign-in (tests/orthanc_server.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import WEB_PASSWORD, WEB_USER, orthanc_web_fixture  # noqa: F401 - the ``orthanc_web`` fixture
from pacs_films import make_film
from PIL import Image
from PySide6.QtCore import Qt

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.export.dicomweb import DicomWebNode, load_node
from vald_desktop.gui.exporting import EXPORT_KINDS

pytestmark = [pytest.mark.gui, pytest.mark.slow]
CLASSES = {
    "seg": "1.2.840.10008.5.1.4.1.1.66.4",
    "pmap": "1.2.840.10008.5.1.4.1.1.30",
    "sr": "1.2.840.10008.5.1.4.1.1.88.33",
}


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VALD_PACS_CONFIG", str(tmp_path / "config" / "pacs.json"))
    return tmp_path / "config"


@pytest.mark.orthanc
def test_the_node_dialog_tests_and_saves_a_dicomweb_node(
    make_window, orthanc_web, private_config: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    w = make_window(engine=object())
    dlg = w.open_pacs_dialog()
    dlg.kind.setCurrentIndex(1)
    assert dlg.pages.currentWidget() is dlg.web and not dlg.save_button.isEnabled()  # no URL yet
    qtbot.keyClicks(dlg.web.url, orthanc_web.dicomweb_url)
    dlg.web.sign_in.setCurrentIndex(1)
    qtbot.keyClicks(dlg.web.username, WEB_USER)
    qtbot.keyClicks(dlg.web.password, "wrong")
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused the sign-in" in dlg.result_label.text(), timeout=20000)
    dlg.web.password.clear()
    qtbot.keyClicks(dlg.web.password, WEB_PASSWORD)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dlg.result_label.text().startswith("Connection OK: the DICOMweb server"), timeout=20000
    )
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    saved = load_node()
    assert saved == DicomWebNode(orthanc_web.dicomweb_url, WEB_USER, WEB_PASSWORD)
    assert (private_config / "dicomweb.json").stat().st_mode & 0o777 == 0o600
    assert w.pacs_node == saved
    w2 = make_window(engine=object())  # the next window uses the DICOMweb node again
    assert w2.pacs_node == saved and w2.open_pacs_dialog().kind.currentIndex() == 1


def _run_on_small_dicom(qtbot, w, slow_engine, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    film = make_film("PAT-OBJ", "Objects^Case", "20240701", "ACC-OBJ", "CR", shape=(96, 80))
    path = tmp_path / "film.dcm"
    path.write_bytes(film.data)
    lungs = np.zeros((96, 80), np.uint8)
    lungs[20:80, 10:34] = lungs[24:76, 46:70] = 255
    Image.fromarray(lungs).save(
        tmp_path / "film-lungmask.png"
    )  # the film's own mask: no segmenter to wait for
    assert w.open_path(path)
    qtbot.waitUntil(lambda: w.film is not None and w.mask_editor.edit is not None, timeout=60000)
    slow_engine.steps = 2
    w.controls.set_settings(RunSettings(steps=10, mask_mode="auto"))
    with qtbot.waitSignal(w.controller.finished, timeout=20000):
        w.generate()
    assert w.result is not None and w.result.mask is not None
    return path


def test_export_menu_writes_the_segmentation_parametric_map_and_sr(
    make_window, slow_engine, tmp_path: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    labels = [label for label, kind, _ in EXPORT_KINDS if kind.startswith("objects")]
    assert len(labels) == 2
    w = make_window(engine=slow_engine)
    film = _run_on_small_dicom(qtbot, w, slow_engine, tmp_path)
    out = tmp_path / "objects"
    out.mkdir()
    files = w.export_to("objects-deid", out)
    assert sorted(p.name for p in files) == sorted(
        [
            "vald-seg.dcm",
            "vald-seg.dcm.json",
            "vald-pmap.dcm",
            "vald-pmap.dcm.json",
            "vald-sr.dcm",
            "vald-sr.dcm.json",
        ]
    )
    source = pydicom.dcmread(film)
    for kind, uid in CLASSES.items():
        ds = pydicom.dcmread(out / f"vald-{kind}.dcm")
        assert ds.SOPClassUID == uid and ds.PatientIdentityRemoved == "YES"
        assert ds.StudyInstanceUID != source.StudyInstanceUID and "Objects" not in str(ds.PatientName)
    assert json.loads((out / "vald-sr.dcm.json").read_text())["export"]["deidentified"] is True
    assert w.export_to("objects-deid", out) == [] and "already exists" in (w.last_error or "")


@pytest.mark.orthanc
def test_send_objects_stores_all_three_with_stow(
    make_window, orthanc_web, slow_engine, tmp_path: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from vald_desktop.core.export.dicomweb import save_node

    save_node(DicomWebNode(orthanc_web.dicomweb_url, WEB_USER, WEB_PASSWORD))
    w = make_window(engine=slow_engine)
    w.qsettings.setValue("pacs/kind", "dicomweb")
    w.pacs_node = load_node()
    _run_on_small_dicom(qtbot, w, slow_engine, tmp_path)
    w.pacs_sender.refresh_actions()
    assert w.pacs_actions["send_objects"].isEnabled()
    folder = tmp_path / "sent"
    folder.mkdir()
    assert w.pacs_sender.send_objects_to(folder, deidentify=True)
    qtbot.waitUntil(lambda: not w.pacs.busy, timeout=30000)
    assert "the PACS stored it" in (w.pacs_sender.last_message or ""), w.pacs_sender.last_message
    sent = {pydicom.dcmread(p).SOPInstanceUID for p in folder.glob("*.dcm")}
    stored = {
        orthanc_web.rest(f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
        for i in orthanc_web.rest("/instances")
    }
    assert len(sent) == 3 and sent <= stored
