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
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vald_desktop.core.base.errors import Cancelled, OutOfMemoryError, ValdError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.gui.lung_finding import find_lungs
from vald_desktop.gui.mask_editor import OutlineLayer, outline_color, outline_layer
from vald_desktop.gui.overlay_cache import display_norm

if TYPE_CHECKING:
    from vald_desktop.core.engine.models import ModelInfo
    from vald_desktop.core.engine.sampler import Progress, RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.films.kind import FilmKind
    from vald_desktop.core.films.windowing import Window
    from vald_desktop.core.masks.lung_mask import LungMask
    from vald_desktop.core.masks.region import EditRegion

log = logging.getLogger(__name__)


class RunEngine(Protocol):
    """What the worker asks of an engine: ``core.engine.sampler.Engine``, or a stand-in (tests, benchmarks)."""

    def load(self) -> ModelInfo: ...

    def run(
        self,
        image: np.ndarray,
        settings: RunSettings,
        *,
        mask: LungMask | None = None,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        film_sha256: str | None = None,
        film_kind: FilmKind | None = None,
        region: EditRegion | None = None,
    ) -> RunResult: ...


@runtime_checkable
class SwitchesModels(Protocol):
    """An engine that can free one model and load another (stand-ins need not)."""

    def set_model(self, model_dir: str | Path | None) -> None: ...


EngineFactory = Callable[[Path | None], RunEngine]


@dataclass(frozen=True)
class AutoMask:
    """Ask the worker for the film's automatic lung mask (found on the worker thread, then cached per film)."""

    key: str
    film: Film
    path: Path | None = None  # where the film was opened from: finds a dataset's sibling mask


@dataclass(frozen=True)
class FilmImage:
    """Ask the worker to window the film itself (numpy work kept off the GUI thread)."""

    film: Film
    window: Window


def default_engine_factory(model_dir: Path | None) -> RunEngine:
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

    def __init__(self, engine_factory: EngineFactory | None = None, engine: RunEngine | None = None) -> None:
        super().__init__()
        self._factory = engine_factory or default_engine_factory
        self._engine = engine
        self._engine_dir: Path | None = None
        self._loaded = False
        self._masks: dict[str, LungMask] = {}  # film key -> LungMask (automatic); a few films at most
        # film key -> its mask's OutlineLayer, made here so the GUI thread only shows it
        self.outline_layers: dict[str, OutlineLayer] = {}
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

    def _ensure_model(self, model_dir: Path | None, force: bool = False) -> RunEngine:
        if self._loaded and not force and model_dir == self._engine_dir and self._engine is not None:
            return self._engine
        self.status.emit("Loading the model…")
        self._loaded = False
        engine = self._engine = self._engine_for(model_dir)
        info = engine.load()  # cheap when this model is already loaded
        self._loaded = True
        self.model_loaded.emit(info)
        return engine

    def _engine_for(self, model_dir: Path | None) -> RunEngine:
        engine = self._engine
        if engine is None:
            engine = self._factory(model_dir)
        elif model_dir != self._engine_dir and isinstance(engine, SwitchesModels):
            engine.set_model(model_dir)  # frees the previous pipeline before the next one loads
        self._engine_dir = model_dir
        return engine

    # -- masks -----------------------------------------------------------------------------------------------
    @Slot(object, object, object)
    def find_lungs(self, key: str, film: Film, path: Path | None) -> None:
        """Automatic lung mask for a film (dataset sibling mask, learned or built-in segmenter)."""
        try:
            self._auto_mask(key, film, path)
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, ValdError):
                log.exception("automatic lung mask failed")
            self.mask_failed.emit(key, _sentence(exc))

    def _auto_mask(self, key: str, film: Film, path: Path | None = None) -> LungMask:
        if key in self._masks:
            return self._masks[key]
        self.status.emit("Finding the lungs…")
        found = find_lungs(film, path)  # in the helper process: its numpy would starve the window's thread
        for message in found.warnings:
            self.status.emit(message)
        if len(self._masks) >= 4:
            old = next(iter(self._masks))
            self._masks.pop(old)
            self.outline_layers.pop(old, None)
        self._masks[key] = found.mask
        # Set before the GUI thread hears of the mask; amber when the mask's verdict is uncertain.
        self.outline_layers[key] = outline_layer(found.edge, outline_color(found.mask))
        self.mask_ready.emit(key, found.mask)
        return found.mask

    # -- runs ------------------------------------------------------------------------------------------------
    @Slot(object, object, object, object, object, object, object)
    def run(
        self,
        image: np.ndarray | FilmImage,
        settings: RunSettings,
        mask: LungMask | AutoMask | None,
        model_dir: Path | None,
        film_sha: str | None,
        film_kind: FilmKind | None = None,
        region: EditRegion | None = None,
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
            engine = self._ensure_model(model_dir)
            if cancel.is_set():
                raise Cancelled()
            self.status.emit("Generating…")
            t0 = time.monotonic()

            def on_progress(p: Progress) -> None:
                self.progress.emit(int(p.step), int(p.total), -1.0 if p.eta is None else float(p.eta))
                if p.preview is not None:
                    self.preview.emit(np.asarray(p.preview, dtype=np.float32))

            result = engine.run(
                image,
                settings,
                mask=mask,
                progress=on_progress,
                cancel=cancel,
                film_sha256=film_sha or None,
                film_kind=film_kind,  # what the header says the film is: part of the domain verdict
                region=region,  # the reader's edit region: nothing outside it changes
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
    _run_requested = Signal(object, object, object, object, object, object, object)
    _lungs_requested = Signal(object, object, object)

    _RELAYED = ("started", "progress", "preview", "finished", "failed", "cancelled", "status", "model_loaded",
                "model_failed", "mask_ready", "mask_failed")  # fmt: skip

    def __init__(
        self,
        engine_factory: EngineFactory | None = None,
        engine: RunEngine | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.sampler_thread = QThread()
        self.sampler_thread.setObjectName("vald-sampler")
        self.worker = SamplerWorker(engine_factory, engine)
        self.worker.moveToThread(self.sampler_thread)
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
        self.sampler_thread.start()

    def load_model(self, model_dir: Path | None) -> None:
        self._load_requested.emit(model_dir)

    def find_lungs(self, key: str, film: Film, path: Path | None = None) -> None:
        self._lungs_requested.emit(key, film, path)

    def run(
        self,
        image: np.ndarray | FilmImage,
        settings: RunSettings,
        mask: LungMask | AutoMask | None,
        model_dir: Path | None,
        film_sha: str | None = None,
        film_kind: FilmKind | None = None,
        region: EditRegion | None = None,
    ) -> None:
        # A new request clears an old cancel; the event is only read by the worker once the run starts.
        self.worker.cancel_event.clear()
        self.busy = True
        self._run_requested.emit(image, settings, mask, model_dir, film_sha, film_kind, region)

    def cancel(self) -> None:
        self.worker.cancel_event.set()

    def outline_layer(self, key: str) -> OutlineLayer | None:
        """The outline the worker made for film ``key``'s automatic mask (set before ``mask_ready`` is sent)."""
        return self.worker.outline_layers.get(key)

    def _on_started(self) -> None:
        self.busy = True

    def _on_done(self, *_: object) -> None:
        self.busy = False

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the thread; a run in progress is cancelled first so closing the window is quick."""
        self.cancel()
        self.sampler_thread.quit()
        self.sampler_thread.wait(timeout_ms)
