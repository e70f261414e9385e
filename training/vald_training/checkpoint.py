"""Training checkpoints for exact resume: weights, optimizer, LR schedule, EMA, RNG states, step and data position.

Nothing is pickled: weights are safetensors, and the optimizer / LR-schedule / EMA / RNG states are split into their
tensors (``training_state.safetensors``) and everything else (``training_state.json``), so a checkpoint is as safe to
open as a model and never trips the app's refusal of pickle files. Checkpoints live in ``OUT/.checkpoints`` (hidden, so
the model manifest and the exported folder never include them).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import DataError

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
    py_version, py_state, _ = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": int(py_version), "state": list(py_state)},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    random.setstate((state["python"]["version"], tuple(state["python"]["state"]), None))


def split_tensors(obj: Any, tensors: dict[str, Any], prefix: str = "t") -> Any:
    """A JSON-able copy of ``obj`` whose tensors are moved into ``tensors`` (dict keys and tuples are preserved)."""
    import torch

    if isinstance(obj, torch.Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, tensors, prefix) for k, v in obj.items()}
        return {"__items__": [[k, split_tensors(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [split_tensors(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [split_tensors(v, tensors, prefix) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def join_tensors(obj: Any, tensors: dict[str, Any]) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__items__" in obj:
            return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(join_tensors(v, tensors) for v in obj["__tuple__"])
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


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
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_contiguous(unet.state_dict()), str(tmp / "unet.safetensors"))
    if text_encoder is not None:
        save_file(_contiguous(text_encoder.state_dict()), str(tmp / "text_encoder.safetensors"))
    extra = {
        "optimizer": optimizer.state_dict(),
        "lr_scheduler": lr_scheduler.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "rng": rng_state(),
    }
    tensors: dict[str, Any] = {}
    layout = split_tensors(extra, tensors)
    save_file(tensors, str(tmp / "training_state.safetensors"))
    (tmp / "training_state.json").write_text(json.dumps(layout) + "\n", encoding="utf-8")
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
    from safetensors.torch import load_file

    unet.load_state_dict(load_file(str(folder / "unet.safetensors")))
    if text_encoder is not None:
        text_encoder.load_state_dict(load_file(str(folder / "text_encoder.safetensors")))
    if not (folder / "training_state.json").is_file():
        raise DataError(f"{folder.name} is incomplete or from an older version (no training_state.json).")
    layout = json.loads((folder / "training_state.json").read_text("utf-8"))
    extra = join_tensors(layout, load_file(str(folder / "training_state.safetensors")))
    optimizer.load_state_dict(extra["optimizer"])
    lr_scheduler.load_state_dict(extra["lr_scheduler"])
    if ema is not None and extra["ema"] is not None:
        ema.load_state_dict(extra["ema"])
    set_rng_state(extra["rng"])
    state = json.loads((folder / "state.json").read_text("utf-8"))
    if not isinstance(state, dict):
        raise DataError(f"{folder.name} has an unreadable state.json (not a JSON object).")
    return state


def prune_checkpoints(out: str | Path, keep: int | None) -> None:
    if not keep:
        return
    for old in list_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _contiguous(sd: dict[str, Any]) -> dict[str, Any]:
    # safetensors refuses shared or non-contiguous storage; clone keeps tied weights saveable.
    return {k: v.detach().contiguous().clone() for k, v in sd.items()}
