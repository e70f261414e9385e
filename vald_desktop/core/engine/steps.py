"""Per-step work inside the diffusers denoising loop (``callback_on_step_end``).

After each UNet call: cooperative cancel, mask-confined blending, progress with ETA and an occasional preview.
UNet calls made before denoising (DDIM inversion) report through :meth:`StepHook.inversion_step` and count in
the same progress bar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import Cancelled
from vald_desktop.core.base.settings import RunSettings

# The blend noise is drawn from its own generators so the pipeline's initial noise (and results without
# confinement) stay exactly those of the stock pipeline for the same seed.
_BLEND_SEED_OFFSET = 0x5EED


@dataclass(frozen=True)
class Progress:
    """One report per UNet call (re-exported by :mod:`core.sampler`)."""

    step: int  # UNet calls done (1-based)
    total: int  # UNet calls in this run
    elapsed: float  # seconds since denoising started
    eta: float  # seconds left, estimated from the mean step time
    preview: np.ndarray | None  # float32 film-grid image of the first seed's current estimate, every k steps


class StepHook:
    def __init__(
        self,
        *,
        settings: RunSettings,
        progress: Callable[[Any], None] | None,
        cancel: threading.Event | None,
        preview: Callable[[Any], np.ndarray],
        original: Any = None,
        latent_mask: Any = None,
        seeds: list[int] | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.cancel = cancel
        self.preview = preview
        self.original = original
        self.latent_mask = latent_mask
        self.seeds = seeds or [settings.seed]
        self.calls = 0
        self.before = 0  # UNet calls made before the denoising loop (inversion)
        self._noise: Any = None
        self._t0 = time.perf_counter()

    def __call__(self, pipe: Any, i: int, t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.cancel is not None and self.cancel.is_set():
            pipe._interrupt = True
            raise Cancelled()
        total = int(getattr(pipe, "_num_timesteps", 0) or (self.calls - self.before))
        latents = kwargs["latents"]
        if self.latent_mask is not None and self.original is not None:
            latents = self._blend(pipe, i, total, latents)
        out = {"latents": latents}
        ending = self.settings.guidance_until < 1 and i + 1 == self.guided_calls(total)
        if ending and getattr(pipe, "do_classifier_free_guidance", False):
            # The rest of the loop runs on the prompt alone: the documented diffusers way of ending guidance early.
            pipe._guidance_scale = 1.0
            out["prompt_embeds"] = kwargs["prompt_embeds"].chunk(2)[1]
        if self.progress is not None:
            shown = self.before + total
            elapsed = time.perf_counter() - self._t0
            eta = elapsed / self.calls * max(0, shown - self.calls)
            every = self.settings.preview_every
            preview = None
            if every and self.calls % every == 0 and self.calls < shown:
                preview = self.preview(latents)
            self.progress(Progress(step=self.calls, total=shown, elapsed=elapsed, eta=eta, preview=preview))
        return out

    def guided_calls(self, total: int) -> int:
        """How many of the loop's ``total`` UNet calls use guidance (at least one)."""
        return max(1, round(float(self.settings.guidance_until) * total))

    def use_blend_noise(self, noise: Any) -> None:
        """Noise the original latents with this (the inversion's own noise) outside the mask, not a seeded draw:
        an inverted run then stays independent of the seed when it is mask-confined too."""
        self._noise = noise

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def inversion_step(self, total: int) -> None:
        """After one inversion UNet call: count it and report progress out of ``total`` (inversion + denoising);
        cancel is checked on both sides of the report, so a cancel from the progress callback costs no further call.
        No preview: the inverted latents are noise."""
        self.calls += 1
        self.before += 1
        self.check_cancel()
        if self.progress is not None:
            elapsed = time.perf_counter() - self._t0
            eta = elapsed / self.calls * max(0, total - self.calls)
            self.progress(Progress(step=self.calls, total=total, elapsed=elapsed, eta=eta, preview=None))
        self.check_cancel()

    def start(self) -> None:
        """Mark the start of denoising (the first callback only comes after the first UNet call)."""
        self._t0 = time.perf_counter()

    def _blend(self, pipe: Any, i: int, total: int, latents: Any) -> Any:
        """Outside the (dilated) lung mask, put back the original latents noised to the level the sample is now at."""
        import torch

        if i + 1 >= total:
            outside = self.original
        else:
            if self._noise is None:
                gens = [torch.Generator("cpu").manual_seed(s + _BLEND_SEED_OFFSET) for s in self.seeds]
                noise = torch.cat([torch.randn(self.original[:1].shape, generator=g) for g in gens])
                self._noise = noise.to(self.original.device, self.original.dtype)
            # The loop runs over the tail of the scheduler's timesteps; after step i the sample sits at step i + 1.
            t_next = pipe.scheduler.timesteps[-total:][i + 1]
            t_batch = t_next.reshape(1).repeat(latents.shape[0]).to(latents.device)
            outside = pipe.scheduler.add_noise(self.original, self._noise, t_batch)
        m = self.latent_mask
        return m * latents + (1.0 - m) * outside.to(latents.dtype)
