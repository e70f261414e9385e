"""Memory options change how gradients are computed, not what they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from training_helpers import tiny_config


def _unet(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))


def test_gradient_checkpointing_gives_the_same_weights(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    from vald_training.trainer import train

    phases = [{"class": "Lung_Opacity", "steps": 2}]
    train(tiny_config(tiny_base, film_set, tmp_path / "plain", phases=phases), progress=False)
    out = train(
        tiny_config(tiny_base, film_set, tmp_path / "ckpt", phases=phases, gradient_checkpointing=True),
        progress=False,
    )
    assert out["steps"] == 2
    a, b = _unet(tmp_path / "plain"), _unet(tmp_path / "ckpt")
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 1e-5


def test_gradient_accumulation_counts_optimizer_steps(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    from vald_training.trainer import Trainer

    cfg = tiny_config(
        tiny_base,
        film_set,
        tmp_path / "acc",
        phases=[{"class": "Normal", "steps": 2}],
        gradient_accumulation_steps=3,
    )
    trainer = Trainer(cfg, progress=False)
    result = trainer.run()
    assert result["steps"] == 2 and trainer.global_step == 2
    # 2 optimizer steps x 3 micro-batches x 2 films were drawn from the Normal pool.
    assert trainer._positions()["phase0/instance"] == 12


def test_min_timestep_keeps_training_on_high_noise_only() -> None:
    # A stage meant to teach the prompt (e.g. a finding's side) must never see the nearly clean films.
    import pytest
    from vald_training.batches import draw_noise
    from vald_training.config import TrainConfig

    from vald_desktop.core.base.errors import SettingsError

    full = draw_noise(3, 0, 512, (4, 2, 2), 1000)
    high = draw_noise(3, 0, 512, (4, 2, 2), 1000, min_timestep=600)
    assert int(full.timesteps.min()) < 600 <= int(high.timesteps.min())
    assert int(high.timesteps.max()) <= 999 and len(set(high.timesteps.tolist())) > 100
    for bad in (-1, 1000):
        with pytest.raises(SettingsError, match="min_timestep"):
            TrainConfig(base="b", data="d", out="o", min_timestep=bad).validate()
