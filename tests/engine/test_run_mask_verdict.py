"""`vald run` with a lung mask the segmenter doubts: run.json says so under "mask", and so does stderr."""

from __future__ import annotations

import json

import numpy as np
from engine_helpers import png_record
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.masks import resolve
from vald_desktop.core.masks.lung_mask import LungMask

FAST = ["--steps", "6", "--strength", "0.5", "--quiet"]
REASON = "The outline of the right lung crosses the heart border; check the mask before reading the map."


def test_an_uncertain_automatic_mask_is_in_run_json_and_warned_about_on_stderr(
    tiny_model_dir, tmp_path, monkeypatch, capsys
):
    from vald_phantoms.phantom import make_phantom

    ph = make_phantom(3, "lung_opacity", 96)  # looks like a chest film, so the run is not refused
    path = tmp_path / "a.png"
    Image.fromarray((np.clip(ph.image, 0, 1) * 255).astype(np.uint8)).save(path)
    found = LungMask.from_mask(ph.lung_mask, "segmenter")
    doubtful = found.with_verdict("uncertain", 0.35, (REASON,))
    monkeypatch.setattr(resolve, "resolve_mask", lambda *_a, **_k: doubtful)
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--model", str(tiny_model_dir), "--auto-mask", *FAST]
    assert main(argv) == 0
    record = json.loads((out / "run.json").read_text())
    mask = record["mask"]
    assert mask == doubtful.verdict()
    assert mask["source"] == "segmenter" and mask["quality"] == "uncertain" and mask["confidence"] == 0.35
    assert mask["reasons"] == [REASON]
    # "left" is the patient's left lung: the one on the image right.
    cols = np.nonzero(found.left)[1]
    assert cols.min() >= 96 // 2 and mask["lungs"]["left"]["pixels"] == int(found.left.sum()) > 0
    assert mask["lungs"]["right"]["pixels"] == int(found.right.sum()) > 0
    assert png_record(out / "composite.png")["mask"]["quality"] == "uncertain"  # every picture carries it
    err = capsys.readouterr().err.splitlines()
    assert f"warning: a.png: Lung mask uncertain (confidence 0.35): {REASON}" in err
    assert sum(REASON in line for line in err) == 1, "the reason was said twice"
