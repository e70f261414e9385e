"""The edit-region toolbar: a second brush layer, apart from the lung mask, that says where a run may change the film.

Brush / eraser with their own size, undo, clear, load / save PNG (255 = editable). The region is drawn in amber
on every panel (filled while painting); an empty region means no region (the whole film may change). A thin widget
over :class:`core.masks.edit.MaskEdit` and :class:`core.masks.region.EditRegion`; strokes arrive in film pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsPixmapItem,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QWidget,
)

from vald_desktop.core.base.errors import MaskError, ValdError
from vald_desktop.core.masks.edit import MaskEdit, outline
from vald_desktop.core.masks.region import EditRegion, load_region, save_region
from vald_desktop.gui.image_panels import PanelGroup
from vald_desktop.gui.lung_finding import outline_thickness
from vald_desktop.gui.qimage import array_to_pixmap, outline_rgba

REGION_RGBA = (255, 190, 40, 255)  # the exports' amber (core.attribution.maps.REGION_COLOUR)
FILL_ALPHA = 70


def _tool(text: str, tip: str, checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setCheckable(checkable)
    return b


class RegionEditor(QWidget):
    """Owns the edit region of the current film and draws it on the panels."""

    changed = Signal()  # the region's pixels changed
    paintModeChanged = Signal(bool)
    message = Signal(str)

    def __init__(self, panels: PanelGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit: MaskEdit | None = None
        self._items: list[QGraphicsPixmapItem] = []
        for panel in panels.panels:
            item = QGraphicsPixmapItem()
            item.setZValue(1.5)  # over the mask outline and the map, under measurements
            panel.scene().addItem(item)
            self._items.append(item)
        self._timer = QTimer(self)  # a drag redraws at most ~30 times a second
        self._timer.setSingleShot(True)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self.refresh_layer)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.brush = _tool(
            "Paint", "Paint the edit region (G): the run changes the film only inside it", True
        )
        self.eraser = _tool("Erase", "Erase from the edit region (Shift+G)", True)
        self.brush_size = QSpinBox(minimum=1, maximum=400, value=12, suffix=" px")
        self.brush_size.setToolTip("Region brush radius in film pixels")
        self.undo_button = _tool("Undo", "Undo the last region stroke (Ctrl+Shift+Z)")
        self.clear_button = _tool("Clear", "Clear the edit region: the whole film may change (Ctrl+Shift+G)")
        self.load_button = _tool("Load…", "Load an edit region PNG (255 = editable)")
        self.save_button = _tool("Save…", "Save the edit region as PNG (255 = editable)")
        self.label = QLabel("none")
        row.addWidget(QLabel("Edit region:"))
        for w in (self.brush, self.eraser, self.brush_size, self.undo_button, self.clear_button, self.load_button,
                  self.save_button, self.label):  # fmt: skip
            row.addWidget(w)
        row.addStretch(1)
        self.brush.toggled.connect(lambda on: self._tool_toggled(self.brush, on))
        self.eraser.toggled.connect(lambda on: self._tool_toggled(self.eraser, on))
        self.undo_button.clicked.connect(self.undo)
        self.clear_button.clicked.connect(self.clear)
        self.load_button.clicked.connect(self._load_dialog)
        self.save_button.clicked.connect(self._save_dialog)
        self._update()

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def painting(self) -> bool:
        return self.brush.isChecked() or self.eraser.isChecked()

    def set_film(self, shape: tuple[int, int] | None) -> None:
        """A new film: an empty region of its size (None: no film)."""
        self.edit = None if shape is None else MaskEdit(np.zeros(shape, bool), "painted")
        self._update()
        self.refresh_layer()

    def region(self) -> EditRegion | None:
        """The painted region for a run, or None when nothing is painted."""
        if self.edit is None or not self.edit.mask.any():
            return None
        return EditRegion(
            self.edit.mask, "file" if self.edit.source == "file" and not self.edit.edited else "painted"
        )

    def drop_tools(self) -> None:
        for b in (self.brush, self.eraser):
            b.setChecked(False)

    # -- strokes (film pixels) -------------------------------------------------------------------------------
    def stroke_start(self, x: float, y: float) -> None:
        if self.edit is not None and self.painting:
            self.edit.stroke_start(x, y, self.brush_size.value(), value=self.brush.isChecked())
            self._changed()

    def stroke_move(self, x: float, y: float) -> None:
        if self.edit is not None and self.edit.stroke_to(
            x, y, self.brush_size.value(), value=self.brush.isChecked()
        ):
            self._changed(deferred=True)

    def stroke_end(self) -> None:
        if self.edit is not None and self.edit.end_stroke():
            self._changed()

    def undo(self) -> None:
        if self.edit is not None and self.edit.undo():
            self._changed()

    def clear(self) -> None:
        if self.edit is not None and self.edit.mask.any():
            self.edit.replace(np.zeros(self.edit.shape, bool), "painted")
            self._changed()

    def toggle(self, button: QToolButton) -> None:
        if self.edit is None:
            self.message.emit("Open a film before painting an edit region.")
            return
        button.toggle()

    # -- files -----------------------------------------------------------------------------------------------
    def save_to(self, path: str | Path) -> Path:
        region = self.region()
        if region is None:
            raise MaskError("There is no edit region to save; paint one first.")
        return save_region(region, Path(path))

    def load_from(self, path: str | Path) -> None:
        if self.edit is None:
            raise MaskError("Open a film before loading its edit region.")
        loaded = load_region(Path(path), self.edit.shape)
        self.edit.replace(loaded.mask, "file")
        self._changed()

    def _save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Save edit region", "edit-region.png", "PNG images (*.png)"
        )
        if name:
            try:
                self.save_to(name)
            except (ValdError, OSError) as exc:
                self.message.emit(str(exc))
            else:
                self.message.emit(f"Edit region saved to {Path(name).name}.")

    def _load_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Load edit region", "", "Images (*.png *.tif *.tiff)")
        if name:
            try:
                self.load_from(name)
            except ValdError as exc:
                self.message.emit(str(exc))

    # -- display ---------------------------------------------------------------------------------------------
    def refresh_layer(self) -> None:
        m = None if self.edit is None else self.edit.mask
        if m is None or not m.any():
            pixmap = QPixmap()
        else:
            edge = outline(m, outline_thickness(m.shape))
            pixmap = array_to_pixmap(outline_rgba(edge, REGION_RGBA, m, FILL_ALPHA if self.painting else 0))
        for item in self._items:
            item.setPixmap(pixmap)

    def _tool_toggled(self, button: QToolButton, on: bool) -> None:
        if on:
            (self.eraser if button is self.brush else self.brush).setChecked(False)
        self.paintModeChanged.emit(self.painting)
        self.refresh_layer()

    def _changed(self, deferred: bool = False) -> None:
        self._update()
        if deferred:
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
            self.refresh_layer()
        self.changed.emit()

    def _update(self) -> None:
        has = self.edit is not None
        for w in (self.brush, self.eraser, self.load_button):
            w.setEnabled(has)
        painted = has and self.edit is not None and bool(self.edit.mask.any())
        self.clear_button.setEnabled(painted)
        self.save_button.setEnabled(painted)
        self.undo_button.setEnabled(has and self.edit is not None and self.edit.can_undo)
        if not painted or self.edit is None:
            self.label.setText("none: the whole film may change")
        else:
            self.label.setText(f"{100.0 * float(self.edit.mask.mean()):.1f}% of film")
