"""Helpers shared by the lung-mask tests (a uniquely named module, importable from any test file here)."""

from __future__ import annotations

import numpy as np

from vald_desktop.core.lung_atlas import HOLDOUT
from vald_desktop.core.phantoms import Phantom, make_phantom


def heldout_phantoms(finding: str, n: int, size: int = 256, start: int = 5000) -> list[Phantom]:
    """Phantoms whose lung shape the atlas never saw (shape index held out when the atlas was built)."""
    out: list[Phantom] = []
    seed = start
    while len(out) < n:
        seed += 1
        ph = make_phantom(seed, finding, size=size)
        if ph.shape_id % HOLDOUT == 0:
            out.append(ph)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
