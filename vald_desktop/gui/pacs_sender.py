"""The window's PACS part: the node dialog, Send to PACS, Send file to PACS, Retry.

Sending writes the Secondary Capture to a file the user chose and then C-STOREs that file, both on the PACS
thread (:class:`~.pacs_worker.PacsController`). When the PACS cannot be reached, refuses or times out, the file
stays on disk and the message offers Retry (and the node dialog, to fix the address first); "Send file to PACS…"
re-sends any saved .dcm later.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMessageBox, QProgressBar, QWidget

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export.pacs import PacsNode, load_node
from vald_desktop.gui.burned_in_prompt import BurnedInQuestion
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.exporting import PACS_LABELS, export_result, pacs_kind, suffix_for
from vald_desktop.gui.messages import Messages
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.pacs_dialog import PacsDialog
from vald_desktop.gui.pacs_worker import PacsController


class PacsFailureBox(QMessageBox):
    """A failed send: the sentence, where the file is kept, and Retry / the node dialog / Close."""

    def __init__(self, sentence: str, path: Path, parent: QWidget) -> None:
        super().__init__(
            QMessageBox.Icon.Warning, "PACS", sentence, QMessageBox.StandardButton.NoButton, parent
        )
        self.setInformativeText(
            f"{path.name} is kept in {path.parent}; fix the PACS node if needed, then Retry."
        )
        self.retry_button = self.addButton(QMessageBox.StandardButton.Retry)
        self.node_button = self.addButton(PACS_LABELS["node"], QMessageBox.ButtonRole.ActionRole)
        self.addButton(QMessageBox.StandardButton.Close)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)


class PacsSender(QObject):
    """Sends the current result, or a saved file, to the PACS node. ``actions`` (keys of ``PACS_LABELS``) and
    ``progress`` (a busy bar for the status bar) are the window's to place."""

    def __init__(
        self,
        window: QWidget,
        messages: Messages,
        document: CurrentFilm,
        overlay: OverlayControls,
        qsettings: QSettings,
        pacs: PacsController,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._messages = messages
        self._document = document
        self._overlay = overlay
        self._qsettings = qsettings
        self.pacs = pacs
        self.burned_in = BurnedInQuestion(window, messages, document)
        self.node: PacsNode | None = None
        self.dialog: PacsDialog | None = None
        self.last_file: Path | None = None  # the last file sent or tried: what Retry sends again
        self.last_message = ""
        self.failure_box: PacsFailureBox | None = None
        try:
            self.node = load_node()
        except PacsError as exc:
            self.last_message = str(exc)  # shown when the user opens the node dialog
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # C-STORE reports no progress: a busy bar while in flight
        self.progress.setMaximumWidth(120)
        self.progress.setTextVisible(False)
        self.progress.hide()
        pacs.status.connect(messages.show_status)
        pacs.succeeded.connect(self._on_succeeded)
        pacs.failed.connect(self._on_failed)
        pacs.busyChanged.connect(self._on_busy)
        handlers = {"node": self.open_dialog, "send": self.send_to_pacs, "send_file": self.send_file_dialog}
        self.actions: dict[str, QAction] = {}
        for key, label in PACS_LABELS.items():
            act = QAction(label, window)
            act.triggered.connect(lambda _=False, h=handlers[key]: h())
            self.actions[key] = act
        self.refresh_actions()

    def refresh_actions(self) -> None:
        """Enable what can be sent now (the window calls it when a result arrives and before the menu shows)."""
        ready = self.node is not None and not self.pacs.busy
        self.actions["send"].setEnabled(ready and self._document.result is not None)
        self.actions["send_file"].setEnabled(ready)

    def deidentify(self) -> bool:
        """Whether sends de-identify the Secondary Capture (the node dialog's choice, on by default)."""
        return str(self._qsettings.value("pacs/deidentify", "true")).lower() != "false"

    # -- node dialog -----------------------------------------------------------------------------------------
    def open_dialog(self) -> PacsDialog:
        """Open the node dialog (window-modal, not blocking); returns it so tests can fill it in."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dlg = PacsDialog(self.node, self.pacs, deidentify=self.deidentify(), parent=self._window)
        if self.node is None and self.last_message:
            dlg.result_label.setText(self.last_message)
        dlg.saved.connect(self._on_saved)
        dlg.finished.connect(lambda *_: self._dialog_closed(dlg))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dlg
        dlg.open()
        return dlg

    def _dialog_closed(self, dlg: PacsDialog) -> None:
        if self.dialog is dlg:
            self.dialog = None

    def _on_saved(self, node: PacsNode, deidentify: bool) -> None:
        self.node = node
        self._qsettings.setValue("pacs/deidentify", "true" if deidentify else "false")
        self.refresh_actions()
        self._messages.show_status(f"PACS node saved: {node.ae_title} at {node.address}.")

    # -- sending ---------------------------------------------------------------------------------------------
    def _ready(self, what: str) -> PacsNode | None:
        """The node to send to, or None after saying why nothing can be sent now."""
        if self.pacs.busy:
            self._messages.show_status("A PACS transfer is already under way; wait for it to finish.")
            return None
        if self.node is None:
            self._messages.show_error(
                f"Set up the PACS node first (File > Export > {PACS_LABELS['node']}), then {what}."
            )
        return self.node

    def send_to_pacs(self) -> None:
        """Ask where to keep the DICOM, then export and send it."""
        if self._document.result is None:
            self._messages.show_error("Generate a counterfactual before sending it to a PACS.")
            return
        if self._ready("send again") is None:
            return
        deidentify = self.deidentify()
        accept = self.burned_in.accepts(deidentify)  # before any file name is asked for
        if accept is None:
            return
        kind = pacs_kind(deidentify)
        film = self._document.film
        stem = "vald" if deidentify or film is None else Path(film.source).stem
        folder = str(self._qsettings.value("pacs/folder", "") or "")
        start = str(Path(folder) / (stem + suffix_for(kind))) if folder else stem + suffix_for(kind)
        name, _ = QFileDialog.getSaveFileName(
            self._window, "Keep the DICOM sent to the PACS as", start, "DICOM (*.dcm)"
        )
        if name:
            self._qsettings.setValue("pacs/folder", str(Path(name).parent))
            self.send_result_to(Path(name), deidentify, accept_burned_in_risk=accept)

    def send_result_to(
        self, path: Path, deidentify: bool | None = None, *, accept_burned_in_risk: bool = False
    ) -> bool:
        """Export the current result as a DICOM SC at ``path`` and C-STORE it, off the GUI thread.
        ``accept_burned_in_risk``: the user confirmed that a film not declaring burned-in text shows none."""
        doc = self._document
        if doc.result is None:
            self._messages.show_error("Generate a counterfactual before sending it to a PACS.")
            return False
        node = self._ready("send again")
        if node is None:
            return False
        if deidentify is None:
            deidentify = self.deidentify()
        kind = pacs_kind(deidentify)
        # The writer gets plain values, read now on the GUI thread; the worker only calls it.
        export = functools.partial(
            export_result,
            kind,
            Path(path),
            doc.film,
            doc.result,
            self._overlay.values(),
            accept_burned_in_risk=accept_burned_in_risk,
        )
        return self.pacs.send(node, Path(path), export)

    def send_file_dialog(self) -> None:
        if self._ready("send the file") is None:
            return
        folder = str(self._qsettings.value("pacs/folder", "") or "")
        name, _ = QFileDialog.getOpenFileName(
            self._window, "Send a DICOM file to the PACS", folder, "DICOM (*.dcm);;All files (*)"
        )
        if name:
            self.send_file(Path(name))

    def send_file(self, path: Path) -> bool:
        """C-STORE an existing DICOM file (a saved export, or one that failed to send before)."""
        node = self._ready("send the file")
        return node is not None and self.pacs.send(node, Path(path))

    def retry(self) -> bool:
        return self.last_file is not None and self.send_file(self.last_file)

    # -- answers ---------------------------------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.refresh_actions()

    def _on_succeeded(self, job: str, path: Path | None, message: str) -> None:
        if job != "send":
            return
        self.last_file = path
        self.last_message = message
        self._messages.show_status(message)

    def _on_failed(self, job: str, path: Path | None, sentence: str) -> None:
        if job != "send":
            return
        self.last_message = sentence
        kept = path is not None and Path(path).is_file()
        if path is None or not kept:
            self._messages.show_error(sentence, "PACS")  # nothing was written: nothing to retry
            return
        self.last_file = Path(path)
        self._show_failure(sentence, Path(path))

    def _show_failure(self, sentence: str, path: Path) -> None:
        """One sentence plus where the file is, with Retry and the node dialog; never blocks the window."""
        self._messages.note_error(sentence)
        if self.failure_box is not None:
            self.failure_box.close()
        self._messages.close_error_box()
        box = PacsFailureBox(sentence, path, self._window)
        box.buttonClicked.connect(lambda button: self._failure_clicked(box, button))
        box.finished.connect(lambda *_: self._failure_closed(box))
        self.failure_box = box
        box.open()

    def _failure_clicked(self, box: PacsFailureBox, button: QAbstractButton) -> None:
        if button is box.retry_button:
            self.retry()
        elif button is box.node_button:
            self.open_dialog()

    def _failure_closed(self, box: PacsFailureBox) -> None:
        if self.failure_box is box:
            self.failure_box = None

    def shutdown(self) -> None:
        self.pacs.shutdown()
