"""The lung mask's verdict in every output of the run writer: run.json, the PDF report, the burned-in caption."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.exporter import ExportOptions, RunExporter

REASON = "The lung outline runs outside the chest wall on the image right."


def _uncertain(result: RunResult) -> RunResult:
    assert result.mask is not None
    return replace(result, mask=result.mask.with_verdict("uncertain", 0.38, (REASON,)))


def _pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run([tool, str(path), "-"], capture_output=True, text=True, timeout=30).stdout


def test_run_json_names_the_mask_its_verdict_and_which_lung_is_the_patient_s_left(
    result: RunResult, tmp_path: Path
) -> None:
    RunExporter(result).write_run(tmp_path)
    mask = json.loads((tmp_path / "run.json").read_text())["mask"]
    assert mask["source"] == "file" and mask["quality"] == "ok" and mask["confidence"] == 1.0
    assert mask["reasons"] == []
    assert result.mask is not None
    assert mask["lungs"]["left"]["pixels"] == int(result.mask.left.sum())  # the patient's left: image right
    assert mask["lungs"]["left"]["pixels"] == 70 * 28 and mask["lungs"]["right"]["pixels"] == 70 * 28


def test_the_pdf_report_says_the_lung_mask_is_uncertain_and_why(result: RunResult, tmp_path: Path) -> None:
    ex = RunExporter(_uncertain(result), options=ExportOptions(accept_burned_in_risk=True))
    ex.write_pdf(tmp_path / "r.pdf")
    text = _pdf_text(tmp_path / "r.pdf")
    assert "Lung mask uncertain" in text and "confidence 0.38" in text
    assert "outside the chest wall" in text
    record = json.loads((tmp_path / "r.pdf.json").read_text())
    assert record["mask"]["quality"] == "uncertain" and record["mask"]["reasons"] == [REASON]


def test_a_trusted_mask_is_named_in_the_pdf_without_a_warning(result: RunResult, tmp_path: Path) -> None:
    RunExporter(result, options=ExportOptions(accept_burned_in_risk=True)).write_pdf(tmp_path / "r.pdf")
    text = _pdf_text(tmp_path / "r.pdf")
    assert "Lung mask: file, ok (confidence 1.00)" in text and "uncertain" not in text


def test_the_composite_and_dicom_caption_carry_the_mask_verdict(result: RunResult) -> None:
    caption = RunExporter(_uncertain(result)).caption
    assert "Lung mask: file, UNCERTAIN (confidence 0.38) - The lung outline runs outside" in caption
    assert caption.isascii()
    assert "Lung mask: file, ok" in RunExporter(result).caption
    unmasked = replace(result, mask=None, record={**result.record, "settings": {"mask_mode": "none"}})
    assert "not confined to the lungs" in RunExporter(unmasked).caption


def test_the_pdf_gives_each_lung_its_area_above_threshold_both_ways(
    result: RunResult, tmp_path: Path
) -> None:
    """|M| above the cut (either colour) and the red part alone, as the app's per-lung box shows them."""
    ex = RunExporter(result, options=ExportOptions(accept_burned_in_risk=True))
    ex.write_pdf(tmp_path / "r.pdf")
    text = _pdf_text(tmp_path / "r.pdf")
    assert "Above threshold: |M| / red" in text and "Patient's left lung" in text
    left = ex.lung_stats["left"]
    assert f"{left['area_abs_pct']:.1f} % / {left['area_pct']:.1f} %" in text
