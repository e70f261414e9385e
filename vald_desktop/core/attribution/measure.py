"""What the ruler and the ROI tools read: lengths, areas and the means of the film and of the map inside an ROI.

Coordinates are film pixels (x = column, y = row, pixel centres at integers + 0.5 as the panels draw them);
distances use :class:`core.films.spacing.Spacing`, so they are mm, estimated mm or pixels as the film allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vald_desktop.core.films.spacing import Spacing

SHAPES = ("rectangle", "ellipse")


@dataclass(frozen=True)
class RoiReading:
    shape: str
    width: float  # in spacing units (mm or px)
    height: float
    area: float  # mm² or px²
    pixels: int
    film_mean: float  # mean of the film's values (the modality's units) inside the ROI
    map_mean: float | None  # mean of M inside the ROI; None without a result
    map_abs_mean: float | None  # mean of |M|


def length(p0: tuple[float, float], p1: tuple[float, float], spacing: Spacing) -> float:
    """Distance between two film points in the spacing's unit."""
    dx = (p1[0] - p0[0]) * spacing.col_mm
    dy = (p1[1] - p0[1]) * spacing.row_mm
    return float(math.hypot(dx, dy))


def roi_mask(shape: str, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The film pixels whose centres lie in the rectangle or ellipse ``box`` = (x0, y0, x1, y1) (bool HxW)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown ROI shape {shape!r}")
    x0, x1 = sorted((box[0], box[2]))
    y0, y1 = sorted((box[1], box[3]))
    yy, xx = np.ogrid[: size[0], : size[1]]
    cx, cy = xx + 0.5, yy + 0.5
    if shape == "rectangle":
        return (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
    rx, ry = max((x1 - x0) / 2, 1e-6), max((y1 - y0) / 2, 1e-6)
    return ((cx - (x0 + x1) / 2) / rx) ** 2 + ((cy - (y0 + y1) / 2) / ry) ** 2 <= 1.0


def read_roi(
    shape: str,
    box: tuple[float, float, float, float],
    values: np.ndarray,
    the_map: np.ndarray | None,
    spacing: Spacing,
) -> RoiReading:
    """Size of the ROI and the means of ``values`` (the film) and ``the_map`` (M) over its pixels."""
    values = np.asarray(values)
    inside = roi_mask(shape, box, (int(values.shape[0]), int(values.shape[1])))
    w = abs(box[2] - box[0]) * spacing.col_mm
    h = abs(box[3] - box[1]) * spacing.row_mm
    area = w * h * (math.pi / 4 if shape == "ellipse" else 1.0)
    n = int(np.count_nonzero(inside))
    film_mean = float(values[inside].mean()) if n else math.nan
    map_mean = map_abs = None
    if the_map is not None and np.shape(the_map) == values.shape[:2] and n:
        vals = np.asarray(the_map, np.float64)[inside]
        map_mean, map_abs = float(vals.mean()), float(np.abs(vals).mean())
    return RoiReading(shape, float(w), float(h), float(area), n, film_mean, map_mean, map_abs)
