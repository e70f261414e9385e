"""Window/level (VOI) for display: the three DICOM VOI LUT functions and a robust automatic window.

The formulas follow DICOM PS3.3 C.11.2.1.2 with the output range mapped to [0, 1]. The window lives in a small
frozen dataclass so the GUI, the CLI and the exports render a film the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vald_desktop.core.base.errors import FilmError

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")

# Percentiles for the automatic window: wide enough to keep anatomy, narrow enough to ignore
# burned-in labels, collimator edges and dead pixels.
AUTO_LOW_PERCENTILE = 0.5
AUTO_HIGH_PERCENTILE = 99.5
# Percentiles on ~1 M samples are indistinguishable from the full image and much cheaper.
_AUTO_MAX_SAMPLES = 1 << 20


@dataclass(frozen=True)
class Window:
    """A display window applied to a film's ``values`` (after the Modality LUT)."""

    center: float
    width: float
    function: str = "LINEAR"
    invert: bool = False  # the user's extra inversion, on top of MONOCHROME1

    def __post_init__(self) -> None:
        function = str(self.function).strip().upper()
        if function not in VOI_FUNCTIONS:
            raise FilmError(
                f"The window function {self.function!r} is not one of LINEAR, LINEAR_EXACT or SIGMOID."
            )
        object.__setattr__(self, "function", function)
        if not (np.isfinite(self.center) and np.isfinite(self.width)):
            raise FilmError("The window centre and width must be finite numbers.")
        # PS3.3 requires width >= 1 for LINEAR and > 0 for the others.
        if function == "LINEAR" and self.width < 1:
            raise FilmError("A LINEAR window must be at least 1 wide.")
        if self.width <= 0:
            raise FilmError("The window width must be positive.")

    @property
    def low(self) -> float:
        """The value shown black (before any inversion)."""
        if self.function == "LINEAR":
            return self.center - 0.5 - (self.width - 1) / 2
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        """The value shown white (before any inversion)."""
        if self.function == "LINEAR":
            return self.center - 0.5 + (self.width - 1) / 2
        return self.center + self.width / 2

    def with_range(self, low: float, high: float) -> Window:
        """The same function and inversion with new limits (what a contrast slider sets)."""
        return window_from_range(low, high, function=self.function, invert=self.invert)


def window_from_range(
    low: float, high: float, function: str = "LINEAR_EXACT", invert: bool = False
) -> Window:
    """A window that maps ``low`` to black and ``high`` to white."""
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise FilmError("The window limits must be finite numbers.")
    if high < low:
        low, high = high, low
    function = str(function).upper()
    if function == "LINEAR":
        width = max(high - low + 1.0, 1.0)
        return Window(center=low + 0.5 + (width - 1) / 2, width=width, function=function, invert=invert)
    # Flat images still need a usable (tiny) width.
    width = high - low if high > low else max(abs(low) * 1e-6, 1e-6)
    return Window(center=(low + high) / 2, width=width, function=function, invert=invert)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map ``values`` through ``window`` to float32 in [0, 1] (no inversion here)."""
    x = np.asarray(values, dtype=np.float32)
    c = np.float32(window.center)
    w = np.float32(window.width)
    if window.function == "SIGMOID":
        with np.errstate(over="ignore"):
            sig: np.ndarray = 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w, dtype=np.float32))
        return sig.astype(np.float32, copy=False)
    if window.function == "LINEAR_EXACT":
        out = (x - c) / w + np.float32(0.5)
    elif window.width == 1:
        # Width 1 is a threshold: the ramp collapses to a step at c - 0.5.
        out = (x > c - np.float32(0.5)).astype(np.float32)
    else:
        out = (x - (c - np.float32(0.5))) / (w - np.float32(1.0)) + np.float32(0.5)
    clipped: np.ndarray = np.clip(out, 0.0, 1.0)
    return clipped.astype(np.float32, copy=False)


def auto_window(values: np.ndarray, function: str = "LINEAR_EXACT") -> Window:
    """A robust window from the 0.5th to the 99.5th percentile of the finite values."""
    flat = np.asarray(values).reshape(-1)
    if flat.size > _AUTO_MAX_SAMPLES:
        flat = flat[:: flat.size // _AUTO_MAX_SAMPLES + 1]
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    if flat.size == 0:
        return window_from_range(0.0, 1.0, function=function)
    low, high = np.percentile(flat, [AUTO_LOW_PERCENTILE, AUTO_HIGH_PERCENTILE])
    if high <= low:
        # Nearly constant image: fall back to the full range so a lone bright label still shows.
        low, high = float(np.min(flat)), float(np.max(flat))
    return window_from_range(float(low), float(high), function=function)
