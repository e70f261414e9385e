"""Mask-confined editing: outside the lung mask the counterfactual is the film itself (or, for the decoder-output
counterfactual, its reconstruction); inside, the edit is untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.steps import StepHook

SETTINGS = dict(steps=10, strength=0.9, guidance=7.5, preview_every=0)


def _far_outside(mask: np.ndarray) -> np.ndarray:
    # The lung occupies image columns 32-48 of 56; the dilated latent mask reaches ~8 film pixels further.
    far = np.zeros_like(mask)
    far[:, :14] = True
    return far


@pytest.mark.parametrize("scheduler", ["pndm", "dpmpp"])
def test_confined_run_keeps_pixels_outside_the_lungs(engine, film, left_lung_mask, scheduler):
    result = engine.run(
        film, RunSettings(**SETTINGS, scheduler=scheduler, confine_to_mask=True), mask=left_lung_mask
    )
    inside = left_lung_mask.mask
    # Right up to the lung edge: the dilated latent margin around the lungs is not left to show edits.
    np.testing.assert_array_equal(result.counterfactual[~inside], result.original[~inside])
    assert np.abs(result.counterfactual - result.original)[inside].mean() > 1e-3, (
        "nothing changed in the lung"
    )


def test_confined_decoder_output_shows_the_reconstruction_outside(engine, film, left_lung_mask):
    s = RunSettings(**SETTINGS, confine_to_mask=True, reference="input")
    confined = engine.run(film, s, mask=left_lung_mask)
    entry, cached = engine._film(film)
    assert cached, "the run did not keep the film in the cache"
    reconstruction = entry.reconstruction
    outside = ~left_lung_mask.mask
    np.testing.assert_allclose(confined.counterfactual[outside], reconstruction[outside], atol=1e-6)
    assert np.abs(confined.counterfactual - film)[outside].max() > 0, "the decoder's blur should show outside"


def test_unconfined_run_does_change_outside_the_lungs(engine, film, left_lung_mask):
    result = engine.run(film, RunSettings(**SETTINGS), mask=left_lung_mask)
    far = _far_outside(left_lung_mask.mask)
    assert np.abs(result.counterfactual - result.original)[far].max() > 1e-3


def test_last_step_puts_the_original_latents_back_outside_the_mask():
    original = torch.randn(2, 4, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:5, 3:6] = 1
    hook = StepHook(
        settings=RunSettings(),
        progress=None,
        cancel=None,
        preview=lambda lat: None,
        original=original,
        latent_mask=mask,
        seeds=[0, 1],
    )

    class Pipe:
        _num_timesteps = 4

    edited = torch.randn(2, 4, 8, 8)
    out = hook(Pipe(), 3, torch.tensor(1), {"latents": edited})["latents"]
    assert torch.equal(out[..., 2:5, 3:6], edited[..., 2:5, 3:6])
    outside = (mask == 0).expand_as(out)
    assert torch.equal(out[outside], original[outside])


def test_confinement_without_a_mask_is_refused(engine, film):
    with pytest.raises(SettingsError, match="needs a lung mask"):
        engine.run(film, RunSettings(**SETTINGS, confine_to_mask=True))
