"""The shipped lung segmenter's plumbing: preprocessing geometry, loading, refusal of broken folders, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.masks.learned import (
    CONFIG,
    WEIGHTS,
    film_probability,
    load_learned,
    lung_field,
    square_input,
)


def _random_model(folder: Path, seed: int = 0) -> Path:
    import torch
    from safetensors.torch import save_file

    from vald_desktop.core.masks.unet import LungUNet

    torch.manual_seed(seed)
    net = LungUNet((4, 8, 8))
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / WEIGHTS))
    (folder / CONFIG).write_text(json.dumps({"widths": [4, 8, 8], "side": 32, "name": "random"}))
    return folder


def test_a_wide_film_is_padded_and_mapped_back_to_its_own_pixels() -> None:
    film = np.zeros((60, 100), np.float32)
    film[:, 70:] = 1.0  # a bright band at the right
    x, frame = square_input(film, 50)
    assert x.shape == (50, 50) and frame == (20, 0, 60, 100)
    back = film_probability(x, frame)
    assert back.shape == film.shape
    assert back[:, 80:].mean() > 0.9 and back[:, :60].mean() < 0.1, "the band must come back where it was"


def test_missing_segmenter_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(MaskError, match="missing"):
        load_learned(tmp_path / "nothing-here")


def test_broken_weights_are_refused(tmp_path: Path) -> None:
    folder = _random_model(tmp_path / "m")
    (folder / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(MaskError, match="cannot be loaded"):
        load_learned(folder)


def test_same_film_gives_the_same_probability(tmp_path: Path) -> None:
    seg = load_learned(_random_model(tmp_path / "m"))
    film = np.random.default_rng(0).random((70, 90)).astype(np.float32)
    a, b = seg.probability(film), seg.probability(film)
    assert a.shape == film.shape and np.array_equal(a, b)


def test_lung_field_drops_specks_and_fills_holes() -> None:
    prob = np.zeros((100, 100), np.float32)
    prob[20:80, 10:45] = 0.9
    prob[20:80, 55:90] = 0.9
    prob[50, 30] = 0.1  # a hole (a vessel)
    prob[5, 5] = 0.9  # a speck
    mask = lung_field(prob)
    assert mask[50, 30] and not mask[5, 5] and mask.sum() == 2 * 60 * 35
