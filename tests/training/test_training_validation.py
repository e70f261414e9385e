"""Validation samples go through the same sampler as `vald run`: a checkpoint's composite is what `vald run` gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from training_helpers import tiny_config

SAMPLING = {"validation_inference_steps": 4, "validation_strength": 0.5, "validation_guidance": 2.0}


@pytest.fixture(scope="module")
def validated(tiny_base: Path, film_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vald_training.trainer import train

    out = tmp_path_factory.mktemp("validated") / "model"
    cfg = tiny_config(
        tiny_base,
        film_set,
        out,
        validation_steps=2,
        checkpointing_steps=2,
        checkpoints_total_limit=None,
        caption_dropout=0.0,
        **SAMPLING,
    )
    train(cfg, progress=False)
    return out


def _model_from_checkpoint(base: Path, checkpoint: Path, out: Path) -> Path:
    """A `vald run`-loadable folder: the base with the checkpoint's UNet and text-encoder weights."""
    from safetensors.torch import load_file
    from vald_training.architecture import save_pipeline
    from vald_training.components import load_parts

    p = load_parts(base)
    p.unet.load_state_dict(load_file(str(checkpoint / "unet.safetensors")))
    p.text_encoder.load_state_dict(load_file(str(checkpoint / "text_encoder.safetensors")))
    parts = {"vae": p.vae, "unet": p.unet, "text_encoder": p.text_encoder, "tokenizer": p.tokenizer}
    return save_pipeline({**parts, "scheduler": p.scheduler}, out)


def _vald_run(film: Path, model: Path, out: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    from vald_desktop.cli import main

    argv = ["run", str(film), "--out", str(out), "--model", str(model), "--device", "cpu", "--quiet"]
    argv += ["--steps", "4", "--strength", "0.5", "--guidance", "2.0", "--seed", "0"]
    assert main(argv) == 0
    cf = np.asarray(Image.open(out / "counterfactual.png").convert("L"), dtype=np.float32) / 255.0
    return cf, np.load(out / "map.npy")


def test_validation_sample_matches_vald_run_on_the_same_checkpoint(
    validated: Path, tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """A step's sample is what `vald run` gives for that step's checkpoint, and it moves with the weights."""
    samples = validated / ".samples"
    assert (samples / "step-2-0.png").is_file() and (samples / "step-4-0.png").is_file()
    model = _model_from_checkpoint(tiny_base, validated / ".checkpoints" / "checkpoint-2", tmp_path / "ckpt2")
    film = film_set / "Lung_Opacity" / "images" / "Lung_Opacity-0.png"  # the first abnormal film, seed 0
    cf, the_map = _vald_run(film, model, tmp_path / "run")
    saved = np.load(samples / "step-2-0.npz")
    assert np.abs(saved["map"] - the_map).max() < 1e-4
    assert np.abs(saved["counterfactual"] - cf).max() <= 1.0 / 255 + 1e-6  # the PNG holds 8 bits
    # The sample really depends on the weights: step 4's counterfactual is another one.
    later = np.load(samples / "step-4-0.npz")
    assert np.abs(later["counterfactual"] - saved["counterfactual"]).max() > 1e-3


def test_final_sample_matches_vald_run_on_the_exported_model(
    validated: Path, film_set: Path, tmp_path: Path
) -> None:
    """The final sample shows the exported weights: `vald run` on the output folder gives the same result."""
    film = film_set / "Lung_Opacity" / "images" / "Lung_Opacity-0.png"
    cf, the_map = _vald_run(film, validated, tmp_path / "run")
    saved = np.load(validated / ".samples" / "final-0.npz")
    assert np.abs(saved["map"] - the_map).max() < 1e-4
    assert np.abs(saved["counterfactual"] - cf).max() <= 1.0 / 255 + 1e-6  # the PNG holds 8 bits


def test_validation_numbers_are_logged_for_every_sample(validated: Path) -> None:
    """validation.jsonl has one row per sample, at its step, and the numbers are those of the saved map."""
    samples = validated / ".samples"
    rows = [json.loads(x) for x in (samples / "validation.jsonl").read_text().splitlines()]
    tagged = [(r["tag"], r["film"], r["step"]) for r in rows]
    assert tagged == [("step-2", 0, 2), ("step-4", 0, 4), ("final", 0, 4)]
    for row in rows:
        assert row["seed"] == 0 and np.isfinite(row["map_abs_mean"]) and row["map_abs_mean"] > 0
        saved = np.load(samples / f"{row['tag']}-{row['film']}.npz")
        assert np.isclose(row["map_abs_mean"], float(np.abs(saved["map"]).mean()), rtol=1e-5)
        if "map_abs_mean_lungs" in row:  # the crude test films may or may not get an automatic mask
            assert np.isfinite(row["map_abs_mean_lungs"])


def test_validation_samples_the_ema_weights_and_restores_the_trained_ones(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """With EMA on, samples show the averaged weights; training then goes on with its own weights and modes."""
    import torch
    from vald_training.trainer import Trainer
    from vald_training.validation import sampling_weights

    trainer = Trainer(tiny_config(tiny_base, film_set, tmp_path / "m", ema=True, **SAMPLING), progress=False)
    trainer.run(stop_after=2)
    state = trainer.train_state()
    unet, text_encoder = state.unet, state.text_encoder
    text_encoder_mode = text_encoder.training
    raw = [q.detach().clone() for q in unet.parameters()]
    assert state.ema is not None
    shadow = [s.detach().clone() for s in state.ema.shadow_params]
    assert any(not torch.equal(a, b) for a, b in zip(raw, shadow, strict=True)), "EMA equals the raw weights"
    with sampling_weights(state) as (sampled, sampled_text_encoder):
        assert sampled is unet
        assert all(torch.equal(q, s) for q, s in zip(sampled.parameters(), shadow, strict=True))
        assert not sampled.training and not sampled_text_encoder.training
    assert all(torch.equal(q, r) for q, r in zip(unet.parameters(), raw, strict=True))
    assert unet.training and text_encoder.training == text_encoder_mode


def test_validation_samples_with_a_half_precision_vae_and_keeps_its_dtype(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """On CUDA under mixed precision the frozen VAE is bf16 while the trained weights stay fp32."""
    import torch
    from vald_training.trainer import Trainer
    from vald_training.validation import run_validation

    trainer = Trainer(tiny_config(tiny_base, film_set, tmp_path / "m", **SAMPLING), progress=False)
    trainer.parts.vae.to(torch.bfloat16)
    written = run_validation(trainer.train_state(), "probe")
    assert [p.name for p in written] == ["probe-0.png"]
    saved = np.load(written[0].with_suffix(".npz"))
    assert np.isfinite(saved["counterfactual"]).all() and np.isfinite(saved["map"]).all()
    assert trainer.parts.vae.dtype == torch.bfloat16


def test_unreadable_validation_film_is_skipped_and_training_finishes(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """A broken validation film costs its sample only: the other film is sampled and the model is exported."""
    from vald_training.trainer import train

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    good = film_set / "Normal" / "images" / "Normal-0.png"
    cfg = tiny_config(
        tiny_base, film_set, tmp_path / "m", validation_images=[str(broken), str(good)], **SAMPLING
    )
    result = train(cfg, progress=False)
    assert result["steps"] == 4
    rows = (tmp_path / "m" / ".samples" / "validation.jsonl").read_text().splitlines()
    assert [json.loads(r)["film"] for r in rows] == [1]
    assert sorted(p.name for p in (tmp_path / "m" / ".samples").glob("*.png")) == ["final-1.png"]
    assert (tmp_path / "m" / "model_index.json").is_file()
