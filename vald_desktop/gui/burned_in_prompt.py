"""Burned-in text before a de-identified export: refused when the film declares it, asked when it does not say.

Every export shows the film's pixels, so the header's de-identification cannot remove a name burned into them.
:class:`BurnedInQuestion` asks once per film (the answer holds for that film's later exports) and says why an
export cannot be de-identified at all.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from vald_desktop.core.export.burned_in import REFUSED, UNKNOWN, YES, burned_in_status
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.messages import Messages

QUESTION = "This film does not say whether text is burned into its pixels."
DETAIL = (
    "A de-identified export shows the film itself: a name, ID or date written into the image would stay "
    "readable. Export it de-identified only if you have looked and it shows none."
)


def ask_burned_in_risk(parent: QWidget) -> bool:
    """The question itself (a modal box, No by default); True when the user confirms the film shows no text."""
    box = QMessageBox(QMessageBox.Icon.Warning, "De-identified export", QUESTION, parent=parent)
    box.setInformativeText(DETAIL)
    yes = box.addButton("It shows no identifying text", QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(no)
    box.exec()
    return box.clickedButton() is yes


class BurnedInQuestion:
    """Decides, for the current film, whether a de-identified export may go ahead (asking if need be)."""

    def __init__(self, window: QWidget, messages: Messages, document: CurrentFilm) -> None:
        self._window = window
        self._messages = messages
        self._document = document
        self._confirmed: set[str] = set()  # film keys the user vouched for in this session

    def accepts(self, deidentify: bool) -> bool | None:
        """``accept_burned_in_risk`` for the export, or None when it must not happen (the user was told why)."""
        if not deidentify:
            return False
        film = self._document.film
        status = burned_in_status(getattr(film, "dataset", None))
        if status == YES:
            self._messages.show_error(REFUSED)
            return None
        if status != UNKNOWN:
            return False
        key = self._document.key
        if key is not None and key in self._confirmed:
            return True
        if not ask_burned_in_risk(self._window):
            return None
        if key is not None:
            self._confirmed.add(key)
        return True
