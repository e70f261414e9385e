"""`vald masks train` end to end on a stand-in CT (phantoms as projections): a model folder the app loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _stand_in_materials() -> object:
    from vald_training.segmenter.ct_projections import Projections
    from vald_training.segmenter.data import Materials

    from vald_desktop.core.masks.shapes import load_shapes
    from vald_phantoms.phantom import make_phantom

    phs = [make_phantom(s, "normal", size=96) for s in (1, 2)]
    soft = np.stack([200.0 * p.image for p in phs]).astype(np.float32)
    proj = Projections(
        soft=soft,
        bone=np.zeros_like(soft),
        lung=np.stack([p.lung_mask for p in phs]),
        body=soft > 10.0,
        yaws=(0.0, 5.25),  # the second is one of the held-out yaws
    )
    shapes = load_shapes(allow_procedural=True)
    return Materials(proj, shapes.masks[:20], shapes.aspect[:20])


def test_training_writes_weights_config_card_and_manifest_the_app_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vald_training.segmenter import train as seg_train

    from vald_desktop.core.engine.manifest import read_manifest
    from vald_desktop.core.masks.learned import load_learned

    mat = _stand_in_materials()
    monkeypatch.setattr(seg_train, "materials", lambda cache: mat)
    out = tmp_path / "seg"
    cfg = seg_train.SegTrainConfig(out=out, cache=tmp_path, steps=3, batch=2, heldout_films=2, threads=1)
    info = seg_train.train_segmenter(cfg, log=lambda line: None)
    assert {"ct_films_dice_mean", "phantom_dice_mean"} <= set(info["heldout"])  # type: ignore[arg-type]
    config = json.loads((out / "lung-unet.json").read_text())
    assert config["train"]["steps"] == 3 and config["side"] == 128
    assert "held-out" in (out / "README.md").read_text().lower(), "the card must carry the held-out scores"
    manifest = read_manifest(out)
    assert manifest is not None and {"lung-unet.safetensors", "lung-unet.json"} <= set(manifest["files"])
    seg = load_learned(out)
    prob = seg.probability(np.random.default_rng(0).random((80, 100)).astype(np.float32))
    assert prob.shape == (80, 100) and np.isfinite(prob).all()
