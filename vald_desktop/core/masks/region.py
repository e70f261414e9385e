"""The edit region: a painted area of the film outside which a run leaves the film as it is.

Distinct from the lung mask (which says where the lungs are and confines the map): the region says where the
reader allows the model to change the film, for removal ("remove this one") and induction ("put an opacity
here") alike. Its PNG is 8-bit gray, 255 = editable. A run weighs the model's edit by :meth:`EditRegion.weight`:
1 inside, 0 outside, and a feathered border that ramps *inside* the painted area, so nothing outside the region
changes at all. ``record()`` is what run.json keeps: a hash of the region, its area and the feather width.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base.atomic import write_bytes
from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.base.graypng import encode_gray_png
from vald_desktop.core.masks.lung_mask import resize_nearest

SOURCES = ("painted", "file")
# The feathered border, as a share of the film's longer side (3 px on a 256-px film, 24 px on a 2k film).
FEATHER_SHARE = 0.012


@dataclass(frozen=True, eq=False)
class EditRegion:
    """A boolean region at the film's size (True = the run may change the film there)."""

    mask: np.ndarray
    source: str = "painted"

    def __post_init__(self) -> None:
        arr = np.asarray(self.mask)
        if arr.ndim != 2 or arr.size == 0:
            raise MaskError("An edit region must be a two-dimensional picture.")
        object.__setattr__(self, "mask", arr.astype(bool, copy=True))
        if not self.mask.any():
            raise MaskError("The edit region is empty; paint where the film may change, or clear the region.")

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.mask.shape[0]), int(self.mask.shape[1])

    @property
    def area_pct(self) -> float:
        """Share of the film inside the region, in percent."""
        return float(100.0 * self.mask.mean())

    @property
    def feather_px(self) -> float:
        """Width of the feathered border in film pixels (inside the region)."""
        return max(1.5, FEATHER_SHARE * max(self.shape))

    @property
    def sha256(self) -> str:
        """SHA-256 of ``"<rows>x<columns>:"`` followed by the region's pixels packed eight to a byte, row by row."""
        h, w = self.shape
        digest = hashlib.sha256(f"{h}x{w}:".encode())
        digest.update(np.packbits(self.mask, axis=None).tobytes())
        return digest.hexdigest()

    def weight(self) -> np.ndarray:
        """float32 HxW in [0, 1]: 0 outside, a smooth ramp over ``feather_px`` inside the edge, then 1."""
        return self._weight

    @cached_property
    def _weight(self) -> np.ndarray:
        from scipy.ndimage import distance_transform_edt

        if self.mask.all():
            return np.ones(self.shape, np.float32)
        inside = distance_transform_edt(self.mask)  # distance to the nearest pixel outside; 0 outside
        # A pixel on the edge is 1 from the outside: the ramp starts half a pixel out, at the edge itself.
        t = np.clip((np.asarray(inside, np.float32) - 0.5) / np.float32(self.feather_px), 0.0, 1.0)
        ramp: np.ndarray = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
        return ramp

    def record(self) -> dict[str, Any]:
        """The run record's ``region`` block."""
        return {
            "sha256": self.sha256,
            "area_pct": round(self.area_pct, 4),
            "feather_px": round(self.feather_px, 3),
            "source": self.source,
        }


def check_region(region: EditRegion, shape: tuple[int, int]) -> None:
    """Refuse a region drawn for another film size (one sentence)."""
    if region.shape != tuple(shape):
        h, w = region.shape
        raise MaskError(
            f"The edit region is {w}x{h} but the film is {shape[1]}x{shape[0]}; paint or load one for this film."
        )


def load_region(path: str | os.PathLike[str], shape: tuple[int, int]) -> EditRegion:
    """Read a region PNG (255 = editable; any pixel at half the range or more counts) and fit it to ``shape``."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    name = path.name
    try:
        with Image.open(io.BytesIO(path.read_bytes())) as img:
            img.load()
            full = 65535.0 if img.mode.startswith("I") else 1.0 if img.mode == "1" else 255.0
            arr = np.asarray(img if img.mode in ("1", "L") or img.mode.startswith("I") else img.convert("L"))
    except FileNotFoundError:
        raise MaskError(f"The edit region file {name} does not exist.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise MaskError(f"The edit region file {name} is not a picture this application can read.") from None
    if arr.ndim != 2 or arr.size == 0:
        raise MaskError(f"The edit region file {name} is not a single-channel picture.")
    editable = np.asarray(arr, np.float64) >= full / 2.0
    if editable.shape != tuple(shape):
        editable = resize_nearest(editable, shape)
    if not editable.any():
        raise MaskError(f"The edit region file {name} marks nothing editable (255 = editable).")
    return EditRegion(editable, "file")


def save_region(region: EditRegion, path: str | os.PathLike[str]) -> Path:
    """Write the region as an 8-bit PNG (255 = editable), atomically."""
    return write_bytes(path, encode_gray_png(region.mask))


def disc_region(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> EditRegion:
    """A round region at ``centre`` (x, y) in film pixels."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return EditRegion((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius * radius, "painted")
