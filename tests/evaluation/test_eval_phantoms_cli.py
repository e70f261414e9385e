"""``vald evaluate phantoms`` drives the real engine (tiny random model) and prints the documented JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vald_desktop.cli import main


def test_phantom_benchmark_json_with_the_engine(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "evaluate",
        "phantoms",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--n",
        "3",
        "--seed",
        "5",
    ]
    assert main([*args, "--induction", "2", "--settings", "steps=4,strength=0.5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["findings"]) == {"lung_opacity", "nodule", "cardiomegaly"}
    for m in doc["findings"].values():
        assert {"auroc", "ap", "dice", "ssim_gain", "outside_change"} <= set(m)
        assert m["outside_change"] > 0  # a random model changes the film everywhere
    assert doc["n_induction"] == 2
    assert doc["settings"]["steps"] == 4
    assert doc["induction_laterality"] is None or 0 <= doc["induction_laterality"] <= 1


def test_phantom_sweep_table(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "evaluate",
        "phantoms",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--n",
        "2",
        "--induction",
        "0",
    ]
    assert main([*args, "--settings", "steps=4", "--sweep", "scheduler=dpmpp", "reference=input"]) == 0
    table = capsys.readouterr().out
    assert "| base |" in table and "| scheduler=dpmpp |" in table and "| reference=input |" in table


def test_match_dpm_tries_the_given_step_counts_fewest_first(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", "phantoms", "--model", str(tiny_model_dir), "--device", "cpu", "--n", "1"]
    assert main([*args, "--match-dpm", "--dpm-candidates", "3,2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    tried = [t["steps"] for t in doc["tried"]]
    assert tried and tried == sorted(tried) and set(tried) <= {2, 3} and tried[0] == 2
    assert doc["steps"] in (None, *tried)
    assert {"auroc", "ssim_gain"} <= set(doc["pndm75"])


def test_match_dpm_rejects_unreadable_step_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "phantoms", "--match-dpm", "--dpm-candidates", "four,6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--dpm-candidates" in err


def test_named_negative_is_stated_in_the_table_header(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", "phantoms", "--model", str(tiny_model_dir), "--device", "cpu", "--n", "1"]
    assert main([*args, "--induction", "0", "--settings", "steps=4", "--named-negative"]) == 0
    assert "negative prompt = each phantom's finding" in capsys.readouterr().out
