"""The paper's chain on phantoms: covid19-radiography layout -> sharded batch 'vald run' (2 CPU processes) -> tables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from vald_desktop.cli import main
from vald_evaluation.inception_fid import FIDInceptionV3
from vald_phantoms.phantom import write_phantoms

FINDINGS = ("normal", "covid19", "lung_opacity", "viral_pneumonia")


def _vald(args: list[str], rank: int, world: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
    code = "import sys; from vald_desktop.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.PIPE)


def _random_fid_weights(path: Path) -> Path:
    torch.manual_seed(0)
    state = {k: v for k, v in FIDInceptionV3().state_dict().items() if not k.endswith("num_batches_tracked")}
    for key, value in state.items():
        if key.endswith("conv.weight"):
            value.normal_(0, (2.0 / value[0].numel()) ** 0.5)
    save_file(state, str(path))
    return path


@pytest.mark.slow
def test_sharded_runs_feed_the_paper_tables(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    data, gen = tmp_path / "data", tmp_path / "gen"
    write_phantoms(data, n=8, seed=77, layout="covid19-radiography", size=192, findings=FINDINGS)
    abnormal = sorted(p for p in data.glob("*/images/*.png") if p.parent.parent.name != "Normal")
    normal = sorted(data.glob("Normal/images/*.png"))
    (tmp_path / "abnormal.txt").write_text("\n".join(str(p) for p in abnormal) + "\n")
    (tmp_path / "normal.txt").write_text("\n".join(str(p) for p in normal) + "\n")
    common = ["--model", str(tiny_model_dir), "--device", "cpu", "--steps", "4", "--no-mask", "--quiet"]

    runs = [
        _vald(["run", str(tmp_path / "abnormal.txt"), "--out", str(gen), *common], r, 2) for r in range(2)
    ]
    for proc in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    made = sorted(gen.glob("*/counterfactual.png"))
    assert {p.parent.name for p in made} == {p.stem for p in abnormal}  # every film once, across both shards
    induced = gen / "zero-shot-cardiomegaly"
    assert (
        main(
            ["run", str(tmp_path / "normal.txt"), "--out", str(induced), "--prompt", "cardiomegaly", *common]
        )
        == 0
    )

    chexpert = tmp_path / "CheXpert-v1.0-small"
    rows = ["Path,Sex,Age,Frontal/Lateral,AP/PA,Cardiomegaly"]
    for i, p in enumerate(normal):
        rel = Path("CheXpert-v1.0-small/train") / f"patient{i:05d}/study1/view1_frontal.png"
        (tmp_path / rel).parent.mkdir(parents=True)
        shutil.copy(p, tmp_path / rel)
        rows.append(f"{rel},Male,60,Frontal,PA,1.0")
    (chexpert / "train.csv").write_text("\n".join(rows) + "\n")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = _random_fid_weights(tmp_path / "fid.safetensors")
    out = tmp_path / "tables"
    args = ["evaluate", "paper", "--data", str(data), "--generated", str(gen), "--chexpert", str(chexpert)]
    assert (
        main([*args, "--out", str(out), "--fid-weights", str(weights), "--device", "cpu", "--batch", "8"])
        == 0
    )
    doc = json.loads((out / "tables.json").read_text())
    # Every row of the paper's four tables has our value (FID >= 0, similarities in (0, 1]) beside the paper's.
    for table in doc["tables"]:
        for row in table["rows"]:
            assert all(v is not None and v >= 0 for v in row["ours"]), (
                table["number"],
                row["set1"],
                row["set2"],
            )
            assert len(row["paper"]) == len(row["ours"]) == len(table["metrics"])
        assert not table["notes"], table["notes"]
    table1 = [r["class"] for r in doc["tables"][0]["rows"]]
    assert table1 == ["Lung_Opacity"] * 3 + ["Viral Pneumonia"] * 3 + ["COVID"] * 3
