"""``vald doctor`` and ``vald-desktop --selftest``: every check reported, exit 0 only when all passed, else 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from vald_desktop.core.base.errors import ModelError
from vald_desktop.selftest.runner import failure_sentence, run_selftest, summary

CHECKS = ["versions", "device", "decoders", "sample film", "lung mask", "model folder", "counterfactual", "overlay",
          "export"]  # fmt: skip
DOCTOR = [sys.executable, "-m", "vald_desktop.cli", "doctor"]
SELFTEST = [sys.executable, "-m", "vald_desktop.gui.app", "--selftest"]


def _run(cmd: list[str], model: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("VALD_MODEL", None)
    if model is not None:
        env["VALD_MODEL"] = str(model)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def _lines(out: str) -> dict[str, str]:
    """Check name -> "ok" / "FAILED", from the report's check lines."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"(ok|FAILED)\s+(\S+(?: \S+)?)\s{2,}", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def test_the_sample_film_is_where_make_run_finds_it(repo_root: Path) -> None:
    from vald_desktop.core.films.samples import sample_film_path

    sample = re.search(r"^SAMPLE := (\S+)$", (repo_root / "Makefile").read_text(), re.M)
    assert sample and sample_film_path() == repo_root / sample.group(1)
    assert sample_film_path().is_file()


def test_a_failing_check_is_reported_and_the_next_ones_still_run() -> None:
    def boom(state: object) -> str:
        raise RuntimeError("kaput\nsecond line")

    def refused(state: object) -> str:
        raise ModelError("The model folder is unusable.")

    def noisy(state: object) -> str:
        warnings.warn(UserWarning("look closer"), stacklevel=1)
        return "fine"

    results = run_selftest(checks=[("boom", boom), ("model", refused), ("noisy", noisy)])
    assert [(r.name, r.ok) for r in results] == [("boom", False), ("model", False), ("noisy", True)]
    assert results[0].sentence == "RuntimeError: kaput second line"
    assert results[1].sentence == "The model folder is unusable."
    assert results[2].sentence == "fine (warning: look closer)"
    assert failure_sentence(results) == "The self-test failed: boom, model."
    assert summary(results).startswith("2 of 3 checks failed (boom, model)")
    assert failure_sentence(results[2:]) is None


@pytest.mark.slow
@pytest.mark.parametrize("cmd", [DOCTOR, SELFTEST], ids=["vald-doctor", "vald-desktop-selftest"])
def test_the_self_test_passes_with_the_demo_model(cmd: list[str]) -> None:
    done = _run(cmd)
    assert done.returncode == 0, done.stdout + done.stderr
    expected = CHECKS + (["window", "helper process"] if cmd is SELFTEST else [])
    assert _lines(done.stdout) == dict.fromkeys(expected, "ok")
    assert f"All {len(expected)} checks passed" in done.stdout
    assert "demo-phantom" in done.stdout and "runs on cpu" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("cmd", [DOCTOR, SELFTEST], ids=["vald-doctor", "vald-desktop-selftest"])
def test_a_broken_model_folder_fails_with_exit_2_and_names_the_check(cmd: list[str], tmp_path: Path) -> None:
    done = _run(cmd, model=tmp_path)  # VALD_MODEL names an empty folder
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == "error: The self-test failed: model folder, counterfactual."
    lines = _lines(done.stdout)
    assert lines["model folder"] == "FAILED" and lines["counterfactual"] == "FAILED"
    # The other checks still ran: the overlay and the export on a stand-in result.
    assert {k for k, v in lines.items() if v == "ok"} >= {"sample film", "lung mask", "overlay", "export"}
    assert "model_index.json is missing" in done.stdout


def test_doctor_json_lists_every_check(tmp_path: Path) -> None:
    done = _run([*DOCTOR, "--json"], model=tmp_path)
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and [c["name"] for c in doc["checks"]] == CHECKS
    assert [c["name"] for c in doc["checks"] if not c["ok"]] == ["model folder", "counterfactual"]
