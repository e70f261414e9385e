"""A bearer-token gateway in front of the test Orthanc's DICOMweb, over plain HTTP or HTTPS (self-signed).

Hospitals often put DICOMweb behind a gateway that wants ``Authorization: Bearer <token>``; Orthanc itself only
does basic sign-in. This gateway checks the token, then forwards the request to Orthanc with its basic sign-in and
passes the answer back unchanged. With ``tls=True`` it serves HTTPS with a certificate made for 127.0.0.1 by the
``openssl`` command (skipped where there is none), whose file the TLS tests name as the CA bundle.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TOKEN = "test-token-0123456789"


@dataclass
class Gateway:
    url: str  # the DICOMweb base URL through the gateway
    cert: Path | None  # the server certificate (its own CA) when serving HTTPS


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    cmd = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
    cmd += ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return cert, key


@contextlib.contextmanager
def gateway(orthanc: Any, folder: Path, *, tls: bool = False) -> Iterator[Gateway]:
    basic = base64.b64encode(f"{orthanc.user}:{orthanc.password}".encode()).decode()
    upstream = f"http://127.0.0.1:{orthanc.http_port}"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _forward(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Bearer")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = urllib.request.Request(upstream + self.path, data=body, method=self.command)
            for name in ("Accept", "Content-Type"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            request.add_header("Authorization", f"Basic {basic}")
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    status, headers, payload = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as exc:
                status, headers, payload = exc.code, exc.headers, exc.read()
            self.send_response(status)
            if headers.get("Content-Type"):
                self.send_header("Content-Type", headers["Content-Type"])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _forward  # noqa: N815 - the names http.server dispatches to

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    cert = None
    if tls:
        cert, key = self_signed_cert(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="dicomweb-gateway", daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield Gateway(f"{scheme}://127.0.0.1:{server.server_address[1]}/dicom-web", cert)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
