"""Turn a diffusers/transformers folder with pickle weights (``*.bin``, ``*.pt``, ``*.pth``) into safetensors.

Each pickle file is read exactly once with ``torch.load(weights_only=True)`` (tensors only, no code), written as
safetensors under the name diffusers/transformers look for, and the new folder gets a manifest. The source folder
is never modified.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ModelError
from vald_desktop.core.engine.manifest import MANIFEST_NAME, write_manifest
from vald_desktop.core.engine.models import check_model_dir

CONVERTIBLE = (".bin", ".pt", ".pth")
REFUSED = (".ckpt", ".pkl")  # single-file checkpoints / arbitrary pickles: not a component layout


def safetensors_name(name: str) -> str:
    """``pytorch_model.bin`` → ``model.safetensors``; ``diffusion_pytorch_model.bin`` keeps its stem."""
    stem = name.rsplit(".", 1)[0]
    if stem == "pytorch_model" or stem.startswith("pytorch_model-"):
        stem = "model" + stem[len("pytorch_model") :]
    return stem + ".safetensors"


def _load_state_dict(path: Path) -> dict[str, Any]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for unsafe or broken files
        raise ModelError(
            f"{path.name} is not a plain tensor file and cannot be converted safely ({type(exc).__name__})."
        ) from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelError(f"{path.name} does not hold a table of weights and cannot be converted.")
    # Cloning breaks shared storage (tied embeddings), which safetensors refuses to write.
    return {str(k): v.detach().contiguous().clone() for k, v in obj.items()}


def _convert_index(src: Path, dst: Path) -> None:
    data = json.loads(src.read_text("utf-8"))
    data["weight_map"] = {k: safetensors_name(v) for k, v in data.get("weight_map", {}).items()}
    name = safetensors_name(src.name[: -len(".index.json")]) + ".index.json"
    atomic.write_text(dst / name, json.dumps(data, indent=2) + "\n")


def convert_model(src: str | Path, dst: str | Path, *, overwrite: bool = False) -> Path:
    """Copy ``src`` to ``dst`` with every pickle weight file turned into safetensors; returns ``dst``."""
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    if not (src / "model_index.json").is_file():
        raise ModelError(f"{src} is not a diffusers model folder (model_index.json is missing).")
    if dst.resolve() == src.resolve():
        raise ModelError("Converting needs a new output folder; the original is kept unchanged.")
    if dst.exists() and any(dst.iterdir()):
        if not overwrite:
            raise ModelError(f"The output folder {dst} is not empty; choose a new folder.")
        shutil.rmtree(dst)
    refused = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in REFUSED)
    if refused:
        raise ModelError(
            f"{refused[0].name} is a single-file checkpoint; convert it to a diffusers folder with diffusers first."
        )
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or path.name == MANIFEST_NAME or any(p.startswith(".") for p in rel.parts):
            continue
        out_dir = dst / rel.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in CONVERTIBLE:
            target = out_dir / safetensors_name(path.name)
            if target.exists() or (path.parent / target.name).exists():
                continue  # a safetensors twin already exists: keep it, drop the pickle
            tensors = _load_state_dict(path)
            with atomic.atomic_path(target) as tmp:
                save_file(tensors, str(tmp), metadata={"format": "pt"})
        elif path.name.endswith(".bin.index.json"):
            _convert_index(path, out_dir)
        else:
            with atomic.atomic_path(out_dir / path.name) as tmp:
                shutil.copyfile(path, tmp)
    write_manifest(dst, {"converted_from": src.name})
    check_model_dir(dst)
    return dst
