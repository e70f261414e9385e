"""Atomic file writes: write a temp file in the target folder, fsync, then rename over the target.

A crash, a full disk or a read-only folder never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from vald_desktop.core.base.errors import ExportError

# mkstemp creates 0600 files; give finished files the permissions a plain open() would (read once, at import).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str], *, overwrite: bool = True, durable: bool = True
) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it is renamed onto ``target``.

    ``durable=False`` skips the fsync: still never a partial file, but a power cut may lose the newest files.
    Meant for bulk, regenerable outputs (thousands of phantoms), where one fsync per file dominates the time.

    Raises :class:`ExportError` if the target exists and ``overwrite`` is false, or the disk refuses the write.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ExportError(f"{target.name} already exists; choose another name or allow overwriting.")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        os.fchmod(fd, 0o666 & ~_UMASK)
        os.close(fd)
    except OSError as exc:
        raise ExportError(_os_sentence(exc, folder)) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(_os_sentence(exc, folder)) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes(
    target: str | os.PathLike[str], data: bytes, *, overwrite: bool = True, durable: bool = True
) -> Path:
    with atomic_path(target, overwrite=overwrite, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, *, overwrite: bool = True) -> Path:
    return write_bytes(target, text.encode("utf-8"), overwrite=overwrite)


def write_with(
    target: str | os.PathLike[str], writer: Callable[[IO[bytes]], object], *, overwrite: bool = True
) -> Path:
    """Call ``writer(fileobj)`` on a temp file, then move it into place."""
    with atomic_path(target, overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
        writer(fh)
    return Path(target)


def _os_sentence(exc: OSError, folder: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"The disk holding {folder} is full; free some space and try again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot write to {folder}: the folder is read-only or not yours."
    return f"Cannot write to {folder}: {exc.strerror or exc}."
