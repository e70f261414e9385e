"""`vald evaluate domain`: the domain score's separation report has every set, AUROCs in range and the run cost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vald_desktop.cli import main


@pytest.fixture(scope="module")
def calibrated_tiny(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vald_desktop.core.engine.domain import write_calibration
    from vald_desktop.core.engine.domain_features import calibrate
    from vald_desktop.core.engine.sampler import Engine
    from vald_evaluation.domain_benchmark import phantoms

    folder = tmp_path_factory.mktemp("calibrated") / "tiny"
    shutil.copytree(tiny_model_dir, folder)
    engine = Engine(folder, device="cpu")
    engine.load()
    write_calibration(folder, calibrate(engine, phantoms(5, 10), "ten phantoms"))
    return folder


def test_the_report_covers_held_out_shifted_and_given_films(
    calibrated_tiny: Path, rg1_path: Path, capsys
) -> None:
    from vald_evaluation.domain_benchmark import SHIFTS

    argv = ["evaluate", "domain", str(rg1_path), "--model", str(calibrated_tiny), "--device", "cpu"]
    assert main([*argv, "--n", "8", "--n-shift", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["held_out"]["n"] == 8 and 0.0 <= report["held_out"]["in_domain"] <= 1.0
    assert set(report["shifts"]) == set(SHIFTS)
    assert all(0.0 <= s["auroc"] <= 1.0 and s["n"] == 4 for s in report["shifts"].values())
    assert report["films"]["RG1_UNCI.dcm"]["modality"] == "CR" and report["radiographs"]["n"] == 1
    assert {"phantom", "RG1_UNCI.dcm"} <= set(report["cost"])
    assert all(0.0 < c["share"] < 1.0 for c in report["cost"].values())


def test_a_model_without_calibration_is_refused_with_a_sentence(tiny_model_dir: Path, capsys) -> None:
    assert main(["evaluate", "domain", "--model", str(tiny_model_dir), "--n", "8", "--device", "cpu"]) == 2
    assert "no domain calibration" in capsys.readouterr().err
