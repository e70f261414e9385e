"""Downloads from the Hugging Face Hub: the only code of the app that goes online (``vald models fetch``).

A revision is resolved to its commit once (one listing call that also gives every file's size and hash); each
file is then fetched from that commit into ``<name>.part`` beside its final name, so a dropped connection resumes
with a ranged request and so does a later run. A finished file is checked against the listing (SHA-256 for LFS
files, the git blob hash for small ones) and only then renamed into place; a file that fails the check is deleted.
Only the files asked for are fetched and weights must be safetensors. ``HF_ENDPOINT`` and ``HF_TOKEN`` are read
at call time. Loading models stays local-only (``core.engine.models``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from vald_desktop.core.base.errors import Cancelled, ModelError
from vald_desktop.core.engine.models import PICKLE_SUFFIXES

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 20.0
ProgressFn = Callable[[int, int, str], None]  # (bytes done, bytes in all, file being fetched)


@dataclass(frozen=True)
class RepoFiles:
    """What to take from a repository: files that must exist, files taken when present, safetensors weights."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files: the Hub lists their SHA-256
    blob_id: str | None  # small files: their git blob hash


@dataclass(frozen=True)
class RepoPlan:
    repo: str
    revision: str
    commit: str
    files: tuple[RemoteFile, ...]

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def folder_name(self) -> str:
        """A folder name that says what it holds: ``CompVis--stable-diffusion-v1-4@<commit>``."""
        return f"{self.repo.replace('/', '--')}@{self.commit}"


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def _token() -> str | None:
    # HF_TOKEN first; None lets huggingface_hub use the login stored by `hf auth login`, as its own tools do.
    return os.environ.get("HF_TOKEN", "").strip() or None


def plan_repo(repo: str, revision: str, wanted: RepoFiles) -> RepoPlan:
    """Resolve ``revision`` and pick the wanted files; refuses pickle-only weights before anything is fetched."""
    from huggingface_hub import HfApi

    endpoint = hub_endpoint()
    with hub_errors(repo, revision, endpoint):
        info = HfApi(endpoint=endpoint, token=_token()).model_info(
            repo, revision=revision, files_metadata=True, timeout=TIMEOUT_S
        )
    commit = str(info.sha or "")
    if not commit:
        raise ModelError(f"The Hub did not say which commit revision {revision} of {repo} is.")
    listing: dict[str, RemoteFile] = {}
    for s in info.siblings or []:
        lfs = s.lfs
        size = lfs.size if lfs is not None else s.size
        if size is None:
            raise ModelError(
                f"The Hub did not list the file sizes of {repo}, so its files cannot be checked."
            )
        listing[s.rfilename] = RemoteFile(
            s.rfilename, int(size), lfs.sha256 if lfs is not None else None, s.blob_id
        )
    short = commit[:7]
    for name in wanted.weights:
        if name in listing:
            continue
        folder = name.rpartition("/")[0]
        pickles = [
            p for p in listing if p.rpartition("/")[0] == folder and p.lower().endswith(PICKLE_SUFFIXES)
        ]
        where = f"{folder}/" if folder else "its weights"
        if pickles:
            raise ModelError(
                f"{repo} at revision {short} has only pickle weights for {where} ({pickles[0]}), which are never "
                f"downloaded for safety; choose a revision that has {name.rpartition('/')[2]}."
            )
        raise ModelError(f"{repo} at revision {short} has no {name}.")
    for name in wanted.required:
        if name not in listing:
            raise ModelError(f"{repo} at revision {short} has no {name}.")
    names = [*wanted.required, *(n for n in wanted.optional if n in listing), *wanted.weights]
    return RepoPlan(repo, revision, commit, tuple(listing[n] for n in dict.fromkeys(names)))


def download_plan(
    plan: RepoPlan,
    dest: Path,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> Path:
    """Fetch every file of ``plan`` into ``dest`` (resuming ``.part`` files); returns ``dest``.

    ``done_before`` / ``total``: bytes of earlier plans, so one progress bar can span several repositories.
    Raises :class:`Cancelled` when ``cancel`` is set (the ``.part`` files stay for the next run).
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    endpoint = hub_endpoint()
    headers = build_hf_headers(token=_token(), library_name="vald-desktop")
    total = plan.total + done_before if total is None else total
    done = done_before
    for remote in plan.files:
        final = dest / remote.path
        if final.is_file() and final.stat().st_size == remote.size and _matches(final, remote):
            done += remote.size
            if progress is not None:
                progress(done, total, remote.path)
            continue
        part = final.with_name(final.name + ".part")
        url = hf_hub_url(plan.repo, remote.path, revision=plan.commit, endpoint=endpoint)
        meter = _meter(remote.path, done, total, progress, cancel)
        with hub_errors(plan.repo, plan.revision, endpoint), _disk_errors(dest):
            part.parent.mkdir(parents=True, exist_ok=True)
            have = part.stat().st_size if part.is_file() else 0
            if have > remote.size:  # not this file's bytes: start again
                part.unlink()
                have = 0
            if cancel is not None and cancel.is_set():
                raise Cancelled("Download cancelled; run the command again to resume.")
            with open(part, "r+b" if have else "w+b") as fh:
                fh.seek(0, os.SEEK_END)
                http_get(
                    url, fh, resume_size=have, headers=headers, expected_size=remote.size, tqdm_class=meter
                )
        if not _matches(part, remote):
            part.unlink(missing_ok=True)
            raise ModelError(
                f"{remote.path} from {plan.repo} does not match the checksum the Hub lists for it and was deleted, "
                f"so nothing was installed; run the command again."
            )
        with _disk_errors(dest):
            os.replace(part, final)
        done += remote.size
        if progress is not None:
            progress(done, total, remote.path)
    return dest


def _matches(path: Path, remote: RemoteFile) -> bool:
    """Whether ``path`` holds exactly the bytes the listing describes."""
    size = path.stat().st_size
    if size != remote.size:
        return False
    if remote.sha256:
        digest = hashlib.sha256()
    elif remote.blob_id:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"blob {size}\0".encode())  # git's blob hash: header, then the bytes
    else:
        return True  # the listing gave no hash (not the Hub's behaviour): the size is all there is to check
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == (remote.sha256 or remote.blob_id)


class _Meter:
    """What ``http_get`` drives instead of a tqdm bar: counts this file's bytes for the caller, stops on cancel."""

    report: ClassVar[Callable[[int], None]]  # called with the bytes of this file on disk so far

    def __init__(self, initial: int = 0, **_: Any) -> None:
        self.n = 0
        self.update(initial)

    def __enter__(self) -> _Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: int | float | None = 1) -> None:
        self.n += int(n or 0)
        type(self).report(self.n)

    def close(self) -> None:
        pass


def _meter(
    name: str, done: int, total: int, progress: ProgressFn | None, cancel: threading.Event | None
) -> type[_Meter]:
    def report(on_disk: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Download cancelled; run the command again to resume.")
        if progress is not None:
            progress(done + on_disk, total, name)

    return type("Meter", (_Meter,), {"report": staticmethod(report)})


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's connection-level errors (huggingface_hub has changed clients between versions)."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            err = getattr(importlib.import_module(module), "TransportError", None)
            if isinstance(err, type) and issubclass(err, BaseException):
                found.append(err)
    return tuple(found)


@contextlib.contextmanager
def hub_errors(repo: str, revision: str, endpoint: str) -> Iterator[None]:
    """Turn the Hub client's exceptions into one sentence each."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    host = urlparse(endpoint).netloc or endpoint
    transport = _transport_errors()
    try:
        yield
    except (ModelError, Cancelled):
        raise
    except OfflineModeIsEnabled:
        raise ModelError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it and try again."
        ) from None
    except GatedRepoError:
        raise ModelError(
            f"{repo} is gated: accept its terms on its page at {host} while logged in, then set HF_TOKEN to an "
            f"access token of that account."
        ) from None
    except RevisionNotFoundError:
        raise ModelError(f"{repo} has no revision {revision} on {host}.") from None
    except RepositoryNotFoundError:
        raise ModelError(f"{repo} was not found on {host} (a private repository needs HF_TOKEN).") from None
    except EntryNotFoundError:
        raise ModelError(f"A file listed for {repo} at revision {revision} is missing on {host}.") from None
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise ModelError(f"{host} refused access to {repo}; check the token in HF_TOKEN.") from None
        raise ModelError(f"{host} answered with an error ({status}) for {repo}; try again later.") from None
    except transport as exc:
        raise ModelError(
            f"The Hugging Face Hub at {host} cannot be reached ({type(exc).__name__}); check the network "
            f"connection and run the command again to resume."
        ) from None


@contextlib.contextmanager
def _disk_errors(dest: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ModelError(
                f"The disk holding {dest} is full; free some space and run the command again."
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ModelError(f"Cannot write to {dest}: the folder is read-only or not yours.") from None
        if "Consistency check failed" in str(exc):  # the server sent fewer or more bytes than it listed
            raise ModelError(
                "A download ended early or ran long; run the command again to resume it."
            ) from None
        raise
