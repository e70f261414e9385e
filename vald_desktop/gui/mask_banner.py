"""Saying on screen when the lung mask is uncertain: an amber banner across the top of the original panel.

It follows the mask editor (``MaskEditor.verdictChanged``): an automatic mask whose verdict is "uncertain" gets the
banner ("Lung mask uncertain: <first reason> — check it or paint it with the brush (B)") with a button that turns
the brush on; it goes when the mask is edited or replaced (a mask a person drew or chose is taken as given) or the
film changes. Runs stay allowed. It sits beside the domain banner (over the counterfactual and map panels), so both
can show at once, and it wears the domain banner's amber.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QFrame, QLabel, QPushButton

from vald_desktop.core.masks.verdict_words import UNCERTAIN_MASK

if TYPE_CHECKING:
    from vald_desktop.core.masks.lung_mask import LungMask
    from vald_desktop.gui.image_panels import PanelGroup

# The amber of the domain banner's "domain unknown" (gui.domain_banner.UNKNOWN_STYLE), on a frame with a button.
MASK_STYLE = (
    "#maskBanner { background-color: rgba(120, 85, 10, 225); border-bottom: 2px solid #e0a040; }"
    " #maskBanner QLabel { color: #fff2cc; font-weight: bold; background: transparent; }"
    " #maskBanner QPushButton { color: #fff2cc; background-color: rgba(60, 40, 0, 200);"
    " border: 1px solid #e0a040; padding: 3px 8px; }"
)
WIDE = 420  # panel width (px) from which the button sits beside the sentence rather than under it


def banner_text(mask: LungMask) -> str:
    """``Lung mask uncertain: <first reason> — check it or paint it with the brush (B)``."""
    first = mask.reasons[0].strip().rstrip(".") if mask.reasons else ""
    why = f": {first[:1].lower() + first[1:]}" if first else ""
    return f"{UNCERTAIN_MASK}{why} \u2014 check it or paint it with the brush (B)"


class MaskBanner(QFrame):
    """A strip across the top of the original panel (a child of the panel group, kept on top)."""

    brushRequested = Signal()  # the button: turn the mask brush on

    def __init__(self, panels: PanelGroup) -> None:
        super().__init__(panels)
        self.setObjectName("maskBanner")
        self.setStyleSheet(MASK_STYLE)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton("Paint the mask (B)")
        self.button.setToolTip("Turn the lung-mask brush on; left-drag on a panel paints lung")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.brushRequested)
        self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._row.setContentsMargins(10, 5, 8, 5)
        self._row.addWidget(self.label, 1)
        self._row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._panels = panels
        self.lung_mask: LungMask | None = None  # the uncertain mask shown (None: no banner)
        for panel in (panels.original, panels.counterfactual, panels.overlay):
            panel.installEventFilter(self)  # layouts hide and show panels: the banner follows
        self.hide()

    def show_mask(self, mask: LungMask | None) -> None:
        """The banner for the mask now in use: shown while it is uncertain, hidden otherwise."""
        self.lung_mask = mask if mask is not None and mask.is_uncertain else None
        if mask is None or self.lung_mask is None:
            self.hide()
            return
        self.label.setText(banner_text(mask))
        reasons = [r.strip() for r in mask.reasons]
        self.setToolTip("\n".join([f"{UNCERTAIN_MASK} (confidence {mask.confidence:.2f})", *reasons]))
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kinds = (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.Hide)
        if event.type() in kinds and self.lung_mask is not None:
            self._place()
        return False

    def _place(self) -> None:
        """Across the top of the original panel; when a layout hides it, along the bottom of the first panel shown
        (its top belongs to the domain banner)."""
        group = self._panels
        shown = [p for p in (group.original, group.counterfactual, group.overlay) if p.isVisibleTo(group)]
        if not shown or self.lung_mask is None:
            self.hide()
            return
        panel = shown[0]
        top_left = panel.mapTo(group, panel.rect().topLeft())
        width = max(panel.width(), 1)
        self._row.setDirection(
            QBoxLayout.Direction.LeftToRight if width >= WIDE else QBoxLayout.Direction.TopToBottom
        )
        height = max(self.heightForWidth(width), self.sizeHint().height())
        y = top_left.y() if panel is group.original else top_left.y() + panel.height() - height
        self.setGeometry(QRect(top_left.x(), y, width, height))
        self.show()
        self.raise_()
