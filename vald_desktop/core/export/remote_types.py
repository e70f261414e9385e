"""What a PACS search asks and answers, the same for DIMSE (C-FIND) and DICOMweb (QIDO-RS); a leaf module.

:class:`StudyQuery` holds the search form (patient ID / name, date range, accession number, modality) and checks
it; :class:`StudyMatch` and :class:`SeriesMatch` are one line of the answer. Their ``__repr__`` hides the patient's
name, ID and birth date, so a match that reaches a log or a traceback carries no identity.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import Cancelled, PacsError

# progress(done, total): instances received so far and the total when the server says it (else 0).
Progress = Callable[[int, int], None]
Cancel = threading.Event

T = TypeVar("T")
_DATE = re.compile(r"^\d{8}$")
_RANGE = re.compile(r"^(\d{4}-?\d{2}-?\d{2})?\s*(?:-|\.\.|to)\s*(\d{4}-?\d{2}-?\d{2})?$")


def parse_dates(text: str) -> tuple[str, str]:
    """``FROM-TO`` (YYYYMMDD each, either side may be left open; ``YYYY-MM-DD..YYYY-MM-DD`` too) or one day.

    Returns (from, to) as YYYYMMDD strings ("" for an open side); raises :class:`PacsError` otherwise.
    """
    text = text.strip()
    if not text:
        return "", ""
    compact = text.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text
    if _DATE.match(compact):
        day = _valid(compact, text)
        return day, day
    m = _RANGE.match(text)
    if m is None or not (m.group(1) or m.group(2)):
        raise PacsError(
            f"Give the dates as FROM-TO, for example 20240101-20240131 (either side may be left open; got {text!r})."
        )
    start = _valid(m.group(1).replace("-", ""), text) if m.group(1) else ""
    end = _valid(m.group(2).replace("-", ""), text) if m.group(2) else ""
    if start and end and start > end:
        raise PacsError(f"The date range {text} ends before it starts.")
    return start, end


def _valid(day: str, text: str) -> str:
    try:
        _dt.datetime.strptime(day, "%Y%m%d")
    except ValueError:
        raise PacsError(f"{day} in {text!r} is not a calendar date (YYYYMMDD).") from None
    return day


@dataclass(frozen=True)
class StudyQuery:
    """A study search; empty fields match everything. ``patient_name`` without wildcards matches as a prefix."""

    patient_id: str = ""
    patient_name: str = ""
    date_from: str = ""  # YYYYMMDD
    date_to: str = ""
    accession: str = ""
    modality: str = ""
    limit: int = 200  # the most studies shown; servers may cut earlier

    def __post_init__(self) -> None:
        for label, value, longest in (
            ("patient ID", self.patient_id, 64),
            ("patient name", self.patient_name, 64),
            ("accession number", self.accession, 16),
            ("modality", self.modality, 16),
        ):
            if len(value) > longest or not value.isprintable() or "\\" in value:
                raise PacsError(
                    f"The {label} may hold at most {longest} printable characters and no backslash."
                )
        for day in (self.date_from, self.date_to):
            if day:
                _valid(day, day)
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PacsError("The date range ends before it starts.")
        if not 0 < self.limit <= 10000:
            raise PacsError("The number of studies to list must be between 1 and 10000.")

    @classmethod
    def from_form(
        cls,
        *,
        patient_id: str = "",
        patient_name: str = "",
        dates: str = "",
        accession: str = "",
        modality: str = "",
        limit: int = 200,
    ) -> StudyQuery:
        start, end = parse_dates(dates)
        return cls(
            patient_id.strip(),
            patient_name.strip(),
            start,
            end,
            accession.strip(),
            modality.strip().upper(),
            limit,
        )

    @property
    def date_range(self) -> str:
        """The DICOM range matching value (``FROM-TO``, ``FROM-``, ``-TO``, or "" for any date)."""
        if not (self.date_from or self.date_to):
            return ""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from}-{self.date_to}"

    @property
    def needs_unicode(self) -> bool:
        """True when a value is not plain ASCII (the C-FIND identifier then declares UTF-8)."""
        return not all(v.isascii() for v in (self.patient_id, self.patient_name, self.accession))

    @property
    def name_pattern(self) -> str:
        name = self.patient_name
        return name if not name or any(c in name for c in "*?") else name + "*"


@dataclass(frozen=True)
class StudyMatch:
    study_uid: str
    patient_name: str = field(default="", repr=False)
    patient_id: str = field(default="", repr=False)
    birth_date: str = field(default="", repr=False)
    study_date: str = ""
    accession: str = field(default="", repr=False)
    description: str = ""
    modalities: tuple[str, ...] = ()
    series_count: int | None = None
    instance_count: int | None = None

    def line(self) -> str:
        """One line for ``vald pacs find``: tab-separated, the Study Instance UID first."""
        return "\t".join(
            [
                self.study_uid,
                _date(self.study_date),
                self.patient_id,
                self.patient_name,
                self.accession,
                "/".join(self.modalities),
                self.description,
                "" if self.series_count is None else f"{self.series_count} series",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "study_date": self.study_date,
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "birth_date": self.birth_date,
            "accession": self.accession,
            "modalities": list(self.modalities),
            "description": self.description,
            "series": self.series_count,
            "instances": self.instance_count,
        }


@dataclass(frozen=True)
class SeriesMatch:
    study_uid: str
    series_uid: str
    modality: str = ""
    number: int | None = None
    description: str = ""
    instance_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "modality": self.modality,
            "number": self.number,
            "description": self.description,
            "instances": self.instance_count,
        }


def study_match(a: Dataset) -> StudyMatch:
    """One study answer (C-FIND identifier or QIDO-RS JSON, as a dataset) as a :class:`StudyMatch`."""
    modalities = a.get("ModalitiesInStudy", "") or ""
    values = [modalities] if isinstance(modalities, str) else list(modalities)
    return StudyMatch(
        study_uid=str(a.get("StudyInstanceUID", "")),
        patient_name=str(a.get("PatientName", "") or ""),
        patient_id=str(a.get("PatientID", "") or ""),
        birth_date=str(a.get("PatientBirthDate", "") or ""),
        study_date=str(a.get("StudyDate", "") or ""),
        accession=str(a.get("AccessionNumber", "") or ""),
        description=str(a.get("StudyDescription", "") or ""),
        modalities=tuple(str(v) for v in values if str(v)),
        series_count=as_int(a.get("NumberOfStudyRelatedSeries", "")),
        instance_count=as_int(a.get("NumberOfStudyRelatedInstances", "")),
    )


def series_matches(study_uid: str, answers: list[Dataset]) -> list[SeriesMatch]:
    """Series answers as :class:`SeriesMatch`, in series-number order."""
    out = [
        SeriesMatch(
            study_uid=study_uid,
            series_uid=str(a.get("SeriesInstanceUID", "")),
            modality=str(a.get("Modality", "") or ""),
            number=as_int(a.get("SeriesNumber", "")),
            description=str(a.get("SeriesDescription", "") or ""),
            instance_count=as_int(a.get("NumberOfSeriesRelatedInstances", "")),
        )
        for a in answers
        if str(a.get("SeriesInstanceUID", ""))
    ]
    return sorted(out, key=lambda s: (s.number is None, s.number or 0, s.series_uid))


def sort_studies(matches: list[StudyMatch], limit: int) -> list[StudyMatch]:
    """Newest first, at most ``limit``."""
    return sorted(matches, key=lambda m: (m.study_date, m.study_uid), reverse=True)[:limit]


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if str(value).strip() else None
    except (TypeError, ValueError):
        return None


def _date(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:8]}" if _DATE.match(day or "") else (day or "")


def cancellable(work: Callable[[], T], cancel: Cancel | None, late: Callable[[T], object] | None = None) -> T:
    """``work()``, given up at once when ``cancel`` is set: for calls that block in a library and cannot be
    interrupted (association negotiation, an HTTP request). The call goes on in a helper thread that nobody waits
    for; if it still succeeds, ``late`` gets its result (to release what it opened)."""
    if cancel is None:
        return work()
    if cancel.is_set():
        raise Cancelled("Cancelled by the user.")
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        if cancel.is_set() and "value" in box and late is not None:
            late(box["value"])

    helper = threading.Thread(target=run, name="vald-pacs-call", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(0.1)
        if cancel.is_set() and helper.is_alive():
            raise Cancelled("Cancelled by the user.")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value
