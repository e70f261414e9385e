"""End to end: ``vald run FILM.dcm --report --dicom --deidentify`` on the tiny model and a small real-identity DICOM."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from vald_desktop.cli import main


@pytest.fixture
def small_film(rg1_path: Path, tmp_path: Path) -> Path:
    """RG1's header (identity included) over a small uncompressed picture, so the run takes seconds."""
    src = pydicom.dcmread(rg1_path)
    ds: Dataset = copy.deepcopy(src)
    small = src.pixel_array[::24, ::24].astype(np.uint16)
    ds.Rows, ds.Columns = small.shape
    ds.PixelData = small.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "small.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.slow
def test_vald_run_writes_deidentified_report_and_dicom(
    small_film: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(small_film), "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu"]
    argv += ["--steps", "2", "--strength", "0.5", "--no-mask", "--quiet"]
    argv += ["--report", "r.pdf", "--dicom", "o.dcm", "--deidentify", "--pseudonym", "S-3"]
    argv += ["--accept-burned-in-risk"]  # RG1 does not declare its burned-in text
    assert main(argv) == 0
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF")
    sc = pydicom.dcmread(out / "o.dcm")
    assert sc.PatientID == "S-3" and sc.PatientIdentityRemoved == "YES"
    src = pydicom.dcmread(small_film, stop_before_pixels=True)
    assert sc.StudyInstanceUID != src.StudyInstanceUID
    raw = (out / "o.dcm").read_bytes() + (out / "o.dcm.json").read_bytes() + (out / "r.pdf.json").read_bytes()
    for value in (b"CompressedSamples", b"9RG1", b"19400305", b"small.dcm"):
        assert value not in raw
    record = json.loads((out / "o.dcm.json").read_text())
    assert record["export"]["deidentified"] is True and record["settings"]["steps"] == 2
    # A second run without --force is refused before any work, and nothing is replaced.
    before = (out / "o.dcm").read_bytes()
    assert main(argv) == 2
    assert (out / "o.dcm").read_bytes() == before


def test_dicom_export_from_a_png_film_is_refused_before_the_run(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    film = tmp_path / "film.png"
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(film)
    out = tmp_path / "out"
    argv = ["run", str(film), "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu"]
    argv += ["--steps", "2", "--no-mask", "--quiet", "--report", "r.pdf", "--dicom", "o.dcm"]
    assert main(argv) == 2
    assert "needs a DICOM film" in capsys.readouterr().err
    assert not (out / "counterfactual.png").exists(), (
        "the slow run must not start when the export cannot happen"
    )
    assert not (out / "r.pdf").exists()
