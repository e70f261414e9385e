"""Limited-interval guidance (RunSettings.guidance_until): classifier-free guidance for the first share of the
denoising steps only; the later steps run the prompt alone, one UNet batch instead of two."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.base.settings import RunSettings, guidance_label

FAST = dict(steps=10, strength=1.0, scheduler="ddim", preview_every=0, mask_mode="none", guidance=6.0)


@pytest.fixture
def unet_batches(engine):
    """The batch size of every UNet call (2 = guided: unconditional and prompt halves)."""
    sizes: list[int] = []
    handle = engine.pipe.unet.register_forward_pre_hook(lambda _m, args: sizes.append(int(args[0].shape[0])))
    yield sizes
    handle.remove()


@pytest.mark.parametrize(("share", "guided"), [(1.0, 10), (0.5, 5), (0.25, 2), (0.01, 1)])
def test_guidance_stops_after_its_share_of_the_steps(engine, film, unet_batches, share, guided):
    engine.run(film, RunSettings(**FAST, guidance_until=share))
    assert unet_batches == [2] * guided + [1] * (10 - guided), "the guided steps must come first, then none"


def test_pndm_counts_its_extra_call_in_the_share(engine, film, unet_batches):
    # PNDM makes one UNet call more than it has steps (11 here); half of them, rounded, are guided.
    engine.run(film, RunSettings(**FAST | {"scheduler": "pndm"}, guidance_until=0.5))
    assert len(unet_batches) == 11 and unet_batches.count(2) == round(0.5 * 11)


def test_a_small_guided_share_lands_near_an_unguided_run(engine, film):
    # Ending guidance early must change the result, and the less of the run is guided the closer it comes to a
    # run without guidance (same seed, same prompt).
    unguided = engine.run(film, RunSettings(**FAST | {"guidance": 1.0})).counterfactual
    dist = {}
    for share in (1.0, 0.5, 0.1):
        cf = engine.run(film, RunSettings(**FAST, guidance_until=share)).counterfactual
        dist[share] = float(np.abs(cf - unguided).mean())
    assert dist[1.0] > dist[0.5] > dist[0.1] > 0, dist


def test_without_guidance_the_share_changes_nothing(engine, film, unet_batches):
    a = engine.run(film, RunSettings(**FAST | {"guidance": 1.0})).counterfactual
    b = engine.run(film, RunSettings(**FAST | {"guidance": 1.0}, guidance_until=0.3)).counterfactual
    assert np.array_equal(a, b) and set(unet_batches) == {1}


def test_inverted_runs_end_guidance_too_and_the_record_keeps_the_share(engine, film, unet_batches):
    r = engine.run(film, RunSettings(**FAST | {"strength": 0.5}, noise="inverted", guidance_until=0.4))
    # 5 inversion calls (one batch), then 5 denoising calls of which round(0.4 * 5) = 2 are guided.
    assert unet_batches == [1] * 5 + [2] * 2 + [1] * 3
    assert r.record["settings"]["guidance_until"] == 0.4


def test_captions_say_when_guidance_ends_early():
    assert RunSettings(guidance=4.0).guidance_label == "4"
    assert RunSettings(guidance=4.0, guidance_until=0.5).guidance_label == "4 on 50% of steps"
    assert guidance_label(7.5, None) == "7.5"  # a record from before the setting existed
