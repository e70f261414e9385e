"""One micro-batch of DreamBooth-style training: images -> latents -> noisy latents -> UNet loss.

All randomness of a micro-step (timesteps, noise, latent sampling, caption dropout, augmentation) comes from a
generator seeded by (seed, micro-step) and is drawn for the *global* batch; each process then takes its own rows.
So a run on N processes with batch b equals one process with batch N·b, and a resumed run replays the exact stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from vald_training.data import Dataset, load_gray

log = logging.getLogger(__name__)


@dataclass
class StepNoise:
    timesteps: Any
    noise: Any
    eps: Any
    drop: Any
    gain: Any
    offset: Any
    noise_offset: Any


def draw_noise(
    seed: int,
    micro_step: int,
    n: int,
    latent_shape: tuple[int, int, int],
    num_timesteps: int,
    min_timestep: int = 0,
) -> StepNoise:
    import torch

    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(micro_step))
    c = latent_shape[0]
    return StepNoise(
        timesteps=torch.randint(int(min_timestep), num_timesteps, (n,), generator=gen),
        noise=torch.randn((n, *latent_shape), generator=gen),
        eps=torch.randn((n, *latent_shape), generator=gen),
        drop=torch.rand((n,), generator=gen),
        gain=torch.rand((n,), generator=gen),
        offset=torch.rand((n,), generator=gen),
        noise_offset=torch.randn((n, c, 1, 1), generator=gen),
    )


class LatentSource:
    """Encodes films with the frozen VAE; with ``cache`` the posterior (mean, std) of each film is kept after first use."""

    def __init__(
        self, ds: Dataset, vae: Any, resolution: int, cache: bool, augment: bool, device: Any
    ) -> None:
        self.ds = ds
        self.vae = vae
        self.resolution = resolution
        self.cache = cache
        self.augment = augment and not cache
        if augment and cache:
            log.warning("augmentation is off because latents are cached")
        self.device = device
        self.scale = float(vae.config.scaling_factor)
        self._cached: dict[int, tuple[Any, Any]] = {}
        self._skip: set[int] = set()

    def _gray(self, idx: int) -> np.ndarray:
        try:
            return load_gray(self.ds.examples[idx].path, self.resolution)
        except Exception:  # an image that broke after the scan: skip it, never stop training
            if idx not in self._skip:
                self._skip.add(idx)
                log.warning("skipping unreadable image %s", self.ds.examples[idx].path.name)
            return np.zeros((self.resolution, self.resolution), dtype=np.float32)

    def _encode(self, grays: list[np.ndarray]) -> tuple[Any, Any]:
        import torch

        x = torch.from_numpy(np.stack(grays) * 2.0 - 1.0)[:, None].repeat(1, 3, 1, 1)
        x = x.to(self.device, dtype=self.vae.dtype)
        with torch.no_grad():
            post = self.vae.encode(x).latent_dist
        return post.mean.float(), post.std.float()

    def latents(self, indices: list[int], noise: StepNoise, rows: slice) -> Any:
        """Scaled latents z = (mean + std·eps) · scaling_factor for ``indices`` (aligned with ``rows`` of ``noise``)."""
        import torch

        if self.cache:
            todo = [i for i in dict.fromkeys(indices) if i not in self._cached]
            if todo:
                mean, std = self._encode([self._gray(i) for i in todo])
                for k, i in enumerate(todo):
                    self._cached[i] = (mean[k].cpu(), std[k].cpu())
            mean = torch.stack([self._cached[i][0] for i in indices]).to(self.device)
            std = torch.stack([self._cached[i][1] for i in indices]).to(self.device)
        else:
            grays = [self._gray(i) for i in indices]
            if self.augment:
                # Mild exposure/contrast jitter only; flips would swap the laterality the prompts name.
                gains = 0.9 + 0.2 * noise.gain[rows].numpy()
                offsets = -0.05 + 0.1 * noise.offset[rows].numpy()
                grays = [np.clip(g * a + b, 0, 1) for g, a, b in zip(grays, gains, offsets, strict=True)]
            mean, std = self._encode(grays)
        return (mean + std * noise.eps[rows].to(self.device)) * self.scale


def encode_prompts(tokenizer: Any, text_encoder: Any, prompts: list[str], use_mask: bool, device: Any) -> Any:
    """Exactly what the diffusers img2img pipeline does: pad to ``model_max_length``, mask only if the policy says so."""
    tok = tokenizer(
        prompts,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    mask = tok.attention_mask.to(device) if use_mask else None
    return text_encoder(tok.input_ids.to(device), attention_mask=mask)[0]


def diffusion_loss(
    *,
    unet: Any,
    noise_scheduler: Any,
    latents: Any,
    cond: Any,
    noise: Any,
    timesteps: Any,
    snr_gamma: float | None,
) -> Any:
    """Per-sample MSE between the UNet prediction and its target (epsilon or v), optionally min-SNR weighted."""
    import torch

    noisy = noise_scheduler.add_noise(latents, noise, timesteps)
    pred = unet(noisy, timesteps, cond).sample
    kind = noise_scheduler.config.prediction_type
    target = noise if kind == "epsilon" else noise_scheduler.get_velocity(latents, noise, timesteps)
    per_sample = (pred.float() - target.float()).pow(2).mean(dim=(1, 2, 3))
    if snr_gamma:
        from diffusers.training_utils import compute_snr

        snr = compute_snr(noise_scheduler, timesteps)
        weight = torch.clamp(snr, max=snr_gamma) / snr
        if kind == "v_prediction":
            weight = torch.clamp(snr, max=snr_gamma) / (snr + 1)
        per_sample = per_sample * weight
    return per_sample
