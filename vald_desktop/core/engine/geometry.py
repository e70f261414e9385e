"""Film grid ↔ square model grid: resize keeping the aspect ratio, pad, and crop back.

The model sees a square ``size × size`` image; the film keeps its own shape. Padding replicates the edge pixels
(films rarely end in a hard black frame), and the counterfactual is cropped to the film's footprint and resized back
so every map lies on the original pixel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Placement:
    """Where the film sits inside the square model image."""

    height: int  # original film grid
    width: int
    inner_h: int  # resized film inside the square
    inner_w: int
    top: int
    left: int
    size: int


def place(height: int, width: int, size: int) -> Placement:
    scale = size / max(height, width)
    inner_h = max(1, min(size, round(height * scale)))
    inner_w = max(1, min(size, round(width * scale)))
    return Placement(height, width, inner_h, inner_w, (size - inner_h) // 2, (size - inner_w) // 2, size)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    if image.shape == (height, width):
        return image.astype(np.float32, copy=True)
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)


def to_model(image: np.ndarray, size: int) -> tuple[np.ndarray, Placement]:
    """HxW float image → (size x size float32, placement)."""
    p = place(image.shape[0], image.shape[1], size)
    inner = _resize(image, p.inner_h, p.inner_w)
    bottom = size - p.inner_h - p.top
    right = size - p.inner_w - p.left
    return np.pad(inner, ((p.top, bottom), (p.left, right)), mode="edge"), p


def mask_to_model(mask: np.ndarray, p: Placement) -> np.ndarray:
    """A bool film-grid mask on the square model grid (zero in the padding)."""
    inner = _resize(mask.astype(np.float32), p.inner_h, p.inner_w) > 0.5
    out = np.zeros((p.size, p.size), dtype=bool)
    out[p.top : p.top + p.inner_h, p.left : p.left + p.inner_w] = inner
    return out


def to_film(square: np.ndarray, p: Placement) -> np.ndarray:
    """size x size model image → film grid (float32, clipped to [0, 1])."""
    inner = square[p.top : p.top + p.inner_h, p.left : p.left + p.inner_w]
    out: np.ndarray = np.clip(_resize(inner, p.height, p.width), 0.0, 1.0)
    return out
