"""Exact resume: stop after 2 of 4 steps (checkpoint), resume -> the same weights as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from training_helpers import tiny_config


def _unet(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))


def test_resume_equals_uninterrupted(tiny_base: Path, film_set: Path, tmp_path: Path) -> None:
    from vald_training.checkpoint import list_checkpoints
    from vald_training.trainer import train

    common = {
        "ema": True,
        "ema_decay": 0.9,
        "lr_scheduler": "cosine",
        "lr_warmup_steps": 1,
        "caption_dropout": 0.3,
    }
    full = train(tiny_config(tiny_base, film_set, tmp_path / "full", **common), progress=False)
    assert full["steps"] == 4

    part = tiny_config(tiny_base, film_set, tmp_path / "part", **common)
    stopped = train(part, progress=False, stop_after=2)
    assert stopped == {"stopped_at": 2}
    ckpts = list_checkpoints(tmp_path / "part")
    assert [c.name for c in ckpts] == ["checkpoint-2"]
    assert not (tmp_path / "part" / "model_index.json").exists()  # nothing exported yet

    resumed = train(
        tiny_config(tiny_base, film_set, tmp_path / "part", resume="latest", **common), progress=False
    )
    assert resumed["steps"] == 4
    a, b = _unet(tmp_path / "full"), _unet(tmp_path / "part")
    assert a.keys() == b.keys()
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    assert worst < 1e-6, f"resumed weights differ from the uninterrupted run by {worst}"
    # And training did something: the weights are not the base's.
    base = _unet(tiny_base)
    assert max(float(np.abs(a[k] - base[k]).max()) for k in a) > 1e-4
    # Checkpoints are pickle-free, so the app accepts the output folder even with them inside.
    from vald_desktop.core.engine.models import check_model_dir

    suffixes = {p.suffix for p in (tmp_path / "part" / ".checkpoints").rglob("*") if p.is_file()}
    assert suffixes <= {".safetensors", ".json"}, suffixes
    check_model_dir(tmp_path / "part")


def test_ctrl_c_saves_a_checkpoint(tiny_base: Path, film_set: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import pytest
    from vald_training.checkpoint import list_checkpoints
    from vald_training.trainer import Trainer

    from vald_desktop.core.base.errors import Cancelled

    trainer = Trainer(tiny_config(tiny_base, film_set, tmp_path / "out"), progress=False)
    real = trainer._optimizer_step

    def step_then_interrupt(inst, prior):  # noqa: ANN001, ANN202
        if trainer.global_step == 3:
            raise KeyboardInterrupt
        return real(inst, prior)

    monkeypatch.setattr(trainer, "_optimizer_step", step_then_interrupt)
    with pytest.raises(Cancelled, match="interrupted at step 3; a checkpoint was saved"):
        trainer.run()
    assert [c.name for c in list_checkpoints(tmp_path / "out")] == ["checkpoint-3"]
