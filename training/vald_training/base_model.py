"""Build a trainable base model from scratch for small demo models (no pretrained weights exist for them).

Steps: a WordPiece vocabulary from real radiology reports + the dataset's prompts -> random-weight components from an
architecture config (:func:`vald_training.architecture.build_components`) -> the VAE stage on the training films ->
a diffusers folder that ``vald train`` fine-tunes like any assembled SD + RadBERT base.

Configured by the ``build_base`` section of a training config::

    build_base:
      vocab_size: 4096
      max_images: 2000          # films used for the VAE stage
      architecture: {vae: {...}, unet: {...}, text_encoder: {...}}
      vae_training: {steps: 1500, batch_size: 16, crop: 64, ...}
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from vald_training.architecture import build_components, save_pipeline
from vald_training.data import load_dataset, load_gray
from vald_training.vae import VaeTrainConfig, save_reconstruction_png, train_vae
from vald_training.vocab import radiology_vocab

log = logging.getLogger(__name__)


def build_trained_base(
    spec: dict[str, Any],
    *,
    data: str | Path,
    class_prompts: dict[str, str],
    resolution: int,
    out_dir: str | Path,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    start = time.time()
    ds = load_dataset(data, class_prompts)
    prompts = sorted({ex.prompt for ex in ds.examples})
    vocab = radiology_vocab(prompts, vocab_size=int(spec.get("vocab_size", 4096)))
    arch = dict(spec.get("architecture", {}))
    arch["vocab"] = vocab
    components = build_components(arch, seed=seed)

    max_images = int(spec.get("max_images", 2000))
    rng = np.random.default_rng(seed)
    pick = sorted(rng.permutation(len(ds.examples))[:max_images].tolist())
    grays = np.stack([load_gray(ds.examples[i].path, resolution) for i in pick])
    vae_cfg = VaeTrainConfig(**{"seed": seed, **spec.get("vae_training", {})})
    log.info("VAE stage: %d films at %d px, %d steps", len(grays), resolution, vae_cfg.steps)
    metrics = train_vae(components["vae"], grays, vae_cfg, progress=progress)
    out = Path(out_dir)
    save_reconstruction_png(components["vae"], grays[:6], out / ".samples" / "vae-reconstruction.png")
    extra = {
        "name": out.name,
        "origin": "random-init UNet and text encoder, VAE trained on the data (vald_training.base_model)",
        "seed": seed,
        "vae_metrics": metrics,
        "vocab_size": len(vocab),
        "seconds": time.time() - start,
    }
    save_pipeline(components, out, json.loads(json.dumps(extra)))
    log.info("base model written to %s (VAE PSNR %.1f dB)", out, metrics["vae_psnr_db"])
    return out
