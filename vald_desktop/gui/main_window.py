"""The main window: panels in the middle, run controls on the left, history on the right, mask tools on top.

It builds the widgets, composes the controllers that do the work (:class:`~.files_controller.FilesController`,
:class:`~.runs_controller.RunsController`, :class:`~.pacs_sender.PacsSender`), wires menus and shortcuts to them
and shows a newly opened film. The controllers get what they need in their constructors and answer through
signals; the few names scripts and tests use (``open_path``, ``generate``, ``film``, ``result``…) stay here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QScrollArea, QToolBar, QWidget

from vald_desktop.core.films.filelist import existing
from vald_desktop.gui.base_weights_dialog import BaseWeightsDialog
from vald_desktop.gui.controls import RunControls
from vald_desktop.gui.dialogs import HelpDialog, about_box
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.domain_banner import DomainBanner, ModelNotice
from vald_desktop.gui.files_controller import FilesController
from vald_desktop.gui.film_loader import LoadedFilm
from vald_desktop.gui.film_view import FilmView
from vald_desktop.gui.history import HistoryPanel
from vald_desktop.gui.image_panels import PanelGroup
from vald_desktop.gui.mask_banner import MaskBanner
from vald_desktop.gui.mask_editor import MaskEditor
from vald_desktop.gui.messages import APPLICATION, Messages
from vald_desktop.gui.metadata_panel import MetadataPanel
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.pacs_dialog import PacsDialog
from vald_desktop.gui.pacs_opener import PacsOpener
from vald_desktop.gui.pacs_sender import PacsSender
from vald_desktop.gui.pacs_worker import PacsController
from vald_desktop.gui.reading_room import ReadingRoom
from vald_desktop.gui.runs_controller import RunsController, RunWidgets
from vald_desktop.gui.shortcuts import SHORTCUTS
from vald_desktop.gui.window_state import WindowState, stored_list
from vald_desktop.gui.worker import EngineFactory, SamplerController

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.export.remote import Node as PacsNode  # a DIMSE or a DICOMweb node
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask

ORGANISATION = "VALD-MD"
__all__ = ["APPLICATION", "ORGANISATION", "MainWindow", "default_qsettings"]


def default_qsettings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        engine: Any = None,  # a stand-in for the real engine (tests, the benchmark's warm engine)
        engine_factory: EngineFactory | None = None,
        model_dir: str | Path | None = None,
        qsettings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APPLICATION)
        self.setAcceptDrops(True)
        self.qsettings = qsettings if qsettings is not None else default_qsettings()
        self.document = CurrentFilm()
        self.messages = Messages(self, self.statusBar())

        self.panels = PanelGroup()
        self.view = FilmView(self.panels, self)
        self.domain_banner = DomainBanner(self.panels)  # over the counterfactual and map panels
        self.mask_banner = MaskBanner(self.panels)  # over the original panel while its lung mask is uncertain
        self.model_notice = ModelNotice(self.statusBar())  # e.g. the demo model's "not for reading films"
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

        self.controller = SamplerController(engine_factory=engine_factory, engine=engine, parent=self)
        recent = existing(stored_list(self.qsettings, "files/recent"))
        self.files = FilesController(self, self.messages, self.document, self.overlay_controls, recent)
        # Layouts, flicker / swipe, reading mode, edit region, colour bar, lung statistics, ruler and ROI.
        self.reading = ReadingRoom(self, self.panels, self.view, self.messages, self.mask_editor,
                                   self.overlay_controls)  # fmt: skip
        widgets = RunWidgets(self.controls, self.view, self.history, self.mask_editor, self.overlay_controls,
                             self.model_status, self.reading.region)  # fmt: skip
        chosen = Path(model_dir) if model_dir else None
        self.runs = RunsController(self, self.messages, self.document, self.controller, widgets, chosen)
        self.pacs = PacsController(self)
        self.pacs_sender = PacsSender(
            self, self.messages, self.document, self.overlay_controls, self.qsettings, self.pacs
        )
        self.pacs_opener = PacsOpener(self, self.messages, self.document, self.files, self.mask_editor,
                                      self.pacs_sender)  # fmt: skip
        self.persistence = WindowState(self.qsettings, self, self.controls, self.overlay_controls, self.view,
                                 self.files, self.runs, [self.reading])  # fmt: skip
        # Widgets of the controllers that scripts and tests reach from the window.
        self.film_loader = self.files.film_loader
        self.open_progress = self.files.open_progress
        self.recent_menu = self.files.recent_menu
        self.export_actions = self.files.export_actions
        self.pacs_actions = self.pacs_sender.actions
        self.pacs_progress = self.pacs_sender.progress
        for w in (self.open_progress, self.readout_label, self.window_label, self.model_status,
                  self.pacs_progress):  # fmt: skip
            self.statusBar().addPermanentWidget(w)

        self.base_weights_dialog: BaseWeightsDialog | None = None
        self.actions_by_name = self._build_actions()
        self._build_menus()
        self._connect()
        self.persistence.restore(self.metadata_dock)
        self.resize(1500, 900)

    # -- construction ----------------------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "") + "Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> dict[str, QAction]:
        files, runs, view, panels, ed = self.files, self.runs, self.view, self.panels, self.mask_editor
        handlers: dict[str, Callable[[], object]] = {
            "open": files.open_dialog, "open_folder": files.open_folder_dialog,
            "next_film": lambda: files.step_film(1), "prev_film": lambda: files.step_film(-1),
            "quit": self.close, "generate": runs.generate, "cancel": runs.cancel_run,
            "invert": view.invert, "reset_view": view.reset, "fit": panels.fit,
            "actual_size": panels.actual_size,
            "zoom_in": lambda: panels.original.zoom_by(1.25),
            "zoom_out": lambda: panels.original.zoom_by(0.8),
            "toggle_overlay": view.toggle_overlay,
            "toggle_metadata": lambda: self.metadata_dock.setVisible(not self.metadata_dock.isVisible()),
            "toggle_outline": ed.show_outline.toggle,
            "brush": ed.brush.toggle, "eraser": ed.eraser.toggle,
            "brush_smaller": lambda: ed.grow_brush(1 / 1.25),
            "brush_larger": lambda: ed.grow_brush(1.25),
            "undo_mask": ed.undo, "help": self.show_help,
        }  # fmt: skip
        for i in range(5):
            handlers[f"preset_{i + 1}"] = functools.partial(self._preset, i)
        handlers.update(self.reading.handlers())
        actions: dict[str, QAction] = {}
        for sc in SHORTCUTS:
            act = QAction(sc.description, self)
            act.setShortcuts([QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _checked=False, h=handlers[sc.action]: h())  # triggered(bool) first
            self.addAction(act)
            actions[sc.action] = act
        return actions

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        files = bar.addMenu("&File")
        for name in ("open", "open_folder"):
            files.addAction(a[name])
        files.addAction(self.pacs_opener.action)  # File > Open from PACS…
        files.addMenu(self.recent_menu)
        files.addAction(a["next_film"])
        files.addAction(a["prev_film"])
        files.addSeparator()
        self.export_menu = files.addMenu("&Export")
        for act in self.export_actions:
            self.export_menu.addAction(act)
        self.export_menu.addSeparator()
        for act in self.pacs_actions.values():
            self.export_menu.addAction(act)
        # A new film clears the result without telling the PACS part: it looks again before the menu shows.
        self.export_menu.aboutToShow.connect(self.pacs_sender.refresh_actions)
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
        self.recommended_action.triggered.connect(self.runs.use_recommended_settings)
        run.addAction(self.recommended_action)
        model = bar.addMenu("M&odel")
        self.base_weights_action = QAction("Get base weights…", self)
        self.base_weights_action.triggered.connect(self.open_base_weights_dialog)
        model.addAction(self.base_weights_action)
        mask = bar.addMenu("&Mask")
        for name in ("toggle_outline", "brush", "eraser", "brush_smaller", "brush_larger", "undo_mask"):
            mask.addAction(a[name])
        self.reading.add_menu(bar, a)
        helpm = bar.addMenu("&Help")
        helpm.addAction(a["help"])
        about = QAction("About VALD-MD Desktop", self)
        about.triggered.connect(self.show_about)
        helpm.addAction(about)

    def _connect(self) -> None:
        self.files.filmLoaded.connect(self._show_loaded)
        self.runs.generating.connect(self.save_state)
        self.runs.resultReady.connect(self.files.enable_export)
        self.runs.resultReady.connect(self.pacs_sender.refresh_actions)
        self.view.readout.connect(self.readout_label.setText)
        self.view.shown.connect(self.domain_banner.show_results)
        self.controller.model_loaded.connect(self.model_notice.show_model)
        self.view.windowChanged.connect(self.window_label.setText)
        self.overlay_controls.changed.connect(lambda: self.view.set_overlay(self.overlay_controls.values()))
        ed = self.mask_editor
        ed.layerChanged.connect(self.panels.original.set_layer)
        ed.layerImageChanged.connect(self.panels.original.set_layer_image)
        ed.message.connect(self.messages.show_status)
        ed.verdictChanged.connect(self.mask_banner.show_mask)
        self.mask_banner.brushRequested.connect(ed.open_brush)
        for p in self.panels.panels:
            p.strokeStarted.connect(ed.stroke_start)
            p.strokeMoved.connect(ed.stroke_move)
            p.strokeEnded.connect(ed.stroke_end)

    # -- the film --------------------------------------------------------------------------------------------
    def _show_loaded(self, loaded: LoadedFilm) -> None:
        self.runs.cancel_run()  # a run in progress belongs to the previous film; its result will be dropped
        self.set_film(loaded.film, loaded.path, loaded)
        self.domain_banner.show_kind(loaded.film)  # CT, MR …: said on opening, not only at Generate

    def set_film(self, film: Film, path: Path | None = None, prepared: LoadedFilm | None = None) -> None:
        """Show ``film`` (``prepared``: its display computed off the GUI thread, else computed here)."""
        key = self.document.replace(film, path)
        self.view.set_film(film, prepared)
        self.history.clear()
        self.mask_editor.set_automatic(None, film=film)  # the film's UID and orientation, for drawn masks
        self.metadata.set_metadata(list(film.metadata))
        h, w = film.shape
        self.setWindowTitle(f"{film.source} — {APPLICATION}")
        self.messages.show_status(f"Opened {film.source} ({w} × {h}).")
        self.panels.original.setFocus()  # viewer keys (I, =, 1-5, PgDown) act on the film, not the prompt field
        self.controller.find_lungs(key, film, path)

    # -- small actions ---------------------------------------------------------------------------------------
    def _preset(self, index: int) -> None:
        name = self.view.preset(index)
        if name:
            self.messages.show_status(f"Window/level: {name}")

    def show_help(self) -> None:
        HelpDialog(self).exec()

    def show_about(self) -> None:
        about_box(self).exec()

    # -- what scripts and tests use (each a thin call into the part that owns it) ---------------------------
    @property
    def film(self) -> Film | None:
        return self.document.film

    @property
    def result(self) -> RunResult | None:
        return self.document.result

    @property
    def auto_mask(self) -> LungMask | None:
        return self.document.auto_mask

    @property
    def last_error(self) -> str | None:
        """The sentence of the last error shown."""
        return self.messages.last_error

    @property
    def recent(self) -> list[str]:
        return self.files.recent

    def open_path(self, path: str | Path) -> bool:
        return self.files.open_path(path)

    def export_dialog(self, kind: str, pattern: str) -> None:
        self.files.export_dialog(kind, pattern)

    def export_to(self, kind: str, path: Path, *, accept_burned_in_risk: bool = False) -> list[Path]:
        return self.files.export_to(kind, path, accept_burned_in_risk=accept_burned_in_risk)

    def start(self) -> None:
        self.runs.start()

    def generate(self) -> None:
        self.runs.generate()

    def cancel_run(self) -> None:
        self.runs.cancel_run()

    @property
    def pacs_node(self) -> PacsNode | None:
        return self.pacs_sender.node

    @pacs_node.setter
    def pacs_node(self, node: PacsNode | None) -> None:
        self.pacs_sender.node = node

    @property
    def pacs_dialog(self) -> PacsDialog | None:
        return self.pacs_sender.dialog

    @property
    def pacs_last_file(self) -> Path | list[Path] | None:
        return self.pacs_sender.last_file

    def open_base_weights_dialog(self) -> BaseWeightsDialog:
        """Model ▸ Get base weights…: fetch SD v1.4 + RadBERT; "Use this model" makes it the model of runs."""
        if self.base_weights_dialog is None:
            self.base_weights_dialog = BaseWeightsDialog(self)
            self.base_weights_dialog.useModel.connect(self.use_model)
        self.base_weights_dialog.show()
        self.base_weights_dialog.raise_()
        return self.base_weights_dialog

    def use_model(self, path: Path) -> None:
        self.runs.use_model_dir(Path(path))
        self.runs.choose_model(Path(path))

    def open_pacs_dialog(self) -> PacsDialog:
        return self.pacs_sender.open_dialog()

    def send_result_to(
        self, path: Path, deidentify: bool | None = None, *, accept_burned_in_risk: bool = False
    ) -> bool:
        return self.pacs_sender.send_result_to(path, deidentify, accept_burned_in_risk=accept_burned_in_risk)

    def send_file(self, path: Path) -> bool:
        return self.pacs_sender.send_file(path)

    def retry_pacs(self) -> bool:
        return self.pacs_sender.retry()

    # -- drag and drop ---------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files.open_path(paths[0])

    # -- persistence -----------------------------------------------------------------------------------------
    def save_state(self) -> None:
        self.persistence.save()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_state()
        self.controller.shutdown()
        self.pacs_sender.shutdown()
        self.pacs_opener.shutdown()
        if self.base_weights_dialog is not None:
            self.base_weights_dialog.shutdown()
        super().closeEvent(event)
