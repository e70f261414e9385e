"""Main-window part that runs the model: Generate / Cancel, progress, results, history, model and mask choice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from vald_desktop.core.base.errors import SettingsError, ValdError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.models import recommended_settings, resolve_model_dir
from vald_desktop.gui.history import THUMB
from vald_desktop.gui.worker import AutoMask, FilmImage

if TYPE_CHECKING:
    from vald_desktop.gui.history import HistoryEntry
    from vald_desktop.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class RunsMixin(_Base):
    def _init_runs(self) -> None:
        self.result: Any = None
        self.auto_mask: Any = None
        self.model_info: Any = None
        self._run_key: str | None = None
        self._run_settings: Any = None
        self._run_t0 = 0.0

    # -- model -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Begin loading the model in the background (called once the window is on screen)."""
        self.controls.model_label.setText("Loading…")
        self.controller.load_model(self.model_choice)

    def choose_model(self, path: Path | None) -> None:
        self.model_choice = path
        self.model_info = None
        self.controls.model_label.setText("Loading…")
        self.model_status.setText("Model: loading")
        self.controller.load_model(path)

    def browse_model(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if name:
            self.controls.add_model_dir(Path(name))
            self.choose_model(Path(name))
        elif self.model_choice is not None:
            self.controls.add_model_dir(self.model_choice)  # dialog cancelled: show the model still in use
        else:
            self.controls.model_combo.setCurrentIndex(0)

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
            self.show_status("This model recommends no settings.")
            return
        try:
            current = self.controls.settings()
        except SettingsError:  # a half-typed value: start from the defaults instead
            current = RunSettings()
        try:
            chosen = current.replace(**rec)
        except SettingsError as exc:  # e.g. an inverted start with several seeds: say why, change nothing
            self.show_status(f"The model's recommended settings do not fit the current ones: {exc}")
            return
        self.controls.set_settings(chosen)
        said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in rec.items())
        self.show_status(f"Using the model's recommended settings: {said}.")

    def _model_dirs(self) -> list[str]:
        combo = self.controls.model_combo
        dirs = [combo.itemData(i) for i in range(combo.count())]
        return [d for d in dirs if isinstance(d, str) and d != "browse"]

    def _on_model_loaded(self, info: Any) -> None:
        self.model_info = info
        name = getattr(info, "name", "model")
        device = getattr(info, "device", "?")
        dtype = getattr(info, "dtype", "")
        size = getattr(info, "native_size", None)
        extra = f" · {size}px" if size else ""
        self.controls.model_label.setText(f"{name}\n{device} {dtype}{extra}")
        self.model_status.setText(f"Model: {name} on {device}")
        self.show_status(f"Model {name} ready on {device}.")

    def _on_model_failed(self, sentence: str) -> None:
        self.model_info = None
        self.controls.model_label.setText(f"Not available: {sentence}")
        self.model_status.setText("Model: not available")
        self.show_error(sentence, "Model")

    # -- masks -----------------------------------------------------------------------------------------------
    def _on_mask_ready(self, key: str, mask: Any) -> None:
        if key != self.film_key:
            return  # a mask for a film that is no longer open
        self.auto_mask = mask
        if self.mask_editor.edit is None:
            if not getattr(self, "_layer_images_wired", False):  # the editor is built after ``_init_runs``
                self.mask_editor.layerImageChanged.connect(self.panels.original.set_layer_image)
                self._layer_images_wired = True
            layer = self.controller.worker.outline_layers.get(key)
            self.mask_editor.set_automatic(mask.mask, getattr(mask, "source", "auto"), layer)
        self.show_status(f"Lungs found ({getattr(mask, 'source', 'auto')}).")

    def _on_mask_failed(self, key: str, sentence: str) -> None:
        if key == self.film_key:
            self.show_status(sentence)

    def _mask_edited(self) -> None:
        ed = self.mask_editor.edit
        if ed is None:
            return
        mode = "edited" if ed.edited else ("file" if ed.source == "file" else "auto")
        self.controls.set_mask_mode(mode)

    def _mask_for(self, settings: Any) -> Any:
        mode = settings.mask_mode
        if mode == "none":
            return None
        if mode == "auto":
            return (
                self.auto_mask
                if self.auto_mask is not None
                else AutoMask(self.film_key, self.film, self.film_path)
            )
        ed = self.mask_editor.edit
        if mode == "file" and (ed is None or ed.source != "file"):
            raise SettingsError("Load a lung mask file first (Load… in the lung mask toolbar).")
        if ed is None:
            raise SettingsError("There is no lung mask to edit yet; choose the automatic mask or none.")
        return self.mask_editor.lung_mask()

    # -- runs ------------------------------------------------------------------------------------------------
    def generate(self) -> None:
        if self.controller.busy:
            return
        if self.film is None:
            self.show_error("Open a film first (File > Open, or drop a file on the window).")
            return
        try:
            settings = self.controls.settings()
            mask = self._mask_for(settings)
        except SettingsError as exc:
            self.show_error(str(exc))
            return
        self.save_state()
        self._run_key = self.film_key
        self._run_settings = settings
        self.controls.set_running(True)
        ov = self.overlay_controls.values()
        self.controller.worker.layer_hint = (
            str(ov["mode"]),
            float(ov["threshold"]),
        )  # a plain tuple, read once
        self.controller.run(self._model_image(), settings, mask, self.model_choice, self.film.sha256 or None)

    def _model_image(self) -> Any:
        """The film as the model sees it (as the file asks to show it): the panels' display when they show just
        that, else windowed on the sampler thread (a 2k film's windowing held the GUI thread ~20 ms)."""
        film = self.film
        shown = getattr(self.view, "_display_key", None)
        display = getattr(self.view, "_display", None)
        if display is not None and shown is not None and shown[0] is film and shown[1] == film.default_window:
            return display
        return FilmImage(film, film.default_window)

    def cancel_run(self) -> None:
        if self.controller.busy:
            self.controller.cancel()
            self.show_status("Cancelling…")

    def _on_started(self) -> None:
        self._run_t0 = time.monotonic()
        self.controls.set_running(True)

    def _on_progress(self, step: int, total: int, eta: float) -> None:
        self.controls.show_progress(step, total, eta)

    def _on_preview(self, image: Any) -> None:
        if self._run_key == self.film_key:
            self.view.set_preview(image)

    def _on_finished(self, result: Any) -> None:
        seconds = time.monotonic() - self._run_t0
        self.controls.set_running(False)
        self.controls.show_idle(f"Done in {seconds:.1f} s")
        if self._run_key != self.film_key:
            return  # the user opened another film meanwhile
        settings = getattr(result, "settings", None) or self._run_settings
        self.result = result
        self.view.set_result(result)
        overlay = self.view.overlay_rgb(result, max_size=2 * THUMB)
        if overlay is not None:
            self.history.add(settings, result, overlay, seconds)
        self.controls.remember_seed(settings.seed)
        for act in getattr(self, "export_actions", []):
            act.setEnabled(True)
        self._refresh_pacs_actions()
        if (
            self.auto_mask is None
            and getattr(result, "mask", None) is not None
            and settings.mask_mode == "auto"
        ):
            self._on_mask_ready(self.film_key, result.mask)
        self.show_status(f"Counterfactual ready in {seconds:.1f} s.")

    def _on_failed(self, sentence: str) -> None:
        self.controls.set_running(False)
        self.controls.show_idle("Failed")
        self.view.preview = None
        self.view.render()
        self.show_error(sentence)

    def _on_cancelled(self) -> None:
        self.controls.set_running(False)
        self.controls.show_idle("Cancelled")
        self.view.preview = None
        self.view.render()
        self.show_status("Run cancelled.")

    # -- history ---------------------------------------------------------------------------------------------
    def restore_entry(self, entry: HistoryEntry) -> None:
        self.controls.set_settings(entry.settings)
        self.result = entry.result
        self.view.set_result(entry.result)
        self.show_status(f"Restored run #{entry.number}.")

    def compare_entries(self, a: HistoryEntry, b: HistoryEntry) -> None:
        self.view.show_compare(
            a.result,
            b.result,
            (f"Run #{a.number}: {a.settings.prompt}", f"Run #{b.number}: {b.settings.prompt}"),
        )
        self.show_status(f"Comparing run #{a.number} with run #{b.number}; click a run to leave.")
