"""Saying on screen whether the model knows the film: a banner over the counterfactual and map panels, and the
model's own notice (the demo model: "for trying the app, not for reading films") always in the status bar.

The banner follows what the panels show (``FilmView.shown``): a result outside the model's training domain gets a
red banner that stays while that result is on screen ("the map is not meaningful"); a model that cannot tell gets
an amber "domain unknown" one; a film the model knows gets none. The reasons are in its tooltip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar

from vald_desktop.core.engine.domain import headline, read_model_domain
from vald_desktop.core.films.film import Film
from vald_desktop.core.films.kind import film_kind

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.gui.image_panels import PanelGroup

OUT_STYLE = (
    "QLabel { background-color: rgba(150, 20, 20, 225); color: white; font-weight: bold; padding: 6px 10px;"
    " border-bottom: 2px solid #ff6a5a; }"
)
UNKNOWN_STYLE = "QLabel { background-color: rgba(120, 85, 10, 225); color: #fff2cc; font-weight: bold; padding: 5px 10px; }"
NOTICE_STYLE = "QLabel { color: #e0a040; padding: 0 6px; }"


class DomainBanner(QLabel):
    """A strip across the tops of the counterfactual and map panels (a child of the panel group, kept on top)."""

    def __init__(self, panels: PanelGroup) -> None:
        super().__init__(panels)
        self.setObjectName("domainBanner")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # zoom and pan go on underneath
        self._panels = panels
        self.domain: dict[str, Any] | None = None  # the verdict shown (None: no banner)
        self.refusal: str | None = None  # the opened film's refusal, shown until a result or another film
        for panel in (panels.counterfactual, panels.overlay):
            panel.installEventFilter(self)
        self.hide()

    def show_results(self, results: list[RunResult]) -> None:
        """The banner for what the panels now show: the least known of the results on screen."""
        worst: dict[str, Any] | None = None
        for result in results:
            domain = result.record.get("domain")
            if not isinstance(domain, dict):
                continue  # runs without a verdict (stand-in engines) have nothing to say
            if domain.get("in_domain") is False or (worst is None and domain.get("in_domain") is None):
                worst = domain
        head = headline(worst) if worst is not None else None
        self.domain = worst if head is not None else None
        self.refusal = None
        if head is None or worst is None:
            self.hide()
            return
        reasons = [str(r) for r in worst.get("reasons") or []]
        out = worst.get("in_domain") is False
        self.setStyleSheet(OUT_STYLE if out else UNKNOWN_STYLE)
        self.setText(head + (f"\n{_capital(reasons[0])}." if out and reasons else ""))
        self.setToolTip("\n".join(_capital(r) + "." for r in reasons))
        self._place()  # shows it over the result panels on screen

    def show_kind(self, film: Film) -> None:
        """On opening: a film the method is not for (``core.films.kind``) says so before anyone presses Generate."""
        refusal = self.refusal = film_kind(film).refusal
        if refusal is None:
            return
        self.domain = None
        self.setStyleSheet(OUT_STYLE)
        self.setText(f"No counterfactual is made of this film.\n{refusal}")
        self.setToolTip(refusal)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kinds = (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.Hide)
        if event.type() in kinds and (
            self.domain is not None or self.refusal is not None or self.isVisible()
        ):
            self._place()
        return False

    def _place(self) -> None:
        """Across the result panels on screen (a layout may show one, both or neither)."""
        panels = (self._panels.counterfactual, self._panels.overlay)
        shown = [p for p in panels if p.isVisibleTo(self._panels)]
        if not shown:
            self.hide()
            return
        left = shown[0].mapTo(self._panels, shown[0].rect().topLeft())
        right = shown[-1].mapTo(self._panels, shown[-1].rect().topRight())
        width = max(right.x() - left.x(), 1)
        self.setGeometry(QRect(left.x(), left.y(), width, self.heightForWidth(width)))
        self.show()
        self.raise_()


class ModelNotice(QLabel):
    """The chosen model's notice from its card (``vald-settings.json`` ``domain.notice``), always on screen."""

    def __init__(self, status_bar: QStatusBar) -> None:
        super().__init__("")
        self.setObjectName("modelNotice")
        self.setStyleSheet(NOTICE_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        status_bar.insertPermanentWidget(0, self)
        self.hide()

    def show_model(self, info: Any) -> None:
        """Read the loaded model's card (a small JSON file) and show its notice, or nothing."""
        path = getattr(info, "path", None)  # stand-in engines may report no folder
        model = read_model_domain(path) if path is not None else None
        notice = model.notice if model is not None else None
        self.setText(notice or "")
        trained = model.trained_on if model is not None else None
        self.setToolTip(f"Trained on: {trained}" if trained else "")
        self.setVisible(bool(notice))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
