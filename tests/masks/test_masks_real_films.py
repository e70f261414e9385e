"""The automatic lung mask on real chest films: plausible and sided, or it says why not — never silently wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from vald_desktop.core.films.film import film_from_array
from vald_desktop.core.films.load import load_film
from vald_desktop.core.masks.learned import shipped_available
from vald_desktop.core.masks.resolve import resolve_mask
from vald_evaluation.real_films import real_chest_films, real_film_problems

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shipped_available(), reason="the shipped lung segmenter is not installed"),
]
FILMS = real_chest_films()


@pytest.mark.parametrize("path", FILMS, ids=[p.name for p in FILMS])
def test_real_film_gets_two_plausible_lungs_with_the_patients_left_on_the_image_right(path: Path) -> None:
    film = load_film(path)
    mask = resolve_mask(film)
    assert mask.source == "learned"
    problems = real_film_problems(film.display(), mask)
    assert problems == [], f"{path.name}: the reader would see a wrong lung mask: {problems}"
    assert mask.quality == "ok", f"{path.name}: a plausible, sided mask should not be flagged: {mask.reasons}"
    for side in ("left", "right"):
        assert 5.0 < mask.verdict()["lungs"][side]["area_pct"] < 35.0


def test_the_real_film_set_is_here() -> None:
    names = {p.name for p in FILMS}
    assert "RG1_UNCI.dcm" in names, "pydicom-data's RG1 chest film is missing (make setup)"


def _rg1() -> Path:
    return next(p for p in FILMS if p.name == "RG1_UNCI.dcm")


def test_mirrored_film_without_header_is_flagged() -> None:
    film = load_film(_rg1())
    mirrored = film_from_array(film.display()[:, ::-1].copy(), "mirrored.png")
    mask = resolve_mask(mirrored)
    assert mask.quality == "uncertain", "a mirrored film must not pass silently with its sides swapped"
    assert any("mirrored" in r for r in mask.reasons)


def test_header_saying_mirrored_labels_the_sides_so(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_rg1())
    ds.PixelData = np.ascontiguousarray(ds.pixel_array[:, ::-1]).tobytes()
    ds.PatientOrientation = ["R", "F"]
    path = tmp_path / "mirrored.dcm"
    ds.save_as(path)
    film = load_film(path)
    mask = resolve_mask(film)
    xs = np.arange(mask.shape[1])
    assert xs[mask.left.any(axis=0)].mean() < xs[mask.right.any(axis=0)].mean(), (
        "patient left is on the image left"
    )
    assert mask.quality == "ok", mask.reasons


@pytest.mark.parametrize("kind", ["noise", "blank-ish", "ct-slice"])
def test_a_picture_that_is_not_a_chest_film_never_gets_an_ok_mask(kind: str) -> None:
    rng = np.random.default_rng(3)
    if kind == "noise":
        film = film_from_array(rng.random((256, 256)).astype(np.float32), "noise.png")
    elif kind == "blank-ish":
        film = film_from_array((0.5 + 0.01 * rng.random((256, 256))).astype(np.float32), "flat.png")
    else:
        from pydicom.data import get_testdata_file

        film = load_film(get_testdata_file("CT_small.dcm"))
    try:
        mask = resolve_mask(film)
    except Exception as exc:  # a clear refusal is fine too
        assert str(exc).strip()
        return
    assert mask.quality == "uncertain" and mask.reasons, f"{kind}: a mask on a non-chest picture must say so"


def test_altered_real_films_never_fail_silently() -> None:
    """Cropped, shrunk, rotated, re-windowed, framed, padded, consolidated and inverted: ok only when right."""
    from vald_evaluation.mask_variants import run_variants

    films = []
    for path in FILMS:
        if path.name in ("RG1_UNCI.dcm",) or path.name.startswith("davidson"):
            film = load_film(path)
            films.append((path.name, film.display(), resolve_mask(film)))
    report = run_variants(films)
    silent = [(r["film"], r["variant"], r["problems"]) for r in report["rows"] if r["silent"]]
    assert silent == [], f"a wrong mask passed as ok: {silent}"
    assert report["inverted_flagged"], "an inverted film must not get an ok mask"


def test_when_the_atlas_cannot_fit_either_the_networks_mask_is_kept_and_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vald_desktop.core.base.errors import MaskError
    from vald_desktop.core.masks import auto

    def no_fit(display: np.ndarray) -> None:
        raise MaskError("no fit")

    monkeypatch.setattr(auto, "auto_segment", no_fit)
    monkeypatch.setattr(auto, "plausibility", lambda *args: ["Only one lung was found."])
    film = load_film(_rg1())
    mask = auto.learned_mask(film.display(), film.dataset)
    assert mask.source == "learned" and mask.quality == "uncertain"
    assert mask.reasons[-1] == "The atlas fit finds no lungs either."
