"""Fixtures for the export tests: the real source film and a real Orthanc PACS on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pydicom
import pytest
from export_helpers import free_port

from vald_desktop.core.settings import RunSettings

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANCTEST"
ALLOWED_AET = "VALDTEST"


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


@dataclass
class Orthanc:
    dicom_port: int
    http_port: int
    aet: str
    allowed_aet: str

    def rest(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """A private Orthanc on 127.0.0.1: own free ports, temp storage, only ALLOWED_AET may echo or store.

    One per test module (and per xdist worker), so parallel runs never share ports or storage.
    """
    tmp_path = tmp_path_factory.mktemp("orthanc")
    if not Path(ORTHANC).exists():
        pytest.skip("Orthanc is not installed (make setup installs it)")
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "vald-export-test",
        "StorageDirectory": str(tmp_path / "orthanc-storage"),
        "IndexDirectory": str(tmp_path / "orthanc-index"),
        "DicomAet": ORTHANC_AET,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowEcho": False,
        "DicomCheckModalityHost": True,
        "DicomCheckCalledAet": True,
        # The port is where Orthanc would send to; it never does here.
        "DicomModalities": {"vald": [ALLOWED_AET, "127.0.0.1", free_port()]},
        "Plugins": [],
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 2,
        "SaveJobs": False,
    }
    cfg = tmp_path / "orthanc.json"
    cfg.write_text(json.dumps(config))
    log = open(tmp_path / "orthanc.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([ORTHANC, str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(dicom_port, http_port, ORTHANC_AET, ALLOWED_AET)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Orthanc exited at start: {(tmp_path / 'orthanc.log').read_text()[-800:]}")
            try:
                server.rest("/system")
                socket.create_connection(("127.0.0.1", dicom_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("Orthanc did not open its HTTP port within 30 s")
                time.sleep(0.1)
        yield server
    finally:
        # A throwaway server: a short grace period, then kill (Orthanc's clean shutdown takes seconds).
        proc.terminate()
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def result(panels: dict[str, Any], run_record: dict[str, Any]) -> SimpleNamespace:
    mask = panels["mask"]
    w = mask.shape[1]
    left = mask.copy()
    left[:, : w // 2] = False  # patient's left = image right
    right = mask & ~left
    settings = RunSettings(seed=7)
    record = {**run_record, "settings": settings.to_dict(), "film_sha256": "f" * 64}
    record["model"] = {**record["model"], "path": "/home/someone/models/tiny"}
    return SimpleNamespace(
        original=panels["original"],
        counterfactual=panels["counterfactual"],
        map=panels["map"],
        mask=SimpleNamespace(mask=mask, left=left, right=right),
        record=record,
        settings=settings,
    )
