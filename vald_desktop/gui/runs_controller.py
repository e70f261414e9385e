"""Running the model: Generate / Cancel, progress and previews, results and their history, model and mask choice.

The sampler works on its own thread (:class:`~.worker.SamplerController`); this controller turns the widgets'
requests into its requests and its replies into what the widgets show. Replies that belong to a film no longer
on screen are dropped (the film's key tells them apart).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from vald_desktop.core.base.errors import FilmError, SettingsError, ValdError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.models import recommended_settings, resolve_model_dir
from vald_desktop.core.films.kind import check_film
from vald_desktop.gui.controls import RunControls
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.film_view import FilmView
from vald_desktop.gui.history import THUMB, HistoryEntry, HistoryPanel
from vald_desktop.gui.mask_editor import MaskEditor
from vald_desktop.gui.messages import Messages
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.region_editor import RegionEditor
from vald_desktop.gui.worker import AutoMask, FilmImage, SamplerController

if TYPE_CHECKING:
    from vald_desktop.core.engine.models import ModelInfo
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask


@dataclass(frozen=True)
class RunWidgets:
    """The widgets a run reads its inputs from and shows its progress and results in."""

    controls: RunControls
    view: FilmView
    history: HistoryPanel
    mask_editor: MaskEditor
    overlay: OverlayControls
    model_status: QLabel  # the status bar's model line
    region: RegionEditor | None = None  # the edit region: a run changes the film only inside it


class RunsController(QObject):
    """Generate, Cancel, the model and the lung mask of runs. ``generating``: a run is about to start (the window
    saves its settings then); ``resultReady``: a run's result is on screen (exports and sends may start)."""

    generating = Signal()
    resultReady = Signal(object)  # RunResult

    def __init__(
        self,
        window: QWidget,
        messages: Messages,
        document: CurrentFilm,
        sampler: SamplerController,
        widgets: RunWidgets,
        model_dir: Path | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._messages = messages
        self._document = document
        self._sampler = sampler
        self._w = widgets
        self.model_info: ModelInfo | None = None
        self.model_choice: Path | None = None
        if model_dir is not None:
            self.use_model_dir(model_dir)
        self._run_key: str | None = None  # the film the run in progress belongs to
        self._run_t0 = 0.0
        c = widgets.controls
        c.generateRequested.connect(self.generate)
        c.cancelRequested.connect(self.cancel_run)
        c.modelChosen.connect(self.choose_model)
        c.browseModelRequested.connect(self.browse_model)
        s = sampler  # its signals are the worker's, already queued onto the GUI thread
        s.started.connect(self._on_started)
        s.progress.connect(self._on_progress)
        s.preview.connect(self._on_preview)
        s.finished.connect(self._on_finished)
        s.failed.connect(self._on_failed)
        s.cancelled.connect(self._on_cancelled)
        s.status.connect(messages.show_status)
        s.model_loaded.connect(self._on_model_loaded)
        s.model_failed.connect(self._on_model_failed)
        s.mask_ready.connect(self._on_mask_ready)
        s.mask_failed.connect(self._on_mask_failed)
        widgets.history.restoreRequested.connect(self.restore_entry)
        widgets.history.compareRequested.connect(self.compare_entries)
        widgets.mask_editor.maskChanged.connect(self._mask_edited)

    @property
    def busy(self) -> bool:
        return self._sampler.busy

    # -- model -----------------------------------------------------------------------------------------------
    def use_model_dir(self, path: Path) -> None:
        """Make ``path`` the model to load (without loading it) and show it in the model list."""
        self.model_choice = path
        self._w.controls.add_model_dir(path)

    def start(self) -> None:
        """Begin loading the model in the background (called once the window is on screen)."""
        self._w.controls.model_label.setText("Loading…")
        self._sampler.load_model(self.model_choice)

    def choose_model(self, path: Path | None) -> None:
        self.model_choice = path
        self.model_info = None
        self._w.controls.model_label.setText("Loading…")
        self._w.model_status.setText("Model: loading")
        self._sampler.load_model(path)

    def browse_model(self) -> None:
        controls = self._w.controls
        name = QFileDialog.getExistingDirectory(self._window, "Choose a model folder")
        if name:
            controls.add_model_dir(Path(name))
            self.choose_model(Path(name))
        elif self.model_choice is not None:
            controls.add_model_dir(self.model_choice)  # dialog cancelled: show the model still in use
        else:
            controls.model_combo.setCurrentIndex(0)

    def recommended(self) -> dict[str, Any]:
        """What the chosen model folder recommends; {} for none or an unreadable file."""
        try:
            return recommended_settings(resolve_model_dir(self.model_choice))
        except ValdError:
            return {}

    def use_recommended_settings(self) -> None:
        """Run ▸ Use the model's recommended settings: only the recommended values change, the rest stay."""
        rec = self.recommended()
        if not rec:
            self._messages.show_status("This model recommends no settings.")
            return
        controls = self._w.controls
        try:
            current = controls.settings()
        except SettingsError:  # a half-typed value: start from the defaults instead
            current = RunSettings()
        try:
            chosen = current.replace(**rec)
        except SettingsError as exc:  # e.g. an inverted start with several seeds: say why, change nothing
            self._messages.show_status(f"The model's recommended settings do not fit the current ones: {exc}")
            return
        controls.set_settings(chosen)
        said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in rec.items())
        self._messages.show_status(f"Using the model's recommended settings: {said}.")

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        # Stand-in engines (tests, scripts) may leave the native size out of what they report.
        size = getattr(info, "native_size", None)
        extra = f" · {size}px" if size else ""
        self._w.controls.model_label.setText(f"{info.name}\n{info.device} {info.dtype}{extra}")
        self._w.model_status.setText(f"Model: {info.name} on {info.device}")
        self._messages.show_status(f"Model {info.name} ready on {info.device}.")

    def _on_model_failed(self, sentence: str) -> None:
        self.model_info = None
        self._w.controls.model_label.setText(f"Not available: {sentence}")
        self._w.model_status.setText("Model: not available")
        self._messages.show_error(sentence, "Model")

    # -- masks -----------------------------------------------------------------------------------------------
    def _on_mask_ready(self, key: str, mask: LungMask) -> None:
        if key != self._document.key:
            return  # a mask for a film that is no longer open
        self._document.auto_mask = mask
        editor = self._w.mask_editor
        if editor.edit is None:
            editor.set_automatic(mask, layer=self._sampler.outline_layer(key))  # with its verdict
        why = f": {mask.reasons[0].rstrip('.')}" if mask.reasons else ""
        doubt = f", but the mask is uncertain{why}" if mask.is_uncertain else ""
        self._messages.show_status(f"Lungs found ({mask.source}){doubt}.")

    def _on_mask_failed(self, key: str, sentence: str) -> None:
        if key == self._document.key:
            self._messages.show_status(sentence)

    def _mask_edited(self) -> None:
        ed = self._w.mask_editor.edit
        if ed is None:
            return
        mode = "edited" if ed.edited else ("file" if ed.source == "file" else "auto")
        self._w.controls.set_mask_mode(mode)

    def _mask_for(self, settings: RunSettings, film: Film) -> LungMask | AutoMask | None:
        mode = settings.mask_mode
        doc = self._document
        if mode == "none":
            return None
        if mode == "auto":
            return doc.auto_mask if doc.auto_mask is not None else AutoMask(doc.key or "", film, doc.path)
        editor = self._w.mask_editor
        ed = editor.edit
        if mode == "file" and (ed is None or ed.source != "file"):
            raise SettingsError("Load a lung mask file first (Load… in the lung mask toolbar).")
        if ed is None:
            raise SettingsError("There is no lung mask to edit yet; choose the automatic mask or none.")
        return editor.lung_mask()

    # -- runs ------------------------------------------------------------------------------------------------
    def generate(self) -> None:
        if self._sampler.busy:
            return
        film = self._document.film
        if film is None:
            self._messages.show_error("Open a film first (File > Open, or drop a file on the window).")
            return
        controls = self._w.controls
        try:
            kind = check_film(film)  # CT, MR, ultrasound, lateral views …: no counterfactual is made of them
            settings = controls.settings()
            mask = self._mask_for(settings, film)
        except (FilmError, SettingsError) as exc:
            self._messages.show_error(str(exc))
            return
        self.generating.emit()
        self._run_key = self._document.key
        controls.set_running(True)
        image = self._model_image(film)
        region = self._w.region.region() if self._w.region is not None else None
        self._sampler.run(image, settings, mask, self.model_choice, film.sha256 or None, kind, region)

    def _model_image(self, film: Film) -> np.ndarray | FilmImage:
        """The film as the model sees it (as the file asks to show it): the panels' display when they show just
        that, else windowed on the sampler thread (a 2k film's windowing held the GUI thread ~20 ms)."""
        shown = self._w.view.display_for(film, film.default_window)
        return shown if shown is not None else FilmImage(film, film.default_window)

    def cancel_run(self) -> None:
        if self._sampler.busy:
            self._sampler.cancel()
            self._messages.show_status("Cancelling…")

    def _on_started(self) -> None:
        self._run_t0 = time.monotonic()
        self._w.controls.set_running(True)

    def _on_progress(self, step: int, total: int, eta: float) -> None:
        self._w.controls.show_progress(step, total, eta)

    def _on_preview(self, image: np.ndarray) -> None:
        if self._run_key == self._document.key:
            self._w.view.set_preview(image)

    def _on_finished(self, result: RunResult) -> None:
        seconds = time.monotonic() - self._run_t0
        w, doc = self._w, self._document
        w.controls.set_running(False)
        w.controls.show_idle(f"Done in {seconds:.1f} s")
        if self._run_key != doc.key:
            return  # the user opened another film meanwhile
        settings = result.settings
        doc.result = result
        w.view.set_result(result)
        overlay = w.view.overlay_rgb(result, max_size=2 * THUMB)
        if overlay is not None:
            w.history.add(settings, result, overlay, seconds)
        w.controls.remember_seed(settings.seed)
        self.resultReady.emit(result)
        if doc.auto_mask is None and result.mask is not None and settings.mask_mode == "auto":
            self._on_mask_ready(doc.key or "", result.mask)
        self._messages.show_status(f"Counterfactual ready in {seconds:.1f} s.")

    def _on_failed(self, sentence: str) -> None:
        self._w.controls.set_running(False)
        self._w.controls.show_idle("Failed")
        self._w.view.drop_preview()
        self._messages.show_error(sentence)

    def _on_cancelled(self) -> None:
        self._w.controls.set_running(False)
        self._w.controls.show_idle("Cancelled")
        self._w.view.drop_preview()
        self._messages.show_status("Run cancelled.")

    # -- history ---------------------------------------------------------------------------------------------
    def restore_entry(self, entry: HistoryEntry) -> None:
        self._w.controls.set_settings(entry.settings)
        self._document.result = entry.result
        self._w.view.set_result(entry.result)
        self._messages.show_status(f"Restored run #{entry.number}.")

    def compare_entries(self, a: HistoryEntry, b: HistoryEntry) -> None:
        self._w.view.show_compare(
            a.result,
            b.result,
            (f"Run #{a.number}: {a.settings.prompt}", f"Run #{b.number}: {b.settings.prompt}"),
        )
        self._messages.show_status(f"Comparing run #{a.number} with run #{b.number}; click a run to leave.")
