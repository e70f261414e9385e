"""The sampler worker: a QObject living on its own QThread that loads the model, finds lungs and runs the engine.

The GUI thread never calls the engine. It sends requests through queued signals (``SamplerController``) and gets
plain data back: step counts, preview arrays, the result or one error sentence. torch and diffusers are imported
here, inside the worker thread, the first time a model is needed, so the window is on screen before they load.
Cancel is cooperative: :meth:`SamplerController.cancel` sets a ``threading.Event`` the engine checks every step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vald_desktop.core.base.errors import Cancelled, OutOfMemoryError, ValdError
from vald_desktop.gui.overlay_cache import display_norm

log = logging.getLogger(__name__)

EngineFactory = Callable[[Path | None], Any]


@dataclass(frozen=True)
class AutoMask:
    """Ask the worker for the film's automatic lung mask (found on the worker thread, then cached per film)."""

    key: str
    film: Any
    path: Path | None = None  # where the film was opened from: finds a dataset's sibling mask


@dataclass(frozen=True)
class FilmImage:
    """Ask the worker to window the film itself (numpy work kept off the GUI thread)."""

    film: Any
    window: Any


def default_engine_factory(model_dir: Path | None) -> Any:
    """Build the real engine; imported lazily because ``core.sampler`` imports torch."""
    from vald_desktop.core.engine.sampler import Engine

    return Engine(model_dir=model_dir)


def _sentence(exc: BaseException) -> str:
    """What the user reads for an unexpected failure: one sentence, the details go to the log."""
    if isinstance(exc, ValdError):
        return str(exc)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return str(
            OutOfMemoryError("The computer ran out of memory; try fewer steps, one seed or a smaller model.")
        )
    return f"The run failed unexpectedly ({type(exc).__name__}); the details are in the log."


class SamplerWorker(QObject):
    """Runs on the worker thread. Signals carry plain Python objects across to the GUI thread."""

    started = Signal()
    progress = Signal(int, int, float)  # step, total, eta seconds (negative when unknown)
    preview = Signal(object)  # float32 HxW [0, 1]
    finished = Signal(object)  # RunResult
    failed = Signal(str)
    cancelled = Signal()
    status = Signal(str)
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    mask_ready = Signal(object, object)  # (film sha or id, LungMask)
    mask_failed = Signal(object, str)

    def __init__(self, engine_factory: EngineFactory | None = None, engine: Any = None) -> None:
        super().__init__()
        self._factory = engine_factory or default_engine_factory
        self._engine = engine
        self._engine_dir: Path | None = None
        self._loaded = False
        self.layer_hint: tuple[str, float] | None = None  # (overlay mode, threshold) the GUI will draw
        self._masks: dict[str, Any] = {}  # film key -> LungMask (automatic); a few films at most
        # film key -> its mask's OutlineLayer, made here so the GUI thread only shows it
        self.outline_layers: dict[str, Any] = {}
        self.cancel_event = threading.Event()

    # -- model -----------------------------------------------------------------------------------------------
    @Slot(object)
    def load_model(self, model_dir: Path | None) -> None:
        try:
            self._ensure_model(model_dir, force=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence for the user
            if not isinstance(exc, ValdError):
                log.exception("model loading failed")
            self._loaded = False
            self.model_failed.emit(_sentence(exc))

    def _ensure_model(self, model_dir: Path | None, force: bool = False) -> None:
        if self._loaded and not force and model_dir == self._engine_dir:
            return
        self.status.emit("Loading the model…")
        self._loaded = False
        if self._engine is None:
            self._engine = self._factory(model_dir)
        elif model_dir != self._engine_dir and hasattr(self._engine, "set_model"):
            self._engine.set_model(model_dir)  # frees the previous pipeline before the next one loads
        self._engine_dir = model_dir
        info = self._engine.load()  # cheap when this model is already loaded
        self._loaded = True
        self.model_loaded.emit(info)

    # -- masks -----------------------------------------------------------------------------------------------
    @Slot(object, object, object)
    def find_lungs(self, key: str, film: Any, path: Path | None) -> None:
        """Automatic lung mask for a film (dataset sibling mask, learned or built-in segmenter)."""
        try:
            self._auto_mask(key, film, path)
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, ValdError):
                log.exception("automatic lung mask failed")
            self.mask_failed.emit(key, _sentence(exc))

    def _auto_mask(self, key: str, film: Any, path: Path | None = None) -> Any:
        if key in self._masks:
            return self._masks[key]
        self.status.emit("Finding the lungs…")
        from vald_desktop.gui.lung_finding import find_lungs
        from vald_desktop.gui.mask_editor import outline_layer

        found = find_lungs(film, path)  # in the helper process: its numpy would starve the window's thread
        for message in found.warnings:
            self.status.emit(message)
        if len(self._masks) >= 4:
            old = next(iter(self._masks))
            self._masks.pop(old)
            self.outline_layers.pop(old, None)
        self._masks[key] = found.mask
        self.outline_layers[key] = outline_layer(found.edge)  # set before the GUI thread hears of the mask
        self.mask_ready.emit(key, found.mask)
        return found.mask

    # -- runs ------------------------------------------------------------------------------------------------
    @Slot(object, object, object, object, object)
    def run(
        self,
        image: np.ndarray | FilmImage,
        settings: Any,
        mask: Any,
        model_dir: Path | None,
        film_sha: str | None,
    ) -> None:
        self.started.emit()
        cancel = self.cancel_event
        try:
            if cancel.is_set():
                raise Cancelled()
            if isinstance(image, FilmImage):
                image = image.film.display(image.window)
            if isinstance(mask, AutoMask):
                mask = self._auto_mask(mask.key, mask.film, mask.path)
            self._ensure_model(model_dir)
            if cancel.is_set():
                raise Cancelled()
            self.status.emit("Generating…")
            t0 = time.monotonic()

            def on_progress(p: Any) -> None:
                eta = getattr(p, "eta", None)
                self.progress.emit(int(p.step), int(p.total), -1.0 if eta is None else float(eta))
                prev = getattr(p, "preview", None)
                if prev is not None:
                    self.preview.emit(np.asarray(prev, dtype=np.float32))

            extra = {"film_sha256": film_sha} if film_sha else {}
            result = self._engine.run(
                image, settings, mask=mask, progress=on_progress, cancel=cancel, **extra
            )
            log.info("run finished in %.1f s", time.monotonic() - t0)
            display_norm(
                result
            )  # the overlay's costly normalisation, done here rather than on the GUI thread
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - the app must stay usable after any failure
            if not isinstance(exc, ValdError):
                log.exception("run failed")
            self.failed.emit(_sentence(exc))
            return
        self.finished.emit(result)


class SamplerController(QObject):
    """GUI-side handle: owns the thread, forwards requests as queued signals, re-emits the worker's signals.

    The worker's signals are connected signal-to-signal to the controller's own, so the receiver is a C++ QObject
    living on the GUI thread and Qt queues every reply onto it. Connect widgets to the controller, not to the
    worker: a Python callable connected straight to a worker signal may run on the worker thread.
    """

    started = Signal()
    progress = Signal(int, int, float)
    preview = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    status = Signal(str)
    model_loaded = Signal(object)
    model_failed = Signal(str)
    mask_ready = Signal(object, object)
    mask_failed = Signal(object, str)

    _load_requested = Signal(object)
    _run_requested = Signal(object, object, object, object, object)
    _lungs_requested = Signal(object, object, object)

    _RELAYED = ("started", "progress", "preview", "finished", "failed", "cancelled", "status", "model_loaded",
                "model_failed", "mask_ready", "mask_failed")  # fmt: skip

    def __init__(
        self, engine_factory: EngineFactory | None = None, engine: Any = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("vald-sampler")
        self.worker = SamplerWorker(engine_factory, engine)
        self.worker.moveToThread(self.thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._load_requested.connect(self.worker.load_model, queued)
        self._run_requested.connect(self.worker.run, queued)
        self._lungs_requested.connect(self.worker.find_lungs, queued)
        for name in self._RELAYED:
            getattr(self.worker, name).connect(getattr(self, name), queued)
        self.busy = False
        # Same-thread connections from here on: the relayed signals are emitted on the GUI thread.
        self.started.connect(self._on_started)
        for sig in (self.finished, self.failed, self.cancelled):
            sig.connect(self._on_done)
        self.thread.start()

    def load_model(self, model_dir: Path | None) -> None:
        self._load_requested.emit(model_dir)

    def find_lungs(self, key: object, film: Any, path: Path | None = None) -> None:
        self._lungs_requested.emit(key, film, path)

    def run(
        self,
        image: np.ndarray | FilmImage,
        settings: Any,
        mask: Any,
        model_dir: Path | None,
        film_sha: str | None = None,
    ) -> None:
        # A new request clears an old cancel; the event is only read by the worker once the run starts.
        self.worker.cancel_event.clear()
        self.busy = True
        self._run_requested.emit(image, settings, mask, model_dir, film_sha)

    def cancel(self) -> None:
        self.worker.cancel_event.set()

    def _on_started(self) -> None:
        self.busy = True

    def _on_done(self, *_: object) -> None:
        self.busy = False

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the thread; a run in progress is cancelled first so closing the window is quick."""
        self.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)
