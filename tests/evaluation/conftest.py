"""Fixtures for the evaluation tests: small deterministic image pairs and random feature sets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter


@pytest.fixture
def image_pair() -> tuple[np.ndarray, np.ndarray]:
    """A smooth 192x192 'film' and a blurred, noisy, shifted variant of it (values in [0, 1])."""
    rng = np.random.default_rng(7)
    base = gaussian_filter(rng.random((192, 192)), 4.0)
    base = (base - base.min()) / (base.max() - base.min())
    other = gaussian_filter(base, 1.2) + 0.05 * rng.standard_normal(base.shape)
    other = np.clip(np.roll(other, 2, axis=1), 0.0, 1.0)
    return base, other
