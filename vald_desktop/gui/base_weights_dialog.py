"""Model ▸ Get base weights…: ``vald models fetch`` in a dialog.

Shows Stable Diffusion v1.4's licence and starts nothing until it is accepted; then downloads, assembles and
installs the base model (``core.engine.base_install``) on a thread of its own with a progress bar and Cancel.
Errors come back as one sentence; on success the dialog says where the model went and offers to use it
(``useModel``). A cancelled or failed fetch leaves no model folder; what was downloaded stays for the next try.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.errors import Cancelled, ValdError
from vald_desktop.core.engine import base_weights as bw
from vald_desktop.core.engine.base_install import ASSEMBLING, install_base, installed, plan_base
from vald_desktop.core.engine.model_home import models_home

log = logging.getLogger(__name__)
STEPS = 1000  # the bar counts thousandths: byte counts overflow a QProgressBar's int


class FetchThread(QThread):
    """Plans, downloads, assembles and installs on a thread of its own; answers with one signal."""

    progress = Signal(object, object, str)  # bytes done, bytes in all, what is being fetched
    succeeded = Signal(object)  # the installed model folder
    failed = Signal(str)  # one sentence
    cancelled = Signal(str)

    def __init__(self, name: str, overwrite: bool, cancel: threading.Event) -> None:
        super().__init__()
        self.setObjectName("vald-fetch")
        self.name, self.overwrite, self.cancel = name, overwrite, cancel
        self._last = (-1, "")

    def _report(self, done: int, total: int, what: str) -> None:
        # Once per thousandth of the whole and per file: a few thousand signals at most, however small the chunks.
        step = (done * STEPS // total if total else 0, what)
        if step != self._last:
            self._last = step
            self.progress.emit(done, total, what)

    def run(self) -> None:
        try:
            plans = plan_base()
            if self.cancel.is_set():
                raise Cancelled()
            path = install_base(
                plans, self.name, overwrite=self.overwrite, progress=self._report, cancel=self.cancel
            )
        except Cancelled:
            self.cancelled.emit(
                "Cancelled. No model was installed; what was downloaded is kept and the next download resumes it."
            )
        except ValdError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence for the user
            log.exception("getting the base weights failed")
            self.failed.emit(
                f"Getting the base weights failed unexpectedly ({type(exc).__name__}); the details are in the log."
            )
        else:
            self.succeeded.emit(path)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


class BaseWeightsDialog(QDialog):
    """``useModel(Path)``: the user chose to use the installed model."""

    useModel = Signal(object)  # noqa: N815 - Qt naming

    def __init__(self, parent: QWidget | None = None, name: str = bw.MODEL_NAME) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get base weights")
        self.name = name
        self.target = models_home() / name
        self.installed: Path | None = None
        self._thread: FetchThread | None = None
        self._cancel = threading.Event()
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Downloads Stable Diffusion v1.4 (UNet, VAE) and RadBERT from the Hugging Face Hub (about 4.2 GB, "
            f"safetensors only, checked against the Hub's checksums), assembles them and installs the untrained "
            f"base model in <b>{self.target}</b>."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.licence = QPlainTextEdit(bw.LICENCE_NOTICE)
        self.licence.setReadOnly(True)
        self.licence.setMinimumHeight(170)
        layout.addWidget(self.licence)
        link = QLabel(f'Full licence: <a href="{bw.LICENCE_URL}">{bw.LICENCE_URL}</a>')
        link.setOpenExternalLinks(True)
        layout.addWidget(link)
        self.accept_box = QCheckBox(
            "I accept the CreativeML OpenRAIL-M licence, its use restrictions included"
        )
        layout.addWidget(self.accept_box)
        self.progress = QProgressBar()
        self.progress.setRange(0, STEPS)
        self.progress.setValue(0)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.download_button = QPushButton("Download")
        self.use_button = QPushButton("Use this model")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        for b, role in ((self.download_button, QDialogButtonBox.ButtonRole.AcceptRole),
                        (self.use_button, QDialogButtonBox.ButtonRole.ApplyRole),
                        (self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole),
                        (self.close_button, QDialogButtonBox.ButtonRole.RejectRole)):  # fmt: skip
            b.setAutoDefault(False)
            buttons.addButton(b, role)
        layout.addWidget(buttons)
        self.download_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self.accept_box.toggled.connect(self._refresh)
        self.resize(640, 520)
        self._overwrite = False
        self._look_for_installed()
        self._refresh()

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._thread is not None

    def _look_for_installed(self) -> None:
        try:
            self.installed = installed(self.name)
        except ValdError as exc:
            self._overwrite = True  # an unusable folder of that name: a new download replaces it
            self._say(f"{exc} Download replaces it.")
            return
        if self.installed is not None:
            self._say(f"Already installed in {self.installed}.")

    def _refresh(self) -> None:
        self.download_button.setEnabled(
            self.accept_box.isChecked() and not self.busy and self.installed is None
        )
        self.accept_box.setEnabled(not self.busy and self.installed is None)
        self.use_button.setVisible(self.installed is not None)
        self.cancel_button.setVisible(self.busy)
        self.close_button.setVisible(not self.busy)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #ff6b6b;" if error else "")
        self.status.setText(text)

    # -- actions ---------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Begin the download; False (nothing started) until the licence is accepted, or while one runs."""
        if not self.accept_box.isChecked() or self.busy or self.installed is not None:
            return False
        self._cancel = threading.Event()
        self._thread = FetchThread(self.name, self._overwrite, self._cancel)
        queued = Qt.ConnectionType.QueuedConnection
        self._thread.progress.connect(self._on_progress, queued)
        self._thread.succeeded.connect(self._on_succeeded, queued)
        self._thread.failed.connect(self._on_failed, queued)
        self._thread.cancelled.connect(self._on_cancelled, queued)
        self.progress.setValue(0)
        self.progress.show()
        self._say("Asking the Hugging Face Hub for the files…")
        self._thread.start()
        self._refresh()
        return True

    def cancel(self) -> None:
        if self.busy:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling…")

    def _use(self) -> None:
        if self.installed is not None:
            self.useModel.emit(self.installed)
            self.accept()

    # -- answers from the fetch thread -----------------------------------------------------------------------
    @Slot(object, object, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self._cancel.is_set():
            return
        self.progress.setValue(int(STEPS * done / total) if total else 0)
        if what == ASSEMBLING:
            self._say("All files are in; assembling and verifying the model (a minute or two)…")
        else:
            self._say(f"{_gb(done)} of {_gb(total)}: {what}")

    @Slot(object)
    def _on_succeeded(self, path: Path) -> None:
        self._finish()
        self.installed = Path(path)
        self.progress.setValue(STEPS)
        self._say(
            f"Installed in {path}. Use it now, or later with --model {path.name} / VALD_MODEL={path.name}."
        )
        self._refresh()

    @Slot(str)
    def _on_failed(self, sentence: str) -> None:
        self._finish()
        self._say(sentence, error=True)
        self._refresh()

    @Slot(str)
    def _on_cancelled(self, sentence: str) -> None:
        self._finish()
        self._say(sentence)
        self._refresh()

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._thread = None
        self.cancel_button.setEnabled(True)

    # -- closing ---------------------------------------------------------------------------------------------
    def reject(self) -> None:
        if self.busy:  # Escape or the window's close button while fetching: cancel first, then close
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.busy:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop a fetch in flight and wait for its thread (the app is closing). A download stops within a chunk;
        an assembly under way is finished first and then dropped (it cannot stop halfway)."""
        if self._thread is not None:
            self._cancel.set()
            self._thread.wait()
