"""Interactive re-runs reuse the film's latents and each prompt's embedding (no repeated encodes)."""

from __future__ import annotations

from engine_helpers import count_forward

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.sampler import Engine

FAST = dict(steps=6, strength=0.5, preview_every=0)


def test_new_prompt_on_same_film_skips_the_vae_encode(tiny_model_dir, film):
    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    with count_forward(eng.pipe.vae.encoder) as enc, count_forward(eng.pipe.text_encoder) as txt:
        first = eng.run(film, RunSettings(**FAST, prompt="normal chest x-ray"))
        assert enc[0] == 1 and txt[0] == 2  # the prompt and the empty negative prompt
        second = eng.run(film, RunSettings(**FAST, prompt="cardiomegaly", guidance=6.0))
        assert enc[0] == 1, "a new prompt re-encoded the same film with the VAE"
        assert txt[0] == 3, "only the new prompt should have gone through the text encoder"
        eng.run(film, RunSettings(**FAST, prompt="normal chest x-ray", guidance=2.0, seed=5))
        assert enc[0] == 1 and txt[0] == 3, "a known prompt was encoded again"
    assert first.record["cache"] == {"film": False, "text": False}
    assert second.record["cache"]["film"] is True
    assert eng.stats["vae_encode"] == 1


def test_a_different_film_is_encoded_and_a_model_switch_empties_the_caches(tiny_model_dir, film):
    eng = Engine(tiny_model_dir, device="cpu")
    eng.run(film, RunSettings(**FAST))
    eng.run(film[::-1].copy(), RunSettings(**FAST))
    assert eng.stats["vae_encode"] == 2
    eng.set_model(tiny_model_dir)
    assert eng.pipe is None and eng.info is None
    eng.run(film, RunSettings(**FAST))
    assert eng.stats["vae_encode"] == 3


def test_a_cached_rerun_encodes_nothing_and_matches_the_cold_run(tiny_model_dir, film):
    eng = Engine(tiny_model_dir, device="cpu")
    settings = RunSettings(**FAST, prompt="large lung opacity on the left", seed=11)
    cold = eng.run(film, settings)
    assert cold.record["cache"] == {"film": False, "text": False}
    assert eng.stats == {"vae_encode": 1, "text_encode": 2, "film_cache_hits": 0, "text_cache_hits": 0}
    with count_forward(eng.pipe.vae.encoder) as enc, count_forward(eng.pipe.text_encoder) as txt:
        warm = eng.run(film, settings)
    assert (enc[0], txt[0]) == (0, 0), "the cached run went through the VAE encoder or the text encoder"
    assert warm.record["cache"] == {"film": True, "text": True}
    # One film hit, two text hits (the prompt and the empty negative prompt), no new encodes.
    assert eng.stats == {"vae_encode": 1, "text_encode": 2, "film_cache_hits": 1, "text_cache_hits": 2}
    assert (warm.counterfactual == cold.counterfactual).all(), "the cached latents or embeddings differ"
