"""`vald mask --json`: the mask's verdict (ok / uncertain, confidence, reasons, each lung) written and said."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.masks import resolve
from vald_desktop.core.masks.verdict_words import caption_line, sentence, summary

REASON = "The lung mask has no left lung; check the mask before reading the map."


def _film_and_mask(tmp_path: Path) -> tuple[Path, Path]:
    """A plain film and a mask whose image-right lung (the patient's left) is twice the other's size."""
    film = tmp_path / "film.png"
    Image.fromarray(np.full((100, 120), 90, np.uint8)).save(film)
    m = np.zeros((100, 120), np.uint8)
    m[30:70, 15:45] = 255  # image left = patient right: 40 x 30
    m[10:90, 70:100] = 255  # image right = patient left: 80 x 30
    mask = tmp_path / "drawn.png"
    Image.fromarray(m).save(mask)
    return film, mask


def test_vald_mask_json_calls_the_lung_on_the_image_right_the_patient_s_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    film, drawn = _film_and_mask(tmp_path)
    out, js = tmp_path / "out" / "m.png", tmp_path / "out" / "m.json"
    assert main(["mask", str(film), "--mask-file", str(drawn), "--out", str(out), "--json", str(js)]) == 0
    verdict = json.loads(js.read_text("utf-8"))
    assert set(verdict) == {"source", "quality", "confidence", "reasons", "lungs"}
    assert verdict["source"] == "file" and verdict["quality"] == "ok" and verdict["confidence"] == 1.0
    assert verdict["reasons"] == []
    assert verdict["lungs"]["left"]["pixels"] == 80 * 30 and verdict["lungs"]["right"]["pixels"] == 40 * 30
    assert verdict["lungs"]["left"]["area_pct"] == pytest.approx(100 * 2400 / 12000, abs=0.01)
    said = capsys.readouterr()
    assert "quality: ok (confidence 1.00)" in said.out and "warning" not in said.err
    assert not list(js.parent.glob("*.tmp*")), "the JSON was not written atomically"


def test_vald_mask_warns_and_lists_the_reasons_when_the_mask_is_uncertain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = resolve.resolve_mask

    def doubtful(*args: object, **kwargs: object) -> object:
        return real(*args, **kwargs).with_verdict("uncertain", 0.41, (REASON, "It falls into 6 pieces."))

    monkeypatch.setattr(resolve, "resolve_mask", doubtful)
    film, drawn = _film_and_mask(tmp_path)
    js = tmp_path / "m.json"
    argv = ["mask", str(film), "--mask-file", str(drawn), "--out", str(tmp_path / "m.png")]
    assert main([*argv, "--json", str(js)]) == 0
    verdict = json.loads(js.read_text("utf-8"))
    assert verdict["quality"] == "uncertain" and verdict["confidence"] == 0.41
    assert verdict["reasons"] == [REASON, "It falls into 6 pieces."]
    said = capsys.readouterr()
    assert "quality: uncertain (confidence 0.41)" in said.out
    assert f"  - {REASON}" in said.out and "  - It falls into 6 pieces." in said.out
    warnings = [line for line in said.err.splitlines() if line.startswith("warning: ")]
    assert warnings == [f"warning: Lung mask uncertain (confidence 0.41): {REASON}"]


def test_the_verdict_s_words_agree_for_ok_uncertain_and_no_mask() -> None:
    ok = {"source": "segmenter", "quality": "ok", "confidence": 0.93, "reasons": []}
    doubt = {
        **ok,
        "quality": "uncertain",
        "confidence": 0.4,
        "reasons": ["the outline leaves the chest \u2014 odd"],
    }
    assert sentence(ok) is None and sentence(None) is None
    assert summary(ok) == "Lung mask: segmenter, ok (confidence 0.93)"
    assert "UNCERTAIN" in caption_line(doubt) and "outline leaves the chest" in caption_line(doubt)
    assert caption_line(doubt).isascii()  # burned into pictures with a bitmap font
    assert "not confined" in caption_line(None)
