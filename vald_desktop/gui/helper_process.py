"""The film helper process: one spawned process that decodes films and finds their lungs (Qt-free).

Threads are not enough: GDCM and other DICOM codecs decode while holding Python's global interpreter lock, and
the automatic lung mask spends long numpy and scipy calls holding it too; on any thread of the app either stops
the GUI thread's Python slots (measured: 4.3 s for RG1_J2KR.dcm). A separate process has a lock of its own; the
calling (non-GUI) thread only waits for the answer. The process is spawned (not forked from the multi-threaded
Qt app) once, on first use, and reused. A job that crashes it takes down only that process; the next job starts a
fresh one.

This module owns the process pool and the film the helper keeps (so a film's lungs are found without sending the
film back); :mod:`.film_decoding` and :mod:`.lung_finding` submit their jobs through it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from vald_desktop.core.films.film import Film

T = TypeVar("T")

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_films: dict[str, Film] = {}  # helper process only: checksum -> the film it decoded last


def use_process() -> bool:
    """Whether jobs go to the helper process: yes, frozen bundles included.

    A bundle spawns by re-running its own executable; its entry point calls ``multiprocessing.freeze_support()``
    before anything else (``packaging/vald_desktop_entry.py``, and ``gui.app.main`` again), so that child does the
    job instead of opening a second window. ``VALD_HELPER_PROCESS=0`` keeps the jobs on threads of the app.
    """
    return os.environ.get("VALD_HELPER_PROCESS", "").strip() != "0"


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            ctx = multiprocessing.get_context("spawn")
            # One process: a second one would cost another start-up and ~100 MB; a film asked for while a
            # superseded one decodes waits for it (the loader then drops the stale answer).
            _executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
        return _executor


def start(fn: Callable[[], object]) -> None:
    """Queue ``fn()`` in the helper process without waiting (warming it up before the first film arrives)."""
    if use_process():
        _pool().submit(fn)


def run_in_helper(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in the helper process (after any job before it); raises what ``fn`` raised.

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


def remember(film: Film) -> None:
    """Keep the film just decoded (helper process), so its lungs can be found without sending it back."""
    _films.clear()
    if film.sha256:
        _films[film.sha256] = film


def remembered(sha: str) -> Film | None:
    """The film the helper decoded last, when its checksum is ``sha`` (helper process)."""
    return _films.get(sha) if sha else None
