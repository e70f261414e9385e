"""Decoding films in a helper process, so no decoder can hold up the window (Qt-free: the process never loads Qt).

Threads are not enough: GDCM and other DICOM codecs decode while holding Python's global interpreter lock, so a
2k JPEG 2000 film decoded on any thread of the app stops the GUI thread's Python slots for the whole decode
(measured: 4.3 s for RG1_J2KR.dcm). A separate process has its own interpreter lock; the window's thread only waits
for the answer. The process is spawned (not forked from the multi-threaded Qt app) once, on first use, and reused.
A decoder that crashes takes down only that process; the next film starts a fresh one.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Decoded = tuple[Any, tuple[float, float]]  # film, the finite range of its values

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None


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
            from vald_desktop.gui.lung_finding import remember

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


def _drop_pixel_cache(ds: Any) -> None:
    """pydicom keeps the decoded pixels inside the dataset; the film already holds them, so do not send them twice.

    Everything sent back is unpickled while holding the window's interpreter lock (a 2k JPEG 2000 film: 45 MB
    with the cache, 30 MB without). pydicom decodes again if anyone asks the dataset for its pixels.
    """
    if ds is not None and getattr(ds, "_pixel_array", None) is not None:
        ds._pixel_array = None
        ds._pixel_id = {}


def _warm() -> None:
    """Import the decoders in the helper process before the first film arrives."""
    import vald_desktop.core.films.load  # noqa: F401  (imports the DICOM and raster decoders)


def use_process() -> bool:
    # A frozen bundle re-runs its own executable to spawn; without freeze_support that would open a second
    # window, so bundles decode in-process (threads) unless they opt in.
    return not getattr(sys, "frozen", False)


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            ctx = multiprocessing.get_context("spawn")
            # One process: a second one would cost another start-up and ~100 MB; a film asked for while a
            # superseded one decodes waits for it (the loader then drops the stale answer).
            _executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
        return _executor


def warm_up() -> None:
    """Start the helper process in the background (the window calls this once it is built)."""
    if use_process():
        _pool().submit(_warm)


def decode_elsewhere(path: str | Path) -> Decoded | str:
    """:func:`decode` in the helper process; blocks the calling (non-GUI) thread, never the interpreter lock."""
    global _executor
    if not use_process():
        return decode(path)
    pool = _pool()
    try:
        return pool.submit(decode, str(path), True).result()
    except BrokenProcessPool:
        with _lock:
            if _executor is pool:
                _executor = None  # the next film gets a fresh process
        log.error("the film decoder process stopped")
        return f"{Path(path).name} could not be opened: the decoder stopped on it."


def run_in_helper(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in the helper process (after any film it is decoding); raises what ``fn`` raised.

    Raises ``BrokenProcessPool`` when the process stopped; the next call starts a fresh one.
    """
    global _executor
    pool = _pool()
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        with _lock:
            if _executor is pool:
                _executor = None
        raise
