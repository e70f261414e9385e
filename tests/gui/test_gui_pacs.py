"""PACS in the real window: node dialog + Test connection, Send to PACS after a run, failures with Retry.

The Orthanc tests use the shared private Orthanc (tests/orthanc_server.py): loopback, own ports, temp storage,
only the test AE title allowed. The saved node goes to a temporary file ($VALD_PACS_CONFIG), never the user's.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import orthanc_fixture  # noqa: F401 - the shared ``orthanc`` fixture
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.export.pacs import PacsNode, load_node, save_node

pytestmark = pytest.mark.gui

FAST = RunSettings(steps=4, strength=0.5, mask_mode="none", preview_every=0)


@pytest.fixture(autouse=True)
def pacs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the window reads and saves the PACS node in these tests (never the user's own settings)."""
    path = tmp_path / "config" / "pacs.json"
    monkeypatch.setenv("VALD_PACS_CONFIG", str(path))
    return path


@pytest.fixture
def sc_file(rg1_path: Path, tmp_path: Path) -> Path:
    """A saved de-identified Secondary Capture, as an earlier export would have left it."""
    from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom

    source = pydicom.dcmread(rg1_path, stop_before_pixels=True)
    rgb = np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    return write_dicom(tmp_path / "saved-deid.dcm", build_secondary_capture(source, rgb, deidentified=True))


def _node(server, port: int | None = None, calling: str | None = None) -> PacsNode:  # type: ignore[no-untyped-def]
    return PacsNode(
        "127.0.0.1", port or server.dicom_port, server.aet, calling or server.allowed_aet, timeout=5.0
    )


def _fill(qtbot, dlg, host: str, port: int, aet: str, calling: str) -> None:  # type: ignore[no-untyped-def]
    for field, text in ((dlg.host, host), (dlg.ae_title, aet), (dlg.calling_ae_title, calling)):
        field.clear()
        qtbot.keyClicks(field, text)
    dlg.port.setValue(port)


def _wait_idle(qtbot, w, timeout: int = 20000) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not w.pacs.busy, timeout=timeout)


def _generate_on_rg1(qtbot, w, rg1_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert w.open_path(rg1_path)
    qtbot.waitUntil(lambda: w.film is not None, timeout=60000)  # films may be decoded off the GUI thread
    w.controls.set_settings(FAST)
    w.generate()
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=180000)  # finished, failed or cancelled
    assert w.result is not None, f"the run failed: {w.last_error}"


def _instances_with(server, sop_uid: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        i
        for i in server.rest("/instances")
        if server.rest(f"/instances/{i}/simplified-tags")["SOPInstanceUID"] == sop_uid
    ]


@pytest.mark.orthanc
def test_node_dialog_validates_tests_the_connection_and_saves_the_node(
    make_window, orthanc, pacs_config, qtbot
):  # type: ignore[no-untyped-def]
    w = make_window(engine=object())
    assert not w.pacs_actions["send"].isEnabled() and not w.pacs_actions["send_file"].isEnabled()
    dlg = w.open_pacs_dialog()
    dlg.host.clear()
    assert not dlg.save_button.isEnabled() and not dlg.test_button.isEnabled()
    assert "host is empty" in dlg.result_label.text()

    # A calling AE title the PACS does not allow: refused, said inline in one sentence.
    _fill(qtbot, dlg, "127.0.0.1", orthanc.dicom_port, orthanc.aet, "INTRUDER")
    assert dlg.result_label.text() == "" and dlg.save_button.isEnabled()
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    assert not dlg.test_button.isEnabled(), "Test connection must be disabled while the echo is in flight"
    qtbot.waitUntil(lambda: "refused" in dlg.result_label.text(), timeout=20000)
    assert "INTRUDER" in dlg.result_label.text() and "Traceback" not in dlg.result_label.text()

    _fill(qtbot, dlg, "127.0.0.1", orthanc.dicom_port, orthanc.aet, orthanc.allowed_aet)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.result_label.text().startswith("Connection OK"), timeout=20000)
    assert dlg.test_button.isEnabled()

    dlg.deidentify.setChecked(False)
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    saved = PacsNode("127.0.0.1", orthanc.dicom_port, orthanc.aet, orthanc.allowed_aet, timeout=10.0)
    assert (
        load_node(pacs_config) == saved and json.loads(pacs_config.read_text())["port"] == orthanc.dicom_port
    )
    assert w.pacs_node == saved and w.pacs_sender.deidentify() is False
    assert w.pacs_actions["send_file"].isEnabled()
    assert not w.pacs_actions["send"].isEnabled(), "Send to PACS without a result"

    # The next window finds the node again, and the dialog shows it.
    w2 = make_window(engine=object())
    assert w2.pacs_node == saved
    dlg2 = w2.open_pacs_dialog()
    assert dlg2.host.text() == "127.0.0.1" and dlg2.port.value() == orthanc.dicom_port
    assert not dlg2.deidentify.isChecked()


@pytest.mark.orthanc
def test_send_to_pacs_after_a_run_stores_the_instance_in_orthanc(
    make_window, orthanc, tiny_model_dir, rg1_path, tmp_path, qtbot
):  # type: ignore[no-untyped-def]
    save_node(_node(orthanc))
    w = make_window(model_dir=tiny_model_dir)
    _generate_on_rg1(qtbot, w, rg1_path)
    assert w.pacs_actions["send"].isEnabled()
    target = tmp_path / "sent" / "case-deid.dcm"
    target.parent.mkdir()
    with qtbot.waitSignal(w.pacs.succeeded, timeout=60000):
        assert w.send_result_to(target, deidentify=True, accept_burned_in_risk=True)  # RG1 does not say
        assert w.pacs.busy and not w.pacs.send(w.pacs_node, target), "a second send while one is in flight"
        assert not w.pacs_actions["send"].isEnabled() and not w.pacs_actions["send_file"].isEnabled()
        assert w.pacs_progress.isVisible()
    assert not w.pacs_progress.isVisible() and w.pacs_actions["send"].isEnabled()
    assert "the PACS stored it" in w.statusBar().currentMessage()
    sent = pydicom.dcmread(target)
    assert sent.PatientIdentityRemoved == "YES"
    assert str(sent.PatientName) != str(pydicom.dcmread(rg1_path, stop_before_pixels=True).PatientName)
    hits = _instances_with(orthanc, sent.SOPInstanceUID)
    assert len(hits) == 1, "the sent instance is not in Orthanc"
    assert orthanc.rest(f"/instances/{hits[0]}/simplified-tags")["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.7"


@pytest.mark.orthanc
def test_wrong_port_shows_a_sentence_keeps_the_file_and_retry_after_fixing_the_port_stores_it(
    make_window, orthanc, closed_port, tiny_model_dir, rg1_path, tmp_path, qtbot
):  # type: ignore[no-untyped-def]
    save_node(_node(orthanc, port=closed_port))
    w = make_window(model_dir=tiny_model_dir)
    _generate_on_rg1(qtbot, w, rg1_path)
    target = tmp_path / "case-deid.dcm"
    with qtbot.waitSignal(w.pacs.failed, timeout=60000):
        w.send_result_to(target, deidentify=True, accept_burned_in_risk=True)
    assert "Cannot reach the PACS at 127.0.0.1:" in w.last_error and "Traceback" not in w.last_error
    assert target.is_file(), "the exported file must stay on disk after a failed send"
    box = w.pacs_sender.failure_box
    assert box is not None and box.isVisible() and target.name in box.informativeText()

    # Fix the port in the node dialog (opened from the message), then Retry in the message.
    qtbot.mouseClick(box.node_button, Qt.MouseButton.LeftButton)
    dlg = w.pacs_dialog
    assert dlg is not None
    dlg.port.setValue(orthanc.dicom_port)
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert w.pacs_node.port == orthanc.dicom_port
    assert w.pacs_last_file == target
    with qtbot.waitSignal(w.pacs.succeeded, timeout=60000):
        assert w.retry_pacs()
    uid = pydicom.dcmread(target, stop_before_pixels=True).SOPInstanceUID
    assert len(_instances_with(orthanc, uid)) == 1


@pytest.mark.orthanc
def test_retry_button_in_the_failure_message_sends_the_kept_file(make_window, orthanc, sc_file, qtbot):  # type: ignore[no-untyped-def]
    save_node(_node(orthanc, calling="STRANGER"))
    w = make_window(engine=object())
    with qtbot.waitSignal(w.pacs.failed, timeout=20000):
        assert w.send_file(sc_file)
    assert "refused the connection from AE title STRANGER" in w.last_error
    box = w.pacs_sender.failure_box
    assert box is not None and sc_file.is_file()
    w.pacs_node = _node(orthanc)  # as if fixed in the node dialog
    with qtbot.waitSignal(w.pacs.succeeded, timeout=20000):
        qtbot.mouseClick(box.retry_button, Qt.MouseButton.LeftButton)
    uid = pydicom.dcmread(sc_file, stop_before_pixels=True).SOPInstanceUID
    assert len(_instances_with(orthanc, uid)) == 1


def test_a_silent_pacs_times_out_with_a_sentence_while_the_window_stays_responsive(
    make_window, sc_file, qtbot
):  # type: ignore[no-untyped-def]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:  # accepts TCP, never speaks DICOM
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        save_node(PacsNode("127.0.0.1", listener.getsockname()[1], "SILENT", "VALDTEST", timeout=2.0))
        w = make_window(engine=object())
        gaps: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        ticker = QTimer()
        ticker.setInterval(20)
        ticker.timeout.connect(lambda: gaps.append(clock.restart()))
        ticker.start()
        t0 = time.monotonic()
        with qtbot.waitSignal(w.pacs.failed, timeout=20000):
            assert w.send_file(sc_file)
        ticker.stop()
    assert time.monotonic() - t0 >= 1.5, "the send gave up before the node's timeout"
    assert "did not answer within 2 s" in w.last_error
    # Generous on a loaded machine: a send on the GUI thread would freeze it for the node's whole 2 s timeout.
    assert max(gaps[1:]) < 1000, f"the window froze for {max(gaps[1:])} ms while sending"
    assert sc_file.is_file() and w.pacs_sender.failure_box is not None


def test_sending_a_file_that_is_not_dicom_says_so_in_one_sentence(make_window, closed_port, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    save_node(PacsNode("127.0.0.1", closed_port, "ANY-SCP", "VALDTEST", timeout=2.0))
    junk = tmp_path / "notes.dcm"
    junk.write_text("not a DICOM file")
    w = make_window(engine=object())
    with qtbot.waitSignal(w.pacs.failed, timeout=20000):
        w.send_file(junk)
    assert "not a readable DICOM file" in w.last_error


@pytest.mark.orthanc
def test_send_to_pacs_menu_into_the_source_study_keeps_the_study_and_asks_where_to_keep_the_file(
    make_window, orthanc, slow_engine, rg1_path, tmp_path, qtbot, monkeypatch
):  # type: ignore[no-untyped-def]
    from vald_desktop.gui import pacs_sender

    save_node(_node(orthanc))
    w = make_window(engine=slow_engine)
    w.qsettings.setValue("pacs/deidentify", "false")  # the choice saved from the node dialog
    slow_engine.steps = 2
    _generate_on_rg1(qtbot, w, rg1_path)
    asked: list[str] = []

    def save_dialog(_parent, _title, suggested, _pattern):  # type: ignore[no-untyped-def]
        asked.append(suggested)
        return str(tmp_path / "RG1_UNCI.dcm"), ""

    monkeypatch.setattr(pacs_sender.QFileDialog, "getSaveFileName", save_dialog)
    w.export_menu.aboutToShow.emit()
    assert w.pacs_actions["send"].isEnabled()
    with qtbot.waitSignal(w.pacs.succeeded, timeout=60000):
        w.pacs_actions["send"].trigger()
    assert asked == ["RG1_UNCI.dcm"], "the suggested name should follow the film when sent into its study"
    sent = pydicom.dcmread(tmp_path / "RG1_UNCI.dcm", stop_before_pixels=True)
    source = pydicom.dcmread(rg1_path, stop_before_pixels=True)
    assert sent.StudyInstanceUID == source.StudyInstanceUID and sent.PatientID == source.PatientID
    assert len(_instances_with(orthanc, sent.SOPInstanceUID)) == 1
    assert w.qsettings.value("pacs/folder") == str(tmp_path)
