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


def test_validation_sample_differs_from_vald_run_on_the_same_checkpoint(
    validated: Path, tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
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


def test_final_sample_differs_from_vald_run_on_the_exported_model(
    validated: Path, film_set: Path, tmp_path: Path
) -> None:
    film = film_set / "Lung_Opacity" / "images" / "Lung_Opacity-0.png"
    _, the_map = _vald_run(film, validated, tmp_path / "run")
    assert np.abs(np.load(validated / ".samples" / "final-0.npz")["map"] - the_map).max() < 1e-4


def test_validation_numbers_missing_from_the_log(validated: Path) -> None:
    rows = [json.loads(x) for x in (validated / ".samples" / "validation.jsonl").read_text().splitlines()]
    assert [(r["tag"], r["film"]) for r in rows] == [("step-2", 0), ("step-4", 0), ("final", 0)]
    for row in rows:
        assert row["seed"] == 0 and np.isfinite(row["map_abs_mean"]) and row["map_abs_mean"] > 0
        if "map_abs_mean_lungs" in row:  # the crude test films may or may not get an automatic mask
            assert np.isfinite(row["map_abs_mean_lungs"])


def test_validation_shows_raw_weights_instead_of_ema_or_keeps_ema_in_the_model(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    import torch
    from vald_training.trainer import Trainer
    from vald_training.validation import sampling_weights

    trainer = Trainer(tiny_config(tiny_base, film_set, tmp_path / "m", ema=True, **SAMPLING), progress=False)
    trainer.run(stop_after=2)
    unet = trainer.acc.unwrap_model(trainer.unet)
    raw = [q.detach().clone() for q in unet.parameters()]
    shadow = [s.detach().clone() for s in trainer.ema.shadow_params]
    assert any(not torch.equal(a, b) for a, b in zip(raw, shadow, strict=True)), "EMA equals the raw weights"
    with sampling_weights(trainer) as (sampled, _):
        assert all(torch.equal(q, s) for q, s in zip(sampled.parameters(), shadow, strict=True))
        assert not sampled.training
    assert all(torch.equal(q, r) for q, r in zip(unet.parameters(), raw, strict=True))
    assert unet.training


def test_validation_crashes_with_a_half_precision_vae_or_changes_its_dtype(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """On CUDA under mixed precision the frozen VAE is bf16 while the trained weights stay fp32."""
    import torch
    from vald_training.trainer import Trainer
    from vald_training.validation import run_validation

    trainer = Trainer(tiny_config(tiny_base, film_set, tmp_path / "m", **SAMPLING), progress=False)
    trainer.parts.vae.to(torch.bfloat16)
    written = run_validation(trainer, "probe")
    assert [p.name for p in written] == ["probe-0.png"]
    assert trainer.parts.vae.dtype == torch.bfloat16


def test_unreadable_validation_film_stops_training(tiny_base: Path, film_set: Path, tmp_path: Path) -> None:
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
