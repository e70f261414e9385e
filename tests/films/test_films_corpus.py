"""Every file of the two real DICOM corpora decodes to its recorded shape or is refused with one FilmError sentence.

The expected outcome of each file is a literal table (corpus_expectations.py); a file the table does not name fails,
so a new corpus release is looked at rather than silently accepted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus_expectations import PYDICOM_DATA, PYDICOM_TEST_FILES, Expected
from film_helpers import CORPUS_DIR, CORPUS_FILES, PYDICOM_TEST_DIR, load_cached
from film_helpers import PYDICOM_TEST_FILES as TEST_FILE_PATHS

from vald_desktop.core.base.errors import FilmError


def _key(path: Path) -> str:
    return path.name if path.parent == CORPUS_DIR else path.relative_to(PYDICOM_TEST_DIR).as_posix()


def _load(path: Path):  # type: ignore[no-untyped-def]
    from vald_desktop.core.films.load import load_film

    # The big chest films are shared with the other film tests through the per-session cache.
    return load_cached(path, 0) if path.name.startswith("RG1_") else load_film(path)


def _check(path: Path, expected: Expected | None) -> None:
    name = _key(path)
    assert expected is not None, (
        f"{name} is not in corpus_expectations.py: a new corpus file; record what it must do"
    )
    if not isinstance(expected, tuple):
        with pytest.raises(expected) as caught:
            _load(path)
        message = str(caught.value)
        assert "\n" not in message and "Traceback" not in message
        assert path.name in message, "the refusal must name the file"
        return
    try:
        film = _load(path)
    except FilmError as exc:
        pytest.fail(f"{name} must decode to {expected} but was refused: {exc}")
    assert film.stored.shape == expected
    h, w = expected[:2]
    assert film.shape == (h, w) and (film.info["rows"], film.info["columns"]) == (h, w)
    assert film.values.dtype == np.float32 and film.values.shape == (h, w)
    # Only a small corner is rendered: enough to prove the window maps into [0, 1] without the full cost.
    corner = film.display()[:64, :64] if h * w < 4_000_000 else film.values[:64, :64]
    assert np.all(np.isfinite(corner))
    if h * w < 4_000_000:
        assert corner.min() >= 0.0 and corner.max() <= 1.0


@pytest.mark.parametrize(
    ("table", "paths"),
    [(PYDICOM_DATA, CORPUS_FILES), (PYDICOM_TEST_FILES, TEST_FILE_PATHS)],
    ids=["data", "pydicom"],
)
def test_the_table_names_exactly_the_files_present(table: dict[str, Expected], paths: list[Path]) -> None:
    present = {_key(p) for p in paths}
    assert not present - set(table), (
        "files without an expected outcome (record them in corpus_expectations.py)"
    )
    assert not set(table) - present, "files the table expects are gone from the corpus"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_pydicom_data_file_decodes_to_its_shape_or_is_refused(path: Path) -> None:
    _check(path, PYDICOM_DATA.get(_key(path)))


@pytest.mark.parametrize("path", TEST_FILE_PATHS, ids=[_key(p) for p in TEST_FILE_PATHS])
def test_pydicom_test_file_decodes_to_its_shape_or_is_refused(path: Path) -> None:
    _check(path, PYDICOM_TEST_FILES.get(_key(path)))
