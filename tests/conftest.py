"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Keep tests frugal on small machines and deterministic across runs.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def pydicom_data_dir() -> Path:
    """The folder of real DICOM test files shipped by the ``pydicom-data`` wheel (import name ``data_store``)."""
    import data_store  # type: ignore[import-untyped]

    folder = Path(data_store.__file__).parent / "data"
    assert folder.is_dir(), "pydicom-data is not installed; the real-film tests need it"
    return folder


@pytest.fixture(scope="session")
def rg1_path(pydicom_data_dir: Path) -> Path:
    """RG1_UNCI.dcm: a real CR chest radiograph (1955x1841, 15-bit, MONOCHROME1)."""
    hits = sorted(pydicom_data_dir.rglob("RG1_UNCI.dcm"))
    assert hits, "pydicom-data does not ship RG1_UNCI.dcm any more; the real-film tests need it"
    return hits[0]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight SD-format img2img model with a BERT text encoder (safetensors + manifest)."""
    from vald_training.architecture import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-model") / "tiny"
    build_tiny_model(out, seed=0)
    return out
