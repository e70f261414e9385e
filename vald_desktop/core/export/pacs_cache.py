"""The local cache of series opened from a PACS: the user's cache folder, bounded in size, cleared on request.

Each series lives in ``<cache>/<study key>/<series key>/`` where the keys are short hashes of the UIDs, so no
folder name carries an identifier. Opening a series that is already there needs no network; after each retrieve
the oldest series (by last use) are removed until the cache fits its limit again. ``$VALD_PACS_CACHE`` moves the
cache (tests, shared set-ups) and ``$VALD_PACS_CACHE_MB`` sets its limit (default 2048 MB).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vald_desktop.core.base.errors import PacsError

CACHE_ENV = "VALD_PACS_CACHE"
LIMIT_ENV = "VALD_PACS_CACHE_MB"
DEFAULT_LIMIT_MB = 2048
_MARK = ".complete"  # written last: a series folder without it is unfinished and is never reused


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("vald-desktop")) / "pacs"


def limit_bytes() -> int:
    text = os.environ.get(LIMIT_ENV, "")
    try:
        mb = float(text) if text else DEFAULT_LIMIT_MB
    except ValueError:
        raise PacsError(f"{LIMIT_ENV} must be a number of megabytes (got {text!r}).") from None
    return max(0, int(mb * 1024 * 1024))


def _key(uid: str) -> str:
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:16]


def series_folder(study_uid: str, series_uid: str | None, root: Path | None = None) -> Path:
    """Where a series (or, with ``series_uid`` None, a whole study) is kept."""
    root = root if root is not None else cache_root()
    return root / _key(study_uid) / (_key(series_uid) if series_uid else "study")


def cached(study_uid: str, series_uid: str | None, root: Path | None = None) -> list[Path] | None:
    """The files of a completely retrieved series in the cache (its use time refreshed), or None."""
    folder = series_folder(study_uid, series_uid, root)
    if not (folder / _MARK).is_file():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix == ".dcm" and p.is_file())
    if not files:
        return None
    with contextlib.suppress(OSError):
        (folder / _MARK).touch()
    return files


def mark_complete(folder: Path) -> None:
    (folder / _MARK).touch()


@dataclass(frozen=True)
class CacheUse:
    series: int
    bytes: int


def usage(root: Path | None = None) -> CacheUse:
    folders = _series_folders(root if root is not None else cache_root())
    return CacheUse(len(folders), sum(_size(f) for f in folders))


def prune(limit: int | None = None, keep: Path | None = None, root: Path | None = None) -> int:
    """Remove the least recently used series until the cache holds at most ``limit`` bytes; returns bytes freed.

    ``keep`` (the series just opened) is never removed, even when it alone is over the limit.
    """
    limit = limit_bytes() if limit is None else limit
    root = root if root is not None else cache_root()
    folders = sorted(_series_folders(root), key=_last_use)
    sizes = {f: _size(f) for f in folders}
    total = sum(sizes.values())
    freed = 0
    for folder in folders:
        if total <= limit:
            break
        if keep is not None and folder.resolve() == Path(keep).resolve():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        freed += sizes[folder]
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # the study folder, once empty
    return freed


def clear(root: Path | None = None) -> int:
    """Empty the cache; returns the bytes freed."""
    root = root if root is not None else cache_root()
    freed = usage(root).bytes
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    child.unlink()
    return freed


def _series_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [s for study in root.iterdir() if study.is_dir() for s in study.iterdir() if s.is_dir()]


def _last_use(folder: Path) -> float:
    try:
        return (folder / _MARK).stat().st_mtime
    except OSError:
        return 0.0  # unfinished: the first to go


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).stat().st_size
    return total
