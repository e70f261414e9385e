"""De-identification of DICOM datasets: the PS3.15 Annex E Basic Application Level Confidentiality Profile.

The standard's Table E.1-1 (:mod:`.deid_table`, read from a maintained package, not kept by hand) decides for
every attribute it names, at every level of nesting. Where it offers a choice, :func:`chosen_action` takes the one
that removes most while the objects we write stay valid: ``X`` over ``Z`` over ``D``; ``U*`` for references (kept,
their instance UIDs replaced, so a derived object still points at the de-identified copy of its source); ``D``
for Patient ID (a pseudonym).

Beyond the table, and deliberately stricter than it:

- private elements, whole curve (50xx) and overlay (60xx) groups (overlays can hold burned-in text), elements the
  data dictionary does not know and elements of unknown VR are removed;
- person names, dates (alternative-calendar dates too), times and ages the table does not name are removed, at
  any level;
- UIDs the table does not name are replaced like ``U``, except those the standard itself defines
  (``1.2.840.10008.*``: SOP classes, transfer syntaxes, coding schemes);
- inside sequence items, free text the table does not name is removed, except the parts of a coded entry (Code
  Value, Coding Scheme Designator, Code Meaning...); inside a sequence the table marks ``D``, all text goes;
- the file meta information is rebuilt (no source application, AE titles or private information).

UIDs and Patient ID are replaced by keyed hashes (:mod:`.pseudonyms`): every export from this workstation maps one
study to one pseudonymous study. The method actually used, options included, is written into the dataset.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from pydicom.datadict import DicomDictionary, get_entry, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset

from vald_desktop.core.base.errors import BurnedInTextError
from vald_desktop.core.export.burned_in import REFUSED, UNKNOWN, YES, burned_in_status
from vald_desktop.core.export.deid_table import TABLE_EDITION, ProfileTable, basic_profile
from vald_desktop.core.export.pseudonyms import Pseudonymizer

DEID_METHOD = f"PS3.15 E.1-1 Basic Profile (DICOM {TABLE_EDITION} table)"
# CID 7050 De-identification Method: the profile, and the one option offered here that the CID names.
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
RETAIN_UIDS_CODE = ("113110", "DCM", "Retain UIDs Option")
STANDARD_UID_ROOT = "1.2.840.10008."

_PATIENT_ID = tag_for_keyword("PatientID")
_REMOVED_VRS = {"PN", "DA", "DT", "TM", "AS", "UN"}
_TEXT_VRS = {"LO", "SH", "LT", "ST", "UT", "UC", "UR", "AE"}
_STRING_VRS = _TEXT_VRS | {"PN", "DA", "DT", "TM", "AS", "CS", "DS", "IS", "UI"}
_BYTE_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
# The parts of a coded entry (PS3.3 Table 8.8-1): what a code means, not who it is about.
_CODED_ENTRY = {
    tag_for_keyword(k)
    for k in (
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "URNCodeValue",
        "ContextIdentifier",
        "MappingResource",
        "MappingResourceName",
        "ContextGroupExtensionFlag",
    )
}
# Dates in another calendar are free text (LO) the table does not name.
_ALTERNATIVE_CALENDAR = {tag for tag, entry in DicomDictionary.items() if "AlternativeCalendar" in entry[4]}
_DUMMY_TEXT = {
    "AS": "000Y",
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "DS": "0",
    "IS": "0",
    "UR": "urn:x",
}


class UidMap:
    """Original UID -> pseudonymous ``2.25.`` UID by keyed hash: the same everywhere and at any time.

    ``key=None`` uses this workstation's key (:func:`.pseudonyms.installation_key`), read on first use.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self.pseudonyms = Pseudonymizer(key)
        self._map: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip("\0 ")
        if not uid:
            return uid
        if uid not in self._map:
            self._map[uid] = self.pseudonyms.uid(uid)
        return self._map[uid]

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, uid: object) -> bool:
        return str(uid) in self._map


def chosen_action(tag: int, prescribed: str) -> str:
    """The action taken where the standard prescribes ``prescribed`` (e.g. ``X/Z/D`` -> ``X``)."""
    options = prescribed.split("/")
    if len(options) == 1:
        return prescribed
    if tag == _PATIENT_ID and "D" in options:
        return "D"  # a pseudonym keeps one subject's objects together
    for preferred in ("U*", "X", "Z"):
        if preferred in options:
            return preferred
    return options[0]


def deidentify(
    dataset: Dataset,
    uid_map: UidMap | None = None,
    *,
    pseudonym: str = "",
    keep_uids: bool = False,
) -> Dataset:
    """Return a de-identified copy of ``dataset`` (the original is not modified).

    ``pseudonym``, if given, becomes Patient's Name and Patient ID (a research subject code chosen by the user);
    otherwise the name is empty and the ID a keyed hash of the original. ``keep_uids`` keeps the source's UIDs
    (the standard's Retain UIDs Option), so the result stays in the source study. Raises
    :class:`BurnedInTextError` if the film declares burned-in identifying text: the pixels would carry identity.
    """
    status = burned_in_status(dataset)
    if status == YES:
        raise BurnedInTextError(REFUSED)
    uid_map = uid_map if uid_map is not None else UidMap()
    out = copy.deepcopy(dataset)
    _Cleaner(basic_profile(), (lambda uid: str(uid)) if keep_uids else uid_map, uid_map.pseudonyms).clean(out)
    _rebuild_file_meta(out)
    if pseudonym:
        out.PatientName = pseudonym
        out.PatientID = pseudonym
    out.PatientIdentityRemoved = "YES"
    method = [DEID_METHOD, "source UIDs kept" if keep_uids else "keyed-hash UIDs and Patient ID"]
    if pseudonym:
        method.append("pseudonym given by the user")
    if status == UNKNOWN:
        method.append("burned-in text not declared by the source")  # never claimed absent
    out.DeidentificationMethod = method
    out.DeidentificationMethodCodeSequence = [
        _code(c) for c in (BASIC_PROFILE_CODE, *((RETAIN_UIDS_CODE,) if keep_uids else ()))
    ]
    # All dates were removed or emptied, not shifted.
    out.LongitudinalTemporalInformationModified = "REMOVED"
    return out


class _Cleaner:
    def __init__(self, table: ProfileTable, uid: Callable[[str], str], pseudonyms: Pseudonymizer) -> None:
        self.table = table
        self.uid = uid
        self.pseudonyms = pseudonyms

    def clean(self, ds: Dataset, depth: int = 0, strict: bool = False) -> None:
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private or 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
                del ds[tag]
                continue
            prescribed = self.table.action(tag)
            if prescribed is None:
                self._unlisted(ds, elem, depth, strict)
            else:
                self._apply(ds, elem, chosen_action(tag, prescribed), depth, strict)

    def _apply(self, ds: Dataset, elem: DataElement, action: str, depth: int, strict: bool) -> None:
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            _empty(elem)
        elif action == "U":
            self._replace_uids(elem)
        elif action == "U*":
            if elem.VR == "SQ":
                for item in elem.value:
                    self.clean(item, depth + 1, strict)
            elif elem.VR == "UI":
                self._replace_uids(elem)
            else:
                _empty(elem)
        elif elem.tag == _PATIENT_ID:
            original = str(elem.value or "").strip()
            elem.value = self.pseudonyms.patient_id(original) if original else ""
        else:
            self._dummy(elem, depth)

    def _unlisted(self, ds: Dataset, elem: DataElement, depth: int, strict: bool) -> None:
        vr = elem.VR
        if not _known(elem.tag) or vr in _REMOVED_VRS or elem.tag in _ALTERNATIVE_CALENDAR:
            del ds[elem.tag]
        elif vr == "SQ":
            for item in elem.value:
                self.clean(item, depth + 1, strict)
        elif vr == "UI":
            self._replace_uids(elem, keep_standard=True)
        elif vr in _TEXT_VRS and depth > 0 and (strict or elem.tag not in _CODED_ENTRY):
            del ds[elem.tag]

    def _replace_uids(self, elem: DataElement, keep_standard: bool = False) -> None:
        def one(v: object) -> str:
            text = str(v)
            return text if keep_standard and text.startswith(STANDARD_UID_ROOT) else self.uid(text)

        if elem.VM > 1:
            elem.value = [one(v) for v in elem.value]
        elif elem.value:
            elem.value = one(elem.value)

    def _dummy(self, elem: DataElement, depth: int) -> None:
        vr = elem.VR
        if vr == "SQ":
            for item in elem.value:
                self.clean(item, depth + 1, strict=True)
        elif vr == "UI":
            self._replace_uids(elem)
        elif vr in _BYTE_VRS:
            elem.value = b"\0\0"
        elif vr in _STRING_VRS:
            elem.value = _DUMMY_TEXT.get(vr, "ANONYMOUS")
        else:
            elem.value = 0  # binary numbers (US, SL, FD...) and AT


def _empty(elem: DataElement) -> None:
    if elem.VR == "SQ":
        elem.value = []
    elif elem.VR in _BYTE_VRS:
        elem.value = b""
    elif elem.VR in _STRING_VRS:
        elem.value = ""
    else:
        elem.value = None


def _known(tag: int) -> bool:
    try:
        get_entry(tag)  # the data dictionary, repeating groups included
    except KeyError:
        return False
    return True


def _rebuild_file_meta(ds: Dataset) -> None:
    old = getattr(ds, "file_meta", None)
    if old is None:
        return
    # Only what identifies the object's kind and encoding: the source application, its AE titles and any private
    # information go; pydicom adds its own implementation identifiers when the file is written.
    meta = FileMetaDataset()
    sop_class = ds.get("SOPClassUID") or old.get("MediaStorageSOPClassUID")
    if sop_class:
        meta.MediaStorageSOPClassUID = sop_class
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "TransferSyntaxUID" in old:
        meta.TransferSyntaxUID = old.TransferSyntaxUID
    ds.file_meta = meta


def _code(triple: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = triple
    return item
