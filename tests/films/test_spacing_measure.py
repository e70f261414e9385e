"""What the ruler and the ROI read: the film's spacing (mm, estimated mm or pixels), lengths, ROI sizes and means,
and the per-lung |M| statistics the reading dock shows."""

from __future__ import annotations

import math

import numpy as np
import pydicom
import pytest

from vald_desktop.core.attribution.maps import OverlayStyle, lung_stats
from vald_desktop.core.attribution.measure import length, read_roi, roi_mask
from vald_desktop.core.films.film import film_from_array
from vald_desktop.core.films.spacing import PIXELS, film_spacing
from vald_desktop.core.masks.lung_mask import LungMask


def _film(**tags):
    film = film_from_array(np.zeros((20, 30), np.float32))
    if tags:
        film.dataset = pydicom.Dataset()
        for k, v in tags.items():
            setattr(film.dataset, k, v)
    return film


def test_spacing_says_where_its_millimetres_come_from():
    assert film_spacing(_film()) == PIXELS and PIXELS.unit == "px"
    s = film_spacing(_film(PixelSpacing=[0.2, 0.1], ImagerPixelSpacing=[0.3, 0.3]))
    assert (s.row_mm, s.col_mm, s.kind, s.qualifier) == (0.2, 0.1, "mm", "")
    s = film_spacing(_film(ImagerPixelSpacing=[0.3, 0.3]))
    assert s.kind == "estimated" and s.row_mm == 0.3 and "detector" in s.note
    s = film_spacing(_film(ImagerPixelSpacing=[0.3, 0.3], EstimatedRadiographicMagnificationFactor=1.5))
    assert s.row_mm == pytest.approx(0.2) and s.qualifier == "estimated"
    assert film_spacing(_film(PixelSpacing=[0, -1])) == PIXELS, "nonsense spacing is not used"


def test_lengths_follow_row_and_column_spacing():
    s = film_spacing(_film(PixelSpacing=[0.5, 0.25]))
    assert length((0, 0), (40, 0), s) == pytest.approx(10.0)
    assert length((0, 0), (0, 40), s) == pytest.approx(20.0)
    assert length((0, 0), (3, 4), PIXELS) == pytest.approx(5.0)


def test_roi_reads_sizes_and_the_means_of_the_film_and_the_map():
    values = np.arange(600, dtype=np.float32).reshape(20, 30)
    m = np.zeros((20, 30), np.float32)
    m[:, 15:] = 0.2
    r = read_roi("rectangle", (10, 5, 20, 15), values, m, PIXELS)
    inside = roi_mask("rectangle", (10, 5, 20, 15), (20, 30))
    assert r.pixels == 100 == inside.sum() and (r.width, r.height, r.area) == (10, 10, 100)
    assert r.film_mean == pytest.approx(values[inside].mean()) and r.map_mean == pytest.approx(0.1)
    e = read_roi("ellipse", (0, 0, 30, 20), values, None, PIXELS)
    assert e.area == pytest.approx(math.pi * 15 * 10) and e.map_mean is None
    assert abs(e.pixels - e.area) / e.area < 0.05


def test_lung_stats_give_the_magnitude_and_each_lung_s_share():
    mask = np.zeros((20, 20), bool)
    mask[4:16, 2:8] = True
    mask[4:16, 12:18] = True
    lung = LungMask.from_mask(mask, "file")
    m = np.zeros((20, 20), np.float32)
    m[4:10, 12:18] = -0.3  # patient left (image right): added
    m[4:6, 2:8] = 0.1
    stats = lung_stats(m, lung, OverlayStyle())
    assert stats["left"]["max_abs"] == pytest.approx(0.3) and stats["left"]["max"] == pytest.approx(0.0)
    assert stats["left"]["mean_abs"] == pytest.approx(0.15)
    assert stats["left"]["share_pct"] == pytest.approx(100 * 10.8 / (10.8 + 1.2))
    assert stats["left"]["share_pct"] + stats["right"]["share_pct"] == pytest.approx(100.0)
