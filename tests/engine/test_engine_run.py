"""End-to-end engine runs on the tiny model: shapes, map definition, record, determinism, step counts."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import count_forward

from vald_desktop.core.base.settings import RunSettings

FAST = dict(steps=8, strength=0.5, preview_every=0)


def test_run_returns_counterfactual_and_map_on_the_films_own_grid(engine, film, left_lung_mask):
    result = engine.run(film, RunSettings(**FAST), mask=left_lung_mask)
    for name in ("original", "counterfactual", "map"):
        arr = getattr(result, name)
        assert arr.shape == film.shape, f"{name} is not on the film's grid"
        assert arr.dtype == np.float32
    assert result.counterfactual.min() >= 0.0 and result.counterfactual.max() <= 1.0
    inside = left_lung_mask.mask
    expected = (result.original - result.counterfactual)[inside]
    np.testing.assert_allclose(result.map[inside], expected, atol=1e-6)
    assert np.all(result.map[~inside] == 0), "the map shows change outside the lung mask"
    assert np.abs(result.map[inside]).max() > 0, (
        "the map is empty: the counterfactual did not change the film"
    )


def test_run_record_names_settings_model_and_versions(engine, film):
    settings = RunSettings(**FAST, prompt="cardiomegaly", seed=7)
    result = engine.run(film, settings, film_sha256="ab" * 32)
    rec = result.record
    assert RunSettings.from_dict(rec["settings"]) == settings
    assert rec["model"]["manifest_hash"] == engine.info.manifest_hash and rec["model"]["manifest_hash"]
    assert rec["device"] == "cpu" and rec["dtype"] == "float32"
    assert rec["seeds"] == [7]
    assert rec["film_sha256"] == "ab" * 32
    assert {"torch", "diffusers", "transformers"} <= set(rec["versions"])
    assert rec["timings"]["total"] > 0


def test_same_seed_same_settings_give_identical_output(engine, film):
    a = engine.run(film, RunSettings(**FAST, seed=3))
    b = engine.run(film, RunSettings(**FAST, seed=3))
    c = engine.run(film, RunSettings(**FAST, seed=4))
    np.testing.assert_array_equal(a.counterfactual, b.counterfactual)
    assert not np.array_equal(a.counterfactual, c.counterfactual), "a different seed gave the same result"


@pytest.mark.parametrize("scheduler", ["pndm", "dpmpp", "ddim", "euler"])
def test_progress_reports_once_per_unet_call(engine, film, scheduler):
    settings = RunSettings(steps=10, strength=0.6, scheduler=scheduler, preview_every=2)
    seen = []
    with count_forward(engine.pipe.unet) as calls:
        result = engine.run(film, settings, progress=seen.append)
    # img2img runs int(steps * strength) steps; PNDM adds one UNet call.
    expected = settings.unet_steps + (1 if scheduler == "pndm" else 0)
    assert calls[0] == expected
    assert [p.step for p in seen] == list(range(1, expected + 1))
    assert all(p.total == expected for p in seen)
    assert result.record["unet_calls"] == expected
    assert seen[-1].eta == 0.0 and all(p.eta >= 0 for p in seen)
    previews = [p.preview for p in seen if p.preview is not None]
    assert previews and all(pv.shape == film.shape for pv in previews)


def test_multi_seed_consensus_gives_mean_map_and_spread(engine, film, left_lung_mask):
    result = engine.run(film, RunSettings(**FAST, seeds=3), mask=left_lung_mask)
    assert len(result.counterfactuals) == 3
    np.testing.assert_allclose(result.counterfactual, np.mean(result.counterfactuals, axis=0), atol=1e-6)
    assert result.map_std is not None and result.map_std.shape == film.shape
    assert result.map_std[left_lung_mask.mask].max() > 0, "three seeds gave identical maps"
    single = engine.run(film, RunSettings(**FAST, seed=0), mask=left_lung_mask)
    # Batching seeds must not change what each seed produces on its own.
    np.testing.assert_allclose(result.counterfactuals[0], single.counterfactual, atol=1e-4)


def test_reference_input_measures_against_the_film_itself(engine, film):
    result = engine.run(film, RunSettings(**FAST, reference="input", mask_mode="none"))
    np.testing.assert_array_equal(result.original, film)
    np.testing.assert_allclose(result.map, film - result.counterfactual, atol=1e-6)


def test_no_mask_mode_ignores_a_given_mask(engine, film, left_lung_mask):
    result = engine.run(film, RunSettings(**FAST, mask_mode="none"), mask=left_lung_mask)
    assert result.mask is None
    assert np.abs(result.map[~left_lung_mask.mask]).max() > 0
