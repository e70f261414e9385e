"""One run result, two ways out: ``vald run`` (run folder and ``--report``) and the app's Export menu write the same
lung statistics everywhere: in run.json, in every export record and in what the PDF report is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.commands import run as run_command
from vald_desktop.core.attribution.maps import OverlayStyle, lung_stats
from vald_desktop.core.engine.provenance import PNG_KEY
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export import exporter
from vald_desktop.core.films.load import load_film
from vald_desktop.gui.exporting import export_result

OVERLAY = {"mode": "signed", "opacity": 0.6, "threshold": 0.1}


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _png_record(path: Path) -> dict[str, Any]:
    with Image.open(path) as im:
        im.load()
        return json.loads(im.text[PNG_KEY])


def test_cli_and_app_exports_report_the_same_lung_statistics(
    panels: dict[str, Any], tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    film_png, mask_png = tmp_path / "film.png", tmp_path / "mask.png"
    Image.fromarray((panels["original"] * 255).astype(np.uint8)).save(film_png)
    Image.fromarray(panels["mask"].astype(np.uint8) * 255).save(mask_png)
    results: list[RunResult] = []
    write_outputs = run_command.write_outputs

    def keep_result(out_dir: Path, result: RunResult, style: OverlayStyle) -> dict[str, Path]:
        results.append(result)
        return write_outputs(out_dir, result, style)

    given_to_pdf: list[dict[str, dict[str, float]]] = []
    write_report = exporter.write_report

    def spy_report(path: Path, content: Any, *, overwrite: bool = False) -> Path:
        given_to_pdf.append(content.stats)
        return write_report(path, content, overwrite=overwrite)

    monkeypatch.setattr(run_command, "write_outputs", keep_result)
    monkeypatch.setattr(exporter, "write_report", spy_report)

    out = tmp_path / "run"
    argv = ["run", str(film_png), "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu"]
    argv += ["--steps", "4", "--strength", "0.6", "--mask", str(mask_png), "--quiet", "--report", "r.pdf"]
    argv += ["--overlay", OVERLAY["mode"], "--opacity", str(OVERLAY["opacity"])]
    argv += ["--threshold", str(OVERLAY["threshold"])]
    assert main(argv) == 0
    (result,) = results
    # The app: the same result through the Export menu, as a folder and as a single PDF.
    film = load_film(film_png)
    # A PNG film says nothing about burned-in text: the app's exports are made after the user confirmed.
    export_result("folder", tmp_path / "app", film, result, dict(OVERLAY), accept_burned_in_risk=True)
    export_result("pdf", tmp_path / "app-report.pdf", film, result, dict(OVERLAY), accept_burned_in_risk=True)

    run_json = _json(out / "run.json")["lung_stats"]
    assert result.mask is not None
    assert run_json == lung_stats(result.map, result.mask, OverlayStyle(**OVERLAY)), "not the overlay's rule"
    areas = [run_json[side]["area_pct"] for side in ("left", "right")]
    assert any(0.0 < a < 100.0 for a in areas), f"a trivial map says nothing about agreement: {areas}"
    everywhere = {
        "composite.png": _png_record(out / "composite.png")["lung_stats"],
        "r.pdf.json": _json(out / "r.pdf.json")["lung_stats"],
        "app vald.json": _json(tmp_path / "app" / "vald.json")["lung_stats"],
        "app composite png": _png_record(tmp_path / "app" / "vald-composite.png")["lung_stats"],
        "app-report.pdf.json": _json(tmp_path / "app-report.pdf.json")["lung_stats"],
    }
    everywhere |= {f"PDF {i + 1} of 3": stats for i, stats in enumerate(given_to_pdf)}
    assert len(given_to_pdf) == 3
    differing = [where for where, stats in everywhere.items() if stats != run_json]
    assert not differing, f"lung statistics differ from run.json in: {', '.join(differing)}"
