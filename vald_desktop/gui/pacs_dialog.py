"""The "PACS node" dialog: a DIMSE PACS or a DICOMweb service, test, save.

DIMSE: where to send (host, port, called AE title), who we are (calling AE title), and how series come back (C-GET,
or C-MOVE to this computer's storage port). DICOMweb: base URL, sign-in and TLS trust (:mod:`.dicomweb_form`).
Fields are checked by the core node types themselves as the user types, so the dialog and ``vald send`` /
``vald pacs`` accept the same nodes and say the same sentence. "Test connection" runs a C-ECHO (DICOMweb: a
one-study search) on the PACS thread and shows the answer inline; Save writes the node of the chosen kind
(``$VALD_PACS_CONFIG`` moves the files, for tests) and makes it the one the app uses.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.errors import PacsError, ValdError
from vald_desktop.core.export import dicomweb
from vald_desktop.core.export.pacs import DEFAULT_CALLING_AET, PacsNode, save_node
from vald_desktop.core.export.remote import Node, describe
from vald_desktop.gui.dicomweb_form import DicomWebForm
from vald_desktop.gui.pacs_worker import PacsController

OK_STYLE = "color: #2e7d32;"
ERROR_STYLE = "color: #c62828;"


class PacsDialog(QDialog):
    """Edit, test and save the PACS node. ``saved`` carries the node once it is written, and the de-identify choice."""

    saved = Signal(object, bool)

    def __init__(
        self,
        node: Node | None,
        controller: PacsController,
        deidentify: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.controller = controller
        self.node: Node | None = None
        self.kind = QComboBox()
        self.kind.addItems(["DICOM (DIMSE)", "DICOMweb"])

        self.host = QLineEdit()
        self.host.setPlaceholderText("pacs.hospital.example or 10.0.0.5")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(104)
        self.ae_title = QLineEdit("ANY-SCP")
        self.calling_ae_title = QLineEdit(DEFAULT_CALLING_AET)
        for field in (self.ae_title, self.calling_ae_title):
            field.setMaxLength(16)  # the DICOM limit for an AE title
        self.ae_title.setToolTip("The PACS's own AE title (the called AE title).")
        self.calling_ae_title.setToolTip("This workstation's AE title; the PACS must know and allow it.")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1.0, 300.0)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(10.0)
        self.deidentify = QCheckBox("Send de-identified (recommended)")
        self.deidentify.setToolTip(
            "On: the Secondary Capture goes through the PS3.15 basic de-identification profile.\n"
            "Off: it joins the source study with the patient's identity."
        )
        self.deidentify.setChecked(deidentify)
        self.retrieve = QComboBox()
        self.retrieve.addItems(["C-GET", "C-MOVE to this computer"])
        self.retrieve.setToolTip(
            "How series opened from the PACS come back; C-MOVE needs the storage port below."
        )
        self.store_port = QSpinBox()
        self.store_port.setRange(1, 65535)
        self.store_port.setValue(11112)
        self.store_port.setToolTip("The port this computer listens on for C-MOVE (the PACS must know it).")

        form = QFormLayout()
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("PACS AE title:", self.ae_title)
        form.addRow("Our AE title:", self.calling_ae_title)
        form.addRow("Timeout:", self.timeout)
        form.addRow("Retrieve with:", self.retrieve)
        form.addRow("Our storage port:", self.store_port)
        dimse_page = QWidget()
        dimse_page.setLayout(form)
        self.web = DicomWebForm()
        self.pages = QStackedWidget()
        self.pages.addWidget(dimse_page)
        self.pages.addWidget(self.web)
        kind_row = QFormLayout()
        kind_row.addRow("Kind:", self.kind)

        self.test_button = QPushButton("Test connection")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setMinimumHeight(40)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)

        layout = QVBoxLayout(self)
        layout.addLayout(kind_row)
        layout.addWidget(self.pages)
        layout.addWidget(self.deidentify)
        layout.addLayout(test_row)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)

        if node is not None:
            self.set_node(node)
        for field in (self.host, self.ae_title, self.calling_ae_title):
            field.textChanged.connect(self._validate)
        for spin in (self.port, self.timeout, self.store_port):
            spin.valueChanged.connect(self._validate)
        self.retrieve.currentIndexChanged.connect(self._validate)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.web.changed.connect(self._validate)
        self.test_button.clicked.connect(self.test_connection)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        controller.succeeded.connect(self._on_succeeded)
        controller.failed.connect(self._on_failed)
        controller.busyChanged.connect(self._update_buttons)
        self._validate()
        self.setMinimumWidth(440)

    def _kind_changed(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self._validate()

    def set_node(self, node: Node) -> None:
        if isinstance(node, dicomweb.DicomWebNode):
            self.web.set_node(node)
            self.kind.setCurrentIndex(1)
            return
        self.kind.setCurrentIndex(0)
        self.retrieve.setCurrentIndex(1 if node.retrieve == "move" else 0)
        self.store_port.setValue(node.store_port)
        self.host.setText(node.host)
        self.port.setValue(node.port)
        self.ae_title.setText(node.ae_title)
        self.calling_ae_title.setText(node.calling_ae_title)
        self.timeout.setValue(node.timeout)

    def _validate(self) -> None:
        try:
            if self.kind.currentIndex() == 1:
                self.node = self.web.node()
            else:
                self.node = PacsNode(
                    host=self.host.text().strip(),
                    port=self.port.value(),
                    ae_title=self.ae_title.text().strip(),
                    calling_ae_title=self.calling_ae_title.text().strip(),
                    timeout=float(self.timeout.value()),
                    retrieve="move" if self.retrieve.currentIndex() == 1 else "get",
                    store_port=self.store_port.value(),
                )
        except PacsError as exc:
            self.node = None
            self._show(str(exc), ok=False)
        else:
            self._show("", ok=True)  # an old test result no longer describes the edited node
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        valid = self.node is not None
        self.save_button.setEnabled(valid)
        self.test_button.setEnabled(valid and not self.controller.busy)

    def _show(self, text: str, ok: bool) -> None:
        self.result_label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.result_label.setText(text)

    def test_connection(self) -> None:
        if self.node is None:
            return
        if self.controller.echo(self.node):
            self._show(f"Testing {describe(self.node)}…", ok=True)
            self.result_label.setStyleSheet("")
        self._update_buttons()

    def _on_succeeded(self, job: str, _path: object, message: str) -> None:
        if job == "echo":
            self._show(message, ok=True)

    def _on_failed(self, job: str, _path: object, sentence: str) -> None:
        if job == "echo":
            self._show(sentence, ok=False)

    def save(self) -> None:
        if self.node is None:
            return
        try:
            if isinstance(self.node, dicomweb.DicomWebNode):
                dicomweb.save_node(self.node)
            else:
                save_node(self.node)
        except ValdError as exc:  # a read-only or full config folder: one sentence, the dialog stays open
            self._show(str(exc), ok=False)
            return
        self.saved.emit(self.node, self.deidentify.isChecked())
        self.accept()

    def done(self, result: int) -> None:  # noqa: D102 - stop listening once closed: the controller outlives us
        for sig, slot in (
            (self.controller.succeeded, self._on_succeeded),
            (self.controller.failed, self._on_failed),
            (self.controller.busyChanged, self._update_buttons),
        ):
            with contextlib.suppress(RuntimeError, TypeError):  # already disconnected
                sig.disconnect(slot)
        super().done(result)
