"""Which panels the window shows, in what order: 1×3 (original | counterfactual | overlay), 1×2 and 1×1.

In 1×2 and 1×1 each panel has a chooser in its title row (original, counterfactual or overlay), so 1×2 can be
original | counterfactual or original | overlay, or any pair. A double-click on a panel maximises it (1×1) and a
second one brings the previous layout back. The panels keep sharing one zoom and pan; at "fit" the lead panel
(the first one shown) fits the film and the others follow, so the images fill their panels in every layout.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy

from vald_desktop.gui.image_panels import PANEL_TITLES, PanelGroup

LAYOUTS = ("1x3", "1x2", "1x1")
LAYOUT_LABELS = {
    "1x3": "1 × 3: original | counterfactual | overlay",
    "1x2": "1 × 2: two panels",
    "1x1": "1 × 1: one panel",
}
DEFAULT_SLOTS = {"1x3": (0, 1, 2), "1x2": (0, 1), "1x1": (0,)}


class PanelLayout(QObject):
    """Shows the panels of a :class:`PanelGroup` in one of :data:`LAYOUTS`; ``changed`` after every change."""

    changed = Signal()

    def __init__(self, panels: PanelGroup) -> None:
        super().__init__(panels)
        self.panels = panels
        self.name = "1x3"
        self.slots: dict[str, list[int]] = {k: list(v) for k, v in DEFAULT_SLOTS.items()}
        self._before_maximise: tuple[str, list[int]] | None = None
        self.choosers: list[QComboBox] = []  # one per panel, in its title row: what this place shows
        for i, panel in enumerate(panels.panels):
            combo = QComboBox()
            for j, title in enumerate(PANEL_TITLES):
                combo.addItem(title, j)
            combo.setToolTip("What this panel shows")
            combo.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            combo.activated.connect(lambda j, i=i: self._chosen(i, j))
            panels.title_rows[i].addWidget(combo)
            self.choosers.append(combo)
            panel.doubleClicked.connect(lambda i=i: self.toggle_maximise(i))
        self.apply()

    # -- what is shown ---------------------------------------------------------------------------------------
    def shown(self) -> list[int]:
        """Indices of the panels on screen, left to right (0 original, 1 counterfactual, 2 overlay)."""
        return list(self.slots[self.name])

    @property
    def maximised(self) -> bool:
        return self._before_maximise is not None

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}")
        self.name = name
        self._before_maximise = None
        self.apply()

    def set_slot(self, slot: int, index: int) -> None:
        """Show panel ``index`` in place ``slot`` of the current layout (swapping places if it is shown already)."""
        current = self.slots[self.name]
        if not 0 <= slot < len(current) or not 0 <= index < len(self.panels.panels):
            return
        if index in current:
            other = current.index(index)
            current[other] = current[slot]
        current[slot] = index
        self.apply()

    def cycle_last(self) -> None:
        """The last place shows the next panel that is not on screen (1×2: counterfactual ⇄ overlay)."""
        current = self.slots[self.name]
        if len(current) == len(self.panels.panels):
            return
        index = current[-1]
        for _ in self.panels.panels:
            index = (index + 1) % len(self.panels.panels)
            if index not in current[:-1]:
                break
        self.set_slot(len(current) - 1, index)

    def toggle_maximise(self, index: int) -> None:
        """Panel ``index`` alone (1×1), or back to the layout it was maximised from."""
        if self._before_maximise is not None:
            name, slots = self._before_maximise
            self._before_maximise = None
            self.name = name
            self.slots[name] = slots
        else:
            self._before_maximise = (self.name, list(self.slots[self.name]))
            self.name = "1x1"
            self.slots["1x1"] = [index]
        self.apply()

    def apply(self) -> None:
        strip, columns = self.panels.strip, self.panels.columns
        shown = self.shown()
        for column in columns:
            strip.removeWidget(column)
        for i in shown + [i for i in range(len(columns)) if i not in shown]:
            strip.addWidget(columns[i], 1)
            columns[i].setVisible(i in shown)
        for i, combo in enumerate(self.choosers):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(i)
            combo.setVisible(self.name != "1x3")
        if self.panels.fit_mode:
            self.panels.fit()
        self.changed.emit()

    def _chosen(self, column: int, index: int) -> None:
        current = self.slots[self.name]
        if column in current and index != column:
            self.set_slot(current.index(column), index)

    # -- remembered per user ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        name, slots = self._before_maximise if self._before_maximise else (self.name, self.slots[self.name])
        return {"layout": name, "slots": {**{k: list(v) for k, v in self.slots.items()}, name: list(slots)}}

    def restore(self, data: dict[str, Any]) -> None:
        """A stored :meth:`state`; anything odd in it keeps the defaults."""
        stored = data.get("slots")
        for name, n in (("1x3", 3), ("1x2", 2), ("1x1", 1)):
            slots = stored.get(name) if isinstance(stored, dict) else None
            if not isinstance(slots, list) or len(slots) != n or len(set(slots)) != n:
                continue
            if all(isinstance(i, int) and 0 <= i < 3 for i in slots):
                self.slots[name] = [int(i) for i in slots]
        layout = data.get("layout")
        self.name = layout if isinstance(layout, str) and layout in LAYOUTS else "1x3"
        self._before_maximise = None
        self.apply()
