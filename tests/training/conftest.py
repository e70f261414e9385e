"""Fixtures for the training tests: a small two-class film set and a tiny base model (both built here, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import write_film_set


@pytest.fixture(scope="session")
def film_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_film_set(tmp_path_factory.mktemp("films"))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random model with text-encoder dropout off, so runs are comparable across process layouts."""
    import json

    from vald_training.architecture import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-base") / "tiny"
    build_tiny_model(out, seed=0)
    cfg_path = out / "text_encoder" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["hidden_dropout_prob"] = 0.0
    cfg["attention_probs_dropout_prob"] = 0.0
    cfg_path.write_text(json.dumps(cfg, indent=2))
    return out
