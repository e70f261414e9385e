"""Training checkpoints for exact resume: weights, optimizer, LR schedule, EMA, RNG states, step and data position.

Weights are safetensors; everything else is saved so that ``torch.load(weights_only=True)`` can read it back
(tensors, numbers, strings, lists, dicts only). Checkpoints live in ``OUT/.checkpoints`` (hidden, so the model
manifest and the exported folder never include them).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core import atomic
from vald_desktop.core.errors import DataError

CHECKPOINT_DIR = ".checkpoints"


def checkpoint_root(out: str | Path) -> Path:
    return Path(out) / CHECKPOINT_DIR


def list_checkpoints(out: str | Path) -> list[Path]:
    root = checkpoint_root(out)
    found = [p for p in root.glob("checkpoint-*") if (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def resolve_resume(out: str | Path, resume: str | None) -> Path | None:
    """``None`` -> no resume; ``"latest"`` -> newest checkpoint (None if there is none); else that folder."""
    if not resume:
        return None
    if resume == "latest":
        found = list_checkpoints(out)
        return found[-1] if found else None
    path = Path(resume)
    if not (path / "state.json").is_file():
        raise DataError(f"{path} is not a training checkpoint (no state.json).")
    return path


def rng_state() -> dict[str, Any]:
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [
            kind,
            torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        "python": list(random.getstate()[1]),
        "python_version": int(random.getstate()[0]),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate((state["python_version"], tuple(state["python"]), None))


def save_checkpoint(
    folder: Path,
    *,
    unet: Any,
    text_encoder: Any | None,
    optimizer: Any,
    lr_scheduler: Any,
    ema: Any | None,
    state: dict[str, Any],
) -> Path:
    """Write a complete checkpoint folder atomically (into a temp folder, then renamed)."""
    import torch
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_contiguous(unet.state_dict()), str(tmp / "unet.safetensors"))
    if text_encoder is not None:
        save_file(_contiguous(text_encoder.state_dict()), str(tmp / "text_encoder.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(lr_scheduler.state_dict(), tmp / "scheduler.pt")
    if ema is not None:
        torch.save(ema.state_dict(), tmp / "ema.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    atomic.write_text(tmp / "state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def load_checkpoint(
    folder: Path,
    *,
    unet: Any,
    text_encoder: Any | None,
    optimizer: Any,
    lr_scheduler: Any,
    ema: Any | None,
) -> dict[str, Any]:
    """Restore everything :func:`save_checkpoint` wrote; returns the saved training state (step, positions)."""
    import torch
    from safetensors.torch import load_file

    unet.load_state_dict(load_file(str(folder / "unet.safetensors")))
    if text_encoder is not None:
        text_encoder.load_state_dict(load_file(str(folder / "text_encoder.safetensors")))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    lr_scheduler.load_state_dict(torch.load(folder / "scheduler.pt", weights_only=True))
    if ema is not None and (folder / "ema.pt").is_file():
        ema.load_state_dict(torch.load(folder / "ema.pt", weights_only=True))
    set_rng_state(torch.load(folder / "rng.pt", weights_only=True))
    return json.loads((folder / "state.json").read_text("utf-8"))


def prune_checkpoints(out: str | Path, keep: int | None) -> None:
    if not keep:
        return
    for old in list_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _contiguous(sd: dict[str, Any]) -> dict[str, Any]:
    # safetensors refuses shared or non-contiguous storage; clone keeps tied weights saveable.
    return {k: v.detach().contiguous().clone() for k, v in sd.items()}
