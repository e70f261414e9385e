"""The Film type: a decoded chest X-ray ready for display and for the model (a leaf: decoders import it).

``films.load.load_film(path)`` makes one from a file; ``film_from_array`` from pixels in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.windowing import Window, apply_window, window_from_range

if TYPE_CHECKING:
    import pydicom


# Decompression-bomb guard: a chest film is ~10 MP; refuse anything over 100 MP before decoding it.
MAX_PIXELS = 100_000_000


@dataclass(eq=False)  # identity equality: comparing pixel arrays element-wise would be ambiguous
class Film:
    """A loaded film. ``values`` is what windows apply to; ``display()`` is what the eye sees."""

    source: str  # file name only: safe to show, never the full (patient) path
    stored: np.ndarray = field(repr=False)  # decoded stored values of the chosen frame (HxW or HxWx3)
    values: np.ndarray = field(
        repr=False
    )  # float32 HxW after Modality LUT (+ VOI LUT sequence); colour -> gray
    window: Window
    default_window: Window
    photometric: str
    monochrome1: bool
    pixel_spacing: tuple[float, float] | None = None  # (row, column) spacing in mm
    view: str | None = None
    laterality: str | None = None
    sha256: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    metadata: list[tuple[str, str]] = field(
        default_factory=list, repr=False
    )  # for the GUI panel; never logged
    dataset: pydicom.Dataset | None = field(default=None, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.values.shape[0]), int(self.values.shape[1])

    def display(self, window: Window | None = None) -> np.ndarray:
        """Float32 HxW in [0, 1]: the window applied, then MONOCHROME1 (XOR the user's invert) flipped."""
        window = self.window if window is None else window
        out = apply_window(self.values, window)
        if self.monochrome1 != window.invert:
            out = np.float32(1.0) - out
        return out


def film_from_array(image: np.ndarray, source: str = "array") -> Film:
    """Wrap an in-memory image (float or integer; gray, RGB or RGBA) as a Film, e.g. for phantoms and tests."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 1:
        raise FilmError("An image must be 2-D gray or H x W x 3/4 colour.")
    if arr.dtype.kind not in "biuf":
        raise FilmError("An image must hold numbers.")
    stored = arr
    values = to_gray(arr[:, :, :3]) if arr.ndim == 3 else arr.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise FilmError("The image holds NaN or infinite values.")
    window = natural_window(values, arr.dtype)
    photometric = "RGB" if arr.ndim == 3 else "MONOCHROME2"
    h, w = values.shape
    info = {
        "format": "array",
        "rows": h,
        "columns": w,
        "modality": None,
        "photometric_interpretation": photometric,
        "bits_stored": int(arr.dtype.itemsize * 8),
        "transfer_syntax": None,
        "frames": 1,
        "frame": 0,
    }
    return Film(
        source=source,
        stored=stored,
        values=values,
        window=window,
        default_window=window,
        photometric=photometric,
        monochrome1=False,
        sha256=hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
        info=info,
    )


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, the usual weights for showing a colour image in gray."""
    rgb = rgb.astype(np.float32, copy=False)
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.float32)


def natural_window(values: np.ndarray, dtype: np.dtype[Any]) -> Window:
    """The window a plain viewer would use: the full 8-bit range, [0, 1] for unit floats, else the data range."""
    if dtype == np.uint8 or dtype == np.bool_:
        return window_from_range(0.0, 255.0 if dtype == np.uint8 else 1.0)
    lo, hi = float(np.min(values)), float(np.max(values))
    if dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        return window_from_range(0.0, 1.0)
    return window_from_range(lo, hi)


def check_pixel_budget(rows: int, columns: int, frames: int, name: str) -> None:
    """Refuse decompression bombs from the header alone, before any pixel is decoded."""
    total = int(rows) * int(columns) * max(int(frames), 1)
    if total > MAX_PIXELS:
        raise FilmError(
            f"{name} claims {total / 1e6:.0f} megapixels, more than the {MAX_PIXELS // 1_000_000} allowed; "
            "it is refused as damaged or unsafe."
        )
