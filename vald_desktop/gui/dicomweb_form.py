"""The DICOMweb page of the PACS node dialog: base URL, sign-in (none, user and password, or bearer token), TLS.

The fields are checked by ``core.export.dicomweb.DicomWebNode`` itself (:meth:`DicomWebForm.node` raises its
sentence), so the dialog and ``vald … --dicomweb`` accept the same nodes. Certificates are checked unless the user
turns that off, which the page marks as for test servers only.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from vald_desktop.core.export.dicomweb import DicomWebNode

SIGN_IN = ("None", "User name and password", "Bearer token")


class DicomWebForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://pacs.hospital.example/dicom-web")
        self.sign_in = QComboBox()
        self.sign_in.addItems(SIGN_IN)
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_bundle = QLineEdit()
        self.ca_bundle.setPlaceholderText("the system's certificate authorities")
        self.browse = QPushButton("Choose…")
        self.verify_tls = QCheckBox("Check the server's certificate (turn off for test servers only)")
        self.verify_tls.setChecked(True)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1.0, 600.0)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(30.0)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_bundle, 1)
        ca_row.addWidget(self.browse)
        form = QFormLayout(self)
        form.addRow("Base URL:", self.url)
        form.addRow("Sign in:", self.sign_in)
        form.addRow("User name:", self.username)
        form.addRow("Password:", self.password)
        form.addRow("Token:", self.token)
        form.addRow("CA certificates:", ca_row)
        form.addRow("", self.verify_tls)
        form.addRow("Timeout:", self.timeout)
        for field in (self.url, self.username, self.password, self.token, self.ca_bundle):
            field.textChanged.connect(self.changed)
        self.sign_in.currentIndexChanged.connect(self._sign_in_changed)
        self.verify_tls.toggled.connect(self.changed)
        self.timeout.valueChanged.connect(self.changed)
        self.browse.clicked.connect(self._choose_bundle)
        self._sign_in_changed()

    def _sign_in_changed(self, *_: object) -> None:
        mode = self.sign_in.currentIndex()
        self.username.setEnabled(mode == 1)
        self.password.setEnabled(mode == 1)
        self.token.setEnabled(mode == 2)
        self.changed.emit()

    def _choose_bundle(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "CA certificates (PEM)", "", "PEM (*.pem *.crt);;All files (*)"
        )
        if name:
            self.ca_bundle.setText(name)

    def node(self) -> DicomWebNode:
        """The node the fields describe; raises :class:`PacsError` with the sentence to show."""
        mode = self.sign_in.currentIndex()
        return DicomWebNode(
            url=self.url.text().strip(),
            username=self.username.text().strip() if mode == 1 else "",
            password=self.password.text() if mode == 1 else "",
            token=self.token.text().strip() if mode == 2 else "",
            verify_tls=self.verify_tls.isChecked(),
            ca_bundle=self.ca_bundle.text().strip(),
            timeout=float(self.timeout.value()),
        )

    def set_node(self, node: DicomWebNode) -> None:
        self.url.setText(node.url)
        self.username.setText(node.username)
        self.password.setText(node.password)
        self.token.setText(node.token)
        self.sign_in.setCurrentIndex(2 if node.token else 1 if node.username else 0)
        self.ca_bundle.setText(node.ca_bundle)
        self.verify_tls.setChecked(node.verify_tls)
        self.timeout.setValue(node.timeout)
