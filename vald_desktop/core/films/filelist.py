"""Which files the app offers to open, folder listing, and the recent-files list (Qt-free)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

FILM_SUFFIXES = (".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MAX_RECENT = 10


def is_film_candidate(path: Path) -> bool:
    """Known picture/DICOM suffix, or no suffix at all (DICOM files from PACS exports often have none)."""
    return (
        path.is_file()
        and not path.name.startswith(".")
        and (path.suffix.lower() in FILM_SUFFIXES or path.suffix == "")
    )


def list_films(folder: str | Path) -> list[Path]:
    """Films directly inside ``folder``, sorted by name (a study folder, or a dataset's ``images`` folder)."""
    folder = Path(folder)
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name.lower())
    except OSError:
        return []
    return [p for p in entries if is_film_candidate(p)]


def update_recent(recent: Iterable[str], path: str | Path, limit: int = MAX_RECENT) -> list[str]:
    """``path`` moved to the front of the recent list, duplicates removed, at most ``limit`` entries."""
    p = str(Path(path).resolve())
    out = [p] + [r for r in recent if r and r != p]
    return out[:limit]


def existing(recent: Iterable[str]) -> list[str]:
    return [r for r in recent if r and Path(r).exists()]


def open_dialog_filter() -> str:
    pats = " ".join(f"*{s}" for s in FILM_SUFFIXES)
    return f"Films ({pats});;DICOM (*.dcm *.dicom *.dic *);;All files (*)"
