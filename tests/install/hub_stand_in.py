"""A local stand-in for the Hugging Face Hub: the two endpoints a download uses, for a tiny model tree.

* ``GET /api/models/{repo}/revision/{rev}?blobs=True``: the model info (commit ``sha`` and ``siblings`` with
  size, git blob id and, for LFS files, ``lfs.sha256``), or 404 with the Hub's ``X-Error-Code``.
* ``HEAD|GET /{repo}/resolve/{rev}/{path}``: the file with the Hub's headers (``ETag``, ``X-Repo-Commit``,
  ``X-Linked-Etag``, ``X-Linked-Size``, ``Accept-Ranges``), honouring ``Range: bytes=N-`` with 206.

Faults for the tests: ``drop_once`` (the first GET of a path sends half its bytes, then closes the connection),
``corrupt`` (a path is served with one byte changed; the listing keeps the true hash) and ``hold`` (a GET of a path
sends half its bytes, then waits until the path's event is set before sending the rest). Every request is kept
in ``requests`` (method, path, Range and Authorization headers).
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth")
# What the install tests' stand-in holds besides the pinned commits (tests/install/conftest.py): a RadBERT commit
# with pickle weights only, and a pickle beside SD's safetensors that the allow-list never fetches.
PICKLE_COMMIT = "b" * 40
SAFETY_PICKLE = "safety_checker/pytorch_model.bin"


def tree_from_folder(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-file (cancel) is expected here


class HubStandIn:
    def __init__(self) -> None:
        self.trees: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo, commit) -> files
        self.refs: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit
        self.drop_once: set[str] = set()  # "repo/path"
        self.corrupt: set[str] = set()
        self.hold: dict[str, threading.Event] = {}  # "repo/path" -> set it to let the rest of the file go
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, repo: str, commit: str, files: dict[str, bytes], branch: str | None = None) -> None:
        self.trees[(repo, commit)] = files
        if branch:
            self.refs[(repo, branch)] = commit

    def reset(self) -> None:
        with self._lock:
            self.drop_once.clear()
            self.corrupt.clear()
            for event in self.hold.values():
                event.set()
            self.hold.clear()
            self.requests.clear()

    def __enter__(self) -> HubStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for event in self.hold.values():
            event.set()
        self.server.shutdown()
        self.server.server_close()

    # -- answers ------------------------------------------------------------------------------------------------
    def _commit(self, repo: str, rev: str) -> str | None:
        if (repo, rev) in self.trees:
            return rev
        return self.refs.get((repo, rev))

    def _info(self, repo: str, commit: str) -> dict[str, Any]:
        siblings = []
        for path, data in sorted(self.trees[(repo, commit)].items()):
            entry: dict[str, Any] = {"rfilename": path, "size": len(data), "blobId": _blob_id(data)}
            if path.endswith(LFS_SUFFIXES):
                pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}"
                entry["blobId"] = _blob_id(pointer.encode())
                entry["lfs"] = {
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "pointerSize": len(pointer),
                }
            siblings.append(entry)
        return {"id": repo, "modelId": repo, "sha": commit, "private": False, "siblings": siblings}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _error(self, status: int, code: str) -> None:
                body = json.dumps({"error": code}).encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _route(self) -> None:
                path = unquote(urlparse(self.path).path)
                with hub._lock:
                    hub.requests.append(
                        {
                            "method": self.command,
                            "path": path,
                            "range": self.headers.get("Range", ""),
                            "auth": self.headers.get("Authorization", ""),
                        }
                    )
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                    repo, rev = "/".join(parts[2:4]), "/".join(parts[5:])
                    if not any(r == repo for r, _ in hub.trees):
                        return self._error(404, "RepoNotFound")
                    commit = hub._commit(repo, rev)
                    if commit is None:
                        return self._error(404, "RevisionNotFound")
                    body = json.dumps(hub._info(repo, commit)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                if len(parts) >= 5 and parts[2] == "resolve":
                    return self._file("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
                return self._error(404, "RepoNotFound")

            def _file(self, repo: str, rev: str, name: str) -> None:
                commit = hub._commit(repo, rev)
                if commit is None:
                    return self._error(404, "RevisionNotFound")
                data = hub.trees[(repo, commit)].get(name)
                if data is None:
                    return self._error(404, "EntryNotFound")
                key = f"{repo}/{name}"
                etag = hashlib.sha256(data).hexdigest() if name.endswith(LFS_SUFFIXES) else _blob_id(data)
                if key in hub.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[len("bytes=") : -1])
                body = data[start:]
                self.send_response(206 if start else 200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Repo-Commit", commit)
                if name.endswith(LFS_SUFFIXES):
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if self.command == "HEAD":
                    return None
                with hub._lock:
                    drop = key in hub.drop_once and self.command == "GET"
                    hub.drop_once.discard(key)
                    held = hub.hold.get(key) if self.command == "GET" else None
                if held is not None:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    held.wait(timeout=60)
                    self.wfile.write(body[len(body) // 2 :])
                    return None
                if drop:
                    # Half the promised bytes, then the connection goes away mid-file.
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                self.wfile.write(body)
                return None

            def do_GET(self) -> None:  # noqa: N802
                self._route()

            def do_HEAD(self) -> None:  # noqa: N802
                self._route()

        return Handler
