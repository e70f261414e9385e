"""Run history: every run of the current film with its settings and a thumbnail; restore one or compare two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.domain import headline
from vald_desktop.core.masks.verdict_words import UNCERTAIN_MASK
from vald_desktop.gui.qimage import array_to_pixmap

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult

THUMB = 72
# Each entry holds full-resolution arrays (original, counterfactual, map …); a cap keeps memory bounded on 2k films.
MAX_ENTRIES = 20


@dataclass
class HistoryEntry:
    number: int
    settings: RunSettings
    result: RunResult
    thumbnail: np.ndarray  # uint8 RGB, about THUMB pixels on the long side
    seconds: float

    def label(self) -> str:
        s = self.settings
        seeds = f" ×{s.seeds}" if s.seeds > 1 else ""
        text = (
            f"#{self.number}  {s.prompt}\n"
            f"strength {s.strength:g} · guidance {s.guidance_label} · {s.steps} steps · seed {s.seed}{seeds}"
            f" · {self.seconds:.1f} s"
        )
        domain = self.result.record.get("domain")
        note = headline(domain) if isinstance(domain, dict) else None  # stand-in engines give no verdict
        mask = self.result.mask  # the mask the map was confined to, with its verdict
        notes = [n for n in (note, UNCERTAIN_MASK if mask is not None and mask.is_uncertain else None) if n]
        return "\n".join([text, *(f"\u26a0 {n}" for n in notes)])


def thumbnail(rgb: np.ndarray, size: int = THUMB) -> np.ndarray:
    """Nearest-neighbour downscale (cheap, on the GUI thread) to ``size`` pixels on the long side."""
    h, w = rgb.shape[:2]
    step = max(int(np.ceil(max(h, w) / size)), 1)
    return np.ascontiguousarray(rgb[::step, ::step])


class HistoryPanel(QWidget):
    restoreRequested = Signal(object)  # HistoryEntry
    compareRequested = Signal(object, object)  # two HistoryEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[HistoryEntry] = []
        self._count = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setWordWrap(True)
        self.list.setToolTip("Click a run to restore it; select two and press Compare")
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.restore_button = QPushButton("Restore")
        self.compare_button = QPushButton("Compare")
        self.clear_button = QPushButton("Clear")
        row.addWidget(self.restore_button)
        row.addWidget(self.compare_button)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.restore_button.clicked.connect(self._restore_selected)
        self.compare_button.clicked.connect(self._compare_selected)
        self.clear_button.clicked.connect(self.clear)
        self._selection_changed()

    def add(
        self, settings: RunSettings, result: RunResult, overlay_rgb: np.ndarray, seconds: float
    ) -> HistoryEntry:
        self._count += 1
        entry = HistoryEntry(self._count, settings, result, thumbnail(overlay_rgb), seconds)
        self.entries.append(entry)
        item = QListWidgetItem(QIcon(array_to_pixmap(entry.thumbnail)), entry.label())
        item.setData(Qt.ItemDataRole.UserRole, entry.number)
        self.list.insertItem(0, item)  # newest on top
        while len(self.entries) > MAX_ENTRIES:
            oldest = self.entries.pop(0)
            self._remove_item(oldest.number)
        return entry

    def clear(self) -> None:
        self.entries.clear()
        self.list.clear()
        self._count = 0

    def entry(self, number: int) -> HistoryEntry | None:
        return next((e for e in self.entries if e.number == number), None)

    def _remove_item(self, number: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == number:
                self.list.takeItem(i)
                return

    def _selected(self) -> list[HistoryEntry]:
        found = [self.entry(int(i.data(Qt.ItemDataRole.UserRole))) for i in self.list.selectedItems()]
        return sorted((e for e in found if e is not None), key=lambda e: e.number)

    def _clicked(self, item: QListWidgetItem) -> None:
        if len(self.list.selectedItems()) == 1:
            e = self.entry(int(item.data(Qt.ItemDataRole.UserRole)))
            if e is not None:
                self.restoreRequested.emit(e)

    def _restore_selected(self) -> None:
        sel = self._selected()
        if sel:
            self.restoreRequested.emit(sel[-1])

    def _compare_selected(self) -> None:
        sel = self._selected()
        if len(sel) == 2:
            self.compareRequested.emit(sel[0], sel[1])

    def _selection_changed(self) -> None:
        n = len(self.list.selectedItems())
        self.restore_button.setEnabled(n == 1)
        self.compare_button.setEnabled(n == 2)
