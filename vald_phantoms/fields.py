"""Small field helpers shared by the phantom anatomy and lesions: smooth steps, windows, noise, hypot."""

from __future__ import annotations

import numpy as np

from vald_desktop.core.base.gridsample import Window, upsample


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    out: np.ndarray = x * x * (3.0 - 2.0 * x)
    return out


def smoothstep_(x: np.ndarray) -> np.ndarray:
    """``smoothstep`` computed in place in the float array ``x`` (same values, two temporaries fewer)."""
    np.clip(x, 0.0, 1.0, out=x)
    t = 2.0 * x
    np.subtract(3.0, t, out=t)
    x *= x
    x *= t
    return x


def span(flags: np.ndarray) -> slice:
    """The slice from the first to the last true entry of a 1-D boolean array (empty when none is true)."""
    hits = np.flatnonzero(flags)
    return slice(int(hits[0]), int(hits[-1]) + 1) if len(hits) else slice(0, 0)


def is_empty(win: Window) -> bool:
    return bool(win[0].stop <= win[0].start or win[1].stop <= win[1].start)


def noise_field(
    rng: np.random.Generator, cells: int, h: int, w: int, window: Window | None = None
) -> np.ndarray:
    """Smooth random field (zero mean, unit-ish std) with about ``cells`` features across the image.

    With ``window`` only that part of the h x w field is returned (the draw from ``rng`` is the same).
    """
    return upsample(rng.standard_normal((cells + 1, cells + 1)).astype(np.float32), h, w, window)


def periodic_noise_1d(rng: np.random.Generator, n: int, x: np.ndarray) -> np.ndarray:
    """Smooth 1-D noise of period 1 in ``x`` with ``n`` knots (for angles, rib wobble, lesion outlines)."""
    knots = rng.standard_normal(n).astype(np.float32)
    frac = x - np.floor(x)  # np.mod is ~50x slower than this on float32 grids
    return _interp_knots(frac * n, np.append(knots, knots[0]).astype(np.float64))


def _interp_knots(u: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(u, arange(len(fp)), fp)`` as float32 for 0 <= u <= len(fp) - 1, bit for bit.

    The knots sit at the integers, so the interval is floor(u) and no search is needed; the arithmetic is
    np.interp's own (slope * (u - j) + fp[j] in float64), about 7x faster than its binary search.
    """
    last = len(fp) - 1
    t = u.astype(np.float64)
    j = np.floor(t)
    np.minimum(j, last - 1, out=j)
    ji = j.astype(np.intp)
    t -= j
    t *= np.diff(fp)[ji]
    t += fp[ji]
    top = u >= last
    if top.any():
        t[top] = fp[last]  # np.interp returns the last knot itself there
    return t.astype(np.float32)


def hypot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float32 hypotenuse through float64 (what glibc's hypotf does, bit for bit), several times faster."""
    a64 = np.asarray(a, np.float64)
    sq = np.square(a64)
    sq = sq + np.square(np.asarray(b, np.float64))
    return np.sqrt(sq, out=sq).astype(np.float32)
