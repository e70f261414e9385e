"""Overfitting a fixed batch: the loss at fixed noise and timesteps falls."""

from __future__ import annotations

from pathlib import Path

from training_helpers import tiny_config


def _fixed_loss(trainer, indices: list[int]) -> float:  # noqa: ANN001
    import torch
    from vald_training.batches import diffusion_loss, draw_noise, encode_prompts

    noise = draw_noise(1234, 0, len(indices), trainer.latent_shape, 1000)
    with torch.no_grad():
        latents = trainer.latents.latents(indices, noise, slice(None))
        prompts = [trainer.ds.examples[i].prompt for i in indices]
        cond = encode_prompts(trainer.parts.tokenizer, trainer.text_encoder, prompts, trainer.use_mask, "cpu")
        per = diffusion_loss(
            unet=trainer.unet,
            noise_scheduler=trainer.parts.noise_scheduler,
            latents=latents,
            cond=cond,
            noise=noise.noise,
            timesteps=noise.timesteps,
            snr_gamma=None,
        )
    return float(per.mean())


def test_loss_falls_on_a_fixed_batch(tiny_base: Path, film_set: Path, tmp_path: Path) -> None:
    from vald_training.trainer import Trainer

    cfg = tiny_config(
        tiny_base,
        film_set,
        tmp_path / "out",
        schedule="mixed",
        max_steps=25,
        prior_weight=0.0,
        train_batch_size=2,
        caption_dropout=0.0,
        cache_latents=True,
        learning_rate=2e-3,
    )
    trainer = Trainer(cfg, progress=False)
    # One class of two films: every batch is the same two films (only noise and timesteps vary).
    fixed = trainer.ds.indices("Normal")[:2]
    trainer.ds.by_class = {"Normal": fixed}
    trainer.plan = [("Normal", 25)]
    before = _fixed_loss(trainer, fixed)
    trainer.run()
    after = _fixed_loss(trainer, fixed)
    assert after < 0.7 * before, f"loss {before:.4f} -> {after:.4f}"
