"""Opening a film file: ``load_film(path)`` sniffs the format and hands the bytes to the right decoder.

Every bad input becomes a :class:`FilmError` with one plain sentence.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films import dicom_io, raster_io
from vald_desktop.core.films.film import Film

# Larger files are not films a radiologist would open here; refusing them early keeps memory bounded.
MAX_FILE_BYTES = 2 * 1024**3

_DICOM_SUFFIXES = {".dcm", ".dicom", ".dic"}
_RASTER_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"BM": "BMP",
    b"GIF8": "GIF",
}


def load_film(path: str | os.PathLike[str], frame: int = 0) -> Film:
    """Load a DICOM, PNG, JPEG or TIFF film; ``frame`` picks the frame of a multi-frame DICOM or TIFF."""
    path = Path(path)
    name = path.name or str(path)
    data = _read_bytes(path, name)
    kind = _sniff(data)
    if kind is None:
        # Anything that is not a known picture format is tried as DICOM (strict, then forced).
        film = dicom_io.decode_dicom(data, name, frame=frame)
    else:
        if path.suffix.lower() in _DICOM_SUFFIXES:
            raise FilmError(
                f"{name} is named like a DICOM file but holds a {kind} picture; rename it to .{kind.lower()} to open it."
            )
        film = raster_io.decode_raster(data, name, kind, frame=frame)
    film.sha256 = hashlib.sha256(data).hexdigest()
    return film


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        if path.is_dir():
            raise FilmError(f"{name} is a folder, not a film file.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FilmError(f"{name} is larger than 2 GB; it is not a film this application opens.")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FilmError(f"{name} does not exist.") from None
    except PermissionError:
        raise FilmError(f"{name} cannot be read: permission denied.") from None
    except OSError as exc:
        raise FilmError(f"{name} cannot be read ({exc.strerror or 'input/output error'}).") from None
    if not data:
        raise FilmError(f"{name} is empty (0 bytes).")
    return data


def _sniff(data: bytes) -> str | None:
    """The raster format named by the file's first bytes, or None.

    'DICM' at offset 128 wins: dual-personality DICOM files carry a TIFF header in their preamble.
    """
    if data[128:132] == b"DICM":
        return None
    for magic, kind in _RASTER_MAGIC.items():
        if data.startswith(magic):
            return kind
    if data[8:12] == b"WEBP" and data.startswith(b"RIFF"):
        return "WEBP"
    return None
