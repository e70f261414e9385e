"""File > Open from PACS…: search form, study and series tables, progress with Cancel, one-sentence errors with Retry.

The dialog only asks and shows; :class:`~.pacs_browser.PacsBrowser` does the network work off the GUI thread.
Choosing a study lists its series; Open (or a double click on a series) fetches it into the local cache and emits
``opened`` with the files, then closes. An error shows as one sentence with Retry, which repeats the request that
failed. Patient data appear in the tables only: nothing of a search or an answer is logged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export.remote import Node, describe
from vald_desktop.core.export.remote_types import SeriesMatch, StudyMatch, StudyQuery
from vald_desktop.gui.pacs_browser import PacsBrowser

STUDY_COLUMNS = ("Date", "Patient ID", "Patient name", "Accession", "Modalities", "Description", "Series")
SERIES_COLUMNS = ("Number", "Modality", "Description", "Images")
MODALITIES = ("", "CR", "DX", "SEG", "OT", "SR", "CT")
ERROR_STYLE = "color: #c62828;"


class PacsOpenDialog(QDialog):
    """``opened`` carries the :class:`~vald_desktop.core.export.incoming.Retrieved` files of the chosen series."""

    opened = Signal(object)

    def __init__(self, node: Node, browser: PacsBrowser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.node = node
        self.browser = browser
        self.studies: list[StudyMatch] = []
        self.series: list[SeriesMatch] = []
        self._last: Callable[[], bool] | None = None  # the request Retry repeats

        self.node_label = QLabel(f"Searching {describe(node)}")
        self.patient_id = QLineEdit()
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("a prefix, or a pattern with * and ?")
        self.dates = QLineEdit()
        self.dates.setPlaceholderText("20240101-20240131 (either side may be left open)")
        self.accession = QLineEdit()
        self.modality = QComboBox()
        self.modality.setEditable(True)
        self.modality.addItems(MODALITIES)
        form = QFormLayout()
        form.addRow("Patient ID:", self.patient_id)
        form.addRow("Patient name:", self.patient_name)
        form.addRow("Study dates:", self.dates)
        form.addRow("Accession number:", self.accession)
        form.addRow("Modality:", self.modality)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)

        self.study_table = _table(STUDY_COLUMNS)
        self.series_table = _table(SERIES_COLUMNS)
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.retry_button = QPushButton("Retry")
        self.retry_button.hide()
        self.status_label = QLabel("")
        self.open_button = QPushButton("Open")
        self.close_button = QPushButton("Close")
        self.clear_cache_button = QPushButton("Empty the cache")
        self.clear_cache_button.setToolTip(
            "Remove every series opened from a PACS from this computer's cache."
        )

        search_row = QHBoxLayout()
        search_row.addStretch(1)
        search_row.addWidget(self.search_button)
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.progress, 1)
        busy_row.addWidget(self.cancel_button)
        error_row = QHBoxLayout()
        error_row.addWidget(self.error_label, 1)
        error_row.addWidget(self.retry_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_cache_button)
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.node_label)
        layout.addLayout(form)
        layout.addLayout(search_row)
        layout.addWidget(QLabel("Studies"))
        layout.addWidget(self.study_table, 2)
        layout.addWidget(QLabel("Series"))
        layout.addWidget(self.series_table, 1)
        layout.addLayout(busy_row)
        layout.addLayout(error_row)
        layout.addLayout(buttons)

        self.search_button.clicked.connect(self.search)
        self.study_table.itemSelectionChanged.connect(self._study_chosen)
        self.series_table.itemSelectionChanged.connect(self._update_buttons)
        self.series_table.itemDoubleClicked.connect(lambda *_: self.open_selected())
        self.open_button.clicked.connect(self.open_selected)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.clicked.connect(self.browser.cancel)
        self.retry_button.clicked.connect(self.retry)
        self.clear_cache_button.clicked.connect(self.clear_cache)
        self._connections = [
            (browser.studies, self._on_studies),
            (browser.series, self._on_series),
            (browser.retrieved, self._on_retrieved),
            (browser.progress, self._on_progress),
            (browser.failed, self._on_failed),
            (browser.cancelled, self._on_cancelled),
            (browser.busyChanged, self._on_busy),
        ]
        for sig, slot in self._connections:
            sig.connect(slot)
        self._update_buttons()
        self.resize(860, 640)

    # -- requests --------------------------------------------------------------------------------------------
    def search(self) -> bool:
        try:
            query = StudyQuery.from_form(
                patient_id=self.patient_id.text(),
                patient_name=self.patient_name.text(),
                dates=self.dates.text(),
                accession=self.accession.text(),
                modality=self.modality.currentText(),
            )
        except PacsError as exc:  # a bad date range: said at once, nothing sent
            self._error(str(exc), retry=None)
            return False
        return self._request(lambda: self.browser.search(self.node, query), "Searching…")

    def _study_chosen(self) -> None:
        study = self.selected_study()
        self.series = []
        self.series_table.setRowCount(0)
        if study is not None:
            self._request(lambda: self.browser.find_series(self.node, study.study_uid), "Listing the series…")
        self._update_buttons()

    def open_selected(self) -> bool:
        study, series = self.selected_study(), self.selected_series()
        if study is None or series is None:
            return False
        return self._request(
            lambda: self.browser.retrieve(self.node, study.study_uid, series.series_uid),
            "Fetching the series…",
        )

    def clear_cache(self) -> None:
        from vald_desktop.core.export import pacs_cache

        freed = pacs_cache.clear()
        self.status_label.setText(f"Cache emptied ({freed / 1e6:.1f} MB freed).")

    def retry(self) -> None:
        if self._last is not None:
            self._request(self._last, "Trying again…")

    def _request(self, send: Callable[[], bool], what: str) -> bool:
        self._last = send
        self.error_label.setText("")
        self.retry_button.hide()
        if not send():
            self.status_label.setText("Wait for the current request to finish, or cancel it.")
            return False
        self.status_label.setText(what)
        return True

    # -- answers ---------------------------------------------------------------------------------------------
    def _on_studies(self, studies: list[StudyMatch]) -> None:
        self.studies = list(studies)
        self.series = []
        self.series_table.setRowCount(0)
        with _quiet(self.study_table):
            _fill(self.study_table, [_study_row(s) for s in self.studies])
        self.status_label.setText(
            f"{len(self.studies)} studies found." if self.studies else "No study matches."
        )
        if len(self.studies) == 1:
            self.study_table.selectRow(0)

    def _on_series(self, study_uid: str, series: list[SeriesMatch]) -> None:
        chosen = self.selected_study()
        if chosen is None or chosen.study_uid != study_uid:
            return  # an answer for a study no longer selected
        self.series = list(series)
        _fill(self.series_table, [_series_row(s) for s in self.series])
        self.status_label.setText(f"{len(self.series)} series.")
        if self.series:
            images = [i for i, s in enumerate(self.series) if s.modality not in ("SR", "SEG", "PR", "KO")]
            self.series_table.selectRow(images[0] if images else 0)

    def _on_retrieved(self, retrieved: object) -> None:
        self.status_label.setText("Opened.")
        self.opened.emit(retrieved)
        self.accept()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, done, 1))
        self.progress.setValue(done)
        self.status_label.setText(
            f"Received {done} of {total} images." if total else f"Received {done} images."
        )

    def _on_failed(self, _job: str, sentence: str) -> None:
        self._error(sentence, retry=self._last)

    def _on_cancelled(self, _job: str) -> None:
        self.status_label.setText("Cancelled.")

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)  # busy until the server says how many images come
        self._update_buttons()

    def _error(self, sentence: str, retry: Callable[[], bool] | None) -> None:
        self.error_label.setText(sentence)
        self.retry_button.setVisible(retry is not None)
        self.status_label.setText("")

    # -- selection -------------------------------------------------------------------------------------------
    def selected_study(self) -> StudyMatch | None:
        rows = self.study_table.selectionModel().selectedRows()
        return self.studies[rows[0].row()] if rows and rows[0].row() < len(self.studies) else None

    def selected_series(self) -> SeriesMatch | None:
        rows = self.series_table.selectionModel().selectedRows()
        return self.series[rows[0].row()] if rows and rows[0].row() < len(self.series) else None

    def _update_buttons(self) -> None:
        busy = self.browser.busy
        self.search_button.setEnabled(not busy)
        self.clear_cache_button.setEnabled(not busy)  # never under a retrieve that writes into it
        self.open_button.setEnabled(not busy and self.selected_series() is not None)

    def done(self, result: int) -> None:  # noqa: D102 - stop listening (the browser outlives us) and stop its work
        if self.browser.busy:
            self.browser.cancel()
        for sig, slot in self._connections:
            with contextlib.suppress(RuntimeError, TypeError):
                sig.disconnect(slot)
        super().done(result)


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.clearSelection()
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)


@contextlib.contextmanager
def _quiet(table: QTableWidget) -> Iterator[None]:
    table.blockSignals(True)
    try:
        yield
    finally:
        table.blockSignals(False)


def _date(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 and day.isdigit() else day


def _study_row(s: StudyMatch) -> list[str]:
    series = "" if s.series_count is None else str(s.series_count)
    return [_date(s.study_date), s.patient_id, s.patient_name.replace("^", " "), s.accession,
            "/".join(s.modalities), s.description, series]  # fmt: skip


def _series_row(s: SeriesMatch) -> list[str]:
    number = "" if s.number is None else str(s.number)
    images = "" if s.instance_count is None else str(s.instance_count)
    return [number, s.modality, s.description, images]
