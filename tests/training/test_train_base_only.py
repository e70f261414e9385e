"""`vald train --base-only`: build a demo model's base (vocabulary + VAE stage) in one process, then stop, so that
`accelerate launch` can train the UNet on several processes afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from training_helpers import CLASSES

from vald_desktop.cli import main


def _config(tmp_path: Path, film_set: Path, build_base: bool) -> Path:
    cfg: dict[str, object] = {
        "base": str(tmp_path / "base"),
        "data": str(film_set),
        "out": str(tmp_path / "trained"),
        "resolution": 64,
        "class_prompts": dict(CLASSES),
        "mixed_precision": "no",
        "report_to": "none",
    }
    if build_base:
        cfg["build_base"] = {
            "vocab_size": 300,
            "max_images": 4,
            "vae_training": {"steps": 2, "batch_size": 2, "crop": 32, "warmup_steps": 1},
        }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_base_only_builds_the_base_and_trains_nothing(tmp_path, film_set, capsys) -> None:
    from vald_training.vocab import find_xrv_wheel

    from vald_desktop.core.base.errors import DataError

    try:
        find_xrv_wheel()
    except DataError:
        pytest.skip("the torchxrayvision wheel is not in .cache/wheels (make setup downloads it)")
    config = _config(tmp_path, film_set, build_base=True)
    assert main(["train", "--config", str(config), "--base-only", "--no-progress"]) == 0
    assert "written to" in capsys.readouterr().out
    assert (tmp_path / "base" / "model_index.json").is_file()
    assert (tmp_path / "base" / "vae" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (tmp_path / "trained").exists()
    before = (tmp_path / "base" / "vae" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns
    assert main(["train", "--config", str(config), "--base-only", "--no-progress"]) == 0
    assert "already at" in capsys.readouterr().out
    assert (tmp_path / "base" / "vae" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns == before


def test_base_only_without_a_build_base_section_is_refused(tmp_path, film_set, capsys) -> None:
    config = _config(tmp_path, film_set, build_base=False)
    assert main(["train", "--config", str(config), "--base-only"]) == 2
    assert "build_base" in capsys.readouterr().err


def test_several_processes_without_a_base_are_told_how_to_build_it(tmp_path, film_set, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = _config(tmp_path, film_set, build_base=True)
    assert main(["train", "--config", str(config), "--no-progress"]) == 2
    assert "--base-only" in capsys.readouterr().err
    assert not (tmp_path / "base").exists()
