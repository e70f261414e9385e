"""Every file shipped by pydicom-data either loads as a film or is refused with one FilmError sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from film_helpers import CORPUS_FILES, PYDICOM_TEST_FILES, load_cached

from vald_desktop.core.base.errors import FilmError

# Files the non-GPL decoders cannot read or that are not images; anything else that fails is a regression.
EXPECTED_REFUSALS = {
    "emri_small_jpeg_2k_lossless_too_short.dcm",
}


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 60, "pydicom-data is missing or incomplete; install the test extras"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_file_loads_or_is_refused_with_one_sentence(path: Path) -> None:
    try:
        film = load_cached(path, 0) if path.name.startswith("RG1_") else _load(path)
    except FilmError as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message
        assert path.name in message
        assert path.name in EXPECTED_REFUSALS, f"{path.name} was refused: {message}"
        return
    assert path.name not in EXPECTED_REFUSALS, f"{path.name} unexpectedly loaded"
    h, w = film.shape
    assert film.values.dtype == np.float32 and film.values.shape == (h, w)
    assert (h, w) == (film.info["rows"], film.info["columns"])
    # Only a small corner is rendered: enough to prove the window maps into [0, 1] without the full cost.
    corner = film.display()[:64, :64] if h * w < 4_000_000 else film.values[:64, :64]
    assert np.all(np.isfinite(corner))
    if h * w < 4_000_000:
        assert corner.min() >= 0.0 and corner.max() <= 1.0


def _load(path: Path):  # type: ignore[no-untyped-def]
    from vald_desktop.core.films.load import load_film

    return load_film(path)


@pytest.mark.parametrize(
    "path", PYDICOM_TEST_FILES, ids=[str(p.relative_to(p.parents[1])) for p in PYDICOM_TEST_FILES]
)
def test_odd_files_from_pydicom_never_raise_anything_but_film_error(path: Path) -> None:
    try:
        film = _load(path)
    except FilmError as exc:
        assert "\n" not in str(exc) and path.name in str(exc)
        return
    assert film.values.ndim == 2 and film.values.dtype == np.float32
