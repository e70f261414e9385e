"""The plausibility check every automatic mask goes through: each rule catches the failure it names."""

from __future__ import annotations

import numpy as np
from chest_drawing import drawn_chest, image_right_lung

from vald_desktop.core.masks.quality import network_confidence, plausibility


def _sides(lungs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    left = image_right_lung(lungs)
    return left, lungs & ~left


def test_a_good_mask_passes() -> None:
    img, lungs = drawn_chest()
    assert plausibility(img, *_sides(lungs)) == []


def test_one_lung_missing_is_named() -> None:
    img, lungs = drawn_chest()
    left, right = _sides(lungs)
    assert any("Only one lung" in r for r in plausibility(img, left, np.zeros_like(right)))


def test_a_lung_drawn_on_the_air_outside_the_body_is_caught() -> None:
    img, lungs = drawn_chest()
    left, right = _sides(lungs)
    outside = np.zeros_like(lungs)
    outside[60:140, 2:30] = True  # air beside the body
    reasons = plausibility(img, left, outside)
    assert any("outside the body" in r for r in reasons), reasons


def test_a_mask_over_the_mediastinum_is_caught() -> None:
    img, lungs = drawn_chest()
    left, right = _sides(lungs)
    img = img.copy()
    img[:, 85:115] = 0.2  # "mediastinum" as dark as the lungs: the mask is not on lungs
    assert any("not darker than the mediastinum" in r for r in plausibility(img, left, right))


def test_a_mask_spilling_over_the_film_is_caught() -> None:
    img, _ = drawn_chest()
    big = np.ones(img.shape, bool)
    left, right = _sides(big)
    assert any("spills" in r for r in plausibility(img, left, right))


def test_network_confidence_reads_the_outline_band() -> None:
    _, lungs = drawn_chest()
    sure = np.where(lungs, 0.99, 0.01)
    unsure = np.where(lungs, 0.6, 0.4)
    assert network_confidence(sure, lungs) > 0.9 > 0.3 > network_confidence(unsure, lungs)
