"""DDIM inversion: the film's clean latents carried deterministically up to img2img's start timestep.

SDEdit's random start noise re-synthesises every fine detail of the film; inverting the film instead (the
probability-flow ODE run backwards, conditioned on the negative prompt, no guidance) gives a start that denoises back
to the film itself, so only what the prompt changes moves. The stock pipeline then runs unchanged from those latents:
its one ``scheduler.add_noise`` call in ``prepare_latents`` is answered, once, with the noise that lands exactly on
the inverted latents (in the scheduler's own parametrisation, so sigma-based schedulers work too).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from vald_desktop.core.base.errors import SettingsError

INVERSION_CACHE_SIZE = 4  # per film: a few (negative prompt, timesteps) pairs


def check_prediction(config: Any) -> None:
    """Inversion needs the noise itself from the UNet; refuse other parametrisations with a sentence."""
    kind = dict(config).get("prediction_type", "epsilon")
    if kind != "epsilon":
        raise SettingsError(
            f"Inverted start noise needs a model that predicts noise (epsilon), but this one predicts {kind}; "
            "choose random start noise."
        )


def denoise_timesteps(scheduler: Any, steps: int, strength: float) -> tuple[list[int], int]:
    """The distinct timesteps img2img will denoise over (descending) and its UNet-call count, picked as the
    pipeline's ``get_timesteps`` does; computed on a copy so the pipeline's scheduler keeps its state."""
    probe = type(scheduler).from_config(scheduler.config)
    probe.set_timesteps(steps)
    init = min(int(steps * strength), steps)
    tail = probe.timesteps[max(steps - init, 0) * probe.order :]
    # At full strength PNDM repeats its second timestep; the inversion visits each noise level once.
    distinct = list(dict.fromkeys(int(round(float(t))) for t in tail))
    return distinct, len(tail)


def invert(
    unet: Any,
    latents: Any,
    embedding: Any,
    timesteps: list[int],
    alphas_cumprod: Any,
    after_step: Callable[[], None],
) -> Any:
    """Deterministic DDIM inversion of clean ``latents`` through ``timesteps`` (given descending, walked upwards).

    Each step predicts the noise at the next level's timestep from the current latents and moves along it:
    x_next = sqrt(a_next) * x0_pred + sqrt(1 - a_next) * eps, x0_pred = (x - sqrt(1 - a) * eps) / sqrt(a).
    ``after_step`` runs after each UNet call (progress, cancel).
    """
    import torch

    # The update itself runs in float32: in bf16 the small per-step differences would round away.
    x = latents.float()
    a_prev = 1.0  # the clean latents
    emb = embedding.to(latents.dtype).expand(x.shape[0], -1, -1)
    for t in reversed(timesteps):
        t_in = torch.tensor(t, device=x.device)
        eps = unet(x.to(latents.dtype), t_in, encoder_hidden_states=emb, return_dict=False)[0].float()
        a_next = float(alphas_cumprod[t])
        x0 = (x - math.sqrt(1.0 - a_prev) * eps) / math.sqrt(a_prev)
        x = math.sqrt(a_next) * x0 + math.sqrt(1.0 - a_next) * eps
        a_prev = a_next
        after_step()
    return x.to(latents.dtype)


def start_noise(inverted: Any, clean: Any, alpha: float) -> Any:
    """The noise that, added to ``clean`` at level ``alpha`` the VP way, gives ``inverted``."""
    return (inverted - math.sqrt(alpha) * clean) / math.sqrt(1.0 - alpha)


@contextlib.contextmanager
def starting_from(scheduler: Any, inverted: Any, alpha: float) -> Iterator[None]:
    """For the pipeline call inside this block, img2img starts from ``inverted`` instead of randomly noised latents.

    The first ``add_noise`` call (``prepare_latents``) gets the noise that puts the clean latents exactly on
    ``inverted`` at level ``alpha``; later calls (mask-confined blending) reach the scheduler's own method again.
    """

    def first_call(original: Any, noise: Any, timesteps: Any) -> Any:
        del scheduler.add_noise
        eps = start_noise(inverted.to(original.dtype), original, alpha)
        return scheduler.add_noise(original, eps.expand_as(original).to(noise.dtype), timesteps)

    scheduler.add_noise = first_call
    try:
        yield
    finally:
        scheduler.__dict__.pop("add_noise", None)


def inverted_start(
    pipe: Any,
    cache: dict[Any, Any],
    clean: Any,
    embedding: Any,
    negative_prompt: str,
    steps: int,
    strength: float,
    hook: Any,
) -> tuple[Any, float]:
    """The inverted start latents and their level (alpha) for this run, from ``cache`` (the film's entry) when the
    same negative prompt and timesteps were inverted before: a new prompt or guidance costs no inversion."""
    check_prediction(pipe.scheduler.config)
    timesteps, denoise_calls = denoise_timesteps(pipe.scheduler, steps, strength)
    alphas = pipe.scheduler.alphas_cumprod
    alpha = float(alphas[timesteps[0]])
    key = (negative_prompt, tuple(timesteps))
    if key in cache:
        return cache[key], alpha
    total = len(timesteps) + denoise_calls
    hook.check_cancel()
    inverted = invert(pipe.unet, clean, embedding, timesteps, alphas, lambda: hook.inversion_step(total))
    cache[key] = inverted
    while len(cache) > INVERSION_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return inverted, alpha
