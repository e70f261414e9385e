"""What the window tells the user: temporary status-bar lines and one-sentence error boxes that never block."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QStatusBar, QWidget

APPLICATION = "VALD-MD Desktop"
STATUS_MS = 8000  # how long a temporary status line stays


class Messages(QObject):
    """Status lines and error boxes for one window; ``last_error`` keeps the sentence of the last error shown."""

    def __init__(self, window: QWidget, status_bar: QStatusBar) -> None:
        super().__init__(window)
        self._window = window
        self._bar = status_bar
        self.last_error: str | None = None
        self._error_box: QMessageBox | None = None

    def show_status(self, text: str) -> None:
        self._bar.showMessage(text, STATUS_MS)

    def hold_status(self, text: str) -> None:
        """A status line that stays until another message replaces it (work under way)."""
        self._bar.showMessage(text)

    def clear_status(self) -> None:
        self._bar.clearMessage()

    def note_error(self, sentence: str) -> None:
        """Remember and show ``sentence`` in the status bar; the caller shows its own box."""
        self.last_error = sentence
        self.show_status(sentence)

    def show_error(self, sentence: str, title: str = APPLICATION) -> None:
        """Show one sentence (never a traceback) without blocking: the app stays usable."""
        self.note_error(sentence)
        self.close_error_box()
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, sentence, QMessageBox.StandardButton.Ok, self._window
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda *_: self._forget(box))
        self._error_box = box
        box.open()

    def close_error_box(self) -> None:
        if self._error_box is not None:
            self._error_box.close()

    def _forget(self, box: QMessageBox) -> None:
        if self._error_box is box:
            self._error_box = None
