"""Viewing arithmetic for the desktop app: window/level drags, presets, and 8-bit conversion.

Qt-free so it can be tested without a display. A window here is any frozen dataclass with ``center``, ``width``
and ``invert`` fields (``core.films.Window``); it is changed with :func:`dataclasses.replace`, never mutated.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.films.windowing import Window

# How many screen pixels of drag sweep the film's whole value range; matches the feel of PACS viewers where a
# drag across about half the screen goes from a narrow to a fully open window.
DRAG_PIXELS_FOR_FULL_RANGE = 600.0
MIN_WIDTH_FRACTION = 1e-3

PRESET_NAMES = ("Default (DICOM)", "Auto", "Full range", "High contrast", "Soft tissue")


def value_range(values: np.ndarray) -> tuple[float, float]:
    """The finite minimum and maximum of a film's values (0, 1 when there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def drag_window(window: Window, dx: float, dy: float, vrange: tuple[float, float]) -> Window:
    """Window/level after a right-drag of (dx, dy) screen pixels.

    Horizontal drag widens (right) or narrows (left) the window; vertical drag raises the level when dragging
    down, which brightens the image as on common PACS workstations.
    """
    span = max(vrange[1] - vrange[0], 1e-6)
    per_pixel = span / DRAG_PIXELS_FOR_FULL_RANGE
    width = max(float(window.width) + dx * per_pixel, span * MIN_WIDTH_FRACTION)
    center = float(window.center) - dy * per_pixel
    try:
        # with_range keeps the DICOM rules (e.g. LINEAR windows at least 1 wide) in one place.
        return window.with_range(center - width / 2.0, center + width / 2.0)
    except ValdError:  # a refused window (e.g. not finite) simply leaves the view as it was
        return window


def preset_window(index: int, values: np.ndarray, default: Window, auto: Window) -> Window:
    """W/L preset ``index`` (0-based, see :data:`PRESET_NAMES`) for a film.

    Chest films come in arbitrary units (raw CR counts, 8-bit PNGs), so the non-DICOM presets are taken from the
    film's own percentiles rather than fixed Hounsfield-like numbers.
    """
    if index == 0:
        return default
    if index == 1:
        return auto
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return default
    if index == 2:
        lo, hi = float(finite.min()), float(finite.max())
    elif index == 3:
        lo, hi = (float(v) for v in np.percentile(finite, [20.0, 80.0]))
    elif index == 4:
        lo, hi = (float(v) for v in np.percentile(finite, [5.0, 60.0]))
    else:
        raise IndexError(f"no W/L preset {index + 1}")
    if hi <= lo:
        hi = lo + 1.0
    return default.with_range(lo, hi)


def toggle_invert(window: Window) -> Window:
    return dataclasses.replace(window, invert=not bool(window.invert))


def relative_display(
    display01: np.ndarray, default: Window, current: Window, monochrome1: bool = False
) -> np.ndarray:
    """Apply the change from ``default`` to ``current`` window to an image already displayed with ``default``.

    The counterfactual lives in display space (what the model saw: the film under its default window); this maps it
    the way the original film is mapped under the user's window, so both panels show the same contrast. Display
    flips when MONOCHROME1 differs from the window's invert flag, as in ``Film.display``.
    """
    # Everything is affine in display space, so fold both flips and both windows into out = clip(d*a + b):
    # three in-place passes over the image instead of a dozen temporaries (it runs on the GUI thread).
    lo0, hi0 = float(default.low), float(default.high)
    lo, hi = float(current.low), float(current.high)
    a = (hi0 - lo0) / max(hi - lo, 1e-12)
    b = (lo0 - lo) / max(hi - lo, 1e-12)
    if monochrome1 != bool(default.invert):  # d was flipped: d = 1 - d'
        a, b = -a, a + b
    if monochrome1 != bool(current.invert):  # flip the output: 1 - (a d + b)
        a, b = -a, 1.0 - b
    out = np.multiply(np.asarray(display01, dtype=np.float32), np.float32(a), dtype=np.float32)
    out += np.float32(b)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def to_uint8(image01: np.ndarray) -> np.ndarray:
    """[0, 1] float image → contiguous uint8 (NaN shown black)."""
    a = np.asarray(image01, dtype=np.float32)
    buf = np.multiply(a, np.float32(255.0), dtype=np.float32)
    buf += np.float32(0.5)
    np.clip(buf, 0.0, 255.0, out=buf)
    if np.isnan(buf).any():  # rare: only pay for the NaN pass when there is one
        buf[np.isnan(buf)] = 0.0
    return np.ascontiguousarray(buf.astype(np.uint8))


def window_label(window: Window) -> str:
    inv = " inverted" if bool(window.invert) else ""
    return f"W {float(window.width):.0f} L {float(window.center):.0f}{inv}"


def overlay_layer(norm: np.ndarray, mode: str, threshold: float) -> np.ndarray:
    """The attribution overlay as an RGBA layer (uint8 HxWx4) to draw over the film with opacity ``opacity``.

    ``norm`` is the map normalised to [-1, 1] (``attribution.normalise`` in signed mode). Drawn with the layer's
    opacity o over a gray base b, Qt's source-over gives b(1 - o·a) + c·o·a, the same blend as
    ``attribution.render_overlay``, so the GUI can change opacity without recomputing any pixels.
    """
    from vald_desktop.core.attribution.maps import BLUE, RED

    v = np.asarray(norm, dtype=np.float32)
    mag = np.abs(v)
    scale = np.float32(255.0 / max(1e-6, 1.0 - threshold))
    alpha = np.clip((mag - np.float32(threshold)) * scale, 0.0, 255.0)
    h, w = v.shape
    rgba = np.empty((h, w, 4), dtype=np.uint8)
    rgba[..., 3] = alpha + np.float32(0.5)  # alpha is 0 below the threshold already (clipped ramp)
    if mode == "signed":
        red = v >= 0
        for c in range(3):  # per channel on 2-D planes: much cheaper than broadcasting an HxWx3 where()
            rgba[..., c] = np.where(red, np.uint8(RED[c]), np.uint8(BLUE[c]))
    else:
        rgba[..., :3] = RED.astype(np.uint8)
    return rgba
