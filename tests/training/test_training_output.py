"""`vald train` without a config (flags only) -> a model folder that the app's engine loads and runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained(tiny_base: Path, film_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vald_desktop.cli import main

    out = tmp_path_factory.mktemp("cli") / "model"
    argv = ["train", "--data", str(film_set), "--base", str(tiny_base), "--out", str(out), "--max-steps", "3"]
    argv += [
        "--resolution",
        "64",
        "--mixed-precision",
        "no",
        "--lr",
        "1e-3",
        "--report-to",
        "none",
        "--no-progress",
    ]
    assert main(argv) == 0
    return out


def _weights(folder: Path, part: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    files = sorted((folder / part).glob("*.safetensors"))
    assert files, f"no safetensors in {part}"
    return load_file(str(files[0]))


def test_unet_and_text_encoder_change_vae_does_not(trained: Path, tiny_base: Path) -> None:
    for part, should_change in (("unet", True), ("text_encoder", True), ("vae", False)):
        before, after = _weights(tiny_base, part), _weights(trained, part)
        changed = [k for k in before if "pooler" not in k and not np.array_equal(before[k], after[k])]
        if should_change:
            assert len(changed) > len(before) // 2, (
                f"{part}: only {len(changed)} of {len(before)} tensors changed"
            )
        else:
            assert changed == [], f"{part} must stay frozen, but {changed[:3]} changed"


def test_output_has_manifest_card_and_mask_policy(trained: Path) -> None:
    from vald_desktop.core.engine.manifest import read_manifest, verify_manifest

    assert verify_manifest(trained)
    files = read_manifest(trained)["files"]
    assert "README.md" in files and not any(f.startswith(".") for f in files)  # checkpoints stay out
    card = (trained / "README.md").read_text()
    assert "3 optimizer steps" in card and "Normal: 6 images" in card
    te_cfg = json.loads((trained / "text_encoder" / "config.json").read_text())
    assert "use_attention_mask" in te_cfg
    assert not list(trained.rglob("*.bin")) and not list(trained.rglob("*.pt"))


def test_output_runs_in_the_engine(trained: Path) -> None:
    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.sampler import Engine

    engine = Engine(trained, device="cpu")
    film = np.clip(np.random.default_rng(0).random((64, 64)), 0, 1).astype(np.float32)
    result = engine.run(film, RunSettings(steps=4, strength=0.5, guidance=2.0, mask_mode="none"))
    assert result.counterfactual.shape == film.shape
    assert np.isfinite(result.counterfactual).all()


def test_output_carries_its_domain_calibration_and_what_it_was_trained_on(trained: Path) -> None:
    from vald_desktop.core.engine.domain import CALIBRATION_NAME, read_model_domain
    from vald_desktop.core.engine.manifest import read_manifest

    model = read_model_domain(trained)
    assert model.calibration is not None and model.calibration.films == 12  # every film of the two classes
    assert model.calibration.threshold > 3.0
    assert model.trained_on is not None and model.trained_on.startswith("12 films of")
    files = read_manifest(trained)["files"]
    assert CALIBRATION_NAME in files and "vald-settings.json" in files


def test_missing_data_is_a_clear_error(
    tiny_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vald_desktop.cli import main

    code = main(
        ["train", "--data", str(tmp_path / "nope"), "--base", str(tiny_base), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
