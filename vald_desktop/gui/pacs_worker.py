"""The PACS worker: test, export-then-store and store of saved files, on a thread of their own.

Both kinds of node work (DIMSE: C-ECHO / C-STORE; DICOMweb: a one-study search / STOW-RS, through
``core.export.remote``). A send may carry several files (the Segmentation, Parametric Map and SR of a run): they
go in order, and a failure names the file that failed, the rest staying on disk for Retry.

The GUI thread never waits on the network (a PACS that does not answer takes the whole timeout) nor on writing a
large Secondary Capture. Requests go in through queued signals, one sentence or the stored file comes back.
The thread starts on first use, so windows that never talk to a PACS never own it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vald_desktop.core.base.errors import ValdError

if TYPE_CHECKING:
    from vald_desktop.core.export.remote import Node as PacsNode

log = logging.getLogger(__name__)
Export = Callable[[], object]  # writes the file to send (on the PACS thread); what it returns is not used


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, ValdError):
        return str(exc)
    return f"Sending to the PACS failed unexpectedly ({type(exc).__name__}); the details are in the log."


class PacsWorker(QObject):
    """Lives on the PACS thread. ``job`` is "echo" or "send"; ``path`` is the DICOM file (None for echo)."""

    status = Signal(str)
    succeeded = Signal(str, object, str)  # job, path, message
    failed = Signal(str, object, str)  # job, path (the file on disk, when there is one), sentence

    @Slot(object)
    def echo(self, node: PacsNode) -> None:
        from vald_desktop.core.export.remote import describe, echo

        t0 = time.monotonic()
        try:
            echo(node)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence for the user
            self._fail("echo", None, exc)
            return
        ms = (time.monotonic() - t0) * 1000
        self.succeeded.emit("echo", None, f"Connection OK: {describe(node)} answered in {ms:.0f} ms.")

    @Slot(object, object, object)
    def send(self, node: PacsNode, path: Path | list[Path], export: Export | None) -> None:
        """Store ``path`` (or each of a list of paths); first write them with ``export`` when one is given.

        ``succeeded`` / ``failed`` carry the path (a list for several files: on failure the ones not yet stored).
        """
        from vald_desktop.core.export.remote import describe, send

        paths = list(path) if isinstance(path, list) else [path]
        written = export is None
        done = 0
        try:
            if export is not None:
                self.status.emit(f"Writing {', '.join(p.name for p in paths)}…")
                export()
                written = True
            for p in paths:
                self.status.emit(f"Sending {p.name} to {describe(node)}…")
                send(node, p)
                done += 1
        except Exception as exc:  # noqa: BLE001
            left = paths[done:]
            self._fail("send", (left if isinstance(path, list) else left[0]) if written else None, exc)
            return
        names = ", ".join(p.name for p in paths)
        self.succeeded.emit("send", path, f"Sent {names} to {describe(node)}; the PACS stored it.")

    def _fail(self, job: str, path: Path | list[Path] | None, exc: BaseException) -> None:
        if not isinstance(exc, ValdError):
            log.exception("PACS %s failed", job)
        self.failed.emit(job, path, _sentence(exc))


class PacsController(QObject):
    """GUI-side handle: owns the thread, queues requests, re-emits the worker's answers on the GUI thread.

    Connect widgets to the controller's signals, never to the worker's (see ``worker.SamplerController``).
    """

    status = Signal(str)
    succeeded = Signal(str, object, str)
    failed = Signal(str, object, str)
    busyChanged = Signal(bool)  # noqa: N815 - Qt naming

    _echo_requested = Signal(object)
    _send_requested = Signal(object, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self.worker: PacsWorker | None = None
        self.busy = False
        for sig in (self.succeeded, self.failed):
            sig.connect(self._on_done)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("vald-pacs")
        self.worker = PacsWorker()
        self.worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._echo_requested.connect(self.worker.echo, queued)
        self._send_requested.connect(self.worker.send, queued)
        for name in ("status", "succeeded", "failed"):
            getattr(self.worker, name).connect(getattr(self, name), queued)
        self._thread.start()

    def echo(self, node: PacsNode) -> bool:
        """Start a C-ECHO; False (and nothing sent) while another request is in flight."""
        if not self._begin():
            return False
        self._echo_requested.emit(node)
        return True

    def send(self, node: PacsNode, path: Path | list[Path], export: Export | None = None) -> bool:
        if not self._begin():
            return False
        self._send_requested.emit(
            node, [Path(p) for p in path] if isinstance(path, list) else Path(path), export
        )
        return True

    def _begin(self) -> bool:
        if self.busy:
            return False
        self._ensure_thread()
        self.busy = True
        self.busyChanged.emit(True)
        return True

    def _on_done(self, *_: object) -> None:
        self.busy = False
        self.busyChanged.emit(False)

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Stop the thread; a request in flight ends within the node's timeout."""
        if self._thread is not None:
            self._thread.quit()
            if self._thread.wait(timeout_ms):  # a later request starts a fresh thread and worker
                self._echo_requested.disconnect()
                self._send_requested.disconnect()
                self._thread = None
                self.worker = None
