"""Fixtures for the film tests (helpers live in film_helpers.py so test modules can import them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from film_helpers import CORPUS_DIR, load_cached


@pytest.fixture(scope="session")
def pydicom_data_dir() -> Path:
    """Overrides the root fixture: it must find the wheel under either import name."""
    assert CORPUS_DIR is not None, "pydicom-data is not installed; the real-film tests need it"
    return CORPUS_DIR


@pytest.fixture(scope="session")
def corpus_film(pydicom_data_dir: Path):  # type: ignore[no-untyped-def]
    """``corpus_film("RG1_UNCI.dcm")`` -> the cached Film."""

    def get(name: str, frame: int = 0) -> Any:
        return load_cached(pydicom_data_dir / name, frame)

    return get
