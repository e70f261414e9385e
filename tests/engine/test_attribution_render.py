"""The map and its rendering: signed colours, threshold, colorbar, composite, per-lung statistics."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import lung_mask_of

from vald_desktop.core.attribution.maps import (
    OverlayStyle,
    colorbar,
    composite,
    lung_stats,
    normalise,
    render_overlay,
    signed_map,
)
from vald_desktop.core.base.errors import SettingsError


def test_signed_map_is_reference_minus_counterfactual_inside_the_mask():
    ref = np.full((10, 12), 0.5, np.float32)
    cf = ref.copy()
    cf[2:4, 2:4] = 0.2  # removed brightness -> positive evidence
    cf[6:8, 8:10] = 0.9  # added -> negative
    mask = np.zeros((10, 12), bool)
    mask[:, :6] = True
    m = signed_map(ref, cf, mask)
    assert m.dtype == np.float32
    assert np.allclose(m[2:4, 2:4], 0.3) and np.all(m[6:8, 8:10] == 0)
    unmasked = signed_map(ref, cf)
    assert np.allclose(unmasked[6:8, 8:10], -0.4)
    smooth = signed_map(ref, cf, sigma=1.5)
    assert smooth[2:4, 2:4].max() < 0.3 and smooth[1, 1] > 0


def test_overlay_is_red_where_evidence_was_removed_and_blue_where_added():
    base = np.full((20, 20), 0.5, np.float32)
    m = np.zeros((20, 20), np.float32)
    m[2:6, 2:6] = 0.4
    m[12:16, 12:16] = -0.4
    m[9, 9] = 0.01  # below threshold: untouched
    rgb = render_overlay(base, m, OverlayStyle(opacity=1.0, threshold=0.1, percentile=100))
    assert rgb.dtype == np.uint8 and rgb.shape == (20, 20, 3)
    r, g, b = (rgb[3, 3, i] for i in range(3))
    assert r > 200 and g < 60 and b < 60
    r, g, b = (rgb[13, 13, i] for i in range(3))
    assert b > 200 and r < 60
    assert tuple(rgb[9, 9]) == tuple(rgb[0, 0]) == (128, 128, 128)
    absolute = render_overlay(base, m, OverlayStyle(mode="abs", opacity=1.0, percentile=100))
    assert absolute[13, 13, 0] > 200 and absolute[13, 13, 2] < 60


def test_overlay_of_an_empty_map_is_the_plain_film():
    base = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    rgb = render_overlay(base, np.zeros_like(base))
    gray = np.round(base * 255).astype(np.uint8)
    assert (
        gray.min() == 0 and gray.max() == 255 and len(np.unique(gray)) == 64
    )  # a real ramp, not a flat picture
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray, err_msg=f"channel {channel} is not the film")


def test_style_and_shape_errors_are_sentences():
    with pytest.raises(SettingsError):
        OverlayStyle(mode="rainbow")
    with pytest.raises(SettingsError):
        OverlayStyle(opacity=2)
    with pytest.raises(SettingsError):
        render_overlay(np.zeros((4, 4)), np.zeros((5, 4)))


def test_colorbar_runs_red_to_blue_and_composite_has_three_panels_and_caption():
    bar = colorbar(OverlayStyle(opacity=1.0), 100)
    assert bar.shape == (100, 24, 3) and bar[0, 0, 0] > 200 and bar[-1, 0, 2] > 200
    film = np.random.default_rng(0).random((60, 40)).astype(np.float32)
    out = composite(film, film * 0.9, film * 0.1, OverlayStyle(), "prompt 'normal chest x-ray'")
    assert out.dtype == np.uint8 and out.ndim == 3
    assert out.shape[0] > 60 and out.shape[1] >= 3 * 40
    assert out[62:, :].max() > 200, "the caption strip is blank"


def test_lung_stats_follow_the_patient_left_is_image_right_convention():
    mask = np.zeros((20, 20), bool)
    mask[4:16, 2:8] = True
    mask[4:16, 12:18] = True
    lung = lung_mask_of(mask)
    m = np.zeros((20, 20), np.float32)
    m[4:10, 12:18] = 0.5  # half of the lung on the image right = patient left
    stats = lung_stats(m, lung, OverlayStyle())
    assert stats["left"]["area_pct"] == pytest.approx(50.0)
    assert stats["left"]["max"] == pytest.approx(0.5)
    assert stats["right"]["area_pct"] == 0.0 and stats["right"]["max"] == 0.0


@pytest.mark.parametrize("threshold", [0.1, 0.4])
def test_lung_stats_count_the_pixels_the_overlay_paints_red(threshold):
    # One rule: a lung pixel counts where the overlay draws it red, M above threshold x the |M| percentile scale.
    # Two strong outliers set max|M| far above that scale, so a max-based cut would count almost nothing.
    rng = np.random.default_rng(1)
    mask = np.zeros((40, 40), bool)
    mask[5:35, 2:18] = True
    mask[5:35, 22:38] = True
    m = np.where(mask, rng.normal(0.0, 0.05, mask.shape), 0.0).astype(np.float32)
    m[6, 23] = m[7, 3] = 2.0
    lung = lung_mask_of(mask)
    style = OverlayStyle(mode="signed", opacity=1.0, threshold=threshold)
    stats = lung_stats(m, lung, style)
    drawn_red = normalise(m, style) > threshold  # the overlay's own cut: nothing at or below it
    for side, region in (("left", lung.left), ("right", lung.right)):
        want = 100.0 * np.count_nonzero(drawn_red[region]) / np.count_nonzero(region)
        assert 5.0 < want < 95.0
        assert stats[side]["area_pct"] == pytest.approx(want), side
    rgb = render_overlay(np.full(m.shape, 0.5, np.float32), m, style).astype(int)
    clearly_red = rgb[..., 0] - rgb[..., 2] > 20
    assert clearly_red.any() and not (clearly_red & ~drawn_red).any(), "the overlay paints pixels not counted"
    by_max = np.count_nonzero(m[mask] > threshold * np.abs(m).max())
    assert by_max < np.count_nonzero(drawn_red) / 5
