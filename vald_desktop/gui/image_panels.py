"""Three image panels (Original | Counterfactual | Difference overlay) with synchronized zoom and pan.

Each panel is a QGraphicsView over its own scene; all scenes share the film's pixel grid, so copying one view's
transform and scroll position to the others keeps the same anatomy under the cursor in every panel.
Mouse: wheel zooms at the cursor, left-drag pans (or paints when the mask editor is active), right-drag changes
window/level. The panels only emit signals; what a drag means is decided by the main window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.gui.qimage import array_to_pixmap

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
PANEL_TITLES = ("Original", "Counterfactual", "Difference overlay")


class ImagePanel(QGraphicsView):
    """One film view: an image, an optional RGBA layer on top (mask outline), a placeholder text."""

    viewChanged = Signal()
    zoomed = Signal()
    resized = Signal()
    hovered = Signal(int, int)  # film pixel under the cursor; (-1, -1) when it leaves the image
    windowDragged = Signal(float, float)  # right-drag delta in screen pixels
    strokeStarted = Signal(float, float)  # film coordinates
    strokeMoved = Signal(float, float)
    strokeEnded = Signal()
    doubleClicked = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(QColor(0, 0, 0)))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.setMinimumWidth(120)
        self._image = QGraphicsPixmapItem()
        self._image.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._layer = QGraphicsPixmapItem()
        self._layer.setZValue(1)
        self.scene().addItem(self._image)
        self.scene().addItem(self._layer)
        self._placeholder = ""
        self._wl_last: QPointF | None = None
        self._painting = False
        self.paint_mode = False  # set by the mask editor: left-drag paints instead of panning
        self.image_array: np.ndarray | None = None
        self.layer_owner: object = (
            None  # the run whose overlay the layer shows (None: the mask outline / none)
        )
        # Tools that may take a mouse event first (curtain, ruler, ROI): each returns True when it used it.
        self.mouse_hooks: list[Callable[[ImagePanel, QMouseEvent], bool]] = []

    # -- content ---------------------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None, pixmap: QPixmap | None = None) -> None:
        """Show ``image``; pass its ``pixmap`` when already converted (panels share the film's pixmap)."""
        self.image_array = image
        if pixmap is None:
            pixmap = QPixmap() if image is None else array_to_pixmap(image)
        self._image.setPixmap(pixmap)
        self._image.setTransform(QTransform())
        self.viewport().update()

    def set_image_scale(self, sx: float, sy: float) -> None:
        """Stretch a smaller image (a low-resolution preview) over the film grid."""
        self._image.setTransform(QTransform.fromScale(sx, sy))

    def set_layer(self, rgba: np.ndarray | None) -> None:
        self._layer.setPixmap(QPixmap() if rgba is None else array_to_pixmap(rgba))
        self.layer_owner = None

    def set_layer_image(self, image: QImage | None, owner: object = None) -> None:
        """Show a ready layer image (a result's overlay); ``owner`` remembers whose layer it is."""
        self._layer.setPixmap(QPixmap() if image is None else QPixmap.fromImage(image))
        self.layer_owner = owner

    def set_layer_opacity(self, opacity: float) -> None:
        self._layer.setOpacity(float(opacity))

    def has_layer(self) -> bool:
        return not self._layer.pixmap().isNull()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def set_grid(self, width: int, height: int) -> None:
        """All panels use the film's pixel grid as scene rect, even before they have an image."""
        self.setSceneRect(QRectF(0, 0, width, height))

    def has_image(self) -> bool:
        return not self._image.pixmap().isNull()

    def image_item(self) -> QGraphicsPixmapItem:
        """The item that shows the panel's image (its pixmap and its scale over the film grid)."""
        return self._image

    # -- view ------------------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def zoom_by(self, factor: float) -> None:
        new = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM)
        f = new / max(self.zoom(), 1e-9)
        if abs(f - 1.0) > 1e-9:
            self.scale(f, f)
            self.zoomed.emit()
            self.viewChanged.emit()

    def fit(self) -> None:
        rect = self.sceneRect()
        if rect.width() > 0 and rect.height() > 0:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self.viewChanged.emit()

    def actual_size(self) -> None:
        self.resetTransform()
        self.viewChanged.emit()

    def film_pos(self, view_pos: QPointF) -> QPointF:
        return self.mapToScene(view_pos.toPoint())

    # -- events ----------------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def _hooked(self, event: QMouseEvent) -> bool:
        if any(hook(self, event) for hook in list(self.mouse_hooks)):
            event.accept()
            return True
        return False

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and not self.paint_mode and not self._hooked(event):
            self.doubleClicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._wl_last is None and not self._painting and self._hooked(event):
            return
        if event.button() == Qt.MouseButton.RightButton:
            self._wl_last = event.position()
            self.setCursor(Qt.CursorShape.SizeAllCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.paint_mode:
            self._painting = True
            p = self.film_pos(event.position())
            self.strokeStarted.emit(p.x(), p.y())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._wl_last is None and not self._painting and self._hooked(event):
            return
        if self._wl_last is not None:
            d = pos - self._wl_last
            self._wl_last = pos
            self.windowDragged.emit(float(d.x()), float(d.y()))
            event.accept()
            return
        p = self.film_pos(pos)
        if self._painting:
            self.strokeMoved.emit(p.x(), p.y())
        rect = self.sceneRect()
        if rect.contains(p) and self.has_image_or_grid():
            self.hovered.emit(int(p.x()), int(p.y()))
        else:
            self.hovered.emit(-1, -1)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._wl_last is None and not self._painting and self._hooked(event):
            return
        if event.button() == Qt.MouseButton.RightButton and self._wl_last is not None:
            self._wl_last = None
            self.unsetCursor()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self._painting:
            self._painting = False
            self.strokeEnded.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.resized.emit()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        super().scrollContentsBy(dx, dy)
        self.viewChanged.emit()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802
        if self._placeholder and not self.has_image():
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            painter.restore()

    def has_image_or_grid(self) -> bool:
        return self.sceneRect().width() > 0


class PanelGroup(QWidget):
    """The three panels side by side, each with a title row; zoom and pan are mirrored across all of them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = [ImagePanel(t) for t in PANEL_TITLES]
        self.titles: list[QLabel] = []
        self.title_rows: list[QHBoxLayout] = []
        self.columns: list[QWidget] = []  # one per panel (title row + panel): the layouts show some of them
        self.strip = layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(4)
        for panel in self.panels:
            holder = QWidget(self)
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            row = QHBoxLayout()
            label = QLabel(panel.title)
            label.setObjectName("panelTitle")
            # Long titles (compare mode) must not widen one panel: all three share the width equally.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            row.addWidget(label, 1)
            column.addLayout(row)
            column.addWidget(panel, 1)
            layout.addWidget(holder, 1)
            self.columns.append(holder)
            self.titles.append(label)
            self.title_rows.append(row)
            panel.viewChanged.connect(lambda p=panel: self._mirror(p))
            panel.zoomed.connect(self._left_fit_mode)
        self._mirroring = False
        self.fit_mode = True  # refit on resize until the user zooms
        for panel in self.panels:
            panel.resized.connect(self._refit)

    @property
    def original(self) -> ImagePanel:
        return self.panels[0]

    @property
    def counterfactual(self) -> ImagePanel:
        return self.panels[1]

    @property
    def overlay(self) -> ImagePanel:
        return self.panels[2]

    def set_title(self, index: int, text: str) -> None:
        self.titles[index].setText(text)

    def set_grid(self, width: int, height: int) -> None:
        for p in self.panels:
            p.set_grid(width, height)

    def lead(self) -> ImagePanel:
        """The first panel on screen (the one fit and 1:1 measure), the original when none is."""
        return next(
            (p for p, c in zip(self.panels, self.columns, strict=True) if not c.isHidden()), self.panels[0]
        )

    def fit(self) -> None:
        self.fit_mode = True
        self.lead().fit()

    def actual_size(self) -> None:
        self.fit_mode = False
        self.lead().actual_size()

    def zoom(self) -> float:
        return self.lead().zoom()

    def _left_fit_mode(self) -> None:
        self.fit_mode = False

    def _mirror(self, source: ImagePanel) -> None:
        if self._mirroring:
            return
        self._mirroring = True
        try:
            for p in self.panels:
                if p is source:
                    continue
                p.setTransform(source.transform())
                p.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
                p.verticalScrollBar().setValue(source.verticalScrollBar().value())
        finally:
            self._mirroring = False

    def _refit(self) -> None:
        if self.fit_mode:
            self.lead().fit()
