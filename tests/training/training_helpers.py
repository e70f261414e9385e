"""Helpers for the training tests (a unique module name: several test areas have a conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = {"Normal": "Normal chest scan", "Lung_Opacity": "Lung Opacity"}


def _film(rng: np.random.Generator, size: int, opacity: bool) -> np.ndarray:
    """A crude chest-like film: dark lung ellipses in a bright body, an optional bright blob in one lung."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.75 + 0.05 * rng.standard_normal((size, size))
    for cx in (0.3, 0.7):
        lung = ((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2 < 1
        img[lung] -= 0.45
    if opacity:
        cx = 0.3 if rng.random() < 0.5 else 0.7
        img += 0.35 * np.exp(-(((xx - cx) ** 2 + (yy - 0.55) ** 2) / 0.01))
    return np.clip(img, 0, 1)


def write_film_set(root: Path, n_per_class: int = 6, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for klass in CLASSES:
        folder = root / klass / "images"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            arr = _film(rng, size, opacity=klass != "Normal")
            Image.fromarray((arr * 255).astype(np.uint8)).save(folder / f"{klass}-{i}.png")
    return root


def tiny_config(base: Path, data: Path, out: Path, **overrides: object):  # noqa: ANN201
    from vald_training.config import load_config

    settings = {
        "base": str(base),
        "data": str(data),
        "out": str(out),
        "resolution": 64,
        "class_prompts": dict(CLASSES),
        "phases": [{"class": "Normal", "steps": 2}, {"class": "Lung_Opacity", "steps": 2}],
        "mixed_precision": "no",
        "learning_rate": 1e-3,
        "lr_warmup_steps": 0,
        "checkpointing_steps": 0,
        "validation_inference_steps": 0,
        "report_to": "none",
        "log_every": 1,
    }
    settings.update(overrides)
    return load_config(None, settings)
