"""Lung-mask editing toolbar: outline on/off, brush / eraser with size, undo, reset to automatic, PNG load/save.

A thin widget over :class:`core.mask_edit.MaskEdit`; the image panels send it stroke coordinates in film pixels.
An automatic mask whose verdict is "uncertain" is outlined in amber (``WARN_OUTLINE_COLOR``) until a person edits
or replaces it (a mask a person drew or chose is taken as given); ``verdictChanged`` tells the window's banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QWidget,
)

from vald_desktop.core.base.errors import MaskError, ValdError
from vald_desktop.core.films.film import Film
from vald_desktop.core.masks.edit import MaskEdit, outline
from vald_desktop.core.masks.laterality import drawn_sides
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.gui.lung_finding import outline_thickness
from vald_desktop.gui.qimage import outline_rgba

OUTLINE_COLOR = (60, 220, 120, 255)
WARN_OUTLINE_COLOR = (255, 176, 32, 255)  # amber: the automatic mask is uncertain
FILL_ALPHA_EDITING = 60


@dataclass(frozen=True)
class OutlineLayer:
    """The outline layer of an automatic mask, made on the sampler thread; shown as is until the mask is edited."""

    image: QImage  # borrows ``words``
    words: np.ndarray  # uint32 HxW, premultiplied ARGB32: the pixmap's own format, so showing it copies only


def outline_color(mask: LungMask | None) -> tuple[int, int, int, int]:
    """The outline's colour for ``mask``: amber when its verdict is uncertain, the normal green otherwise."""
    return WARN_OUTLINE_COLOR if mask is not None and mask.is_uncertain else OUTLINE_COLOR


def outline_layer(edge: np.ndarray, color: tuple[int, int, int, int] = OUTLINE_COLOR) -> OutlineLayer:
    """``edge`` (bool HxW) in ``color`` (opaque) on transparent; safe on any thread (QImage, not QPixmap)."""
    r, g, b, a = color  # opaque, so premultiplying changes nothing
    argb = np.uint32((a << 24) | (r << 16) | (g << 8) | b)
    words = np.multiply(np.asarray(edge, bool), argb, dtype=np.uint32)
    h, w = words.shape
    image = QImage(words.data, w, h, int(words.strides[0]), QImage.Format.Format_ARGB32_Premultiplied)
    return OutlineLayer(image, words)


def _tool(text: str, tip: str, checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setCheckable(checkable)
    return b


class MaskEditor(QWidget):
    """Owns the editable mask of the current film and renders its outline layer."""

    maskChanged = Signal()  # the mask pixels changed (stroke, undo, reset, load)
    layerChanged = Signal(object)  # RGBA layer for the original panel, or None to hide it
    layerImageChanged = Signal(object)  # the same as a ready QImage (an automatic mask's prepared outline)
    paintModeChanged = Signal(bool)
    verdictChanged = Signal(object)  # the automatic LungMask while it is in use and uncertain, else None
    message = Signal(str)  # a sentence for the status bar / message box
    # ``size`` (the brush size box) and ``mask()`` hide QWidget.size() / QWidget.mask(): long-standing public
    # names of this editor, and nothing asks the editor widget for its geometry or clip region by them.
    size: QSpinBox  # type: ignore[assignment]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.film_uid: str | None = None  # the open film's SOP Instance UID: a loaded SEG must reference it
        self._film_header: object = None  # its header: a film shown mirrored has its drawn sides swapped
        self.edit: MaskEdit | None = None
        self._prepared: OutlineLayer | None = None  # the unedited automatic mask's outline, made elsewhere
        self._found: LungMask | None = None  # the automatic mask as found, with its verdict
        self._said: LungMask | None = None  # what ``verdictChanged`` last said
        self.outline_color = OUTLINE_COLOR  # the colour the outline is drawn in now
        # Outline re-rendering is full-film numpy work; during a drag it is coalesced to ~30 frames a second.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(33)
        self._refresh_timer.timeout.connect(self.refresh_layer)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.show_outline = _tool("Outline", "Show the lung outline (M)", checkable=True)
        self.show_outline.setChecked(True)
        self.brush = _tool("Brush", "Paint lung (B); left-drag on a panel", checkable=True)
        self.eraser = _tool("Eraser", "Erase lung (E); left-drag on a panel", checkable=True)
        # Exclusive but allowing none: with neither checked, left-drag pans.
        self._tools = QButtonGroup(self)
        self._tools.setExclusive(False)
        self._tools.addButton(self.brush)
        self._tools.addButton(self.eraser)
        self.size = QSpinBox(minimum=1, maximum=400, value=20, suffix=" px")
        self.size.setToolTip("Brush size (radius in film pixels; [ and ] change it)")
        self.undo_button = _tool("Undo", "Undo the last stroke (Ctrl+Z)")
        self.reset_button = _tool("Reset", "Back to the automatic mask")
        self.load_button = _tool("Load…", "Load a lung mask PNG")
        self.save_button = _tool("Save…", "Save the lung mask as PNG (255 = lung)")
        self.source_label = QLabel("No mask")
        row.addWidget(QLabel("Lung mask:"))
        for w in (self.show_outline, self.brush, self.eraser, self.size, self.undo_button, self.reset_button,
                  self.load_button, self.save_button, self.source_label):  # fmt: skip
            row.addWidget(w)
        row.addStretch(1)
        self.show_outline.toggled.connect(lambda _: self.refresh_layer())
        self.brush.toggled.connect(lambda on: self._tool_toggled(self.brush, on))
        self.eraser.toggled.connect(lambda on: self._tool_toggled(self.eraser, on))
        self.undo_button.clicked.connect(self.undo)
        self.reset_button.clicked.connect(self.reset)
        self.load_button.clicked.connect(self._load_dialog)
        self.save_button.clicked.connect(self._save_dialog)
        self._update_buttons()

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def painting(self) -> bool:
        return self.brush.isChecked() or self.eraser.isChecked()

    def set_automatic(
        self,
        mask: np.ndarray | LungMask | None,
        source: str = "auto",
        layer: OutlineLayer | None = None,
        film: Film | None = None,
    ) -> None:
        """A new film's automatic mask (None: no mask yet / none found); ``layer``: its outline, made elsewhere.

        A ``LungMask`` brings its source and verdict (an uncertain one is outlined in amber until edited).
        ``film``: a newly opened film (its SOP Instance UID and header orientation); None keeps the current one."""
        if film is not None:
            self.film_uid, self._film_header = film_sop_uid(film), film.dataset
        self._found = mask if isinstance(mask, LungMask) else None
        pixels = mask.mask if isinstance(mask, LungMask) else mask
        source = mask.source if isinstance(mask, LungMask) else source
        self.edit = None if pixels is None else MaskEdit(pixels, source)
        self._prepared = layer if pixels is not None else None
        self._update_buttons()
        self.refresh_layer()
        self._say_verdict()

    def uncertain(self) -> LungMask | None:
        """The automatic mask when it is the one in use (not edited or replaced) and its verdict is uncertain."""
        found = self._found
        if found is None or self.edit is None or not found.is_uncertain:
            return None
        return found if not self.edit.edited and self.edit.source == found.source else None

    def open_brush(self) -> None:
        """Turn the brush on (the banner's button): painting makes the mask a person's, taken as given."""
        if self.edit is not None:
            self.brush.setChecked(True)

    def mask(self) -> np.ndarray | None:  # type: ignore[override]
        return None if self.edit is None else self.edit.mask

    def lung_mask(self) -> LungMask | None:
        """The current mask as a ``core.masks.LungMask`` (split into patient left / right)."""
        if self.edit is None:
            return None
        found = self._found
        if found is not None and not self.edit.edited and self.edit.source == found.source:
            return found  # unedited: the automatic mask as found, its sides and verdict included
        drawn = LungMask.from_mask(self.edit.mask, "edited" if self.edit.edited else self.edit.source)
        return drawn_sides(drawn, self._film_header)

    # -- strokes (film pixel coordinates) ---------------------------------------------------------------------
    def stroke_start(self, x: float, y: float) -> None:
        if self.edit is not None and self.painting:
            self.edit.stroke_start(x, y, self.size.value(), value=self.brush.isChecked())
            self._changed()

    def stroke_move(self, x: float, y: float) -> None:
        if self.edit is not None and self.edit.stroke_to(
            x, y, self.size.value(), value=self.brush.isChecked()
        ):
            self._changed(deferred=True)

    def stroke_end(self) -> None:
        if self.edit is not None and self.edit.end_stroke():
            self._changed()

    def undo(self) -> None:
        if self.edit is not None and self.edit.undo():
            self._changed()

    def reset(self) -> None:
        if self.edit is not None:
            self.edit.reset()
            self._changed()

    def grow_brush(self, factor: float) -> None:
        self.size.setValue(max(1, round(self.size.value() * factor)))

    # -- files -----------------------------------------------------------------------------------------------
    def save_to(self, path: str | Path) -> Path:
        mask = self.lung_mask()
        if mask is None:
            raise MaskError("There is no lung mask to save yet.")
        from vald_desktop.core.masks.resolve import save_mask

        save_mask(mask, Path(path))
        return Path(path)

    def load_from(self, path: str | Path, film_uid: str | None = None) -> None:
        """Load a mask picture, or a DICOM Segmentation of the lungs (``film_uid``: it must be of this film)."""
        if self.edit is None:
            raise MaskError("Open a film before loading its lung mask.")
        from vald_desktop.core.masks.resolve import load_mask

        loaded = load_mask(Path(path), self.edit.shape, film_uid=film_uid)
        self.edit.replace(np.asarray(loaded.mask, dtype=bool), source="file")
        self._changed()

    def _save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save lung mask", "lung-mask.png", "PNG images (*.png)")
        if name:
            try:
                self.save_to(name)
            except ValdError as exc:
                self.message.emit(str(exc))
            else:
                self.message.emit(f"Lung mask saved to {Path(name).name}.")

    def _load_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Load lung mask", "", "Masks (*.png *.jpg *.jpeg *.tif *.tiff *.dcm)"
        )
        if name:
            try:
                self.load_from(name, film_uid=self.film_uid)  # a Segmentation must be of this film
            except ValdError as exc:
                self.message.emit(str(exc))

    # -- display ---------------------------------------------------------------------------------------------
    def refresh_layer(self) -> None:
        if self.edit is None or not self.show_outline.isChecked():
            self.layerChanged.emit(None)
            return
        self.outline_color = outline_color(self.uncertain())
        if self._prepared is not None and not self.painting:
            self.layerImageChanged.emit(self._prepared.image)
            return
        m = self.edit.mask
        thickness = outline_thickness(m.shape)
        fill_alpha = FILL_ALPHA_EDITING if self.painting else 0
        self.layerChanged.emit(outline_rgba(outline(m, thickness), self.outline_color, m, fill_alpha))

    def _tool_toggled(self, button: QToolButton, on: bool) -> None:
        if on:
            other = self.eraser if button is self.brush else self.brush
            other.setChecked(False)
            self.show_outline.setChecked(True)
        self.paintModeChanged.emit(self.painting)
        self.refresh_layer()

    def _changed(self, deferred: bool = False) -> None:
        self._prepared = None  # the mask is no longer the one the prepared outline shows
        self._update_buttons()
        if deferred:
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()
        else:
            self._refresh_timer.stop()
            self.refresh_layer()
        self.maskChanged.emit()
        self._say_verdict()

    def _say_verdict(self) -> None:
        now = self.uncertain()
        if now is not self._said:
            self._said = now
            self.verdictChanged.emit(now)

    def _update_buttons(self) -> None:
        has = self.edit is not None
        for w in (self.brush, self.eraser, self.reset_button, self.save_button, self.load_button):
            w.setEnabled(has)
        self.undo_button.setEnabled(has and self.edit is not None and self.edit.can_undo)
        if self.edit is None:
            self.source_label.setText("No mask")
        else:
            src = "edited" if self.edit.edited else self.edit.source
            pct = 100.0 * float(self.edit.mask.mean())
            self.source_label.setText(f"{src} · {pct:.0f}% of film")


def film_sop_uid(film: Film) -> str | None:
    """The film's SOP Instance UID, or None for a film without a DICOM header."""
    uid = str(film.dataset.get("SOPInstanceUID", "") or "") if film.dataset is not None else ""
    return uid or None
