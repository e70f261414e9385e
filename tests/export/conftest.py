"""Fixtures for the export tests: the real source film and a real Orthanc PACS on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from orthanc_server import orthanc_fixture, orthanc_web_fixture  # noqa: F401 - the shared Orthanc fixtures

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.masks.lung_mask import LungMask


@pytest.fixture(scope="session")
def source_dataset(rg1_path: Path) -> pydicom.Dataset:
    """RG1_UNCI.dcm, a real CR chest film with real-looking identity tags (name, ID, birth date, institution)."""
    # The pixels are not needed to build exports from plain arrays; skipping them keeps the tests fast.
    return pydicom.dcmread(rg1_path, stop_before_pixels=True)


@pytest.fixture
def panels() -> dict[str, Any]:
    """Small synthetic run outputs: original, counterfactual, signed map, lung mask (left and right lungs)."""
    rng = np.random.default_rng(0)
    h, w = 96, 80
    yy, xx = np.mgrid[0:h, 0:w]
    original = (0.3 + 0.4 * np.exp(-(((xx - 40) / 30) ** 2))).astype(np.float32)
    lesion = np.exp(-(((xx - 58) / 6) ** 2 + ((yy - 45) / 8) ** 2)).astype(np.float32) * 0.3
    original = np.clip(original + lesion + rng.normal(0, 0.01, (h, w)), 0, 1).astype(np.float32)
    counterfactual = np.clip(original - lesion, 0, 1).astype(np.float32)
    mask = np.zeros((h, w), bool)
    mask[15:85, 8:36] = True  # patient's right lung (image left)
    mask[15:85, 44:72] = True  # patient's left lung (image right)
    signed = np.where(mask, original - counterfactual, 0).astype(np.float32)
    return {"original": original, "counterfactual": counterfactual, "map": signed, "mask": mask}


@pytest.fixture
def run_record() -> dict[str, Any]:
    return {
        "format": "vald-run/1",
        "settings": {
            "prompt": "normal chest x-ray",
            "strength": 0.55,
            "guidance": 4.0,
            "steps": 50,
            "seed": 7,
        },
        "model": {"name": "tiny-demo", "manifest_sha256": "ab" * 32},
        "versions": {"vald_desktop": "0.1.0"},
        "created": "2026-11-22T00:00:00Z",
    }


@pytest.fixture
def result(panels: dict[str, Any], run_record: dict[str, Any]) -> RunResult:
    mask = panels["mask"]
    w = mask.shape[1]
    left = mask.copy()
    left[:, : w // 2] = False  # patient's left = image right
    right = mask & ~left
    settings = RunSettings(seed=7)
    record = {**run_record, "settings": settings.to_dict(), "film_sha256": "f" * 64}
    record["model"] = {**record["model"], "path": "/home/someone/models/tiny"}
    return RunResult(
        settings=settings,
        original=panels["original"],
        counterfactual=panels["counterfactual"],
        counterfactuals=[panels["counterfactual"]],
        map=panels["map"],
        map_std=None,
        mask=LungMask(mask, left, right, "file"),
        record=record,
    )
