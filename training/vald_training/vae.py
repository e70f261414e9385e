"""VAE stage: train an ``AutoencoderKL`` (f = 8) on random crops of grayscale films.

Used to give small demo models a VAE that matches their data; real VALD-MD models keep Stable Diffusion's VAE frozen.
Conv-only VAEs are translation-equivariant, so crops (cheap) teach the same codec the full films use. After training
the latent ``scaling_factor`` is set to 1 / std of the latents, as Stable Diffusion did for its own VAE.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class VaeTrainConfig:
    steps: int = 1500
    batch_size: int = 16
    crop: int = 64
    learning_rate: float = 5e-4
    warmup_steps: int = 50
    kl_weight: float = 1e-6
    mse_weight: float = 1.0  # loss = L1 + mse_weight * MSE + kl_weight * KL
    seed: int = 0
    log_every: int = 50


def _crops(images: Any, idx: Any, tops: Any, lefts: Any, crop: int) -> Any:
    import torch

    batch = torch.stack(
        [images[i, :, t : t + crop, x : x + crop] for i, t, x in zip(idx, tops, lefts, strict=True)]
    )
    return batch.repeat(1, 3, 1, 1)  # grayscale -> the 3 channels the SD-format VAE expects


def train_vae(vae: Any, grays: np.ndarray, cfg: VaeTrainConfig, progress: bool = True) -> dict[str, float]:
    """Train ``vae`` in place on ``grays`` (N x H x W in [0, 1]); returns metrics (final loss, PSNR, scaling factor)."""
    import torch
    from tqdm.auto import tqdm

    images = torch.from_numpy(np.asarray(grays, dtype=np.float32) * 2.0 - 1.0)[:, None]
    n, _, h, w = images.shape
    crop = min(cfg.crop, h, w)
    gen = torch.Generator().manual_seed(cfg.seed)
    vae.train()
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.learning_rate, weight_decay=0.0)

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        frac = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))  # cosine down to 10 %

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    bar = tqdm(range(cfg.steps), desc="vae", disable=not progress, mininterval=5)
    ema_loss = None
    start = time.time()
    for step in bar:
        idx = torch.randint(0, n, (cfg.batch_size,), generator=gen).tolist()
        tops = torch.randint(0, h - crop + 1, (cfg.batch_size,), generator=gen).tolist()
        lefts = torch.randint(0, w - crop + 1, (cfg.batch_size,), generator=gen).tolist()
        x = _crops(images, idx, tops, lefts, crop)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        l1 = (rec - x).abs().mean()
        mse = (rec - x).pow(2).mean()
        kl = post.kl().mean() / x[0].numel()
        loss = l1 + cfg.mse_weight * mse + cfg.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        ema_loss = loss.item() if ema_loss is None else 0.95 * ema_loss + 0.05 * loss.item()
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            bar.set_postfix(loss=f"{ema_loss:.4f}")
            log.info("vae step %d loss %.4f", step, ema_loss)
    vae.eval()
    metrics = evaluate_vae(vae, grays[: min(len(grays), 32)])
    metrics.update({"vae_final_loss": float(ema_loss or 0.0), "vae_train_seconds": time.time() - start})
    vae.register_to_config(scaling_factor=metrics["scaling_factor"])
    return metrics


def evaluate_vae(vae: Any, grays: np.ndarray) -> dict[str, float]:
    """Reconstruction PSNR (dB, on [0, 1]) at full size and the latent scaling factor (1 / std of latent means)."""
    import torch

    x = torch.from_numpy(np.asarray(grays, dtype=np.float32) * 2.0 - 1.0)[:, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.mean).sample.clamp(-1, 1)
    mse = ((rec[:, :1] - x[:, :1]) / 2).pow(2).mean().item()
    std = post.mean.std().item()
    return {"vae_psnr_db": 10 * math.log10(1.0 / max(mse, 1e-12)), "scaling_factor": 1.0 / max(std, 1e-6)}


def save_reconstruction_png(vae: Any, grays: np.ndarray, path: str | Path, n: int = 6) -> Path:
    """Top row: films; bottom row: their reconstructions (for a human look at the codec)."""
    import torch
    from PIL import Image

    sel = np.asarray(grays[:n], dtype=np.float32)
    x = torch.from_numpy(sel * 2.0 - 1.0)[:, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        rec = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)[:, 0].numpy() * 0.5 + 0.5
    grid = np.concatenate([np.concatenate(list(sel), axis=1), np.concatenate(list(rec), axis=1)], axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((grid * 255).round().astype(np.uint8)).save(path)
    return path
