"""The main window: panels in the middle, run controls on the left, history on the right, mask tools on top.

It wires widgets to the worker and to core; the run/film logic lives in :class:`~.window_runs.RunsMixin` and
:class:`~.window_files.FilesMixin` so each file stays readable.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QScrollArea, QToolBar, QWidget

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.gui.controls import RunControls
from vald_desktop.gui.dialogs import HelpDialog, about_box
from vald_desktop.gui.film_view import FilmView
from vald_desktop.gui.history import HistoryPanel
from vald_desktop.gui.image_panels import PanelGroup
from vald_desktop.gui.mask_editor import MaskEditor
from vald_desktop.gui.metadata_panel import MetadataPanel
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.shortcuts import SHORTCUTS
from vald_desktop.gui.window_files import FilesMixin
from vald_desktop.gui.window_pacs import PacsMixin
from vald_desktop.gui.window_runs import RunsMixin
from vald_desktop.gui.worker import EngineFactory, SamplerController

ORGANISATION = "VALD-MD"
APPLICATION = "VALD-MD Desktop"


def default_qsettings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)


class MainWindow(FilesMixin, RunsMixin, PacsMixin, QMainWindow):
    def __init__(
        self,
        *,
        engine: Any = None,
        engine_factory: EngineFactory | None = None,
        model_dir: str | Path | None = None,
        qsettings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APPLICATION)
        self.setAcceptDrops(True)
        self.qsettings = qsettings if qsettings is not None else default_qsettings()
        self.film: Any = None
        self.film_path: Path | None = None
        self.film_key: str | None = None
        self.last_error: str | None = None  # the sentence of the last error shown (tests read it)
        self._error_box: QMessageBox | None = None
        self._init_files()
        self._init_runs()
        self._init_pacs()

        self.panels = PanelGroup()
        self.view = FilmView(self.panels, self)
        self.setCentralWidget(self.panels)
        self.overlay_controls = OverlayControls()

        self.controls = RunControls()
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(330)
        self.controls_dock = self._dock("Controls", scroll, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history = HistoryPanel()
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea)
        self.metadata = MetadataPanel()
        self.metadata_dock = self._dock(
            "DICOM metadata", self.metadata, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.metadata_dock.hide()

        self.mask_editor = MaskEditor()
        mask_bar = QToolBar("Lung mask")
        mask_bar.setObjectName("maskToolbar")
        mask_bar.addWidget(self.mask_editor)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, mask_bar)
        overlay_bar = QToolBar("Overlay")
        overlay_bar.setObjectName("overlayToolbar")
        overlay_bar.addWidget(QLabel(" Overlay: "))
        overlay_bar.addWidget(self.overlay_controls)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, overlay_bar)

        self.readout_label = QLabel("")
        self.window_label = QLabel("")
        self.model_status = QLabel("Model: not loaded")
        # Without stretch, so the temporary status messages keep room on the left.
        self.readout_label.setMinimumWidth(380)
        self.statusBar().addPermanentWidget(self.readout_label)
        self.statusBar().addPermanentWidget(self.window_label)
        self.statusBar().addPermanentWidget(self.model_status)

        self.controller = SamplerController(engine_factory=engine_factory, engine=engine, parent=self)
        self.model_choice: Path | None = Path(model_dir) if model_dir else None
        if self.model_choice is not None:
            self.controls.add_model_dir(self.model_choice)
        self.actions_by_name = self._build_actions()
        self._build_menus()
        self._connect()
        self._restore_state()
        self.resize(1500, 900)

    # -- construction ----------------------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "") + "Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> dict[str, QAction]:
        handlers = {
            "open": self.open_dialog, "open_folder": self.open_folder_dialog,
            "next_film": lambda: self.step_film(1), "prev_film": lambda: self.step_film(-1),
            "quit": self.close, "generate": self.generate, "cancel": self.cancel_run,
            "invert": self.view.invert, "reset_view": self.view.reset, "fit": self.panels.fit,
            "actual_size": self.panels.actual_size,
            "zoom_in": lambda: self.panels.original.zoom_by(1.25),
            "zoom_out": lambda: self.panels.original.zoom_by(0.8),
            "toggle_overlay": self.view.toggle_overlay,
            "toggle_metadata": lambda: self.metadata_dock.setVisible(not self.metadata_dock.isVisible()),
            "toggle_outline": self.mask_editor.show_outline.toggle,
            "brush": self.mask_editor.brush.toggle, "eraser": self.mask_editor.eraser.toggle,
            "brush_smaller": lambda: self.mask_editor.grow_brush(1 / 1.25),
            "brush_larger": lambda: self.mask_editor.grow_brush(1.25),
            "undo_mask": self.mask_editor.undo, "help": self.show_help,
        }  # fmt: skip
        for i in range(5):
            handlers[f"preset_{i + 1}"] = lambda _checked=False, i=i: self._preset(i)  # triggered(bool) first
        actions: dict[str, QAction] = {}
        for sc in SHORTCUTS:
            act = QAction(sc.description, self)
            act.setShortcuts([QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(handlers[sc.action])
            self.addAction(act)
            actions[sc.action] = act
        return actions

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        files = bar.addMenu("&File")
        for name in ("open", "open_folder"):
            files.addAction(a[name])
        self.recent_menu = files.addMenu("Open &recent")
        files.addAction(a["next_film"])
        files.addAction(a["prev_film"])
        files.addSeparator()
        self.export_menu = files.addMenu("&Export")
        self._build_export_menu(self.export_menu)
        self._build_pacs_menu(self.export_menu)
        files.addSeparator()
        files.addAction(a["quit"])
        view = bar.addMenu("&View")
        for name in ("fit", "actual_size", "zoom_in", "zoom_out", "reset_view", "invert"):
            view.addAction(a[name])
        presets = view.addMenu("Window/level presets")
        for i in range(5):
            presets.addAction(a[f"preset_{i + 1}"])
        view.addSeparator()
        view.addAction(a["toggle_overlay"])
        view.addAction(a["toggle_metadata"])
        view.addAction(self.controls_dock.toggleViewAction())
        view.addAction(self.history_dock.toggleViewAction())
        run = bar.addMenu("&Run")
        run.addAction(a["generate"])
        run.addAction(a["cancel"])
        run.addSeparator()
        self.recommended_action = QAction("Use the model's recommended settings", self)
        self.recommended_action.triggered.connect(self.use_recommended_settings)
        run.addAction(self.recommended_action)
        mask = bar.addMenu("&Mask")
        for name in ("toggle_outline", "brush", "eraser", "brush_smaller", "brush_larger", "undo_mask"):
            mask.addAction(a[name])
        helpm = bar.addMenu("&Help")
        helpm.addAction(a["help"])
        about = QAction("About VALD-MD Desktop", self)
        about.triggered.connect(self.show_about)
        helpm.addAction(about)
        self._refresh_recent_menu()

    def _connect(self) -> None:
        c = self.controls
        c.generateRequested.connect(self.generate)
        c.cancelRequested.connect(self.cancel_run)
        c.modelChosen.connect(self.choose_model)
        c.browseModelRequested.connect(self.browse_model)
        w = self.controller  # its signals are the worker's, already queued onto the GUI thread
        w.started.connect(self._on_started)
        w.progress.connect(self._on_progress)
        w.preview.connect(self._on_preview)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.status.connect(self.show_status)
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)
        w.mask_ready.connect(self._on_mask_ready)
        w.mask_failed.connect(self._on_mask_failed)
        self.view.readout.connect(self.readout_label.setText)
        self.view.windowChanged.connect(self.window_label.setText)
        self.overlay_controls.changed.connect(lambda: self.view.set_overlay(self.overlay_controls.values()))
        self.history.restoreRequested.connect(self.restore_entry)
        self.history.compareRequested.connect(self.compare_entries)
        ed = self.mask_editor
        ed.layerChanged.connect(self.panels.original.set_layer)
        ed.paintModeChanged.connect(self._paint_mode)
        ed.maskChanged.connect(self._mask_edited)
        ed.message.connect(self.show_status)
        for p in self.panels.panels:
            p.strokeStarted.connect(ed.stroke_start)
            p.strokeMoved.connect(ed.stroke_move)
            p.strokeEnded.connect(ed.stroke_end)

    # -- small actions ---------------------------------------------------------------------------------------
    def _preset(self, index: int) -> None:
        name = self.view.preset(index)
        if name:
            self.show_status(f"Window/level: {name}")

    def _paint_mode(self, on: bool) -> None:
        for p in self.panels.panels:
            p.paint_mode = on
            p.setDragMode(p.DragMode.NoDrag if on else p.DragMode.ScrollHandDrag)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_error(self, sentence: str, title: str = "VALD-MD Desktop") -> None:
        """Show one sentence (never a traceback) without blocking: the app stays usable."""
        self.last_error = sentence
        self.show_status(sentence)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, sentence, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda *_: setattr(self, "_error_box", None))
        self._error_box = box
        box.open()

    def show_help(self) -> None:
        HelpDialog(self).exec()

    def show_about(self) -> None:
        about_box(self).exec()

    # -- drag and drop ---------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # -- persistence -----------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = self.qsettings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.metadata_dock.hide()  # hidden by default: metadata may identify the patient
        raw = s.value("run/settings", "")
        first_start = not raw
        if raw:
            # Settings from an incompatible version: keep the defaults.
            with contextlib.suppress(ValueError, TypeError, ValdError):
                self.controls.set_settings(RunSettings.from_dict(json.loads(str(raw))))
        raw = s.value("view/overlay", "")
        if raw:
            try:
                self.overlay_controls.set_values(json.loads(str(raw)))
                self.view.set_overlay(self.overlay_controls.values())
            except (ValueError, TypeError):
                pass
        for d in self._stored_list("model/recent"):
            if Path(d).is_dir():
                self.controls.add_model_dir(Path(d), select=False)
        if self.model_choice is None:
            chosen = str(s.value("model/choice", "") or "")
            if chosen and Path(chosen).is_dir():
                self.model_choice = Path(chosen)
                self.controls.add_model_dir(self.model_choice)
        if first_start:  # no settings of the user's own yet: start from what the model recommends
            rec = self.recommended()
            with contextlib.suppress(ValdError):  # recommendations that do not fit: keep the defaults
                if rec:
                    self.controls.set_settings(self.controls.settings().replace(**rec))

    def save_state(self) -> None:
        s = self.qsettings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        with contextlib.suppress(ValdError):  # an invalid half-typed setting is not worth keeping
            s.setValue("run/settings", json.dumps(self.controls.settings().to_dict()))
        s.setValue("view/overlay", json.dumps(self.overlay_controls.values()))
        s.setValue("files/recent", self.recent)
        s.setValue("model/choice", str(self.model_choice) if self.model_choice else "")
        s.setValue("model/recent", self._model_dirs())
        s.sync()

    def _stored_list(self, key: str) -> list[str]:
        value = self.qsettings.value(key, [])
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in (value or [])]

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_state()
        self.controller.shutdown()
        self._shutdown_pacs()
        super().closeEvent(event)
