"""Helpers shared by the film tests: the real DICOM corpus, a cache for its big films, and a DICOM writer."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def _corpus_dir() -> Path | None:
    """Where the ``pydicom-data`` wheel put its files (its import name has changed between releases)."""
    for module_name in ("data_store", "pydicom_data"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        base = Path(module.__file__).parent
        folder = base / "data"
        if folder.is_dir():
            return folder
        if any(base.glob("*.dcm")):
            return base
    return None


CORPUS_DIR = _corpus_dir()


def _pydicom_test_dir() -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files"


PYDICOM_TEST_DIR = _pydicom_test_dir()


def _pydicom_test_files() -> list[Path]:
    """pydicom's own bundled test files: many deliberately odd or broken ones (DICOMDIRs, no meta, bad VRs)."""
    return sorted(p for p in PYDICOM_TEST_DIR.rglob("*") if p.is_file() and p.stat().st_size < 2_000_000)


PYDICOM_TEST_FILES = _pydicom_test_files()
CORPUS_FILES = sorted(p for p in CORPUS_DIR.iterdir() if p.is_file()) if CORPUS_DIR else []


@functools.lru_cache(maxsize=8)
def load_cached(path: Path, frame: int = 0) -> Any:
    """Decoding the 7 MB chest films takes a while on 2 cores; decode each one once per session."""
    from vald_desktop.core.films.load import load_film

    return load_film(path, frame=frame)


def write_dicom(path: Path, pixels: np.ndarray, photometric: str = "MONOCHROME2", **tags: Any) -> Path:
    """A minimal valid Secondary Capture file (with preamble) holding ``pixels``; ``tags`` set extra elements."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName = "Test^Film"
    bits = 8 if pixels.dtype.itemsize == 1 else 16
    ds.set_pixel_data(
        pixels, photometric_interpretation=photometric, bits_stored=tags.pop("BitsStored", bits)
    )
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return path
