"""Opening films off the GUI thread: decode in a helper process, convert on a pool thread, hand over a ready film.

A 2k DICOM (JPEG 2000 especially) takes seconds to decode; done on the GUI thread it froze the window, and on a
plain thread the codec's hold on the interpreter lock froze it just the same (see :mod:`.film_decoding`).
:class:`FilmLoader` runs one job per request on a thread pool; each request gets a number, and only the reply to
the newest request is delivered, so a film opened meanwhile always wins. A job tries its candidate files in order
(a folder opens its first readable film) and gives back either a :class:`LoadedFilm` or one sentence.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from vald_desktop.gui.film_decoding import decode_elsewhere, warm_up
from vald_desktop.gui.qimage import pixmap_ready_qimage

if TYPE_CHECKING:
    from vald_desktop.core.films.film import Film


@dataclass(frozen=True)
class LoadedFilm:
    """A decoded film with what the panels need to show it at once (computed on the pool thread)."""

    film: Film
    path: Path
    index: int  # position of ``path`` among the request's candidates
    display: np.ndarray  # float32 HxW [0, 1] under the film's default window
    image: QImage  # ``display`` as a QImage in the pixmap's format (thread-safe; the GUI thread wraps it)
    value_range: tuple[float, float]


@dataclass(frozen=True)
class LoadRequest:
    token: int
    paths: tuple[Path, ...]
    quiet: bool  # several candidates (a folder): a file that fails is skipped, not reported


def load_first(request: LoadRequest, is_current: Callable[[], bool] = lambda: True) -> LoadedFilm | str:
    """The first candidate that opens, prepared; or the sentence saying why none did."""
    last = ""
    for i, path in enumerate(request.paths):
        if not is_current():
            return ""  # superseded: nobody will read the answer
        answer = decode_elsewhere(path)
        if isinstance(answer, str):
            last = answer
            continue
        film, vrange = answer
        # Windowed here, not in the helper process: numpy lets go of the interpreter lock, unpickling does not.
        display = film.display(film.default_window)
        return LoadedFilm(film, path, i, display, pixmap_ready_qimage(display), vrange)
    if request.quiet and len(request.paths) > 1:
        return ""  # the caller words the folder case itself
    return last or "There was no film to open."


class FilmLoader(QObject):
    """GUI-side handle: ``open(paths)`` starts a job; ``loaded`` / ``failed`` report the newest one only.

    ``failed`` carries an empty sentence when a folder held no readable film (the window words that case).
    """

    loading = Signal(str)  # name being opened, for the status bar
    loaded = Signal(object)  # LoadedFilm
    failed = Signal(str)
    idle = Signal()  # no request is pending any more (after loaded / failed)

    _done = Signal(int, object)  # token, LoadedFilm | str; emitted on a pool thread, queued to this object

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tokens = itertools.count(1)
        self._current = 0
        self._lock = threading.Lock()
        # No Qt parent: the pool outlives the window's C++ side, so a job finishing after close only finds its
        # reply undeliverable (caught in ``_job``) instead of a half-destroyed pool.
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(2)  # a new request need not wait for a slow decode it supersedes
        self.pending: LoadRequest | None = None
        self._done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)  # delivered on the GUI thread
        warm_up()

    @property
    def busy(self) -> bool:
        return self.pending is not None

    def open(self, paths: list[Path] | tuple[Path, ...], quiet: bool = False) -> int:
        """Start loading the first readable film of ``paths``; returns the request's number."""
        with self._lock:
            token = next(self._tokens)
            self._current = token
        request = LoadRequest(token, tuple(Path(p) for p in paths), quiet)
        self.pending = request
        self.loading.emit(request.paths[0].name if len(request.paths) == 1 else request.paths[0].parent.name)
        self.pool.start(lambda: self._job(request))
        return token

    def _is_current(self, token: int) -> bool:
        with self._lock:
            return token == self._current

    def _job(self, request: LoadRequest) -> None:
        """Runs on a pool thread."""
        answer = load_first(request, lambda: self._is_current(request.token))
        with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
            self._done.emit(request.token, answer)

    @Slot(int, object)
    def _deliver(self, token: int, answer: object) -> None:
        if self.pending is None or token != self.pending.token:
            return  # a stale reply: another film was asked for since
        self.pending = None
        if isinstance(answer, LoadedFilm):
            self.loaded.emit(answer)
        else:
            self.failed.emit(str(answer))
        self.idle.emit()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the pool is idle (closing the window; scripts). Replies still arrive through the loop."""
        return bool(self.pool.waitForDone(timeout_ms))
