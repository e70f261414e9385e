"""Sending to a PACS: a real Orthanc on loopback, plus a refusing SCP and a silent listener for the failure paths."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom
from vald_desktop.core.export.pacs import PacsNode, echo, parse_address, store


@pytest.fixture
def sc_file(source_dataset: Dataset, tmp_path: Path) -> Path:
    rgb = np.random.default_rng(2).integers(0, 256, (48, 144, 3), dtype=np.uint8)
    return write_dicom(tmp_path / "overlay.dcm", build_secondary_capture(source_dataset, rgb))


def _node(server, calling: str | None = None, port: int | None = None) -> PacsNode:  # type: ignore[no-untyped-def]
    return PacsNode(
        "127.0.0.1", port or server.dicom_port, server.aet, calling or server.allowed_aet, timeout=5.0
    )


@pytest.mark.orthanc
def test_echo_and_store_reach_orthanc(orthanc, sc_file: Path) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc)
    echo(node)
    sent = pydicom.dcmread(sc_file)
    before = set(orthanc.rest("/instances"))
    store(node, sc_file)
    new = set(orthanc.rest("/instances")) - before
    assert len(new) == 1
    tags = orthanc.rest(f"/instances/{new.pop()}/simplified-tags")
    assert tags["SOPInstanceUID"] == sent.SOPInstanceUID
    assert tags["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.7"
    assert tags["StudyInstanceUID"] == sent.StudyInstanceUID
    assert tags["Modality"] == "OT"
    assert tags["SeriesDescription"] == sent.SeriesDescription
    assert sc_file.exists()  # sending never consumes the export


@pytest.mark.orthanc
def test_not_allowed_calling_aet_is_a_clear_error(orthanc, sc_file: Path) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc, calling="INTRUDER")
    before = orthanc.rest("/instances")
    with pytest.raises(PacsError, match="refused the connection from AE title INTRUDER"):
        echo(node)
    with pytest.raises(PacsError, match="refused"):
        store(node, sc_file)
    assert orthanc.rest("/instances") == before
    assert sc_file.exists()


@pytest.mark.orthanc
def test_wrong_port_is_a_clear_error(orthanc, closed_port: int, sc_file: Path) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc, port=closed_port)
    t0 = time.monotonic()
    with pytest.raises(PacsError, match="Cannot reach the PACS at 127.0.0.1:"):
        store(node, sc_file)
    assert time.monotonic() - t0 < 5
    assert sc_file.exists()


@pytest.fixture
def refusing_scp() -> Iterator[int]:
    """A pynetdicom storage SCP that answers every C-STORE with 0xA700 (out of resources)."""
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import SecondaryCaptureImageStorage, Verification

    ae = AE(ae_title="REFUSER")
    ae.add_supported_context(SecondaryCaptureImageStorage)
    ae.add_supported_context(Verification)
    # Port 0: the OS picks a free port as the server binds, so no other process can take it in between.
    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, lambda e: 0xA700)]
    )
    try:
        yield int(server.socket.getsockname()[1])
    finally:
        server.shutdown()


def test_non_zero_store_status_is_a_clear_error(refusing_scp: int, sc_file: Path) -> None:
    node = PacsNode("127.0.0.1", refusing_scp, "REFUSER", "VALDTEST", timeout=5.0)
    echo(node)  # the node is reachable and answers echo
    with pytest.raises(PacsError, match=r"rejected the request to store the image \(status 0xA700\)"):
        store(node, sc_file)
    assert sc_file.exists()


def test_silent_server_times_out_with_a_clear_error(sc_file: Path) -> None:
    # A socket that accepts TCP connections but never speaks DICOM.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        node = PacsNode("127.0.0.1", listener.getsockname()[1], "SILENT", "VALDTEST", timeout=1.0)
        t0 = time.monotonic()
        with pytest.raises(PacsError, match="within 1 s"):
            echo(node)
        assert time.monotonic() - t0 < 10


def test_bad_input_is_refused_before_any_network(tmp_path: Path) -> None:
    with pytest.raises(PacsError, match="HOST:PORT"):
        parse_address("localhost")
    assert parse_address("127.0.0.1:4242") == ("127.0.0.1", 4242)
    with pytest.raises(PacsError, match="AE title"):
        PacsNode("127.0.0.1", 4242, "THIS-TITLE-IS-FAR-TOO-LONG")
    with pytest.raises(PacsError, match="port"):
        PacsNode("127.0.0.1", 70000)
    with pytest.raises(PacsError, match="does not exist"):
        store(PacsNode("127.0.0.1", 4242), tmp_path / "missing.dcm")
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom")
    with pytest.raises(PacsError, match="not a readable DICOM"):
        store(PacsNode("127.0.0.1", 4242), junk)


def test_saved_node_round_trips_and_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    from vald_desktop.core.export.pacs import load_node, save_node

    path = tmp_path / "cfg" / "pacs.json"
    assert load_node(path) is None
    node = PacsNode("pacs.example", 11112, "MAINPACS", "READING1", timeout=7.5)
    save_node(node, path)
    assert load_node(path) == node
    path.write_text("{not json")
    with pytest.raises(PacsError, match="unreadable"):
        load_node(path)
