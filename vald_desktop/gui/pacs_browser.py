"""Searching and retrieving from the PACS on a thread of its own (File > Open from PACS…).

:class:`PacsBrowser` is the GUI-side handle: ``search``, ``series`` and ``retrieve`` queue one request at a time to
a worker on the "vald-pacs-query" thread and return at once; ``cancel`` sets the request's cancel flag, which the
core turns into an aborted association (or a stop between DICOMweb instances) within a fraction of a second. Answers
come back as signals on the GUI thread. Matches (patient data) travel only in signals, never into the log.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vald_desktop.core.base.errors import Cancelled, ValdError

if TYPE_CHECKING:
    from vald_desktop.core.export.remote import Node
    from vald_desktop.core.export.remote_types import StudyQuery

log = logging.getLogger(__name__)


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, ValdError):
        return str(exc)
    return f"The PACS request failed unexpectedly ({type(exc).__name__}); the details are in the log."


class BrowserWorker(QObject):
    """Lives on the query thread; each slot runs one request to the end (or to its cancel)."""

    studies = Signal(object)  # list[StudyMatch]
    series = Signal(str, object)  # study UID, list[SeriesMatch]
    retrieved = Signal(object)  # Retrieved
    progress = Signal(int, int)
    failed = Signal(str, str)  # job, sentence
    cancelled = Signal(str)  # job

    @Slot(object, object, object)
    def do_search(self, node: Node, query: StudyQuery, cancel: threading.Event) -> None:
        from vald_desktop.core.export.remote import find_studies

        self._run("search", lambda: self.studies.emit(find_studies(node, query, cancel)))

    @Slot(object, str, object)
    def do_series(self, node: Node, study_uid: str, cancel: threading.Event) -> None:
        from vald_desktop.core.export.remote import find_series

        self._run("series", lambda: self.series.emit(study_uid, find_series(node, study_uid, cancel)))

    @Slot(object, str, object, object)
    def do_retrieve(self, node: Node, study_uid: str, series_uid: object, cancel: threading.Event) -> None:
        from vald_desktop.core.export.remote import open_series

        def fetch() -> None:
            uid = str(series_uid) if series_uid else None
            self.retrieved.emit(open_series(node, study_uid, uid, self.progress.emit, cancel))

        self._run("retrieve", fetch)

    def _run(self, job: str, work: Any) -> None:
        try:
            work()
        except Cancelled:
            self.cancelled.emit(job)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence for the user
            if not isinstance(exc, ValdError):
                log.exception("PACS %s failed", job)  # the traceback only: no identifiers or answers
            self.failed.emit(job, _sentence(exc))


class PacsBrowser(QObject):
    """Owns the query thread; one request at a time (``busy``), re-emitting the worker's answers."""

    studies = Signal(object)
    series = Signal(str, object)
    retrieved = Signal(object)
    progress = Signal(int, int)
    failed = Signal(str, str)
    cancelled = Signal(str)
    busyChanged = Signal(bool)  # noqa: N815 - Qt naming

    _search = Signal(object, object, object)
    _series = Signal(object, str, object)
    _retrieve = Signal(object, str, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self.worker: BrowserWorker | None = None
        self.busy = False
        self._cancel = threading.Event()
        for sig in (self.studies, self.series, self.retrieved, self.failed, self.cancelled):
            sig.connect(self._done)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("vald-pacs-query")
        self.worker = BrowserWorker()
        self.worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._search.connect(self.worker.do_search, queued)
        self._series.connect(self.worker.do_series, queued)
        self._retrieve.connect(self.worker.do_retrieve, queued)
        for name in ("studies", "series", "retrieved", "progress", "failed", "cancelled"):
            getattr(self.worker, name).connect(getattr(self, name), queued)
        self._thread.start()

    def search(self, node: Node, query: StudyQuery) -> bool:
        if not self._begin():
            return False
        self._search.emit(node, query, self._cancel)
        return True

    def find_series(self, node: Node, study_uid: str) -> bool:
        if not self._begin():
            return False
        self._series.emit(node, study_uid, self._cancel)
        return True

    def retrieve(self, node: Node, study_uid: str, series_uid: str | None) -> bool:
        if not self._begin():
            return False
        self._retrieve.emit(node, study_uid, series_uid or "", self._cancel)
        return True

    def cancel(self) -> None:
        """Ask the request in flight to stop; ``cancelled`` says when it has."""
        self._cancel.set()

    def _begin(self) -> bool:
        if self.busy:
            return False
        self._ensure_thread()
        self._cancel = threading.Event()  # a fresh flag per request: an old cancel never stops a new one
        self.busy = True
        self.busyChanged.emit(True)
        return True

    def _done(self, *_: object) -> None:
        self.busy = False
        self.busyChanged.emit(False)

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Cancel what runs, then stop the thread."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.quit()
            if self._thread.wait(timeout_ms):
                for sig in (self._search, self._series, self._retrieve):
                    sig.disconnect()
                self._thread = None
                self.worker = None
