"""Decoding films in the helper process, so no decoder can hold up the window (Qt-free: the process never loads Qt).

Why a process and not a thread, and how it is kept: see :mod:`.helper_process`. This module says what the helper
does with a film: decode it, keep it for the lung finder, and send back the film with its value range.
"""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.gui.helper_process import remember, run_in_helper, start, use_process

if TYPE_CHECKING:
    import pydicom

    from vald_desktop.core.films.film import Film

log = logging.getLogger(__name__)

Decoded = tuple["Film", tuple[float, float]]  # film, the finite range of its values


def decode(path: str | Path, in_helper: bool = False) -> Decoded | str:
    """Load a film and what the window shows first; or the one sentence that says why it cannot be opened."""
    from vald_desktop.core.attribution.viewing import value_range
    from vald_desktop.core.base.errors import FilmError, ValdError
    from vald_desktop.core.films.load import load_film

    name = Path(path).name
    try:
        film = load_film(path)
        _drop_pixel_cache(film.dataset)
        if in_helper:
            remember(film)  # its lungs are found here next, without sending the film back
        return film, value_range(film.values)
    except ValdError as exc:
        return str(exc)
    except OSError:
        return str(FilmError(f"{name} cannot be read."))
    except MemoryError:
        return f"{name} is too large to open on this computer."
    except Exception as exc:  # noqa: BLE001 - a broken file must never take the window down
        # The type only: messages and tracebacks of decoders may carry the file's path or its tags.
        log.error("opening a film failed (%s)", type(exc).__name__)
        return f"{name} could not be opened (an unexpected error; the details are in the log)."


def _drop_pixel_cache(ds: pydicom.Dataset | None) -> None:
    """pydicom keeps the decoded pixels inside the dataset; the film already holds them, so do not send them twice.

    Everything sent back is unpickled while holding the window's interpreter lock (a 2k JPEG 2000 film: 45 MB
    with the cache, 30 MB without). pydicom decodes again if anyone asks the dataset for its pixels.
    """
    # pydicom's cache attributes are private to it: read defensively, they differ between releases.
    if ds is not None and getattr(ds, "_pixel_array", None) is not None:
        ds._pixel_array = None
        ds._pixel_id = {}


def _warm() -> None:
    """Import the decoders in the helper process before the first film arrives."""
    import vald_desktop.core.films.load  # noqa: F401  (imports the DICOM and raster decoders)


def warm_up() -> None:
    """Start the helper process in the background (the window calls this once it is built)."""
    start(_warm)


def decode_elsewhere(path: str | Path) -> Decoded | str:
    """:func:`decode` in the helper process; blocks the calling (non-GUI) thread, never the interpreter lock."""
    if not use_process():
        return decode(path)
    try:
        return run_in_helper(decode, str(path), True)
    except BrokenProcessPool:
        log.error("the film decoder process stopped")  # the next film gets a fresh process
        return f"{Path(path).name} could not be opened: the decoder stopped on it."
