"""Validation samples during training: fixed films and seeds through the img2img sampler -> composites.

The films go through the same diffusers ``StableDiffusionImg2ImgPipeline`` that ``vald run`` uses, with the model's
own attention-mask policy, so what is logged is what a user would see. Composites (input | counterfactual | red map of
input − counterfactual) are written to ``OUT/.samples/`` and logged to the trackers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data import load_gray

if TYPE_CHECKING:
    from .trainer import Trainer

log = logging.getLogger(__name__)


def default_validation_films(trainer: Trainer, n: int = 2) -> list[Path]:
    """The first film of up to ``n`` classes other than the prior class (abnormal films -> healthy prompt)."""
    ds, prior = trainer.ds, trainer.cfg.prior_class
    films: list[Path] = []
    for klass in sorted(ds.by_class):
        if klass != prior and len(films) < n:
            films.append(ds.examples[ds.by_class[klass][0]].path)
    return films or [ds.examples[0].path]


def composite(inp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """HxW inputs in [0,1] -> H x 3W x 3 uint8: input, counterfactual, input with the removed signal in red."""
    diff = np.clip(inp - out, 0.0, 1.0)
    alpha = np.clip(diff / max(float(diff.max()), 1e-6), 0, 1)[..., None] * 0.8
    base = np.repeat(inp[..., None], 3, axis=2)
    red = base * (1 - alpha) + np.array([1.0, 0.0, 0.0]) * alpha
    panels = [np.repeat(inp[..., None], 3, axis=2), np.repeat(out[..., None], 3, axis=2), red]
    return (np.concatenate(panels, axis=1) * 255).round().astype(np.uint8)


def sample_counterfactual(
    pipe: Any, gray: np.ndarray, prompt: str, *, strength: float, guidance: float, steps: int, seed: int
) -> np.ndarray:
    import torch
    from PIL import Image

    image = Image.fromarray((gray * 255).round().astype(np.uint8)).convert("RGB")
    gen = torch.Generator().manual_seed(seed)
    result = pipe(
        prompt=prompt,
        image=image,
        strength=strength,
        guidance_scale=guidance,
        num_inference_steps=steps,
        generator=gen,
        output_type="np",
    )
    return np.asarray(result.images[0], dtype=np.float32).mean(axis=2)


def run_validation(trainer: Trainer, tag: str) -> list[Path]:
    """Main process only; returns the composite paths written (none when there are no films)."""
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image

    acc, cfg = trainer.acc, trainer.cfg
    acc.wait_for_everyone()
    written: list[Path] = []
    if not acc.is_main_process or cfg.validation_inference_steps < 1:
        acc.wait_for_everyone()
        return written
    films = [Path(p) for p in cfg.validation_images] or default_validation_films(trainer)
    unet = acc.unwrap_model(trainer.unet)
    text_encoder = acc.unwrap_model(trainer.text_encoder)
    was_training = unet.training, text_encoder.training
    unet.eval()
    text_encoder.eval()
    pipe = StableDiffusionImg2ImgPipeline(
        vae=trainer.parts.vae,
        text_encoder=text_encoder,
        tokenizer=trainer.parts.tokenizer,
        unet=unet,
        scheduler=trainer.parts.scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    folder = trainer.out / ".samples"
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    with torch.no_grad():
        for k, film in enumerate(films):
            try:
                gray = load_gray(film, cfg.resolution)
            except Exception:  # a broken validation film must not stop training
                log.warning("validation film %s cannot be read", film.name)
                continue
            out = sample_counterfactual(
                pipe,
                gray,
                cfg.validation_prompt,
                strength=cfg.validation_strength,
                guidance=cfg.validation_guidance,
                steps=cfg.validation_inference_steps,
                seed=cfg.seed + k,
            )
            comp = composite(gray, out)
            path = folder / f"{tag}-{k}.png"
            Image.fromarray(comp).save(path)
            written.append(path)
            images.append(comp)
    unet.train(was_training[0])
    text_encoder.train(was_training[1] and cfg.train_text_encoder)
    for tracker in acc.trackers:
        if tracker.name == "tensorboard" and images:
            tracker.writer.add_images("validation", np.stack(images), trainer.global_step, dataformats="NHWC")
    acc.wait_for_everyone()
    return written
