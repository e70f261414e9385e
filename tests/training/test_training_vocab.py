"""The demo tokenizer: a WordPiece vocabulary from the real reports in the torchxrayvision wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from vald_desktop.core.base.errors import DataError


def _wheel() -> Path:
    from vald_training.vocab import find_xrv_wheel

    try:
        return find_xrv_wheel()
    except DataError:
        pytest.skip("the torchxrayvision wheel is not in .cache/wheels (make setup downloads it)")


def test_reports_are_read_from_the_wheel_in_memory() -> None:
    from vald_training.vocab import iter_reports

    reports = list(iter_reports(_wheel()))
    assert len(reports) > 3500
    assert any("pleural effusion" in r.lower() for r in reports)


def test_prompt_words_are_whole_tokens(tmp_path: Path) -> None:
    from vald_training.vocab import build_radiology_tokenizer

    tok = build_radiology_tokenizer(tmp_path / "tok", vocab_size=2000, wheel=_wheel())
    assert tok.model_max_length == 77
    assert tok.tokenize("large lung opacity on the left") == ["large", "lung", "opacity", "on", "the", "left"]
    for word in ("cardiomegaly", "carcinoma", "pneumonia", "effusion", "covid"):
        assert tok.tokenize(word) == [word]
    ids = tok("normal chest x-ray", padding="max_length", max_length=77).input_ids
    assert len(ids) == 77 and tok.unk_token_id not in ids
