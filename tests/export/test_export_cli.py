"""``vald send`` and the ``vald run`` export flags, against a real Orthanc on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from vald_desktop.cli import main
from vald_desktop.commands.export_flags import add_export_arguments, apply_export_arguments
from vald_desktop.core.base.errors import ExportError, PacsError
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom


@pytest.fixture
def sc_file(source_dataset: Dataset, tmp_path: Path) -> Path:
    rgb = np.random.default_rng(3).integers(0, 256, (32, 96, 3), dtype=np.uint8)
    return write_dicom(tmp_path / "overlay.dcm", build_secondary_capture(source_dataset, rgb))


@pytest.fixture(autouse=True)
def private_pacs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Never read or write the user's real saved PACS node.
    path = tmp_path / "pacs.json"
    monkeypatch.setenv("VALD_PACS_CONFIG", str(path))
    return path


def _export_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=".")
    add_export_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.orthanc
def test_vald_send_echoes_stores_and_saves_the_node(
    orthanc, sc_file: Path, private_pacs_config: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    to = f"127.0.0.1:{orthanc.dicom_port}"
    argv = [
        "send",
        str(sc_file),
        "--to",
        to,
        "--aet",
        orthanc.aet,
        "--calling-aet",
        orthanc.allowed_aet,
        "--echo",
    ]
    assert main([*argv, "--save"]) == 0
    out = capsys.readouterr().out
    assert "echo ok" in out and "sent overlay.dcm" in out
    uid = pydicom.dcmread(sc_file).SOPInstanceUID
    stored = [
        orthanc.rest(f"/instances/{i}/simplified-tags")["SOPInstanceUID"] for i in orthanc.rest("/instances")
    ]
    assert uid in stored
    assert private_pacs_config.is_file()
    # The saved node is used when --to is left out.
    assert main(["send", "--echo"]) == 0
    assert "echo ok" in capsys.readouterr().out


@pytest.mark.orthanc
def test_vald_send_refused_aet_exits_2_and_keeps_the_file(orthanc, sc_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    to = f"127.0.0.1:{orthanc.dicom_port}"
    assert main(["send", str(sc_file), "--to", to, "--aet", orthanc.aet, "--calling-aet", "STRANGER"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The PACS at") and "STRANGER" in err and err.count("\n") == 1
    assert sc_file.exists()


def test_vald_send_wrong_port_and_missing_address(sc_file: Path, closed_port: int, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["send", str(sc_file), "--to", f"127.0.0.1:{closed_port}", "--timeout", "2"]) == 2
    assert "error: Cannot reach the PACS" in capsys.readouterr().err
    assert main(["send", str(sc_file)]) == 2
    assert "No PACS address" in capsys.readouterr().err
    assert sc_file.exists()


@pytest.mark.orthanc
def test_run_export_flags_write_report_and_dicom_then_send(  # type: ignore[no-untyped-def]
    orthanc, result: SimpleNamespace, source_dataset: Dataset, tmp_path: Path
) -> None:
    film = SimpleNamespace(dataset=source_dataset)
    argv = [
        "--out",
        str(tmp_path),
        "--report",
        "r.pdf",
        "--dicom",
        "o.dcm",
        "--deidentify",
        "--pseudonym",
        "S-9",
        "--accept-burned-in-risk",  # RG1 does not declare its burned-in text
    ]
    send = [
        "--send",
        f"127.0.0.1:{orthanc.dicom_port}",
        "--aet",
        orthanc.aet,
        "--calling-aet",
        orthanc.allowed_aet,
    ]
    written = apply_export_arguments(_export_args(argv + send), result, film, tmp_path)
    assert written["report"] == tmp_path / "r.pdf" and written["dicom"] == tmp_path / "o.dcm"
    assert (tmp_path / "r.pdf.json").is_file() and (tmp_path / "o.dcm.json").is_file()
    sent = pydicom.dcmread(tmp_path / "o.dcm")
    assert sent.PatientID == "S-9" and sent.PatientIdentityRemoved == "YES"
    found = [orthanc.rest(f"/instances/{i}/simplified-tags") for i in orthanc.rest("/instances")]
    assert any(t["SOPInstanceUID"] == sent.SOPInstanceUID and t["PatientID"] == "S-9" for t in found)
    # Without --force nothing is replaced.
    with pytest.raises(ExportError, match="add --force"):
        apply_export_arguments(_export_args(argv), result, film, tmp_path)
    assert pydicom.dcmread(tmp_path / "o.dcm").SOPInstanceUID == sent.SOPInstanceUID
    again = apply_export_arguments(_export_args([*argv, "--force"]), result, film, tmp_path)
    assert pydicom.dcmread(again["dicom"]).SOPInstanceUID != sent.SOPInstanceUID


def test_run_export_flags_failed_send_keeps_the_dicom(  # type: ignore[no-untyped-def]
    result: SimpleNamespace, source_dataset: Dataset, tmp_path: Path, closed_port: int, capsys
) -> None:
    args = _export_args(
        [
            "--dicom",
            "o.dcm",
            "--send",
            f"127.0.0.1:{closed_port}",
            "--pacs-timeout",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    with pytest.raises(PacsError, match="Cannot reach"):
        apply_export_arguments(args, result, SimpleNamespace(dataset=source_dataset), tmp_path)
    assert (tmp_path / "o.dcm").is_file()
    assert "vald send" in capsys.readouterr().err


def test_run_export_flags_refuse_bad_combinations(result: SimpleNamespace, tmp_path: Path) -> None:
    film = SimpleNamespace(dataset=None)
    with pytest.raises(ExportError, match="--send needs --dicom"):
        apply_export_arguments(_export_args(["--report", "r.pdf", "--send", "h:1"]), result, film, tmp_path)
    with pytest.raises(ExportError, match="cannot be combined"):
        apply_export_arguments(
            _export_args(["--report", "r.pdf", "--deidentify", "--show-identity"]), result, film, tmp_path
        )
    with pytest.raises(ExportError, match="needs a DICOM film"):
        apply_export_arguments(_export_args(["--dicom", "o.dcm"]), result, film, tmp_path)
    assert not (tmp_path / "o.dcm").exists()
    assert apply_export_arguments(_export_args([]), result, film, tmp_path) == {}
