"""A result's pixels, computed off the GUI thread: the counterfactual under the user's window and the overlay layer.

On a 2k film each is ~0.1 s of numpy (a window pass, the colour ramp, the uint8 conversion); done on the GUI
thread when a result arrived, they froze the window. Here they are computed into small caches by a pool thread as
QImages (thread-safe, unlike QPixmap) already in the pixmap's own format, and the view re-renders from the caches
when a job reports in. Small films are drawn in place: cheaper than a thread hop, and drawn the moment they are
asked for.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from vald_desktop.gui.overlay_cache import overlay_image_for
from vald_desktop.gui.qimage import pixmap_ready_qimage

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.films.windowing import Window

T = TypeVar("T")
Pixels = tuple[np.ndarray, QImage]

ASYNC_MIN_PIXELS = 1_000_000  # below this a result is drawn on the GUI thread (a 1 Mpx film costs < 15 ms)


def relative_pixels(image: np.ndarray, film: Film, window: Window) -> np.ndarray:
    """A counterfactual (or preview) as the original is shown under ``window`` (float [0, 1] HxW)."""
    from vald_desktop.core.attribution.viewing import relative_display

    return relative_display(
        np.asarray(image, dtype=np.float32),
        film.default_window,
        window,
        bool(film.monochrome1),
    )


def counterfactual_pixels(image: np.ndarray, film: Film, window: Any) -> Pixels:
    """:func:`relative_pixels`, and the same as a QImage ready for a pixmap."""
    rel = relative_pixels(image, film, window)
    return rel, pixmap_ready_qimage(rel)


class ResultDrawer(QObject):
    """Cache-or-compute for result pixels. ``ready`` fires (on the GUI thread) when a background job is done.

    Each render first calls :meth:`begin` and then asks for what it shows; a queued job whose pixels are no longer
    asked for by then is skipped, so dragging a slider never builds a backlog of stale layers.
    """

    ready = Signal()
    _done = Signal(object)  # key; emitted on the pool thread, queued to this (GUI-thread) object

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._counterfactuals: OrderedDict[Hashable, tuple[tuple[np.ndarray, Film], Pixels]] = OrderedDict()
        self._wanted: set[Hashable] = set()
        self._pending: set[Hashable] = set()
        self.pool = (
            QThreadPool()
        )  # no Qt parent: a job finishing after the window closed just finds no receiver
        self.pool.setMaxThreadCount(1)
        self._done.connect(self._finished, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """A job is computing pixels the current render asked for."""
        with self._lock:
            return bool(self._pending & self._wanted)

    def begin(self) -> None:
        """A new render starts: forget what the previous one asked for."""
        with self._lock:
            self._wanted = set()

    # -- what the view asks for ------------------------------------------------------------------------------
    def counterfactual(self, image: np.ndarray, film: Film, window: Any) -> Pixels | None:
        """``image`` (a result's counterfactual or a full-size preview) under ``window``, or None while computed."""
        key = ("cf", id(image), id(film), window)

        def compute() -> Pixels:
            value = counterfactual_pixels(image, film, window)
            with self._lock:
                self._counterfactuals[key] = ((image, film), value)  # the objects pin their ids while cached
                while len(self._counterfactuals) > 2:  # 2k: ~30 MB each; a W/L drag makes a new one per step
                    self._counterfactuals.popitem(last=False)
            return value

        with self._lock:
            hit = self._counterfactuals.get(key)
            if hit is not None and hit[0][0] is image and hit[0][1] is film:
                self._counterfactuals.move_to_end(key)
                return hit[1]
        return self._get(key, compute, _pixels(image))

    def layer(self, result: RunResult, mode: str, threshold: float) -> QImage | None:
        key = ("layer", id(result), str(mode), float(threshold))
        cached = overlay_image_for(result, mode, threshold, compute=False)
        if cached is not None:
            return cached
        return self._get(key, lambda: overlay_image_for(result, mode, threshold), _pixels(result.map))

    # -- machinery -------------------------------------------------------------------------------------------
    def _get(self, key: Hashable, compute: Callable[[], T], pixels: int) -> T | None:
        if pixels < ASYNC_MIN_PIXELS:
            return compute()
        with self._lock:
            self._wanted.add(key)
            if key in self._pending:
                return None
            self._pending.add(key)
        self.pool.start(lambda: self._job(key, compute))
        return None

    def _job(self, key: Hashable, compute: Callable[[], object]) -> None:
        """Runs on the pool thread."""
        with self._lock:
            skip = key not in self._wanted
        if not skip:
            compute()
        with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
            self._done.emit(key)

    @Slot(object)
    def _finished(self, key: Hashable) -> None:
        with self._lock:
            self._pending.discard(key)
            wanted = key in self._wanted
        if wanted:
            self.ready.emit()

    def wait(self, timeout_ms: int = 30000) -> bool:
        return bool(self.pool.waitForDone(timeout_ms))


def _pixels(a: np.ndarray) -> int:
    shape = np.shape(a)
    return int(shape[0] * shape[1]) if len(shape) >= 2 else 0
