"""Data-parallel training under `accelerate launch` with 2 CPU processes equals one process with the same global batch.

accelerate 1.x (checked with 1.15) sends `--cpu` launches to its simple launcher, which starts one process unless an
MPI hostfile is given, so `--cpu --num_processes 2` would train once. Two gloo processes are started with
`--multi_gpu` (torch.distributed.run) and ACCELERATE_USE_CPU=1, which keeps every process on the CPU.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from training_helpers import CLASSES, tiny_config


def _free_port() -> int:
    """A port that is free now: the OS picks it for a socket bound to port 0, released for the launcher."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def _unet(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))


@pytest.mark.slow
def test_two_processes_equal_one_with_the_same_global_batch(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    from vald_training.trainer import train

    common = {"prior_weight": 1.0, "caption_dropout": 0.2, "learning_rate": 1e-3}
    single = train(
        tiny_config(tiny_base, film_set, tmp_path / "single", train_batch_size=2, **common), progress=False
    )
    assert single["steps"] == 4

    settings = tiny_config(tiny_base, film_set, tmp_path / "ddp", train_batch_size=1, **common).to_dict()
    settings["class_prompts"] = dict(CLASSES)
    cfg_file = tmp_path / "ddp.yaml"
    cfg_file.write_text(yaml.safe_dump(settings))
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    # A port from the OS, asked for just before the launch: parallel runs cannot collide on a fixed one.
    cmd += ["--mixed_precision", "no", "--main_process_port", str(_free_port())]
    cmd += [
        "--dynamo_backend",
        "no",
        "-m",
        "vald_desktop.cli",
        "train",
        "--config",
        str(cfg_file),
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # Two distinct processes trained (ranks 0 and 1 of 2, each to the last step), not one process twice...
    ranks = json.loads((tmp_path / "ddp" / ".logs" / "ranks.json").read_text())
    assert sorted((r["rank"], r["world_size"]) for r in ranks) == [(0, 2), (1, 2)], ranks
    assert len({r["pid"] for r in ranks}) == 2 and all(r["steps"] == 4 for r in ranks), ranks
    assert [
        r["world_size"] for r in json.loads((tmp_path / "single" / ".logs" / "ranks.json").read_text())
    ] == [1]
    # ...and only the main process writes: one log line per step, one output folder, one card.
    lines = (tmp_path / "ddp" / ".logs" / "loss.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4]
    assert "2 process(es)" in (tmp_path / "ddp" / "README.md").read_text()

    # Same data, noise and loss at every step...
    ref = [
        json.loads(x)["loss"] for x in (tmp_path / "single" / ".logs" / "loss.jsonl").read_text().splitlines()
    ]
    got = [json.loads(x)["loss"] for x in lines]
    assert np.allclose(got, ref, rtol=1e-4), (got, ref)
    # ...hence the same weights, up to float reduction order (Adam magnifies that on near-zero gradients, so
    # compare the whole update's norm, not single elements).
    a, b, base = _unet(tmp_path / "single"), _unet(tmp_path / "ddp"), _unet(tiny_base)
    moved = sum(float(((a[k] - base[k]) ** 2).sum()) for k in a) ** 0.5
    diff = sum(float(((a[k] - b[k]) ** 2).sum()) for k in a) ** 0.5
    assert moved > 1e-2, "the single-process run did not train"
    assert diff / moved < 1e-2, f"2-process update differs from the 1-process update by {diff / moved:.2%}"
