"""SSIM and MS-SSIM agree with scikit-image and with a straightforward reference MS-SSIM."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import convolve2d
from skimage.metrics import structural_similarity

from vald_desktop.core.base.errors import DataError
from vald_evaluation.metrics_ssim import ms_ssim, ssim


def _reference_ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Wang et al. 2003 written out plainly: valid 11x11 Gaussian windows, 2x2 mean downsampling."""
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    r = np.arange(11) - 5.0
    g = np.exp(-(r**2) / (2 * 1.5**2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    result = 1.0
    x, y = a.astype(np.float64), b.astype(np.float64)
    for level, w in enumerate(weights):
        mx = convolve2d(x, win, mode="valid")
        my = convolve2d(y, win, mode="valid")
        sxx = convolve2d(x * x, win, mode="valid") - mx * mx
        syy = convolve2d(y * y, win, mode="valid") - my * my
        sxy = convolve2d(x * y, win, mode="valid") - mx * my
        cs = np.mean((2 * sxy + c2) / (sxx + syy + c2))
        if level == len(weights) - 1:
            lum_cs = ((2 * mx * my + c1) / (mx * mx + my * my + c1)) * ((2 * sxy + c2) / (sxx + syy + c2))
            result *= max(np.mean(lum_cs), 0.0) ** w
        else:
            result *= max(cs, 0.0) ** w
            h, wd = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean(axis=(1, 3))
            y = y[:h, :wd].reshape(h // 2, 2, wd // 2, 2).mean(axis=(1, 3))
    return float(result)


def _skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    return float(
        structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range
        )
    )


def test_ssim_agrees_with_scikit_image(image_pair) -> None:
    a, b = image_pair
    assert ssim(a, b) == pytest.approx(_skimage_ssim(a, b), abs=1e-4)
    assert ssim(a, b) < 0.99  # the pair really differs, so agreement is not trivial


def test_ssim_agrees_with_scikit_image_on_odd_sizes_and_other_ranges() -> None:
    rng = np.random.default_rng(11)
    a = rng.random((37, 53)) * 255
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    assert ssim(a, b, data_range=255) == pytest.approx(_skimage_ssim(a, b, 255), abs=1e-4)


def test_ms_ssim_agrees_with_reference(image_pair) -> None:
    a, b = image_pair
    ours = ms_ssim(a, b)
    assert ours == pytest.approx(_reference_ms_ssim(a, b), abs=1e-4)
    assert 0.0 < ours < 1.0


def test_ms_ssim_on_odd_size_matches_reference() -> None:
    rng = np.random.default_rng(5)
    a = rng.random((181, 199))
    b = np.clip(a * 0.8 + 0.1 + rng.normal(0, 0.05, a.shape), 0, 1)
    assert ms_ssim(a, b) == pytest.approx(_reference_ms_ssim(a, b), abs=1e-4)


def test_identical_images_score_one(image_pair) -> None:
    a, _ = image_pair
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_colour_images_average_channels(image_pair) -> None:
    a, b = image_pair
    rgb_a, rgb_b = np.stack([a, a, a], axis=-1), np.stack([b, b, b], axis=-1)
    assert ssim(rgb_a, rgb_b) == pytest.approx(ssim(a, b), abs=1e-12)


def test_size_errors_are_plain_sentences() -> None:
    with pytest.raises(DataError, match="differ in size"):
        ssim(np.zeros((20, 20)), np.zeros((20, 21)))
    with pytest.raises(DataError, match="at least 176"):
        ms_ssim(np.zeros((128, 128)), np.zeros((128, 128)))
