"""Inverted start noise: DDIM inversion of the film replaces SDEdit's random noise (RunSettings.noise="inverted")."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch
from engine_helpers import count_forward, write_chest_png

from vald_desktop.cli import main
from vald_desktop.core.base.errors import Cancelled, SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.inversion import check_prediction, denoise_timesteps

FAST = dict(steps=6, strength=0.5, preview_every=0, mask_mode="none")


@pytest.fixture
def final_latents(own_engine, monkeypatch):
    """The latents each run of ``own_engine`` hands to the VAE decoder (its last decode is the only seed's result)."""
    seen: list[torch.Tensor] = []
    decode = own_engine._decode

    def spy(latents, placement):
        seen.append(latents.detach().clone())
        return decode(latents, placement)

    monkeypatch.setattr(own_engine, "_decode", spy)
    return seen


def _film_latents(engine):
    return next(reversed(engine._films.values())).latents


def _relative_error(latents, reference) -> float:
    return float((latents - reference).abs().mean() / reference.abs().mean())


def test_inverted_start_denoises_back_to_the_film_where_random_noise_does_not(
    own_engine, film, final_latents
):
    # Same (empty) prompt for inversion and denoising, no guidance, DDIM: the round trip should return the film.
    errors = {}
    for noise, steps in (("random", 10), ("inverted", 10), ("inverted", 20)):
        s = RunSettings(**FAST | {"steps": steps}, prompt="", guidance=1.0, scheduler="ddim", noise=noise)
        own_engine.run(film, s)
        errors[noise, steps] = _relative_error(final_latents[-1], _film_latents(own_engine))
    # Measured on the tiny random-weight model: random 24.8, inverted 2.8 (10 steps) and 1.9 (20 steps), relative
    # to the latents' mean magnitude (the tiny VAE's latents are ~0.04, so the numbers look large).
    assert errors["inverted", 10] < errors["random", 10] / 4, errors
    # Smaller DDIM steps follow the ODE more closely, so the inversion error shrinks with more steps.
    assert errors["inverted", 20] < errors["inverted", 10], errors


def test_inverted_start_is_exact_for_a_noise_predictor_that_ignores_its_input(own_engine, film, monkeypatch):
    # With a constant noise prediction DDIM inversion and DDIM denoising are exact inverses, so the result is known
    # in closed form: the last DDIM step lands on level final_alpha_cumprod with that same noise. The engine is the
    # test's own: the stand-in UNet's inversion stays in its cache, under the key a real DDIM or Euler run would use.
    engine = own_engine
    constant = torch.randn(_shape_of_film_latents(engine, film), generator=torch.Generator().manual_seed(3))
    monkeypatch.setattr(engine.pipe.unet, "forward", lambda x, *a, **k: (constant.expand_as(x).to(x.dtype),))
    seen = []
    monkeypatch.setattr(engine, "_decode", lambda lat, placement: seen.append(lat.clone()) or film)
    s = RunSettings(**FAST, prompt="", guidance=1.0, scheduler="ddim", noise="inverted", reference="input")
    engine.run(film, s)
    a = float(engine.pipe.scheduler.final_alpha_cumprod)
    expected = math.sqrt(a) * _film_latents(engine) + math.sqrt(1 - a) * constant
    assert torch.allclose(seen[-1], expected, atol=1e-5), "inversion and the pipeline's start disagree"


def _shape_of_film_latents(engine, film):
    engine._film(film)
    return tuple(_film_latents(engine).shape)


@pytest.mark.parametrize("scheduler", ["pndm", "dpmpp", "euler"])
def test_inverted_runs_ignore_the_seed_and_repeat_exactly(engine, film, scheduler):
    s = RunSettings(**FAST, scheduler=scheduler, noise="inverted")
    a, b = engine.run(film, s), engine.run(film, s.replace(seed=7))
    assert (a.counterfactual == b.counterfactual).all(), "the seed changed an inverted run"
    r0, r7 = (engine.run(film, s.replace(noise="random", seed=x)) for x in (0, 7))
    assert not (r0.counterfactual == r7.counterfactual).all(), "random noise should depend on the seed"
    assert not (a.counterfactual == r0.counterfactual).all()


def test_a_mask_confined_inverted_run_ignores_the_seed_too(engine, film, left_lung_mask):
    s = RunSettings(
        steps=6, strength=0.5, preview_every=0, mask_mode="file", confine_to_mask=True, noise="inverted"
    )
    a = engine.run(film, s, mask=left_lung_mask)
    b = engine.run(film, s.replace(seed=7), mask=left_lung_mask)
    assert (a.counterfactual == b.counterfactual).all(), "the outside-the-mask blend brought the seed back in"
    assert (a.map[~left_lung_mask.mask] == 0).all() and abs(a.map).max() > 0


def test_progress_counts_inversion_and_denoising_in_one_bar(tiny_model_dir, film):
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")  # a cold engine: no cached inversion
    seen = []
    result = eng.run(film, RunSettings(**FAST, scheduler="ddim", noise="inverted"), progress=seen.append)
    # DDIM, 6 steps at strength 0.5: 3 inversion steps then 3 denoising steps.
    assert [(p.step, p.total) for p in seen] == [(i, 6) for i in range(1, 7)]
    assert result.record["unet_calls"] == 6
    seen.clear()
    eng.run(
        film,
        RunSettings(**FAST, prompt="cardiomegaly", scheduler="ddim", noise="inverted"),
        progress=seen.append,
    )
    assert [(p.step, p.total) for p in seen] == [(i, 3) for i in range(1, 4)], (
        "a cached inversion was counted"
    )


def test_cancel_during_inversion_stops_at_once_and_caches_nothing(tiny_model_dir, film):
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    cancel = threading.Event()
    s = RunSettings(
        steps=20, strength=1.0, preview_every=0, mask_mode="none", scheduler="ddim", noise="inverted"
    )

    def on_progress(p):
        if p.step == 2:
            cancel.set()

    with count_forward(eng.pipe.unet) as calls, pytest.raises(Cancelled):
        eng.run(film, s, progress=on_progress, cancel=cancel)
    assert calls[0] == 2, f"cancel during inversion took {calls[0] - 2} extra UNet calls"
    assert not any(entry.inverted for entry in eng._films.values()), "a half-done inversion was cached"
    with count_forward(eng.pipe.unet) as calls:
        eng.run(film, s.replace(steps=6))
    assert calls[0] == 6 + 6, "after a cancel the next inverted run should invert and denoise in full"


def test_a_new_prompt_reuses_the_inversion_but_a_new_negative_prompt_does_not(tiny_model_dir, film):
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    s = RunSettings(
        **FAST, scheduler="ddim", noise="inverted"
    )  # 3 inversion + 3 denoising steps (x2 with CFG)
    with count_forward(eng.pipe.unet) as calls:
        eng.run(film, s)
        assert calls[0] == 3 + 3
        eng.run(film, s.replace(prompt="cardiomegaly", guidance=7.5))
        assert calls[0] == 6 + 3, "a new prompt on the same film inverted the film again"
        eng.run(film, s.replace(negative_prompt="pleural effusion"))
        assert calls[0] == 9 + 3 + 3, "a new negative prompt must invert again (it conditions the inversion)"
        eng.run(film, s.replace(strength=0.9))
        assert calls[0] == 15 + 5 + 5, "another start timestep must invert again"


def test_inversion_visits_each_pndm_noise_level_once(engine):
    from vald_desktop.core.engine.schedulers import make_scheduler

    sched = make_scheduler("pndm", engine.pipe.scheduler.config)
    distinct, calls = denoise_timesteps(sched, 50, 0.55)
    assert calls == int(50 * 0.55) + 1  # PNDM adds one UNet call
    assert distinct[0] == 541 and distinct[-1] == 1 and len(distinct) == calls
    # At full strength PNDM runs its second timestep twice; the inversion goes through that level once.
    distinct, calls = denoise_timesteps(sched, 50, 1.0)
    assert calls == 51 and len(distinct) == 50 and distinct == sorted(distinct, reverse=True)


def test_a_v_prediction_model_is_refused_with_a_sentence():
    with pytest.raises(SettingsError, match="epsilon"):
        check_prediction({"prediction_type": "v_prediction"})
    check_prediction({"prediction_type": "epsilon"})


def test_settings_refuse_unknown_noise_and_several_seeds_with_inversion():
    with pytest.raises(SettingsError, match="start noise"):
        RunSettings(noise="gaussian")
    with pytest.raises(SettingsError, match="same counterfactual"):
        RunSettings(noise="inverted", seeds=4)
    s = RunSettings(noise="inverted")
    assert RunSettings.from_dict(s.to_dict()) == s
    old_record = {k: v for k, v in s.to_dict().items() if k != "noise"}
    assert RunSettings.from_dict(old_record).noise == "random", "records without the key must still open"


def test_vald_run_noise_flag_reaches_the_record(tiny_model_dir, film, tmp_path, capsys):

    png = write_chest_png(tmp_path / "a.png")  # the automatic mask is asked for: a chest-like film
    base = ["run", str(png), "--model", str(tiny_model_dir), "--steps", "6", "--strength", "0.5", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "inv"), "--noise", "inverted"]) == 0
    assert json.loads((tmp_path / "inv" / "run.json").read_text())["settings"]["noise"] == "inverted"
    assert main([*base, "--out", str(tmp_path / "rnd")]) == 0
    assert json.loads((tmp_path / "rnd" / "run.json").read_text())["settings"]["noise"] == "random"
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "bad"), "--noise", "inverted", "--seeds", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "same counterfactual" in err and "\n" not in err
