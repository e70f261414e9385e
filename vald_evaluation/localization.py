"""How well an attribution map localizes a known lesion: AUROC, average precision, best-threshold Dice, laterality.

Pure numpy on pixel scores. Ties are handled exactly (pixels with equal scores enter together), because maps are
often zero over large areas and a tie-blind ranking would make the numbers depend on pixel order.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata


def _flat(scores: np.ndarray, labels: np.ndarray, region: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if region is not None:
        keep = np.asarray(region, dtype=bool)
        s, y = s[keep], y[keep]
    return s.ravel(), y.ravel()


def auroc(scores: np.ndarray, labels: np.ndarray, region: np.ndarray | None = None) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks); NaN when a class is absent from ``region``."""
    s, y = _flat(scores, labels, region)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(s)  # average ranks for ties: a tie counts one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _tie_curve(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true positives and predicted positives at each distinct threshold, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    last_of_tie = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    return tp[last_of_tie].astype(np.float64), (last_of_tie + 1).astype(np.float64)


def average_precision(scores: np.ndarray, labels: np.ndarray, region: np.ndarray | None = None) -> float:
    """Average precision: sum over thresholds of (recall step) x precision; NaN without positives."""
    s, y = _flat(scores, labels, region)
    n_pos = int(y.sum())
    if n_pos == 0:
        return math.nan
    tp, predicted = _tie_curve(s, y)
    precision = tp / predicted
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_dice(
    scores: np.ndarray, labels: np.ndarray, region: np.ndarray | None = None
) -> tuple[float, float]:
    """(Dice, threshold) at the threshold that maximizes Dice of ``scores >= threshold`` against the lesion."""
    s, y = _flat(scores, labels, region)
    n_pos = int(y.sum())
    if n_pos == 0 or s.size == 0:
        return math.nan, math.nan
    tp, predicted = _tie_curve(s, y)
    dice = 2 * tp / (n_pos + predicted)
    k = int(np.argmax(dice))
    thresholds = np.sort(np.unique(s))[::-1]
    return float(dice[k]), float(thresholds[k])


def side_share(change: np.ndarray, left: np.ndarray, right: np.ndarray, side: str) -> float:
    """Share of the absolute change inside both lungs that lies in the named (patient-side) lung."""
    mag = np.abs(np.asarray(change, dtype=np.float64))
    in_left = float(mag[np.asarray(left, dtype=bool)].sum())
    in_right = float(mag[np.asarray(right, dtype=bool)].sum())
    total = in_left + in_right
    if total <= 0:
        return math.nan
    return (in_left if side == "left" else in_right) / total


def split_lungs(lung: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patient left, patient right) halves of a PA lung mask: the patient's left lung is on the image right."""
    mask = np.asarray(lung, dtype=bool)
    cols = np.arange(mask.shape[1])[None, :]
    mid = mask.shape[1] / 2
    return mask & (cols >= mid), mask & (cols < mid)
