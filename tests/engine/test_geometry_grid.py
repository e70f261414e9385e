"""Film ↔ model grid: aspect kept, padding cropped back, maps land on the original pixels."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.engine.geometry import mask_to_model, place, to_film, to_model


@pytest.mark.parametrize("shape", [(100, 60), (60, 100), (64, 64), (1955, 1841)])
def test_round_trip_keeps_shape_and_content(shape):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    img = 0.5 + 0.4 * np.sin(xx / shape[1] * 3) * np.cos(yy / shape[0] * 2)
    square, p = to_model(img, 64)
    assert square.shape == (64, 64)
    assert max(p.inner_h, p.inner_w) == 64
    assert abs(p.inner_h / p.inner_w - shape[0] / shape[1]) < 0.05
    back = to_film(square, p)
    assert back.shape == shape and back.dtype == np.float32
    assert np.abs(back - img).mean() < 0.02


def test_padding_replicates_edges_and_masks_are_zero_there():
    img = np.zeros((40, 20), np.float32)
    img[:, -1] = 1.0
    square, p = to_model(img, 32)
    assert p.left > 0 and np.all(square[:, -1] > 0.5), "the padding does not continue the edge"
    mask = mask_to_model(np.ones((40, 20), bool), p)
    assert not mask[:, : p.left].any() and mask[:, p.left : p.left + p.inner_w].all()
    assert place(40, 20, 32).inner_h == 32
