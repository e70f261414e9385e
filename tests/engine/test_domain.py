"""The domain verdict (core.engine.domain, domain_features): calibration, score, reasons, and every run carrying it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vald_desktop.core.base.errors import FilmError, ManifestError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.domain import (
    CALIBRATION_NAME,
    OUT_OF_DOMAIN,
    Calibration,
    ModelDomain,
    caption_line,
    feature_names,
    headline,
    read_model_domain,
    verdict,
    write_calibration,
)
from vald_desktop.core.films.kind import FilmKind

FAST = RunSettings(steps=4, strength=0.5, guidance=1.0, mask_mode="none", preview_every=0)


def _measures(rng: np.random.Generator, n: int, scale: float = 1.0) -> list[dict[str, float]]:
    names = feature_names((50, 300, 500, 900))
    return [{k: float(np.exp(rng.normal(-3.0, 0.1)) * scale) for k in names} for _ in range(n)]


def _phantoms(n: int, seed: int = 31) -> list[np.ndarray]:
    from vald_phantoms.phantom import FINDINGS, make_phantom, phantom_seed

    return [make_phantom(phantom_seed(seed, i), FINDINGS[i % 7], 64).image for i in range(n)]


def test_the_threshold_follows_from_the_calibration_films_alone() -> None:
    rng = np.random.default_rng(0)
    small = Calibration.fit(_measures(rng, 12), "twelve")
    large = Calibration.fit(_measures(rng, 200), "two hundred")
    # A prediction bound for one new film: wider when fewer films estimated the mean and spread.
    assert small.threshold > large.threshold > 3.0
    again = Calibration.from_dict(json.loads(json.dumps(large.to_dict())))
    assert again == large
    with pytest.raises(ValueError):
        Calibration.fit(_measures(rng, 5), "too few")


def test_typical_films_are_in_domain_and_atypical_ones_out_with_reasons() -> None:
    rng = np.random.default_rng(1)
    cal = Calibration.fit(_measures(rng, 48), "phantoms")
    model = ModelDomain(cal, None, "phantoms", None)
    held = [verdict(model, m) for m in _measures(rng, 200)]
    assert np.mean([v["in_domain"] for v in held]) >= 0.95
    shifted = verdict(model, _measures(rng, 1, scale=3.0)[0])  # every error three times larger
    assert shifted["in_domain"] is False and shifted["score"] > shifted["threshold"]
    assert "unlike the films the model was trained on" in shifted["reasons"][0]
    assert any("autoencoder reproduces it worse" in r for r in shifted["reasons"])
    assert headline(shifted) == OUT_OF_DOMAIN and "OUTSIDE" in caption_line(shifted)
    assert headline(held[0]) is None or not held[0]["in_domain"]


def test_a_model_without_calibration_is_domain_unknown_and_says_why(tmp_path: Path) -> None:
    model = read_model_domain(tmp_path)
    v = verdict(model, None, FilmKind())
    assert v["in_domain"] is None and v["score"] is None and v["threshold"] is None
    assert any("no domain calibration" in r for r in v["reasons"])
    assert "Domain unknown" in (headline(v) or "")
    (tmp_path / CALIBRATION_NAME).write_text("{not json")
    assert "unreadable" in (read_model_domain(tmp_path).missing or "")


def test_film_flags_put_a_film_out_of_domain_even_without_calibration() -> None:
    kind = FilmKind(colour=True, flags=("the film is in colour; radiographs are grey",))
    v = verdict(ModelDomain(None, "no calibration", None, None), None, kind)
    assert v["in_domain"] is False and v["reasons"][0].startswith("the film is in colour")
    assert v["film_kind"]["colour"] is True


def test_a_refused_film_never_reaches_the_model(engine) -> None:
    kind = FilmKind(
        modality="CT", refusal="ct.dcm is a CT image; counterfactuals are made for chest radiographs only."
    )
    encodes = engine.stats["vae_encode"]
    with pytest.raises(FilmError, match="CT image"):
        engine.run(_phantoms(1)[0], FAST, film_kind=kind)
    assert engine.stats["vae_encode"] == encodes


def test_a_run_on_a_model_without_calibration_records_domain_unknown(engine, film) -> None:
    result = engine.run(_phantoms(1)[0], FAST)
    domain = result.record["domain"]
    assert domain["in_domain"] is None and domain["score"] is None
    assert any("no domain calibration" in r for r in domain["reasons"])
    assert "domain" in result.record["timings"]
    # No header was given: the pixels are checked, and a picture that is no chest film is out whatever the model.
    blob = engine.run(film, FAST).record["domain"]
    assert blob["in_domain"] is False
    assert "the pixels do not look like a frontal chest radiograph" in blob["reasons"]


def test_calibrating_a_model_then_runs_carry_a_score(tiny_model_dir: Path, tmp_path: Path) -> None:
    from vald_desktop.core.engine.domain_features import calibrate
    from vald_desktop.core.engine.manifest import verify_manifest
    from vald_desktop.core.engine.sampler import Engine

    folder = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, folder)
    eng = Engine(folder, device="cpu")
    eng.load()
    cal = calibrate(eng, _phantoms(10), "ten phantoms")
    write_calibration(folder, cal)
    assert verify_manifest(folder)  # the rewritten manifest covers the calibration
    assert CALIBRATION_NAME in json.loads((folder / "vald-manifest.json").read_text())["files"]
    phantom = _phantoms(1, seed=99)[0]
    first = eng.run(phantom, FAST).record["domain"]
    assert isinstance(first["score"], float) and first["threshold"] == round(cal.threshold, 3)
    assert isinstance(first["in_domain"], bool)
    import vald_desktop.core.engine.domain_features as features

    calls: list[int] = []
    real = features.measure
    features.measure = lambda *a, **k: calls.append(1) or real(*a, **k)  # type: ignore[assignment]
    try:
        again = eng.run(phantom, FAST.replace(prompt="carcinoma")).record["domain"]
    finally:
        features.measure = real  # type: ignore[assignment]
    assert not calls, "a second run on the same film reuses its domain measures"
    assert again["score"] == first["score"]


def test_a_changed_model_file_is_not_blessed_by_writing_a_calibration(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model_index.json").write_text((folder / "model_index.json").read_text() + " ")
    cal = Calibration.fit(_measures(np.random.default_rng(2), 10), "x")
    with pytest.raises(ManifestError):
        write_calibration(folder, cal)
    assert not (folder / CALIBRATION_NAME).exists()


def test_the_caption_and_report_carry_the_verdict() -> None:
    from vald_desktop.core.export.records import caption_text

    out = {"in_domain": False, "score": 10.7, "threshold": 3.3, "reasons": ["the film is unlike them"]}
    caption = caption_text({"settings": RunSettings().to_dict(), "domain": out}, [])
    assert "OUTSIDE THE MODEL'S TRAINING DOMAIN" in caption and "score 10.7" in caption
    assert caption.isascii()
    unknown = caption_text({"settings": RunSettings().to_dict(), "domain": {"in_domain": None}}, [])
    assert "Domain unknown" in unknown
    inside = caption_text({"settings": RunSettings().to_dict(), "domain": {**out, "in_domain": True}}, [])
    assert "within the model's training domain" in inside


def test_a_header_less_picture_with_no_plausible_lungs_is_refused_without_calibration(engine, film) -> None:
    """Two witnesses without a calibrated model: the pixel check and the automatic lung mask's plausibility."""
    from vald_desktop.core.masks.lung_mask import LungMask

    h, w = film.shape
    blob = np.zeros((h, w), bool)
    blob[: h // 3, : w // 3] = True  # what a segmenter might draw on a picture with no chest in it
    found = LungMask.from_mask(blob, "learned")
    with_mask = dataclasses.replace(FAST, mask_mode="auto")
    with pytest.raises(FilmError, match="no plausible lungs"):
        engine.run(film, with_mask, mask=found)
    drawn = LungMask.from_mask(blob, "file")  # a mask a person chose is no witness: flagged, not refused
    assert engine.run(film, with_mask, mask=drawn).record["domain"]["in_domain"] is False


@pytest.mark.parametrize("name", ["MR_small.dcm", "US1_UNCR.dcm"])
def test_an_mr_or_ultrasound_exported_without_header_makes_no_map_even_uncalibrated(engine, name) -> None:
    from pydicom.data import get_testdata_file

    from vald_desktop.core.films.film import film_from_array
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks.learned import shipped_available
    from vald_desktop.core.masks.resolve import resolve_mask

    if not shipped_available():
        pytest.skip("the shipped lung segmenter is not installed")
    display = load_film(get_testdata_file(name)).display()
    if display.ndim == 3:
        display = display.mean(axis=2)
    png = film_from_array(np.ascontiguousarray(display, np.float32), "exported.png")  # no header at all
    with pytest.raises(FilmError, match="does not look like a frontal chest radiograph"):
        engine.run(png.display(), dataclasses.replace(FAST, mask_mode="auto"), mask=resolve_mask(png))
