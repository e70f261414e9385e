"""The window's PACS part: the node dialog, Send to PACS, Send objects to PACS, Send files to PACS, Retry.

The node is a DIMSE PACS or a DICOMweb service (the node dialog's choice; ``pacs/kind`` in the settings). Sending
writes the Secondary Capture (or the run's Segmentation, Parametric Map and SR) to files the user chose and then
stores them (C-STORE / STOW-RS), all on the PACS thread (:class:`~.pacs_worker.PacsController`). When the PACS
cannot be reached, refuses or times out, the files stay on disk and the message offers Retry (and the node
dialog, to fix the address first); "Send files to PACS…" re-sends any saved .dcm later.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMessageBox, QProgressBar, QWidget

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export.remote import Node as PacsNode
from vald_desktop.core.export.remote import describe, load_saved
from vald_desktop.gui.burned_in_prompt import BurnedInQuestion
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.exporting import PACS_LABELS, export_result, object_paths, pacs_kind, suffix_for
from vald_desktop.gui.messages import Messages
from vald_desktop.gui.overlay_controls import OverlayControls
from vald_desktop.gui.pacs_dialog import PacsDialog
from vald_desktop.gui.pacs_worker import PacsController


class PacsFailureBox(QMessageBox):
    """A failed send: the sentence, where the file is kept, and Retry / the node dialog / Close."""

    def __init__(self, sentence: str, path: Path | list[Path], parent: QWidget) -> None:
        super().__init__(
            QMessageBox.Icon.Warning, "PACS", sentence, QMessageBox.StandardButton.NoButton, parent
        )
        paths = path if isinstance(path, list) else [path]
        names = ", ".join(p.name for p in paths)
        self.setInformativeText(
            f"{names} {'is' if len(paths) == 1 else 'are'} kept in {paths[0].parent}; fix the PACS node if "
            "needed, then Retry."
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
        self.last_file: Path | list[Path] | None = (
            None  # the last file(s) sent or tried: what Retry sends again
        )
        self.last_message = ""
        self.failure_box: PacsFailureBox | None = None
        try:
            self.node = load_saved(str(qsettings.value("pacs/kind", "") or "") or None)
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
        handlers = {
            "node": self.open_dialog,
            "send": self.send_to_pacs,
            "send_objects": self.send_objects_to_pacs,
            "send_file": self.send_file_dialog,
        }
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
        self.actions["send_objects"].setEnabled(ready and self._document.result is not None)
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
        from vald_desktop.core.export.dicomweb import DicomWebNode

        self.node = node
        self._qsettings.setValue("pacs/deidentify", "true" if deidentify else "false")
        self._qsettings.setValue("pacs/kind", "dicomweb" if isinstance(node, DicomWebNode) else "dimse")
        self.refresh_actions()
        self._messages.show_status(f"PACS node saved: {describe(node)}.")

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

    def send_objects_to_pacs(self) -> None:
        """Ask for a folder, write the run's Segmentation, Parametric Map and SR there, and send all three."""
        if self._document.result is None:
            self._messages.show_error("Generate a counterfactual before sending it to a PACS.")
            return
        if self._ready("send again") is None:
            return
        deidentify = self.deidentify()
        accept = self.burned_in.accepts(deidentify)
        if accept is None:
            return
        folder = str(self._qsettings.value("pacs/folder", "") or "")
        name = QFileDialog.getExistingDirectory(
            self._window, "Keep the DICOM objects sent to the PACS in", folder
        )
        if name:
            self._qsettings.setValue("pacs/folder", name)
            self.send_objects_to(Path(name), deidentify, accept_burned_in_risk=accept)

    def send_objects_to(
        self, folder: Path, deidentify: bool | None = None, *, accept_burned_in_risk: bool = False
    ) -> bool:
        """Export the SEG, PMAP and SR of the current result into ``folder`` and store them, off the GUI thread."""
        doc = self._document
        node = self._ready("send again")
        if doc.result is None or node is None:
            return False
        deidentify = self.deidentify() if deidentify is None else deidentify
        kind = "objects-deid" if deidentify else "objects"
        film = doc.film
        stem = "vald" if deidentify or film is None else Path(film.source).stem
        paths = object_paths(Path(folder), stem, doc.result)
        export = functools.partial(
            export_result, kind, Path(folder), film, doc.result, self._overlay.values(),
            accept_burned_in_risk=accept_burned_in_risk, stem=stem, overwrite=True,
        )  # fmt: skip
        return self.pacs.send(node, paths, export)

    def send_file_dialog(self) -> None:
        if self._ready("send the file") is None:
            return
        folder = str(self._qsettings.value("pacs/folder", "") or "")
        names, _ = QFileDialog.getOpenFileNames(
            self._window, "Send DICOM files to the PACS", folder, "DICOM (*.dcm);;All files (*)"
        )
        if names:
            self.send_file([Path(n) for n in names] if len(names) > 1 else Path(names[0]))

    def send_file(self, path: Path | list[Path]) -> bool:
        """Store existing DICOM files (saved exports, or ones that failed to send before)."""
        node = self._ready("send the file")
        if node is None:
            return False
        return self.pacs.send(node, [Path(p) for p in path] if isinstance(path, list) else Path(path))

    def retry(self) -> bool:
        return self.last_file is not None and self.send_file(self.last_file)

    # -- answers ---------------------------------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.refresh_actions()

    def _on_succeeded(self, job: str, path: Path | list[Path] | None, message: str) -> None:
        if job != "send":
            return
        self.last_file = path
        self.last_message = message
        self._messages.show_status(message)

    def _on_failed(self, job: str, path: Path | list[Path] | None, sentence: str) -> None:
        if job != "send":
            return
        self.last_message = sentence
        paths = path if isinstance(path, list) else [] if path is None else [Path(path)]
        if not paths or not all(Path(p).is_file() for p in paths):
            self._messages.show_error(sentence, "PACS")  # nothing was written: nothing to retry
            return
        self.last_file = path
        self._show_failure(sentence, path if isinstance(path, list) else Path(paths[0]))

    def _show_failure(self, sentence: str, path: Path | list[Path]) -> None:
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
