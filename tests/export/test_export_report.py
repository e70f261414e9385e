"""PDF report, PNG provenance round trip, caption identity, folder export and its write safety."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from export_helpers import read_only_folder, tiny_disk
from PIL import Image
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.provenance import PNG_KEY
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.exporter import ExportOptions, RunExporter
from vald_desktop.core.export.records import caption_text, identity_lines

# RG1 does not declare whether text is burned into its pixels: de-identified exports need the user's word.
CONFIRMED = ExportOptions(accept_burned_in_risk=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


def _pdf_pages(path: Path) -> int:
    info = subprocess.run(
        [_tool("pdfinfo"), str(path)], capture_output=True, text=True, timeout=30, check=True
    )
    return int(next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:")))


def _pdf_text(path: Path) -> str:
    proc = subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, timeout=30)
    return proc.stdout


def test_identity_is_opt_in(source_dataset: Dataset, run_record: dict[str, Any]) -> None:
    assert identity_lines(source_dataset, show=False) == []
    assert identity_lines(source_dataset, show=False, pseudonym="S-1") == [("Subject", "S-1")]
    shown = dict(identity_lines(source_dataset, show=True))
    assert shown["Patient"] == "CompressedSamples RG1" and shown["Patient ID"] == "9RG1"
    assert "CompressedSamples" not in caption_text(run_record, [])
    assert "normal chest x-ray" in caption_text(run_record, [])


def test_the_caption_says_when_guidance_ended_early(run_record: dict[str, Any]) -> None:
    assert "guidance 4 |" in caption_text(run_record, [])  # a record without the share: every step guided
    early = {**run_record, "settings": {**run_record["settings"], "guidance_until": 0.5}}
    assert "guidance 4 on 50% of steps |" in caption_text(early, [])


def test_pdf_report_is_one_page_and_rasterizes(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    ex = RunExporter(
        result, source_dataset, ExportOptions(deidentify=False, show_identity=True, page_size="Letter")
    )
    written = ex.write_pdf(tmp_path / "report.pdf")
    pdf = tmp_path / "report.pdf"
    assert written == [pdf, tmp_path / "report.pdf.json"]
    assert _pdf_pages(pdf) == 1
    subprocess.run(
        [_tool("pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    page = np.asarray(Image.open(pages[0]).convert("RGB"))
    assert page.shape[1] < page.shape[0]  # portrait
    assert (
        page[..., 0].astype(int) - page[..., 2].astype(int) > 80
    ).any()  # the red overlay and notice are drawn
    text = _pdf_text(pdf)
    assert "Research use only" in text and "not for diagnosis" in text
    assert "CompressedSamples" in text  # identity was chosen
    assert "Per-lung statistics" in text and "normal chest x-ray" in text


def test_deidentified_pdf_and_record_carry_no_identity(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    ex = RunExporter(result, source_dataset, CONFIRMED)  # de-identified by default
    ex.write_pdf(tmp_path / "r.pdf")
    text = _pdf_text(tmp_path / "r.pdf")
    for value in ("CompressedSamples", "9RG1", "19400305", "/home/someone"):
        assert value not in text
    assert "de-identified" in text
    assert "Burned-in text" in text and "the user confirmed" in text  # not the film's claim: the user's
    record = json.loads((tmp_path / "r.pdf.json").read_text())
    assert "film_sha256" not in record and "path" not in record["model"]
    assert record["export"]["deidentified"] is True


def test_png_record_round_trips(result: RunResult, tmp_path: Path) -> None:
    ex = RunExporter(result, None, ExportOptions(deidentify=False))
    ex.write_pngs(tmp_path / "o.png", tmp_path / "c.png")
    for name in ("o.png", "c.png"):
        with Image.open(tmp_path / name) as im:
            im.load()
            record = json.loads(im.text[PNG_KEY])
        assert RunSettings.from_dict(record["settings"]) == result.settings
        assert record["model"]["manifest_sha256"] == "ab" * 32
    overlay = np.asarray(Image.open(tmp_path / "o.png"))
    assert overlay.shape == (*result.original.shape, 3)
    assert (tmp_path / "c.png.json").exists()


def test_folder_export_writes_everything_and_never_overwrites(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    ex = RunExporter(result, source_dataset, CONFIRMED)
    files = ex.export_folder(tmp_path / "out", stem="case")
    names = sorted(p.name for p in files.all())
    assert names == ["case-composite.png", "case-overlay.png", "case-report.pdf", "case.dcm", "case.json"]
    record = json.loads((tmp_path / "out" / "case.json").read_text())
    assert set(record["export"]["files"]) == {"overlay_png", "composite_png", "report_pdf", "dicom"}
    sc = pydicom.dcmread(files.dicom)
    assert sc.PatientIdentityRemoved == "YES" and "BurnedInAnnotation" not in sc  # RG1 does not say
    before = {p: p.stat().st_mtime_ns for p in files.all()}
    with pytest.raises(ExportError, match="already exists"):
        RunExporter(result, source_dataset, CONFIRMED).export_folder(tmp_path / "out", stem="case")
    assert {p: p.stat().st_mtime_ns for p in files.all()} == before
    again = RunExporter(result, source_dataset, replace(CONFIRMED, overwrite=True)).export_folder(
        tmp_path / "out", stem="case"
    )
    assert pydicom.dcmread(again.dicom).SOPInstanceUID != sc.SOPInstanceUID


def test_identified_dicom_says_its_caption_burns_in_identity(
    result: RunResult, source_dataset: Dataset
) -> None:
    ds = RunExporter(
        result, source_dataset, ExportOptions(deidentify=False, show_identity=True)
    ).build_dicom()
    assert ds.BurnedInAnnotation == "YES"
    plain = RunExporter(result, source_dataset, ExportOptions(deidentify=False)).build_dicom()
    # No identity drawn into the pixels, but RG1 does not say what its own pixels show: no claim either way.
    assert "BurnedInAnnotation" not in plain
    assert plain.PatientID == source_dataset.PatientID
    with pytest.raises(ExportError, match="cannot show"):
        ExportOptions(deidentify=True, show_identity=True)
    assert ds.StudyInstanceUID == source_dataset.StudyInstanceUID


def test_png_film_cannot_make_dicom(result: RunResult) -> None:
    with pytest.raises(ExportError, match="needs a DICOM film"):
        RunExporter(result, None).build_dicom()


def test_read_only_folder_leaves_nothing(result: RunResult, source_dataset: Dataset, tmp_path: Path) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(ExportError, match="read-only"):
            RunExporter(result, source_dataset, CONFIRMED).export_folder(folder)
        assert list(folder.iterdir()) == []


def test_full_disk_leaves_no_half_exported_bundle(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    sizes = {
        p.name: p.stat().st_size
        for p in RunExporter(result, source_dataset, CONFIRMED).export_folder(tmp_path / "ok").all()
    }
    total_kib = sum(sizes.values()) // 1024
    with tiny_disk(tmp_path / "small", size_kib=max(8, total_kib // 2)) as folder:
        with pytest.raises(ExportError, match="is full"):
            RunExporter(result, source_dataset, CONFIRMED).export_folder(folder)
        assert list(folder.iterdir()) == []
