"""A private Orthanc PACS on loopback for the tests that send DICOM (export and GUI).

A plain module (not a conftest), so any test area can ``from orthanc_server import orthanc_fixture`` to get the ``orthanc`` fixture:
own free ports, temporary storage, and only ``ALLOWED_AET`` may echo or store. Tests using it are marked
``@pytest.mark.orthanc`` and are skipped where Orthanc is not installed.

``orthanc_web_fixture`` (the ``orthanc_web`` fixture) is the same server with Orthanc's DICOMweb plugin (Debian's
``orthanc-dicomweb``) and HTTP basic sign-in (``WEB_USER`` / ``WEB_PASSWORD``) for every REST and DICOMweb request;
it is skipped where the plugin is not installed.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANCTEST"
ALLOWED_AET = "VALDTEST"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
WEB_USER, WEB_PASSWORD = "vald", "s3cret-test"


# Where Orthanc would send to the allowed AE; it never does here, so nothing binds it.
ALLOWED_AET_PORT = 11112
# Ports are picked before Orthanc binds them, so another process can take one meanwhile: then retry with new ones.
START_ATTEMPTS = 5


def free_port() -> int:
    """A port free right now, released on return: only for a separate process that binds it and can be retried.

    A test that needs a port nobody answers on uses the ``closed_port`` fixture, which holds its port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    dicom_port: int
    http_port: int
    aet: str
    allowed_aet: str
    user: str = ""  # set when the server asks every HTTP request to sign in
    password: str = ""

    @property
    def dicomweb_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/dicom-web"

    def rest(self, path: str, data: bytes | None = None, method: str | None = None) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method)
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def upload(self, dicom_file: bytes) -> str:
        """Store a DICOM file through the REST API; returns Orthanc's instance id."""
        return str(self.rest("/instances", data=dicom_file, method="POST")["ID"])


class PortTaken(Exception):
    """Orthanc could not bind a port picked for it: another process took it in the meantime."""


def _start(folder: Path, web: bool = False) -> tuple[subprocess.Popen[bytes], Orthanc, Any]:
    """Start one Orthanc on fresh ports in ``folder`` and wait until it answers as itself on both ports.

    ``web``: with the DICOMweb plugin and basic sign-in for every HTTP request.
    """
    dicom_port, http_port = free_port(), free_port()
    name = f"vald-test-{uuid.uuid4().hex[:12]}"  # a server that answers with another name is not ours
    config = {
        "Name": name,
        "StorageDirectory": str(folder / "orthanc-storage"),
        "IndexDirectory": str(folder / "orthanc-index"),
        "DicomAet": ORTHANC_AET,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowEcho": False,
        "DicomCheckModalityHost": True,
        "DicomCheckCalledAet": True,
        "DicomModalities": {"vald": [ALLOWED_AET, "127.0.0.1", ALLOWED_AET_PORT]},
        "Plugins": [],
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 2,
        "SaveJobs": False,
    }
    if web:
        config.update(
            {
                "Plugins": [str(DICOMWEB_PLUGIN)],
                "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
                "AuthenticationEnabled": True,
                "RegisteredUsers": {WEB_USER: WEB_PASSWORD},
            }
        )
    cfg = folder / "orthanc.json"
    cfg.write_text(json.dumps(config))
    log_path = folder / "orthanc.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([ORTHANC, str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(
        dicom_port, http_port, ORTHANC_AET, ALLOWED_AET, *((WEB_USER, WEB_PASSWORD) if web else ())
    )
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log.close()
            text = log_path.read_text(errors="replace")
            taken = [line for line in text.splitlines() if "already in use" in line]
            if taken:
                raise PortTaken(taken[0])
            pytest.fail(f"Orthanc exited at start: {text[-800:]}")
        try:
            # Orthanc binds its DICOM port before its HTTP port: answering as itself on HTTP means both are its own.
            info = server.rest("/system")
            if isinstance(info, dict) and info.get("Name") == name:
                socket.create_connection(("127.0.0.1", dicom_port), timeout=1).close()
                return proc, server, log
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            _stop(proc, log)
            pytest.fail("Orthanc did not answer on its ports within 30 s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes], log: Any) -> None:
    # A throwaway server: a short grace period, then kill (Orthanc's clean shutdown takes seconds).
    proc.terminate()
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module", name="orthanc")
def orthanc_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """A private Orthanc on 127.0.0.1: own free ports, temp storage, only ALLOWED_AET may echo or store.

    One per test module (and per xdist worker), so parallel runs never share ports or storage.
    """
    yield from _serve(tmp_path_factory, web=False)


@pytest.fixture(scope="module", name="orthanc_web")
def orthanc_web_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """The same private Orthanc with its DICOMweb plugin at ``dicomweb_url``, every HTTP request signed in."""
    if not DICOMWEB_PLUGIN.exists():
        pytest.skip("Orthanc's DICOMweb plugin is not installed (make setup installs orthanc-dicomweb)")
    yield from _serve(tmp_path_factory, web=True)


def _serve(tmp_path_factory: pytest.TempPathFactory, web: bool) -> Iterator[Orthanc]:
    if not Path(ORTHANC).exists():
        pytest.skip("Orthanc is not installed (make setup installs it)")
    for attempt in range(START_ATTEMPTS):
        try:
            proc, server, log = _start(tmp_path_factory.mktemp("orthanc"), web=web)
            break
        except PortTaken as exc:
            if attempt == START_ATTEMPTS - 1:
                pytest.fail(f"Orthanc found its ports taken {START_ATTEMPTS} times: {exc}")
    try:
        yield server
    finally:
        _stop(proc, log)
