"""Bilinear sampling on separable (axis-aligned) grids: scaling a small field up or into a box.

Phantoms (lung shapes, smooth noise) and the lung atlas (shape model into the film) only ever scale and shift
fields, never rotate them, so rows and columns can be interpolated separately: two gathers instead of
``scipy.ndimage.map_coordinates`` over every pixel.
"""

from __future__ import annotations

import numpy as np


def sample_grid(a: np.ndarray, ry: np.ndarray, rx: np.ndarray) -> np.ndarray:
    """Sample ``a`` (…, h, w) at rows ``ry`` x columns ``rx`` (fractional indices, already inside the array)."""
    y0 = np.floor(ry).astype(np.intp)
    x0 = np.floor(rx).astype(np.intp)
    y1 = np.minimum(y0 + 1, a.shape[-2] - 1)
    x1 = np.minimum(x0 + 1, a.shape[-1] - 1)
    fy = (ry - y0)[:, None].astype(np.float32)
    fx = (rx - x0)[None, :].astype(np.float32)
    rows = np.take(a, y0, axis=-2) * (1 - fy) + np.take(a, y1, axis=-2) * fy
    # np.take keeps the result C-ordered; fancy indexing on the last axis returns a transposed layout that
    # makes every later operation on the field several times slower.
    return np.take(rows, x0, axis=-1) * (1 - fx) + np.take(rows, x1, axis=-1) * fx


def upsample(small: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of a (…, sh, sw) field to (…, h, w), pixel centres aligned."""
    sh, sw = small.shape[-2:]
    ry = np.clip((np.arange(h, dtype=np.float32) + 0.5) * sh / h - 0.5, 0, sh - 1)
    rx = np.clip((np.arange(w, dtype=np.float32) + 0.5) * sw / w - 0.5, 0, sw - 1)
    return sample_grid(small, ry, rx)
