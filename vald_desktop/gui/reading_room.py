"""The reading room: layouts, flicker and swipe, reading mode, the edit region, the map's colour bar and statistics,
the ruler and the ROI, composed for the main window.

The window makes one :class:`ReadingRoom` with the parts it needs, merges :meth:`ReadingRoom.handlers` into its
shortcut table (``gui.shortcuts``), adds :meth:`ReadingRoom.add_menu` and lets ``gui.window_state`` remember it
(:meth:`save_settings` / :meth:`restore_settings`: layout, panel choices, swipe position, flicker rate, reading
mode). The parts themselves live in ``panel_layout``, ``comparison``, ``region_editor``, ``measure_tools`` and
``map_reading``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCursor
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMenuBar,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.gui.comparison import RATES, Comparison, HeldKey
from vald_desktop.gui.map_reading import ColourBar, MapReader, MapReading, StatsBox
from vald_desktop.gui.measure_tools import MeasureTools
from vald_desktop.gui.panel_layout import LAYOUT_LABELS, LAYOUTS, PanelLayout
from vald_desktop.gui.region_editor import RegionEditor

if TYPE_CHECKING:
    from vald_desktop.gui.film_view import FilmView
    from vald_desktop.gui.image_panels import ImagePanel, PanelGroup
    from vald_desktop.gui.mask_editor import MaskEditor
    from vald_desktop.gui.messages import Messages
    from vald_desktop.gui.overlay_controls import OverlayControls

SETTINGS_KEY = "view/reading"
SWIPE_STEP = 0.05


def _button(text: str, tip: str, handler: Callable[[], object], checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setCheckable(checkable)
    b.clicked.connect(lambda _checked=False: handler())
    return b


class ReadingRoom:
    def __init__(
        self,
        window: QMainWindow,
        panels: PanelGroup,
        view: FilmView,
        messages: Messages,
        mask_editor: MaskEditor,
        overlay: OverlayControls,
    ) -> None:
        self.window, self.panels, self.view, self.messages = window, panels, view, messages
        self.mask_editor, self.overlay = mask_editor, overlay
        self.layout = PanelLayout(panels)
        self.comparison = Comparison(panels, self.layout)
        self.tab = HeldKey(window)
        self.measure = MeasureTools(panels, view)
        self.reader = MapReader(window)
        self.colour_bar = ColourBar(panels.overlay)
        self.stats = StatsBox()
        self.region = RegionEditor(panels)
        self.reading_mode = False
        self._hidden: list[str] = []  # docks and toolbars reading mode hid (object names)
        self.dock = self._build_dock()
        bar = QToolBar("Edit region")
        bar.setObjectName("regionToolbar")
        bar.addWidget(self.region)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self._connect()

    # -- construction ----------------------------------------------------------------------------------------
    def _build_dock(self) -> QDockWidget:
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(6, 4, 6, 4)
        tools = QHBoxLayout()
        self.tool_buttons = {
            "ruler": _button("Ruler", "Measure a distance (R)", lambda: self.measure.set_mode("ruler"), True),
            "rectangle": _button("Rect", "Rectangular ROI (Shift+R)",
                                 lambda: self.measure.set_mode("rectangle"), True),
            "ellipse": _button("Ellipse", "Elliptical ROI (Shift+E)", lambda: self.measure.set_mode("ellipse"), True),
        }  # fmt: skip
        for b in self.tool_buttons.values():
            tools.addWidget(b)
        tools.addWidget(_button("Clear", "Clear the measurement (Delete)", self.measure.clear))
        tools.addStretch(1)
        col.addLayout(tools)
        self.measure_label = QLabel("Ruler and ROI: choose a tool, then drag on a panel.")
        self.measure_label.setObjectName("measureReading")
        self.measure_label.setWordWrap(True)
        col.addWidget(self.measure_label)
        head = QLabel("<b>Map per lung</b>")
        col.addWidget(head)
        col.addWidget(self.stats)
        for label in (self.measure_label, self.stats):  # wrap to the dock's width rather than widen it
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        col.addStretch(1)
        dock = QDockWidget("Reading", self.window)
        dock.setObjectName("ReadingDock")
        dock.setWidget(body)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _connect(self) -> None:
        v, c = self.view, self.comparison
        for signal in (v.windowChanged, v.drawn, v.shown):
            signal.connect(lambda *_: c.refresh())
        v.shown.connect(lambda _results: self._new_results())
        self.overlay.changed.connect(self._ask_stats)
        self.reader.ready.connect(self._show_reading)
        self.tab.held.connect(c.hold)
        for source in (c.message, self.region.message):
            source.connect(self.messages.show_status)
        self.measure.reading.connect(self._show_measure)
        self.measure.modeChanged.connect(self._mode_changed)
        ed, reg = self.mask_editor, self.region
        ed.paintModeChanged.connect(lambda on: self._paint_mode(on, others=(reg.brush, reg.eraser)))
        reg.paintModeChanged.connect(lambda on: self._paint_mode(on, others=(ed.brush, ed.eraser)))
        for p in self.panels.panels:
            p.strokeStarted.connect(reg.stroke_start)
            p.strokeMoved.connect(reg.stroke_move)
            p.strokeEnded.connect(reg.stroke_end)
        self.window.destroyed.connect(self.tab.stop)

    # -- the main window's table of shortcuts ----------------------------------------------------------------
    def handlers(self) -> dict[str, Callable[[], object]]:
        lay, cmp, reg = self.layout, self.comparison, self.region
        out: dict[str, Callable[[], object]] = {
            "maximise": self.maximise_current, "cycle_panel": lay.cycle_last,
            "flicker": cmp.toggle_flicker, "flicker_rate": cmp.next_rate, "swipe": cmp.toggle_swipe,
            "swipe_left": lambda: cmp.nudge(-SWIPE_STEP), "swipe_right": lambda: cmp.nudge(SWIPE_STEP),
            "reading_mode": self.toggle_reading_mode,
            "ruler": lambda: self.measure.set_mode("ruler"), "roi_rectangle": lambda: self.measure.set_mode("rectangle"),
            "roi_ellipse": lambda: self.measure.set_mode("ellipse"), "clear_measure": self.measure.clear,
            "region_brush": lambda: reg.toggle(reg.brush), "region_eraser": lambda: reg.toggle(reg.eraser),
            "region_undo": reg.undo, "region_clear": reg.clear,
        }  # fmt: skip
        for name in LAYOUTS:
            out[f"layout_{name}"] = functools.partial(lay.set_layout, name)
        return out

    def add_menu(self, bar: QMenuBar, actions: dict[str, QAction], before: QAction | None = None) -> QMenu:
        menu = QMenu("Rea&ding", bar)
        group = QActionGroup(menu)
        for name in LAYOUTS:
            act = actions[f"layout_{name}"]
            act.setText(LAYOUT_LABELS[name])
            act.setCheckable(True)
            group.addAction(act)
            menu.addAction(act)
        self._layout_actions = {name: actions[f"layout_{name}"] for name in LAYOUTS}
        self.layout.changed.connect(self._layout_changed)
        self._layout_changed()
        for names in (("cycle_panel", "maximise"), ("flicker", "flicker_rate", "swipe", "swipe_left", "swipe_right"),
                      ("ruler", "roi_rectangle", "roi_ellipse", "clear_measure"),
                      ("region_brush", "region_eraser", "region_undo", "region_clear")):  # fmt: skip
            menu.addSeparator()
            for name in names:
                menu.addAction(actions[name])
        rates = menu.addMenu("Flicker rate")
        for rate in RATES:
            act = rates.addAction(f"{rate:g} per second")
            act.triggered.connect(lambda _c=False, r=rate: self.comparison.set_rate(r))
        menu.addSeparator()
        menu.addAction(actions["reading_mode"])
        menu.addAction(self.dock.toggleViewAction())
        if before is not None:
            bar.insertMenu(before, menu)
        else:
            bar.addMenu(menu)
        return menu

    # -- layouts, reading mode -------------------------------------------------------------------------------
    def maximise_current(self) -> None:
        """Maximise the panel under the mouse (or the first one shown), or bring the layout back."""
        shown = self.layout.shown()
        under = next((i for i in shown if self._under_cursor(self.panels.panels[i])), shown[0])
        self.layout.toggle_maximise(under)

    @staticmethod
    def _under_cursor(panel: ImagePanel) -> bool:
        return bool(panel.isVisible() and panel.rect().contains(panel.mapFromGlobal(QCursor.pos())))

    def _layout_changed(self) -> None:
        act = getattr(self, "_layout_actions", {}).get(self.layout.name)
        if act is not None:
            act.setChecked(True)
        self.comparison.refresh()

    def toggle_reading_mode(self) -> None:
        self.set_reading_mode(not self.reading_mode)

    def set_reading_mode(self, on: bool) -> None:
        """Hide the docks and toolbars (``on``) or show again those reading mode hid."""
        if on == self.reading_mode:
            return
        bars = [w for w in self.window.findChildren(QDockWidget) + self.window.findChildren(QToolBar)
                if w.parent() is self.window]  # fmt: skip
        if on:
            self._hidden = [w.objectName() for w in bars if w.isVisible()]
            for w in bars:
                if w.objectName() in self._hidden:
                    w.hide()
            self.messages.show_status("Reading mode: F11 brings the docks and toolbars back.")
        else:
            for w in bars:
                if w.objectName() in self._hidden:
                    w.show()
            self._hidden = []
        self.reading_mode = on

    # -- map reading -----------------------------------------------------------------------------------------
    def _new_results(self) -> None:
        v = self.view
        if v.film is not None and (self.region.edit is None or self.region.edit.shape != v.film.shape):
            self.region.set_film(v.film.shape)  # a new film: a new, empty region
            self.measure.clear()
        self._ask_stats()

    def _ask_stats(self) -> None:
        v = self.view
        self.reader.ask(v.result if v.compare is None else None, self.overlay.values())

    def _show_reading(self, reading: MapReading | None) -> None:
        self.colour_bar.show_reading(reading)
        self.stats.show_reading(reading, comparing=self.view.compare is not None)

    def _show_measure(self, text: str) -> None:
        self.measure_label.setText(text or "Ruler and ROI: choose a tool, then drag on a panel.")
        if text:
            self.messages.show_status(text)

    def _mode_changed(self, mode: str) -> None:
        for name, b in self.tool_buttons.items():
            b.setChecked(name == mode)
        if mode != "off":
            self.region.drop_tools()
            for b in (self.mask_editor.brush, self.mask_editor.eraser):
                b.setChecked(False)

    def _paint_mode(self, on: bool, others: tuple[QToolButton, ...]) -> None:
        """A brush of the lung mask or of the edit region went on or off: the other editor's and the measuring
        tools go off, and left-drag paints while either brush is on (else it pans)."""
        if on:
            for b in others:
                b.setChecked(False)
            if self.measure.mode != "off":
                self.measure.set_mode("off")
        painting = self.region.painting or self.mask_editor.painting
        for p in self.panels.panels:
            p.paint_mode = painting
            p.setDragMode(p.DragMode.NoDrag if painting else p.DragMode.ScrollHandDrag)

    # -- remembered per user (gui.window_state) --------------------------------------------------------------
    def save_settings(self, qs: QSettings) -> None:
        state: dict[str, Any] = {**self.layout.state(), **self.comparison.state(), "reading_mode": self.reading_mode,
                                 "reading_hidden": self._hidden}  # fmt: skip
        qs.setValue(SETTINGS_KEY, json.dumps(state))

    def restore_settings(self, qs: QSettings) -> None:
        try:
            data = json.loads(str(qs.value(SETTINGS_KEY, "") or "{}"))
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        self.layout.restore(data)
        self.comparison.restore(data)
        hidden = data.get("reading_hidden")
        if data.get("reading_mode") is True and isinstance(hidden, list):
            # The window's saved state already hides them; remember which to bring back.
            self.reading_mode = True
            self._hidden = [str(h) for h in hidden]
