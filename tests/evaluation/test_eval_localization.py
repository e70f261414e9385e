"""Localization metrics on hand-made maps with answers known in advance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vald_evaluation.localization import auroc, average_precision, best_dice, side_share, split_lungs


def test_auroc_perfect_inverted_and_tied() -> None:
    labels = np.array([0, 0, 1, 1], dtype=bool)
    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert auroc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert auroc(np.zeros(4), labels) == 0.5  # all tied: a coin flip, not a perfect score


def test_auroc_known_partial_value() -> None:
    # Positives 0.4, 0.9; negatives 0.1, 0.5: pairs won 3 of 4.
    assert auroc(np.array([0.4, 0.9, 0.1, 0.5]), np.array([1, 1, 0, 0], bool)) == pytest.approx(0.75)


def test_average_precision_known_values() -> None:
    labels = np.array([1, 0, 1, 0], dtype=bool)
    # Ranking: pos (P=1), neg, pos (P=2/3), neg -> AP = 0.5*1 + 0.5*2/3.
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.1]), labels) == pytest.approx(0.5 + 1 / 3)
    # A map of zeros ranks everything together: precision is the prevalence.
    assert average_precision(np.zeros(4), labels) == pytest.approx(0.5)


def test_best_dice_finds_the_lesion_threshold() -> None:
    scores = np.zeros((10, 10))
    lesion = np.zeros((10, 10), bool)
    lesion[2:5, 2:5] = True
    scores[lesion] = 0.8
    scores[0, 0] = 0.3  # a weaker false positive that a lower threshold would include
    dice, threshold = best_dice(scores, lesion)
    assert dice == pytest.approx(1.0)
    assert threshold == pytest.approx(0.8)


def test_region_restricts_the_scored_pixels() -> None:
    scores = np.array([[0.9, 0.1], [0.2, 0.95]])
    lesion = np.array([[True, False], [False, False]])
    region = np.array([[True, True], [True, False]])  # excludes the strong false positive
    assert auroc(scores, lesion) < 1.0
    assert auroc(scores, lesion, region) == 1.0
    assert math.isnan(auroc(scores, np.zeros((2, 2), bool), region))


def test_side_share_uses_patient_side() -> None:
    lung = np.zeros((4, 8), bool)
    lung[:, 1:3] = True  # image left = patient right
    lung[:, 5:7] = True  # image right = patient left
    left, right = split_lungs(lung)
    assert left[:, 5:7].all() and not left[:, 1:3].any()
    change = np.zeros((4, 8))
    change[:, 5:7] = -1.0  # all change on the image right, i.e. the patient's left
    change[0, 1] = 0.5
    assert side_share(change, left, right, "left") == pytest.approx(8 / 8.5)
    assert side_share(change, left, right, "right") == pytest.approx(0.5 / 8.5)
    assert math.isnan(side_share(np.zeros((4, 8)), left, right, "left"))
