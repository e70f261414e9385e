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
