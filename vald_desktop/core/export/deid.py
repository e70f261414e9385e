"""De-identification of DICOM datasets: the PS3.15 Annex E Basic Application Level Confidentiality Profile.

Each attribute of the profile's table gets one action:

- ``X`` remove, ``Z`` replace with an empty value, ``D`` replace with a dummy value,
- ``U`` replace the UID with a new one, consistently within a session (:class:`UidMap`),
- ``K*`` keep the sequence but de-identify its items (references such as Source Image Sequence).

The table lives in :mod:`.deid_profile`; where the standard allows a choice it picks the one that keeps a
Secondary Capture valid: ``Z`` for attributes the IOD needs as type 2, ``X`` otherwise. Beyond the profile, and
deliberately stricter than it, any other date/time or person-name element is removed, private elements are removed,
and curve/overlay groups (50xx, 60xx) are removed because overlays can hold burned-in text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import generate_uid

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.deid_profile import BASIC_PROFILE

DEID_METHOD = "PS3.15 Annex E Basic Profile (VALD-MD Desktop)"
# The code the standard defines for the profile (CID 7050 De-identification Method).
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

_ACTIONS = {"X", "Z", "D", "U", "K*"}


def _tags(table: Mapping[str, str]) -> dict[BaseTag, str]:
    out: dict[BaseTag, str] = {}
    for keyword, action in table.items():
        tag = tag_for_keyword(keyword)
        # A typo in the table would silently leave an attribute in place: fail at import instead.
        if tag is None or action not in _ACTIONS:
            raise RuntimeError(f"bad de-identification table entry {keyword}: {action}")
        out[Tag(tag)] = action
    return out


PROFILE_TAGS: dict[BaseTag, str] = _tags(BASIC_PROFILE)
# VRs that name people or carry dates: removed even when the table does not list them (stricter than the profile).
_CATCH_ALL_VRS = {"PN", "DA", "DT", "TM"}


class UidMap:
    """Replaces UIDs consistently: the same original UID always maps to the same new UID in this object's lifetime.

    Keep one map per export session so that a de-identified overlay still points at the de-identified copy of its
    source image (and stays in the same pseudonymous study).
    """

    def __init__(self, prefix: str | None = None) -> None:
        self._prefix = prefix  # None: 2.25.<uuid> UIDs, which need no registered root
        self._map: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid)
        if not uid:
            return uid
        if uid not in self._map:
            self._map[uid] = str(generate_uid(prefix=self._prefix))
        return self._map[uid]

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, uid: object) -> bool:
        return str(uid) in self._map


def deidentify(
    dataset: Dataset,
    uid_map: UidMap | None = None,
    *,
    pseudonym: str = "",
) -> Dataset:
    """Return a de-identified copy of ``dataset`` (the original is not modified).

    ``pseudonym``, if given, becomes both Patient's Name and Patient ID (a research subject code chosen by the user);
    otherwise they are empty. Raises :class:`ExportError` if the film declares burned-in identifying annotation,
    because the pixels themselves would then carry identity.
    """
    if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
        raise ExportError(
            "This film has identifying text burned into its pixels, so it cannot be de-identified."
        )
    uid_map = uid_map if uid_map is not None else UidMap()
    out = copy.deepcopy(dataset)
    _clean(out, uid_map)
    if getattr(out, "file_meta", None) is not None:
        meta = out.file_meta
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        # The source application's AE title can name the site.
        for keyword in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "PrivateInformation",
        ):
            if keyword in meta:
                delattr(meta, keyword)
    if pseudonym:
        out.PatientName = pseudonym
        out.PatientID = pseudonym
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEID_METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = BASIC_PROFILE_CODE
    out.DeidentificationMethodCodeSequence = [code]
    # All dates were removed or emptied, not shifted.
    out.LongitudinalTemporalInformationModified = "REMOVED"
    return out


def _clean(ds: Dataset, uid_map: UidMap) -> None:
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private or tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100):
            del ds[tag]
            continue
        action = PROFILE_TAGS.get(tag)
        if action is None:
            if elem.VR in _CATCH_ALL_VRS:
                del ds[tag]
            elif elem.VR == "SQ":
                for item in elem.value:
                    _clean(item, uid_map)
            continue
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = None if elem.VR == "SQ" else ""
        elif action == "D":
            elem.value = _dummy(elem.VR)
        elif action == "U":
            if elem.VM > 1:
                elem.value = [uid_map(v) for v in elem.value]
            elif elem.value:
                elem.value = uid_map(elem.value)
        elif action == "K*":
            for item in elem.value:
                _clean(item, uid_map)


def _dummy(vr: str) -> str:
    if vr == "DA":
        return "19000101"
    if vr == "TM":
        return "000000"
    if vr == "DT":
        return "19000101000000"
    return "ANONYMOUS"
