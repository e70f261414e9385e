"""Bilinear sampling on separable (axis-aligned) grids: scaling a small field up or into a box.

Phantoms (lung shapes, smooth noise) and the lung atlas (shape model into the film) only ever scale and shift
fields, never rotate them, so rows and columns can be interpolated separately: two gathers instead of
``scipy.ndimage.map_coordinates`` over every pixel.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

Window = tuple[slice, slice]


def sample_grid(a: np.ndarray, ry: np.ndarray, rx: np.ndarray) -> np.ndarray:
    """Sample ``a`` (…, h, w) at rows ``ry`` x columns ``rx`` (fractional indices, already inside the array)."""
    y0 = np.floor(ry).astype(np.intp)
    x0 = np.floor(rx).astype(np.intp)
    y1 = np.minimum(y0 + 1, a.shape[-2] - 1)
    x1 = np.minimum(x0 + 1, a.shape[-1] - 1)
    fy = (ry - y0)[:, None].astype(np.float32)
    fx = (rx - x0)[:, None].astype(np.float32)
    rows = np.take(a, y0, axis=-2) * (1 - fy)
    rows += np.take(a, y1, axis=-2) * fy
    # Gathering columns goes element by element; gathering whole rows of the transposed field and transposing
    # once is several times faster, with the same arithmetic per pixel (bit for bit the same result).
    cols = np.ascontiguousarray(np.swapaxes(rows, -1, -2))
    out_t = np.take(cols, x0, axis=-2)
    out_t *= 1 - fx
    right = np.take(cols, x1, axis=-2)
    right *= fx
    out_t += right
    # ``right`` is free again and just the size of the result: transpose into it (one large allocation fewer).
    out: np.ndarray = right.reshape(out_t.shape[:-2] + (len(ry), len(rx)))
    np.copyto(out, np.swapaxes(out_t, -1, -2))
    return out


@lru_cache(maxsize=256)
def _coords(small: int, n: int) -> np.ndarray:
    """Fractional source indices of ``n`` pixel centres spread over ``small`` samples (read-only, cached)."""
    r = np.clip((np.arange(n, dtype=np.float32) + 0.5) * small / n - 0.5, 0, small - 1)
    r.flags.writeable = False
    return r


def upsample_coords(small: int, n: int) -> np.ndarray:
    """The source coordinates ``upsample`` uses along one axis (for callers that crop the small field)."""
    return _coords(small, n)


def upsample(small: np.ndarray, h: int, w: int, window: Window | None = None) -> np.ndarray:
    """Bilinear resize of a (…, sh, sw) field to (…, h, w), pixel centres aligned.

    With ``window`` (row slice, column slice) only that part of the resized field is computed; its values are
    exactly those of the full result there.
    """
    sh, sw = small.shape[-2:]
    ry, rx = _coords(sh, h), _coords(sw, w)
    if window is not None:
        ry, rx = ry[window[0]], rx[window[1]]
    return sample_grid(small, ry, rx)
