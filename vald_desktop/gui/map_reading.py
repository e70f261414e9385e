"""Reading the map: a colour bar over the overlay panel and the per-lung statistics box.

The colour bar says what the colours mean in the map's own units (M = film − counterfactual, in the film's display
intensity, 0 to 1): full colour at the overlay's scale (the 99th percentile of |M|) and nothing drawn below the
current threshold. The statistics are those of the one run-output writer (``core.export.exporter.run_lung_stats``),
so the box says what run.json, the exports and the PDF say. Both are computed on a pool thread (a percentile over
a 2k map would hold the window up) whenever the result or the overlay's mode or threshold changes.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QWidget

from vald_desktop.gui.qimage import pixmap_ready_qimage

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.gui.image_panels import ImagePanel

UNITS = "M = film − counterfactual (display intensity 0–1)"
BAR_W, MARGIN = 16, 8


@dataclass(frozen=True)
class MapReading:
    """What the bar and the box show for one result under one overlay style."""

    result: RunResult
    mode: str
    threshold: float  # share of the scale
    scale: float  # |M| drawn at full colour
    stats: dict[str, dict[str, float]]  # run_lung_stats: {} without a lung mask

    @property
    def cut(self) -> float:
        """|M| below which the overlay draws nothing."""
        return self.threshold * self.scale


def read_map(result: RunResult, overlay: dict[str, Any]) -> MapReading:
    """The scale and the per-lung statistics of ``result`` under the overlay values (safe on any thread)."""
    from vald_desktop.core.attribution.maps import OverlayStyle, overlay_scale
    from vald_desktop.core.export.exporter import run_lung_stats

    style = OverlayStyle(**overlay)
    scale = overlay_scale(np.asarray(result.map), style.percentile)
    return MapReading(result, style.mode, style.threshold, scale, run_lung_stats(result, style))


class MapReader(QObject):
    """Computes :class:`MapReading` off the GUI thread; ``ready`` carries the newest one (or None: no result)."""

    ready = Signal(object)
    _done = Signal(object, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        self._asked = 0
        self.current: MapReading | None = None
        self._done.connect(self._finished, Qt.ConnectionType.QueuedConnection)

    def ask(self, result: RunResult | None, overlay: dict[str, Any]) -> None:
        self._asked += 1
        if result is None:
            self.current = None
            self.ready.emit(None)
            return
        number, values = self._asked, dict(overlay)

        def job() -> None:
            if number != self._asked:
                return  # a newer question came meanwhile
            reading = read_map(result, values)
            with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
                self._done.emit(reading, number)

        self.pool.start(job)

    @Slot(object, int)
    def _finished(self, reading: MapReading, number: int) -> None:
        if number == self._asked:
            self.current = reading
            self.ready.emit(reading)

    def wait(self, timeout_ms: int = 30000) -> bool:
        return bool(self.pool.waitForDone(timeout_ms))


def _fmt(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.3g}" if abs(v) < 0.001 and v != 0 else f"{v:.3f}"


class ColourBar(QWidget):
    """The overlay's colour scale, bottom right over the overlay panel, with the map's units and the threshold."""

    def __init__(self, panel: ImagePanel) -> None:
        super().__init__(panel)
        self.setObjectName("mapColourBar")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._panel = panel
        self.reading: MapReading | None = None
        self._bar: Any = None
        panel.resized.connect(self._place)
        self.hide()

    def show_reading(self, reading: MapReading | None) -> None:
        self.reading = reading
        if reading is None or reading.scale <= 0:
            self.hide()
            return
        from vald_desktop.core.attribution.maps import OverlayStyle, colorbar

        style = OverlayStyle(mode=reading.mode, opacity=1.0, threshold=reading.threshold)
        self._bar = pixmap_ready_qimage(colorbar(style, 256, BAR_W))
        self.setToolTip(f"{UNITS}. Full colour at |M| = {_fmt(reading.scale)} (the 99th percentile of |M|); "
                        f"nothing drawn below {_fmt(reading.cut)} (threshold {reading.threshold:.0%}).")  # fmt: skip
        self._place()
        self.show()
        self.raise_()
        self.update()

    def _place(self) -> None:
        panel = self._panel
        h = int(min(230, max(120, panel.height() * 0.42)))
        w = 150
        self.setGeometry(panel.width() - w - MARGIN - 4, panel.height() - h - MARGIN, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        r = self.reading
        if r is None or self._bar is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(QRectF(self.rect()), 5, 5)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        top, bottom = 28, self.height() - 34
        x0 = self.width() - BAR_W - 10
        p.drawImage(QRectF(x0, top, BAR_W, bottom - top), self._bar)
        p.setPen(QColor(235, 235, 235))
        p.drawText(QRectF(6, 4, self.width() - 12, 18), Qt.AlignmentFlag.AlignLeft, "M (film − cf), 0–1")
        signed = r.mode == "signed"
        span = bottom - top
        mid = top + span / 2 if signed else bottom

        def y_of(v: float) -> float:  # v in units of the scale: 1 top, 0 mid (signed) or bottom, -1 bottom
            return mid - v * (span / 2 if signed else span)

        ticks = [(1.0, f"+{_fmt(r.scale)} removed" if signed else f"{_fmt(r.scale)}"), (0.0, "0")]
        if signed:
            ticks.append((-1.0, f"−{_fmt(r.scale)} added"))
        right = x0 - 4
        for v, text in ticks:
            y = y_of(v)
            p.drawLine(int(x0 - 3), int(y), int(x0), int(y))
            p.drawText(
                QRectF(2, y - 8, right - 2, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        p.setPen(QColor(255, 210, 60))
        for v in (r.threshold, -r.threshold) if signed else (r.threshold,):
            y = y_of(v)
            p.drawLine(int(x0 - 6), int(y), int(x0 + BAR_W + 4), int(y))
        y = y_of(r.threshold)
        label = f"threshold {r.threshold:.0%} = {_fmt(r.cut)}"
        p.drawText(QRectF(2, self.height() - 20, self.width() - 4, 16), Qt.AlignmentFlag.AlignLeft, label)
        p.end()


SIDES = (("right", "Right lung"), ("left", "Left lung"))  # the patient's: right = image left on a PA film


def stats_html(reading: MapReading | None, comparing: bool = False) -> str:
    """The statistics box's text: one column per lung (the patient's right first, as it sits on a PA film)."""
    if comparing:
        return "<i>Comparing two runs: statistics are per run (click one in the history).</i>"
    if reading is None:
        return "<i>No map yet: generate a counterfactual.</i>"
    if not reading.stats:
        return "<i>No lung mask: the map is not split into lungs.</i>"
    rows = [
        ("Area, |M| above threshold", "area_abs_pct", "{:.1f} %"),
        ("… of it removed (red)", "area_pct", "{:.1f} %"),
        ("Mean |M|", "mean_abs", "{:.4f}"),
        ("Max |M|", "max_abs", "{:.4f}"),
        ("Share of |M|", "share_pct", "{:.0f} %"),
    ]
    head = "".join(f"<th align='right'>{label}</th>" for _, label in SIDES)
    body = ""
    for title, key, fmt in rows:
        cells = "".join(
            f"<td align='right'>{fmt.format(reading.stats[s].get(key, math.nan))}</td>" for s, _ in SIDES
        )
        body += f"<tr><td>{title}</td>{cells}</tr>"
    foot = (f"<small>Right and left are the patient's. Threshold {reading.threshold:.0%} of the scale: "
            f"|M| above {_fmt(reading.cut)} (scale {_fmt(reading.scale)}); {UNITS}.</small>")  # fmt: skip
    return f"<table cellspacing='3'><tr><th></th>{head}</tr>{body}</table>{foot}"


class StatsBox(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapStats")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.show_reading(None)

    def show_reading(self, reading: MapReading | None, comparing: bool = False) -> None:
        self.setText(stats_html(reading, comparing))
