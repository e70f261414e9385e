"""The ruler and the rectangular / elliptical ROI: drawn with the left button on any panel, shown on all three.

Lengths and areas are in mm from the film's PixelSpacing, "estimated" mm from ImagerPixelSpacing, or pixels when
the film carries neither (``core.films.spacing``). An ROI reads the mean of the film's values and of the map M
(and of |M|) inside it (``core.attribution.measure``). The last reading goes to the reading dock and the status bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from vald_desktop.core.attribution.measure import length, read_roi
from vald_desktop.core.films.spacing import film_spacing
from vald_desktop.gui.image_panels import ImagePanel, PanelGroup

if TYPE_CHECKING:
    from vald_desktop.gui.film_view import FilmView

MODES = ("off", "ruler", "rectangle", "ellipse")
TOOL_COLOUR = QColor(90, 220, 255)


def _pen() -> QPen:
    pen = QPen(TOOL_COLOUR, 2)
    pen.setCosmetic(True)  # the same width at every zoom
    return pen


class _Marks:
    """One panel's drawing of the current measurement: a line, a rectangle or an ellipse, and its label."""

    def __init__(self, panel: ImagePanel) -> None:
        scene = panel.scene()
        self.line = QGraphicsLineItem()
        self.rect = QGraphicsRectItem()
        self.ellipse = QGraphicsEllipseItem()
        self.label = QGraphicsSimpleTextItem()
        self.label.setBrush(QBrush(TOOL_COLOUR))
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.line.setPen(_pen())
        self.rect.setPen(_pen())
        self.ellipse.setPen(_pen())
        for item in self._items():
            item.setZValue(4)
            item.hide()
            scene.addItem(item)

    def _items(self) -> tuple[QGraphicsItem, ...]:
        return (self.line, self.rect, self.ellipse, self.label)

    def show(self, mode: str, a: QPointF, b: QPointF, text: str) -> None:
        box = QRectF(a, b).normalized()
        self.line.setLine(QLineF(a, b))
        self.rect.setRect(box)
        self.ellipse.setRect(box)
        self.line.setVisible(mode == "ruler")
        self.rect.setVisible(mode == "rectangle")
        self.ellipse.setVisible(mode == "ellipse")
        self.label.setText(text)
        self.label.setPos(b if mode == "ruler" else box.bottomRight())
        self.label.setVisible(bool(text))

    def hide(self) -> None:
        for item in self._items():
            item.hide()


class MeasureTools(QObject):
    """Ruler and ROI on the panels. ``reading``: the last measurement in words ("" when cleared)."""

    reading = Signal(str)
    modeChanged = Signal(str)

    def __init__(self, panels: PanelGroup, view: FilmView) -> None:
        super().__init__(panels)
        self.panels, self.view = panels, view
        self.mode = "off"
        self._marks = [_Marks(p) for p in panels.panels]
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._active: ImagePanel | None = None
        self.last = ""
        self.last_values: dict[str, float | str | None] = {}
        for p in panels.panels:
            p.mouse_hooks.append(self._mouse)

    def set_mode(self, mode: str) -> None:
        """``ruler``, ``rectangle``, ``ellipse`` or ``off``; choosing the mode on already turns it off."""
        mode = "off" if mode == self.mode or mode not in MODES else mode
        self.mode = mode
        for p in self.panels.panels:
            if mode == "off":
                p.viewport().unsetCursor()
            else:
                p.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.modeChanged.emit(mode)

    def clear(self) -> None:
        self._start = self._end = None
        for marks in self._marks:
            marks.hide()
        self.last, self.last_values = "", {}
        self.reading.emit("")

    # -- mouse -----------------------------------------------------------------------------------------------
    def _mouse(self, panel: ImagePanel, event: QMouseEvent) -> bool:
        if self.mode == "off" or self.view.film is None:
            return False
        kind = event.type()
        left = Qt.MouseButton.LeftButton
        p = panel.mapToScene(event.position().toPoint())
        point = QPointF(p.x(), p.y())
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) and event.button() == left:
            self._active, self._start, self._end = panel, point, point
            self._draw(final=False)
            return True
        if kind == QEvent.Type.MouseMove and self._active is panel and event.buttons() & left:
            self._end = point
            self._draw(final=False)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._active is panel and event.button() == left:
            self._end = point
            self._active = None
            self._draw(final=True)
            return True
        return False

    def measure(self, mode: str, start: tuple[float, float], end: tuple[float, float]) -> str:
        """Measure between two film points as if drawn with ``mode`` (scripts and tests); returns the reading."""
        self.mode = mode if mode in MODES[1:] else "ruler"
        self._start, self._end = QPointF(*start), QPointF(*end)
        self._draw(final=True)
        return self.last

    # -- reading ---------------------------------------------------------------------------------------------
    def _draw(self, final: bool) -> None:
        if self._start is None or self._end is None or self.view.film is None:
            return
        text, short = self._read(final)
        for marks in self._marks:
            marks.show(self.mode, self._start, self._end, short)
        if final:
            self.last = text
            self.reading.emit(text)

    def _read(self, final: bool) -> tuple[str, str]:
        film = self.view.film
        assert film is not None and self._start is not None and self._end is not None
        spacing = film_spacing(film)
        a, b = (self._start.x(), self._start.y()), (self._end.x(), self._end.y())
        note = f" ({spacing.qualifier}: {spacing.note})" if spacing.qualifier else ""
        if self.mode == "ruler":
            d = length(a, b, spacing)
            self.last_values = {"length": d, "unit": spacing.unit, "kind": spacing.kind}
            short = f"{d:.1f} {spacing.unit}" + (" (est.)" if spacing.kind == "estimated" else "")
            return f"Ruler: {d:.1f} {spacing.unit}{note}", short
        if not final:
            return "", ""
        result = self.view.result if self.view.compare is None else None
        the_map = None if result is None else result.map
        r = read_roi(self.mode, (a[0], a[1], b[0], b[1]), film.values, the_map, spacing)
        self.last_values = {
            "width": r.width, "height": r.height, "area": r.area, "pixels": r.pixels, "film_mean": r.film_mean,
            "map_mean": r.map_mean, "map_abs_mean": r.map_abs_mean, "unit": spacing.unit, "kind": spacing.kind,
        }  # fmt: skip
        u = spacing.unit
        size = f"{r.width:.1f} × {r.height:.1f} {u}, {r.area:.0f} {u}²"
        m = "no map" if r.map_mean is None else f"M mean {r.map_mean:+.4f} (|M| {r.map_abs_mean:.4f})"
        text = (
            f"{self.mode.capitalize()} ROI: {size}{note} · film mean {r.film_mean:.5g} · {m} · {r.pixels} px"
        )
        short = f"film {r.film_mean:.4g}" + ("" if r.map_mean is None else f" · M {r.map_mean:+.3f}")
        return text, short
