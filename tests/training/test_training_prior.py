"""The prior-preservation term: real Normal films with the Normal prompt ride along in disease phases."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import tiny_config


def test_prior_term_is_in_the_loss(
    tiny_base: Path, film_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vald_training.trainer as trainer_mod

    seen: list[list[str]] = []
    real = trainer_mod.encode_prompts

    def spy(tokenizer, text_encoder, prompts, use_mask, device):  # noqa: ANN001, ANN202
        seen.append(list(prompts))
        return real(tokenizer, text_encoder, prompts, use_mask, device)

    monkeypatch.setattr(trainer_mod, "encode_prompts", spy)
    cfg = tiny_config(
        tiny_base,
        film_set,
        tmp_path / "out",
        phases=[{"class": "Normal", "steps": 1}, {"class": "Lung_Opacity", "steps": 1}],
        prior_weight=0.5,
        prior_batch_size=1,
        caption_dropout=0.0,
    )
    trainer = trainer_mod.Trainer(cfg, progress=False)
    trainer.run()
    normal_step, disease_step = trainer.history
    # Normal phase: the class is its own prior, so there is no prior term.
    assert seen[0] == ["Normal chest scan", "Normal chest scan"]
    assert normal_step["loss_prior"] == 0.0
    # Disease phase: 2 instance rows + 1 prior row of the prior class.
    assert seen[1] == ["Lung Opacity", "Lung Opacity", "Normal chest scan"]
    assert disease_step["loss_prior"] > 0.0
    expected = disease_step["loss_instance"] + 0.5 * disease_step["loss_prior"]
    assert disease_step["loss"] == pytest.approx(expected, rel=1e-6)
    prior_examples = [trainer.ds.examples[i] for i in trainer.ds.indices("Normal")]
    assert all(
        ex.path.parent.parent.name == "Normal" for ex in prior_examples
    )  # real films, not generated ones
