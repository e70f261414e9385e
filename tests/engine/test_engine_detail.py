"""The default counterfactual is the film plus the model's edit: detail the VAE cannot hold survives."""

from __future__ import annotations

import numpy as np

from vald_desktop.core.base.settings import RunSettings

FAST = dict(steps=8, strength=0.5, preview_every=0, mask_mode="none")


def _grainy(film: np.ndarray) -> np.ndarray:
    # One-pixel grain: far finer than the tiny model's 8x-downsampled latents can represent.
    grain = np.random.default_rng(0).normal(0.0, 0.04, film.shape).astype(np.float32)
    return np.clip(film + grain, 0.0, 1.0)


def _grain_kept(engine, film: np.ndarray, reference: str) -> float:
    """Correlation of the film's grain with what it changes in the counterfactual (same seed, same settings)."""
    grainy = _grainy(film)
    settings = RunSettings(**FAST, reference=reference)
    clean, noisy = engine.run(film, settings), engine.run(grainy, settings)
    return float(
        np.corrcoef((grainy - film).ravel(), (noisy.counterfactual - clean.counterfactual).ravel())[0, 1]
    )


def test_counterfactual_keeps_film_grain_the_vae_cannot_reproduce(engine, film):
    # The untrained tiny model also reacts to the grain's trace in the latents, so "kept" is well below 1; the
    # decoder output alone holds none of it (measured: 0.41 vs 0.00).
    assert _grain_kept(engine, film, "reconstruction") > 0.3, "the counterfactual lost the film's grain"
    assert abs(_grain_kept(engine, film, "input")) < 0.1, "the decoder output should not hold 1-px grain"


def test_counterfactual_is_film_plus_model_edit_and_map_is_the_difference(engine, film):
    result = engine.run(film, RunSettings(**FAST, seed=5))
    np.testing.assert_allclose(result.map, film - result.counterfactual, atol=1e-6)
    assert result.counterfactual.min() >= 0.0 and result.counterfactual.max() <= 1.0
    assert np.abs(result.map).max() > 0, "the counterfactual equals the film: no edit was transferred"


def test_previews_show_the_film_plus_the_edit_so_far(engine, film):
    grainy = _grainy(film)
    seen = []
    result = engine.run(grainy, RunSettings(**(FAST | {"preview_every": 1})), progress=seen.append)
    previews = [p.preview for p in seen if p.preview is not None]
    assert previews, "no preview was emitted"
    # The last preview is (up to the scheduler's final update) the finished counterfactual, film grain included.
    assert np.abs(previews[-1] - result.counterfactual).mean() < 2e-3, "the last preview is not the result"
    grain_in_preview = np.corrcoef((grainy - film).ravel(), (previews[-1] - film).ravel())[0, 1]
    assert grain_in_preview > 0.2, "previews show a blurred decode instead of the film plus the edit"
