"""What the film is (core.films.kind): the header refuses non-radiographs and lateral views, flags colour, frames and
other body parts; the pixel test tells frontal chest films from other pictures where the header is silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from film_helpers import CORPUS_DIR, PYDICOM_TEST_DIR, load_cached, write_dicom

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.film import film_from_array
from vald_desktop.core.films.kind import check_film, film_kind, pixel_check

needs_corpus = pytest.mark.skipif(CORPUS_DIR is None, reason="pydicom-data is not installed")


def _find(name: str) -> Path:
    """A test file from pydicom's own set or the pydicom-data corpus (skip when neither ships it)."""
    for folder in (PYDICOM_TEST_DIR, CORPUS_DIR):
        if folder is not None and (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is shipped by neither pydicom nor pydicom-data here")


def _phantom(seed: int, finding: str = "normal", size: int = 128) -> np.ndarray:
    from vald_phantoms.phantom import make_phantom, phantom_seed

    return make_phantom(phantom_seed(seed, 0), finding, size).image


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("CT_small.dcm", "a CT image"),
        ("MR_small.dcm", "an MR image"),
        ("US1_UNCR.dcm", "an ultrasound image"),
    ],
)
def test_ct_mr_and_ultrasound_are_refused_with_one_sentence(name: str, words: str) -> None:
    film = load_cached(_find(name))
    with pytest.raises(FilmError) as caught:
        check_film(film)
    message = str(caught.value)
    assert words in message and "chest radiographs" in message and "\n" not in message


@needs_corpus
def test_the_real_chest_radiograph_passes_without_flags() -> None:
    assert CORPUS_DIR is not None
    kind = check_film(load_cached(CORPUS_DIR / "RG1_UNCI.dcm"))
    assert (kind.modality, kind.body_part, kind.view) == ("CR", "CHEST", "PA")
    assert kind.refusal is None and kind.flags == ()


@needs_corpus
def test_a_radiograph_of_another_body_part_is_flagged() -> None:
    assert CORPUS_DIR is not None
    kind = check_film(load_cached(CORPUS_DIR / "RG3_UNCI.dcm"))  # CR EXTREMITY
    assert kind.refusal is None
    assert any("EXTREMITY" in f for f in kind.flags)


@pytest.mark.parametrize("view", ["LL", "RL", "LATERAL"])
def test_a_lateral_view_header_is_refused(tmp_path: Path, view: str) -> None:
    from vald_desktop.core.films.load import load_film

    pixels = (_phantom(3) * 4095).astype(np.uint16)
    path = write_dicom(
        tmp_path / "lateral.dcm",
        pixels,
        Modality="CR",
        BodyPartExamined="CHEST",
        ViewPosition=view,
        BitsStored=12,
    )
    with pytest.raises(FilmError, match="lateral view"):
        check_film(load_film(path))


def test_a_frontal_cr_header_is_accepted_and_an_oblique_one_flagged(tmp_path: Path) -> None:
    from vald_desktop.core.films.load import load_film

    pixels = (_phantom(4) * 4095).astype(np.uint16)
    frontal = write_dicom(
        tmp_path / "ap.dcm", pixels, Modality="DX", BodyPartExamined="CHEST", ViewPosition="AP"
    )
    kind = check_film(load_film(frontal))
    assert kind.flags == () and kind.looks_like_chest is None  # the header answered; no pixel test
    oblique = write_dicom(
        tmp_path / "obl.dcm", pixels, Modality="DX", BodyPartExamined="CHEST", ViewPosition="RAO"
    )
    assert any("not a frontal" in f for f in check_film(load_film(oblique)).flags)


def test_colour_and_several_frames_are_flagged() -> None:
    kind = film_kind(load_cached(_find("SC_rgb_2frame.dcm")))
    assert kind.colour and kind.frames == 2
    assert any("colour" in f for f in kind.flags) and any("2 frames" in f for f in kind.flags)


def test_gray_stored_as_rgb_is_not_colour() -> None:
    gray = (_phantom(5) * 255).astype(np.uint8)
    kind = film_kind(film_from_array(np.stack([gray] * 3, axis=2), "gray-rgb.png"))
    assert not kind.colour


def test_phantoms_pass_the_pixel_test_whatever_their_finding() -> None:
    from vald_phantoms.phantom import FINDINGS, make_phantom, phantom_seed

    films = [make_phantom(phantom_seed(77, i), FINDINGS[i % 7], 128).image for i in range(42)]
    assert all(pixel_check(f) for f in films)
    assert film_kind(film_from_array(films[0], "phantom.png")).flags == ()


@needs_corpus
def test_the_pixel_test_passes_real_chest_films_and_fails_other_pictures() -> None:
    assert CORPUS_DIR is not None
    assert pixel_check(load_cached(CORPUS_DIR / "RG1_UNCI.dcm").display())
    for name in ("RG3_UNCI.dcm", "MR2_UNCI.dcm", "US1_UNCR.dcm", "OT-PAL-8-face.dcm", "JPEG2000.dcm"):
        assert not pixel_check(load_cached(_find(name)).display()), name


def test_a_picture_without_header_that_is_no_chest_film_is_flagged() -> None:
    yy, xx = np.mgrid[0:200, 0:300].astype(np.float32)
    blob = (
        0.3
        + 0.2 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
        + 0.35 * np.exp(-((yy - 100) ** 2 + (xx - 210) ** 2) / 800)
    )
    kind = film_kind(film_from_array(blob.astype(np.float32), "blob.png"))
    assert kind.looks_like_chest is False
    assert "the pixels do not look like a frontal chest radiograph" in kind.flags
    assert not pixel_check(np.zeros((64, 64), np.float32))  # blank
    assert not pixel_check(np.random.default_rng(0).random((64, 256)).astype(np.float32))  # 4:1 strip
