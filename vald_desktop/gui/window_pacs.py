"""Main-window part that talks to a PACS: the node dialog, Send to PACS, Send file to PACS, Retry.

Sending writes the Secondary Capture to a file the user chose and then C-STOREs that file, both on the PACS
thread. When the PACS cannot be reached, refuses or times out, the file stays on disk and the message offers
Retry (and the node dialog, to fix the address first); "Send file to PACS…" re-sends any saved .dcm later.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QProgressBar

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export.pacs import PacsNode, load_node
from vald_desktop.gui.exporting import PACS_LABELS, export_result, pacs_kind, suffix_for
from vald_desktop.gui.pacs_dialog import PacsDialog
from vald_desktop.gui.pacs_worker import PacsController

if TYPE_CHECKING:
    from vald_desktop.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class PacsMixin(_Base):
    def _init_pacs(self) -> None:
        self.pacs = PacsController(self)
        self.pacs_node: PacsNode | None = None
        self.pacs_dialog: PacsDialog | None = None
        self.pacs_last_file: Path | None = None  # the last file sent or tried: what Retry sends again
        self.pacs_last_message = ""
        self._pacs_box: QMessageBox | None = None
        try:
            self.pacs_node = load_node()
        except PacsError as exc:
            self.pacs_last_message = str(exc)  # shown when the user opens the node dialog
        self.pacs_progress = QProgressBar()
        self.pacs_progress.setRange(0, 0)  # C-STORE reports no progress: a busy bar while in flight
        self.pacs_progress.setMaximumWidth(120)
        self.pacs_progress.setTextVisible(False)
        self.pacs_progress.hide()
        self.pacs.status.connect(self.show_status)
        self.pacs.succeeded.connect(self._on_pacs_succeeded)
        self.pacs.failed.connect(self._on_pacs_failed)
        self.pacs.busyChanged.connect(self._on_pacs_busy)

    def _build_pacs_menu(self, menu: QMenu) -> None:
        self.statusBar().addPermanentWidget(self.pacs_progress)  # temporary messages would hide a plain one
        menu.addSeparator()
        self.pacs_actions: dict[str, QAction] = {}
        handlers = {
            "node": self.open_pacs_dialog,
            "send": self.send_to_pacs,
            "send_file": self.send_file_dialog,
        }
        for key, label in PACS_LABELS.items():
            act = QAction(label, self)
            act.triggered.connect(lambda _=False, h=handlers[key]: h())
            menu.addAction(act)
            self.pacs_actions[key] = act
        menu.aboutToShow.connect(
            self._refresh_pacs_actions
        )  # a new film clears the result without telling us
        self._refresh_pacs_actions()

    def _refresh_pacs_actions(self) -> None:
        actions = getattr(self, "pacs_actions", {})
        if not actions:
            return
        ready = self.pacs_node is not None and not self.pacs.busy
        actions["send"].setEnabled(ready and self.result is not None)
        actions["send_file"].setEnabled(ready)

    def _pacs_deidentify(self) -> bool:
        return str(self.qsettings.value("pacs/deidentify", "true")).lower() != "false"

    # -- node dialog -----------------------------------------------------------------------------------------
    def open_pacs_dialog(self) -> PacsDialog:
        """Open the node dialog (window-modal, not blocking); returns it so tests can fill it in."""
        if self.pacs_dialog is not None:
            self.pacs_dialog.raise_()
            return self.pacs_dialog
        dlg = PacsDialog(self.pacs_node, self.pacs, deidentify=self._pacs_deidentify(), parent=self)
        if self.pacs_node is None and self.pacs_last_message:
            dlg.result_label.setText(self.pacs_last_message)
        dlg.saved.connect(self._on_pacs_saved)
        dlg.finished.connect(lambda *_: setattr(self, "pacs_dialog", None))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.pacs_dialog = dlg
        dlg.open()
        return dlg

    def _on_pacs_saved(self, node: PacsNode, deidentify: bool) -> None:
        self.pacs_node = node
        self.qsettings.setValue("pacs/deidentify", "true" if deidentify else "false")
        self._refresh_pacs_actions()
        self.show_status(f"PACS node saved: {node.ae_title} at {node.address}.")

    # -- sending ---------------------------------------------------------------------------------------------
    def _pacs_ready(self, what: str) -> bool:
        if self.pacs.busy:
            self.show_status("A PACS transfer is already under way; wait for it to finish.")
            return False
        if self.pacs_node is None:
            self.show_error(
                f"Set up the PACS node first (File > Export > {PACS_LABELS['node']}), then {what}."
            )
            return False
        return True

    def send_to_pacs(self) -> None:
        """Ask where to keep the DICOM, then export and send it."""
        if self.result is None:
            self.show_error("Generate a counterfactual before sending it to a PACS.")
            return
        if not self._pacs_ready("send again"):
            return
        deidentify = self._pacs_deidentify()
        kind = pacs_kind(deidentify)
        stem = "vald" if deidentify or self.film is None else Path(self.film.source).stem
        folder = str(self.qsettings.value("pacs/folder", "") or "")
        start = str(Path(folder) / (stem + suffix_for(kind))) if folder else stem + suffix_for(kind)
        name, _ = QFileDialog.getSaveFileName(
            self, "Keep the DICOM sent to the PACS as", start, "DICOM (*.dcm)"
        )
        if name:
            self.qsettings.setValue("pacs/folder", str(Path(name).parent))
            self.send_result_to(Path(name), deidentify)

    def send_result_to(self, path: Path, deidentify: bool | None = None) -> bool:
        """Export the current result as a DICOM SC at ``path`` and C-STORE it, off the GUI thread."""
        if self.result is None:
            self.show_error("Generate a counterfactual before sending it to a PACS.")
            return False
        if not self._pacs_ready("send again"):
            return False
        assert self.pacs_node is not None
        if deidentify is None:
            deidentify = self._pacs_deidentify()
        kind = pacs_kind(deidentify)
        # The writer gets plain values, read now on the GUI thread; the worker only calls it.
        export = functools.partial(
            export_result, kind, Path(path), self.film, self.result, self.overlay_controls.values()
        )
        return self.pacs.send(self.pacs_node, Path(path), export)

    def send_file_dialog(self) -> None:
        if not self._pacs_ready("send the file"):
            return
        folder = str(self.qsettings.value("pacs/folder", "") or "")
        name, _ = QFileDialog.getOpenFileName(
            self, "Send a DICOM file to the PACS", folder, "DICOM (*.dcm);;All files (*)"
        )
        if name:
            self.send_file(Path(name))

    def send_file(self, path: Path) -> bool:
        """C-STORE an existing DICOM file (a saved export, or one that failed to send before)."""
        if not self._pacs_ready("send the file"):
            return False
        assert self.pacs_node is not None
        return self.pacs.send(self.pacs_node, Path(path))

    def retry_pacs(self) -> bool:
        return self.pacs_last_file is not None and self.send_file(self.pacs_last_file)

    # -- answers ---------------------------------------------------------------------------------------------
    def _on_pacs_busy(self, busy: bool) -> None:
        self.pacs_progress.setVisible(busy)
        self._refresh_pacs_actions()

    def _on_pacs_succeeded(self, job: str, path: Any, message: str) -> None:
        if job != "send":
            return
        self.pacs_last_file = path
        self.pacs_last_message = message
        self.show_status(message)

    def _on_pacs_failed(self, job: str, path: Any, sentence: str) -> None:
        if job != "send":
            return
        self.pacs_last_message = sentence
        kept = path is not None and Path(path).is_file()
        if not kept:
            self.show_error(sentence, "PACS")  # nothing was written: nothing to retry
            return
        self.pacs_last_file = Path(path)
        self._pacs_failure_box(sentence, Path(path))

    def _pacs_failure_box(self, sentence: str, path: Path) -> None:
        """One sentence plus where the file is, with Retry and the node dialog; never blocks the window."""
        self.last_error = sentence
        self.show_status(sentence)
        for box in (self._pacs_box, self._error_box):
            if box is not None:
                box.close()
        box = QMessageBox(
            QMessageBox.Icon.Warning, "PACS", sentence, QMessageBox.StandardButton.NoButton, self
        )
        box.setInformativeText(
            f"{path.name} is kept in {path.parent}; fix the PACS node if needed, then Retry."
        )
        box.retry_button = box.addButton(QMessageBox.StandardButton.Retry)  # type: ignore[attr-defined]
        box.node_button = box.addButton(PACS_LABELS["node"], QMessageBox.ButtonRole.ActionRole)  # type: ignore[attr-defined]
        box.addButton(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: self._pacs_box_clicked(box, button))
        box.finished.connect(lambda *_: setattr(self, "_pacs_box", None))
        self._pacs_box = box
        box.open()

    def _pacs_box_clicked(self, box: QMessageBox, button: Any) -> None:
        if button is box.retry_button:  # type: ignore[attr-defined]
            self.retry_pacs()
        elif button is box.node_button:  # type: ignore[attr-defined]
            self.open_pacs_dialog()

    def _shutdown_pacs(self) -> None:
        self.pacs.shutdown()
