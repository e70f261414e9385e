"""Fixtures for the engine tests: a warm engine on the tiny model, a small non-square film and a stand-in mask."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import StandInMask


@pytest.fixture(scope="session")
def engine(tiny_model_dir):
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    return eng


@pytest.fixture
def film() -> np.ndarray:
    """A 72x56 (portrait, non-square) smooth film with a bright blob in the patient's left lung."""
    yy, xx = np.mgrid[0:72, 0:56].astype(np.float32)
    img = 0.3 + 0.2 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
    img += 0.35 * np.exp(-((yy - 36) ** 2 + (xx - 40) ** 2) / 40.0)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def left_lung_mask() -> StandInMask:
    """Only the patient's left lung (image right): rows 16-56, columns 32-48."""
    m = np.zeros((72, 56), dtype=bool)
    m[16:56, 32:48] = True
    return StandInMask(m)
