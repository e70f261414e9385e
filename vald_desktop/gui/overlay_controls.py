"""Overlay controls: signed (red/blue) or magnitude map, opacity and threshold sliders.

Changing them re-renders the overlay from the stored map; no new run is needed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

MODES = {"signed": "Signed (red removed, blue added)", "abs": "Magnitude |M|"}


def _slider(value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, 100)
    s.setValue(value)
    s.setFixedWidth(120)
    return s


class OverlayControls(QWidget):
    """A compact row for the overlay panel's title bar."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox()
        for key, label in MODES.items():
            self.mode.addItem(label, key)
        self.opacity = _slider(60)
        self.opacity.setToolTip("Overlay opacity")
        self.threshold = _slider(10)
        self.threshold.setToolTip("Hide changes below this fraction of the strongest change")
        self.opacity_label = QLabel()
        self.threshold_label = QLabel()
        row.addWidget(self.mode)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity)
        row.addWidget(self.opacity_label)
        row.addWidget(QLabel("Threshold"))
        row.addWidget(self.threshold)
        row.addWidget(self.threshold_label)
        self.mode.currentIndexChanged.connect(self._changed)
        self.opacity.valueChanged.connect(self._changed)
        self.threshold.valueChanged.connect(self._changed)
        self._update_labels()

    def values(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode.currentData()),
            "opacity": self.opacity.value() / 100.0,
            "threshold": self.threshold.value() / 100.0,
        }

    def set_values(self, values: dict[str, Any]) -> None:
        blockers = [QSignalBlocker(w) for w in (self.mode, self.opacity, self.threshold)]
        try:
            i = self.mode.findData(values.get("mode", "signed"))
            if i >= 0:
                self.mode.setCurrentIndex(i)
            self.opacity.setValue(round(float(values.get("opacity", 0.6)) * 100))
            self.threshold.setValue(round(float(values.get("threshold", 0.1)) * 100))
        finally:
            del blockers
        self._update_labels()

    def _changed(self, *_: object) -> None:
        self._update_labels()
        self.changed.emit()

    def _update_labels(self) -> None:
        self.opacity_label.setText(f"{self.opacity.value()}%")
        self.threshold_label.setText(f"{self.threshold.value()}%")
