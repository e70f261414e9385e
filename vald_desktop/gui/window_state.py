"""What outlives the window, kept in QSettings: geometry and docks, run settings, overlay style, recent films,
the model folders. Stored values from another version or hand-edited ones fall back to the defaults."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QDockWidget, QMainWindow

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.gui.controls import RunControls
from vald_desktop.gui.files_controller import FilesController
from vald_desktop.gui.film_view import FilmView
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.runs_controller import RunsController


def stored_list(qsettings: QSettings, key: str) -> list[str]:
    """A list setting; QSettings hands back a single string for a one-item list in INI files."""
    value = qsettings.value(key, [])
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


class Remembered(Protocol):
    """A part of the window with state of its own to keep (e.g. the reading room's layout)."""

    def save_settings(self, qs: QSettings) -> None: ...

    def restore_settings(self, qs: QSettings) -> None: ...


class WindowState:
    """Restores the window's state at start (``restore``) and saves it (``save``: on close, before each run)."""

    def __init__(
        self,
        qsettings: QSettings,
        window: QMainWindow,
        controls: RunControls,
        overlay: OverlayControls,
        view: FilmView,
        files: FilesController,
        runs: RunsController,
        parts: Sequence[Remembered] = (),
    ) -> None:
        self._qs = qsettings
        self._window = window
        self._controls = controls
        self._overlay = overlay
        self._view = view
        self._files = files
        self._runs = runs
        self._parts = list(parts)

    def restore(self, private_dock: QDockWidget) -> None:
        """Bring back the last session; ``private_dock`` starts hidden whatever was saved."""
        s, controls = self._qs, self._controls
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self._window.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self._window.restoreState(state)
        private_dock.hide()  # hidden by default: metadata may identify the patient
        raw = s.value("run/settings", "")
        first_start = not raw
        if raw:
            # Settings from an incompatible version: keep the defaults.
            with contextlib.suppress(ValueError, TypeError, ValdError):
                controls.set_settings(RunSettings.from_dict(json.loads(str(raw))))
        raw = s.value("view/overlay", "")
        if raw:
            try:
                self._overlay.set_values(json.loads(str(raw)))
                self._view.set_overlay(self._overlay.values())
            except (ValueError, TypeError):
                pass
        for d in stored_list(s, "model/recent"):
            if Path(d).is_dir():
                controls.add_model_dir(Path(d), select=False)
        if self._runs.model_choice is None:
            chosen = str(s.value("model/choice", "") or "")
            if chosen and Path(chosen).is_dir():
                self._runs.use_model_dir(Path(chosen))
        for part in self._parts:
            part.restore_settings(s)
        if first_start:  # no settings of the user's own yet: start from what the model recommends
            rec = self._runs.recommended()
            with contextlib.suppress(ValdError):  # recommendations that do not fit: keep the defaults
                if rec:
                    controls.set_settings(controls.settings().replace(**rec))

    def save(self) -> None:
        s = self._qs
        s.setValue("window/geometry", self._window.saveGeometry())
        s.setValue("window/state", self._window.saveState())
        with contextlib.suppress(ValdError):  # an invalid half-typed setting is not worth keeping
            s.setValue("run/settings", json.dumps(self._controls.settings().to_dict()))
        s.setValue("view/overlay", json.dumps(self._overlay.values()))
        s.setValue("files/recent", self._files.recent)
        choice = self._runs.model_choice
        s.setValue("model/choice", str(choice) if choice else "")
        s.setValue("model/recent", self._controls.model_dirs())
        for part in self._parts:
            part.save_settings(s)
        s.sync()
