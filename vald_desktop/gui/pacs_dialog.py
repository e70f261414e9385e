"""The "PACS node" dialog: where to send (host, port, called AE title), who we are (calling AE title), test, save.

Fields are checked by ``core.pacs.PacsNode`` itself as the user types, so the dialog and ``vald send`` accept the
same nodes and say the same sentence. "Test connection" runs a C-ECHO on the PACS thread and shows the answer
inline; Save writes the node with ``core.pacs.save_node`` (``$VALD_PACS_CONFIG`` moves it, for tests).
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.errors import PacsError, ValdError
from vald_desktop.core.export.pacs import DEFAULT_CALLING_AET, PacsNode, save_node
from vald_desktop.gui.pacs_worker import PacsController

OK_STYLE = "color: #2e7d32;"
ERROR_STYLE = "color: #c62828;"


class PacsDialog(QDialog):
    """Edit, test and save the PACS node. ``saved`` carries the node once it is written, and the de-identify choice."""

    saved = Signal(object, bool)

    def __init__(
        self,
        node: PacsNode | None,
        controller: PacsController,
        deidentify: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.controller = controller
        self.node: PacsNode | None = None

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

        form = QFormLayout()
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("PACS AE title:", self.ae_title)
        form.addRow("Our AE title:", self.calling_ae_title)
        form.addRow("Timeout:", self.timeout)
        form.addRow("", self.deidentify)

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
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)

        if node is not None:
            self.set_node(node)
        for field in (self.host, self.ae_title, self.calling_ae_title):
            field.textChanged.connect(self._validate)
        self.port.valueChanged.connect(self._validate)
        self.timeout.valueChanged.connect(self._validate)
        self.test_button.clicked.connect(self.test_connection)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        controller.succeeded.connect(self._on_succeeded)
        controller.failed.connect(self._on_failed)
        controller.busyChanged.connect(self._update_buttons)
        self._validate()
        self.setMinimumWidth(440)

    def set_node(self, node: PacsNode) -> None:
        self.host.setText(node.host)
        self.port.setValue(node.port)
        self.ae_title.setText(node.ae_title)
        self.calling_ae_title.setText(node.calling_ae_title)
        self.timeout.setValue(node.timeout)

    def _validate(self) -> None:
        try:
            self.node = PacsNode(
                host=self.host.text().strip(),
                port=self.port.value(),
                ae_title=self.ae_title.text().strip(),
                calling_ae_title=self.calling_ae_title.text().strip(),
                timeout=float(self.timeout.value()),
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
            self._show(f"Testing {self.node.address}…", ok=True)
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
