"""How far apart a film's pixels are, for the ruler and the ROI: millimetres when the film says, else pixels.

``PixelSpacing`` (0028,0030) is the spacing the file vouches for: lengths are "mm". ``ImagerPixelSpacing``
(0018,1164) is the spacing at the detector, which the X-ray beam's divergence makes larger than the patient:
lengths are "estimated" (divided by ``EstimatedRadiographicMagnificationFactor`` when the file gives one, else
taken at the detector). A film with neither (PNG, JPEG, many secondary captures) is measured in "pixels".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vald_desktop.core.films.film import Film

KINDS = ("mm", "estimated", "pixels")


@dataclass(frozen=True)
class Spacing:
    row_mm: float  # between rows (vertical); 1.0 for "pixels"
    col_mm: float  # between columns (horizontal)
    kind: str  # "mm" | "estimated" | "pixels"
    note: str  # where the numbers come from, in words

    @property
    def unit(self) -> str:
        return "px" if self.kind == "pixels" else "mm"

    @property
    def qualifier(self) -> str:
        """What to say beside a length: "" for calibrated mm, "estimated" or "pixels"."""
        return "" if self.kind == "mm" else self.kind


PIXELS = Spacing(1.0, 1.0, "pixels", "the film carries no pixel spacing")


def _pair(ds: Any, keyword: str) -> tuple[float, float] | None:
    value = getattr(ds, keyword, None) if ds is not None else None
    try:
        row, col = float(value[0]), float(value[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    ok = row > 0 and col > 0 and math.isfinite(row) and math.isfinite(col)
    return (row, col) if ok else None


def film_spacing(film: Film) -> Spacing:
    """The spacing to measure ``film`` with (see the module's notes)."""
    ds = film.dataset
    if ds is not None:
        calibrated = _pair(ds, "PixelSpacing")
        if calibrated is not None:
            return Spacing(*calibrated, "mm", "PixelSpacing")
        imager = _pair(ds, "ImagerPixelSpacing")
        if imager is not None:
            try:
                factor = float(getattr(ds, "EstimatedRadiographicMagnificationFactor", 0) or 0)
            except (TypeError, ValueError):
                factor = 0.0
            if factor > 0 and math.isfinite(factor):
                row, col = imager[0] / factor, imager[1] / factor
                return Spacing(row, col, "estimated", f"ImagerPixelSpacing / magnification {factor:g}")
            return Spacing(*imager, "estimated", "ImagerPixelSpacing, at the detector")
    if film.pixel_spacing is not None:
        return Spacing(float(film.pixel_spacing[0]), float(film.pixel_spacing[1]), "mm", "pixel spacing")
    return PIXELS
