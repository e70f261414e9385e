"""`report_to: tensorboard` writes the losses and validation numbers as TensorBoard scalars (and keeps loss.jsonl)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from training_helpers import tiny_config


def test_tensorboard_events_hold_the_logged_losses_and_validation(
    tiny_base: Path, film_set: Path, tmp_path: Path
) -> None:
    """Every loss in loss.jsonl is a TensorBoard scalar at the same step; validation numbers and images too."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from vald_training.trainer import train

    out = tmp_path / "model"
    cfg = tiny_config(
        tiny_base,
        film_set,
        out,
        report_to="tensorboard",
        log_every=2,
        validation_steps=2,
        validation_inference_steps=2,
        validation_strength=0.5,
        validation_guidance=2.0,
    )
    train(cfg, progress=False)

    logged = [json.loads(x) for x in (out / ".logs" / "loss.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [2, 4]
    run_dir = out / ".logs" / "vald-train"
    assert list(run_dir.glob("events.out.tfevents.*")), "no TensorBoard events file"
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0}).Reload()
    for key in ("loss", "loss_instance", "loss_prior", "lr"):
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [2, 4], key
        assert np.allclose([s.value for s in scalars], [row[key] for row in logged], rtol=1e-6), key
    tags = events.Tags()
    assert "validation/0" in tags["images"]
    # One validation scalar per sample (steps 2 and 4, then the final one at 4), equal to validation.jsonl.
    rows = [json.loads(x) for x in (out / ".samples" / "validation.jsonl").read_text().splitlines()]
    scalars = events.Scalars("validation/map_abs_mean")
    assert [s.step for s in scalars] == [row["step"] for row in rows] == [2, 4, 4]
    assert np.allclose([s.value for s in scalars], [row["map_abs_mean"] for row in rows], rtol=1e-6)


def test_missing_tensorboard_gives_one_notice_and_no_tracker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Without TensorBoard, `report_to: tensorboard` says so once and trains with loss.jsonl only; `none` is silent."""
    import vald_training.trainer_setup as trainer_module
    from vald_training.config import TrainConfig

    real = importlib.util.find_spec

    def without_tensorboard(name: str, *args: object) -> object:
        return None if name.startswith("tensorboard") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_tensorboard)
    monkeypatch.delenv("RANK", raising=False)
    assert trainer_module.trackers(TrainConfig(report_to="tensorboard")) == []
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"note: {trainer_module.TENSORBOARD_MISSING}"]
    assert trainer_module.trackers(TrainConfig(report_to="none")) == []
    assert capsys.readouterr().err == ""
