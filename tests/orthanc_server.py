"""A private Orthanc PACS on loopback for the tests that send DICOM (export and GUI).

A plain module (not a conftest), so any test area can ``from orthanc_server import orthanc_fixture`` to get the ``orthanc`` fixture:
own free ports, temporary storage, and only ``ALLOWED_AET`` may echo or store. Tests using it are marked
``@pytest.mark.orthanc`` and are skipped where Orthanc is not installed.
"""

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
from typing import Any

import pytest

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANCTEST"
ALLOWED_AET = "VALDTEST"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    dicom_port: int
    http_port: int
    aet: str
    allowed_aet: str

    def rest(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="module", name="orthanc")
def orthanc_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
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
