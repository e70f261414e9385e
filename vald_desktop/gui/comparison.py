"""Flicker and swipe: the counterfactual shown in the original panel's place, at the same zoom, pan and window.

Both draw the counterfactual panel's own pixmap (so the user's window/level and the preview scaling come with it)
on an item in the original panel's scene, above the film and below the mask outline:

* **Flicker** swaps the whole view: while Tab is held (:class:`HeldKey`), or on a toggle at a rate (flips between
  original and counterfactual, ``rate`` full cycles a second). The eye catches what changed as motion.
* **Swipe** shows the counterfactual left of a vertical curtain and the original right of it. Drag the curtain
  (grab it within a few pixels), Shift+click to put it under the cursor, or move it from the keyboard.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPen, QTransform
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from vald_desktop.gui.image_panels import PANEL_TITLES, ImagePanel, PanelGroup
from vald_desktop.gui.panel_layout import PanelLayout

RATES = (1.0, 2.0, 3.0, 4.0)  # flicker cycles a second offered in the menu
GRAB_PX = 10  # how close to the curtain (screen pixels) a press grabs it
CURTAIN_COLOUR = QColor(255, 210, 60)
SWIPE_TITLE = "Counterfactual ◂ | ▸ Original"
FLICKER_TITLE = "Counterfactual (flicker)"


def _tag(text: str, parent: QGraphicsItem, left_of: bool) -> QGraphicsRectItem:
    """A small label on a dark chip at the curtain's top, left or right of it, the same size at every zoom."""
    chip = QGraphicsRectItem(parent)
    chip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
    chip.setPen(QPen(Qt.PenStyle.NoPen))
    chip.setBrush(QBrush(QColor(0, 0, 0, 170)))
    label = QGraphicsSimpleTextItem(text, chip)
    label.setBrush(QBrush(CURTAIN_COLOUR))
    box = label.boundingRect()
    w, h = box.width() + 10, box.height() + 4
    x = -w - 4 if left_of else 4
    chip.setRect(QRectF(0, 0, w, h))
    chip.setTransform(QTransform.fromTranslate(x, 6))
    label.setPos(5, 2)
    return chip


class Comparison(QObject):
    """Flicker and swipe on the original panel. ``changed``: what the panel shows changed (title, curtain)."""

    changed = Signal()
    message = Signal(str)

    def __init__(self, panels: PanelGroup, layout: PanelLayout) -> None:
        super().__init__(panels)
        self.panels, self.layout = panels, layout
        self.panel: ImagePanel = panels.original
        self.source: ImagePanel = panels.counterfactual
        scene = self.panel.scene()
        self._clip = QGraphicsRectItem()
        self._clip.setPen(QPen(Qt.PenStyle.NoPen))
        self._clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self._clip.setZValue(0.5)  # above the film, below the mask outline (1)
        self._alt = QGraphicsPixmapItem(self._clip)
        self._alt.setTransformationMode(Qt.TransformationMode.FastTransformation)
        pen = QPen(CURTAIN_COLOUR, 2)
        pen.setCosmetic(True)
        self._curtain = QGraphicsLineItem()
        self._curtain.setPen(pen)
        self._curtain.setZValue(3)
        self._tags = (_tag("◂ counterfactual", self._curtain, True), _tag("original ▸", self._curtain, False))
        for item in (self._clip, self._curtain):
            scene.addItem(item)
            item.hide()
        self.swipe_on = False
        self.position = 0.5  # the curtain, as a share of the film's width from the left
        self.rate = 2.0
        self.flickering = False  # the toggle runs
        self.held = False  # the flicker key is held
        self._phase = False  # the toggle's half-cycle: True = counterfactual shown
        self._dragging = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._flip)
        self.panel.mouse_hooks.append(self._mouse)
        self.panels.panels[0].viewChanged.connect(self._place_curtain)

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def showing_counterfactual(self) -> bool:
        """The whole original panel shows the counterfactual now (flicker)."""
        return self._alt.isVisible() and self._clip.isVisible() and not self._swipe_view()

    def has_counterfactual(self) -> bool:
        return self.source.has_image()

    def _swipe_view(self) -> bool:
        return self.swipe_on and not self.held and not (self.flickering and self._phase)

    # -- flicker ---------------------------------------------------------------------------------------------
    def hold(self, on: bool) -> None:
        """Show the counterfactual while the flicker key is held (``on``), the original when it is let go."""
        if on and not self._ready():
            return
        self.held = bool(on)
        self.refresh()

    def toggle_flicker(self) -> None:
        if self.flickering:
            self.flickering = False
            self._timer.stop()
            self._phase = False
        elif self._ready():
            self.flickering = True
            self._phase = True
            self._timer.start(round(500 / self.rate))
        self.refresh()

    def set_rate(self, rate: float) -> None:
        self.rate = min(max(float(rate), 0.25), 10.0)
        if self._timer.isActive():
            self._timer.start(round(500 / self.rate))
        self.message.emit(f"Flicker at {self.rate:g} per second.")

    def next_rate(self) -> None:
        bigger = [r for r in RATES if r > self.rate + 1e-9]
        self.set_rate(bigger[0] if bigger else RATES[0])

    def _flip(self) -> None:
        self._phase = not self._phase
        self.refresh()

    # -- swipe -----------------------------------------------------------------------------------------------
    def toggle_swipe(self) -> None:
        self.set_swipe(not self.swipe_on)

    def set_swipe(self, on: bool) -> None:
        if on and not self._ready():
            return
        self.swipe_on = bool(on)
        self.refresh()

    def set_position(self, share: float) -> None:
        """Put the curtain at ``share`` of the film's width from the left (0..1)."""
        self.position = min(max(float(share), 0.0), 1.0)
        self.refresh()

    def nudge(self, step: float) -> None:
        if self.swipe_on:
            self.set_position(self.position + step)

    # -- drawing ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show what the current state asks for, with the counterfactual panel's current pixels."""
        rect = self.panel.sceneRect()
        full = self.held or (self.flickering and self._phase)
        cf = self.has_counterfactual() and rect.width() > 0
        if cf and (full or self.swipe_on):
            item = self.source.image_item()
            self._alt.setPixmap(item.pixmap())
            self._alt.setTransform(item.transform())
            x = rect.width() * (1.0 if full else self.position)
            self._clip.setRect(QRectF(rect.left(), rect.top(), x, rect.height()))
            self._clip.show()
            self._alt.show()
        else:
            self._clip.hide()
        self._curtain.setVisible(cf and self._swipe_view())
        self._place_curtain()
        title = FLICKER_TITLE if cf and full else SWIPE_TITLE if cf and self.swipe_on else PANEL_TITLES[0]
        self.panels.set_title(0, title)
        self.changed.emit()

    def _place_curtain(self) -> None:
        rect = self.panel.sceneRect()
        x = rect.left() + rect.width() * self.position
        self._curtain.setLine(x, rect.top(), x, rect.bottom())
        top = self.panel.mapToScene(0, 0).y()  # the tags stay at the top of what is on screen
        for tag in self._tags:
            tag.setPos(x, max(rect.top(), top))

    def _ready(self) -> bool:
        """There is a counterfactual to show, and the original panel is on screen (brought back when it is not)."""
        if not self.has_counterfactual():
            self.message.emit("Generate a counterfactual first: flicker and swipe compare it with the film.")
            return False
        if 0 not in self.layout.shown():
            self.layout.set_slot(0, 0)
        return True

    # -- mouse on the original panel -------------------------------------------------------------------------
    def _curtain_x(self) -> float:
        rect = self.panel.sceneRect()
        return float(self.panel.mapFromScene(QPointF(rect.left() + rect.width() * self.position, 0)).x())

    def _mouse(self, panel: ImagePanel, event: QMouseEvent) -> bool:
        if not self._curtain.isVisible():
            return False
        kind, left = event.type(), Qt.MouseButton.LeftButton
        x = float(event.position().x())
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) and event.button() == left:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if shift or abs(x - self._curtain_x()) <= GRAB_PX:
                self._dragging = True
                panel.viewport().setCursor(Qt.CursorShape.SplitHCursor)
                self._drag_to(event)
                return True
            return False
        if kind == QEvent.Type.MouseMove and self._dragging:
            self._drag_to(event)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._dragging and event.button() == left:
            self._dragging = False
            panel.viewport().unsetCursor()
            return True
        return False

    def _drag_to(self, event: QMouseEvent) -> None:
        rect = self.panel.sceneRect()
        if rect.width() > 0:
            x = self.panel.mapToScene(event.position().toPoint()).x()
            self.set_position((x - rect.left()) / rect.width())

    # -- remembered per user ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"swipe_position": self.position, "flicker_rate": self.rate}

    def restore(self, data: dict[str, Any]) -> None:
        try:
            self.position = min(max(float(data.get("swipe_position", 0.5)), 0.0), 1.0)
            self.rate = min(max(float(data.get("flicker_rate", 2.0)), 0.25), 10.0)
        except (TypeError, ValueError):
            pass


def typing_in(widget: QWidget | None) -> bool:
    """The keyboard focus is in a text or number field (Tab there moves on, as everywhere)."""
    return isinstance(widget, QLineEdit | QAbstractSpinBox | QTextEdit | QPlainTextEdit)


class HeldKey(QObject):
    """Watches one key for the whole application while ``window`` is active: ``held(True)`` when it goes down,
    ``held(False)`` when it comes up (auto-repeat ignored), unless the focus is in a text field."""

    held = Signal(bool)

    def __init__(self, window: QWidget, key: Qt.Key = Qt.Key.Key_Tab) -> None:
        super().__init__(window)
        self._window, self._key = window, key
        self.down = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        if event.key() != self._key or not plain:
            return False
        ours = isinstance(watched, QWidget) and watched.window() is self._window
        if not (ours or self.down or QApplication.activeWindow() is self._window):
            return False
        if not self.down and typing_in(QApplication.focusWidget()):
            return False
        if event.isAutoRepeat():
            return True
        pressed = kind == QEvent.Type.KeyPress
        if pressed != self.down:
            self.down = pressed
            self.held.emit(pressed)
        return True

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
