"""A film built from PS3.15 Table E.1-1 itself, for testing de-identification against the standard.

Every attribute the table names (as shipped by the table package) is put into the film with a recognisable marker
value of its VR; so are private elements, curves and overlay comments, alternative-calendar dates, file meta
information, and identifying items nested in sequences (those the table names and those it does not, two levels
deep). :func:`leaks` then finds any marker in the text of any output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydicom.datadict import DicomDictionary, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from vald_desktop.core.export.deid_table import basic_profile

UID_ROOT = "1.2.999.4242."
FILE_NAME = "Doe-John-MRN4242.dcm"  # a film whose very name identifies its patient
# Sequences the table does not name, given identifying items anyway (checked in the test that builds the film).
UNLISTED_SEQUENCES = ("ReferencedSeriesSequence", "AnatomicRegionSequence", "ProcedureCodeSequence")
_NESTED_LISTED = ("PatientName", "PatientID", "InstitutionName", "StudyDate", "ReferencedSOPInstanceUID")
_NESTED_VRS = ("PN", "LO", "SH", "LT", "ST", "UT", "UC", "DA", "TM", "DT", "UI", "AS", "AE", "UR")


@dataclass
class MarkedFilm:
    dataset: Dataset
    markers: dict[str, str] = field(default_factory=dict)  # searchable marker text -> where it was put
    values: dict[int, object] = field(default_factory=dict)  # top-level table tag -> its marker value


class _Markers:
    def __init__(self, film: MarkedFilm) -> None:
        self.film = film
        self.n = 0

    def value(self, vr: str, where: str) -> object:
        """A marker value of ``vr``; its text (where it has one) is remembered with ``where``."""
        self.n += 1
        n = self.n
        day = (dt.date(1850, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d")
        text: str | None
        value: object
        if vr == "PN":
            value = text = f"MKR{n:04d}^Marker"
        elif vr == "DA":
            value = text = day
        elif vr == "TM":
            value = text = f"235959.{n:06d}"
        elif vr == "DT":
            value = text = f"{day}235959.{n:06d}"
        elif vr == "UI":
            value = text = f"{UID_ROOT}{n}"
        elif vr == "AS":
            value = text = f"9{n % 100:02d}W"  # a 9: never inside a base32 pseudonym
        elif vr == "DS":
            value = text = f"7331.{n:04d}"
        elif vr == "IS":
            value = text = f"7331{n:04d}"
        elif vr == "UR":
            value = text = f"http://mkr{n:04d}.example"
        elif vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            text = f"MKR{n:04d}"
            value = (text + "  ").encode("ascii")[:8]
        elif vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT"):
            value, text = 7331, None  # no text to search: the per-attribute check covers it
        else:  # LO SH LT ST UT UC AE CS
            value = text = f"MKR{n:04d}"
        if text is not None:
            self.film.markers[text] = where
        return value


def _unlisted_by_vr() -> dict[str, int]:
    """For each identifying VR, one attribute the table does not name (to nest where only a catch-all helps)."""
    table = basic_profile()
    found: dict[str, int] = {}
    for tag, (vr, vm, _name, retired, keyword) in sorted(DicomDictionary.items()):
        wanted = vr in _NESTED_VRS and vr not in found and vm == "1" and not retired and keyword
        if wanted and table.action(tag) is None and tag >> 16 > 0x0008:
            found[vr] = tag
    return found


def _identity_item(m: _Markers, where: str, depth: int) -> Dataset:
    item = Dataset()
    for keyword in _NESTED_LISTED:
        tag = tag_for_keyword(keyword)
        assert tag is not None
        item.add_new(tag, dictionary_VR(tag), m.value(dictionary_VR(tag), f"{where} > {keyword}"))
    for vr, tag in _unlisted_by_vr().items():
        item.add_new(tag, vr, m.value(vr, f"{where} > {keyword_for_tag(tag)}"))
    item.add_new(0x00290010, "LO", m.value("LO", f"{where} > private creator"))
    item.add_new(0x00291001, "LO", m.value("LO", f"{where} > private element"))
    if depth < 2:
        inner = f"{where} > ReferencedSeriesSequence"
        item.ReferencedSeriesSequence = Sequence([_identity_item(m, inner, depth + 1)])
    return item


def build_marked_film(base: Dataset) -> MarkedFilm:
    """``base`` (a decodable film) carrying every Table E.1-1 attribute and more, each with a marker value."""
    film = MarkedFilm(base)
    m = _Markers(film)
    ds = base
    table = basic_profile()
    for tag in sorted(table.exact):
        if tag >> 16 in (0x0000, 0x0002):  # command and file meta groups: not a dataset's (meta is set below)
            continue
        keyword = keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        vr = dictionary_VR(tag) if keyword_for_tag(tag) else "LO"  # unknown to pydicom: written as LO
        vr = vr.split(" or ")[0]
        if vr == "SQ":
            value: object = Sequence([_identity_item(m, keyword, 1)])
        else:
            value = m.value(vr, keyword)
        ds.add_new(tag, vr, value)
        film.values[tag] = value
    for keyword in UNLISTED_SEQUENCES:
        setattr(ds, keyword, Sequence([_identity_item(m, keyword, 1)]))
    # Alternative-calendar dates, private elements, a curve, an overlay with its comments.
    for keyword in ("PatientBirthDateInAlternativeCalendar", "PatientDeathDateInAlternativeCalendar"):
        setattr(ds, keyword, f"{m.value('LO', keyword)} 1399/07/15")
        film.markers[str(getattr(ds, keyword))] = keyword
    ds.add_new(0x00090010, "LO", m.value("LO", "private creator"))
    ds.add_new(0x00091001, "LO", m.value("LO", "private element"))
    ds.add_new(0x00091002, "PN", m.value("PN", "private name"))
    ds.add_new(0x50000022, "LO", m.value("LO", "curve description"))
    ds.add_new(0x50003000, "OB", m.value("OB", "curve data"))
    ds.add_new(0x60000022, "LO", m.value("LO", "overlay description"))
    ds.add_new(0x60004000, "LT", m.value("LT", "overlay comments"))
    ds.add_new(0x60003000, "OW", m.value("OW", "overlay data"))
    ds.BurnedInAnnotation = "NO"
    # The instance UIDs the decoder and the file meta need are table attributes too: markers already.
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = base.file_meta.TransferSyntaxUID
    meta.SourceApplicationEntityTitle = m.value("AE", "file meta source AE")
    meta.SendingApplicationEntityTitle = m.value("AE", "file meta sending AE")
    meta.PrivateInformationCreatorUID = m.value("UI", "file meta private information creator")
    meta.PrivateInformation = m.value("OB", "file meta private information")
    ds.file_meta = meta
    film.markers[FILE_NAME] = "the film's file name"
    film.markers[FILE_NAME.rsplit(".", 1)[0]] = "the film's file name"
    return film


def dicom_text(ds: Dataset) -> str:
    """Every value in ``ds`` and its file meta, sequences walked recursively, as text (bytes as latin-1)."""
    parts: list[str] = []

    def walk(d: Dataset) -> None:
        for elem in d:
            if elem.VR == "SQ":
                for item in elem.value or []:
                    walk(item)
            elif elem.tag == 0x7FE00010:
                continue  # pixels: not text
            elif isinstance(elem.value, bytes):
                parts.append(elem.value.decode("latin-1"))
            else:
                parts.append(str(elem.value))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta)
    walk(ds)
    return "\n".join(parts)


def leaks(texts: dict[str, str], markers: dict[str, str]) -> list[str]:
    """``marker (where it was put) in output`` for every marker found in any output text."""
    return [
        f"{marker!r} ({where}) in {name}"
        for name, text in texts.items()
        for marker, where in markers.items()
        if marker in text
    ]
