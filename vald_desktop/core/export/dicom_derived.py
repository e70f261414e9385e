"""What the derived DICOM objects (Segmentation, Parametric Map, SR) share: their source, UIDs, codes, finish.

:func:`prepare_source` gives the dataset every object is built from and references: the film itself (the object
joins the source study, its Frame of Reference when it has one, and references the film's series and instance),
or, de-identified, the film after the same Annex E de-identification as the Secondary Capture
(:func:`~.deid.deidentify`, keyed-hash UIDs from the session's :class:`~.deid.UidMap`), so a SEG, PMAP or SR lands
in the same pseudonymous study as the de-identified SC and references the same pseudonymous film.

De-identified objects get the source's method attributes and every date and time set to the dummy value
(1900-01-01, 00:00): these objects require content dates, and the real export date would bound the study date.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pydicom.valuerep import DA, TM

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.burned_in import YES, burned_in_status
from vald_desktop.core.export.deid import UidMap, deidentify
from vald_desktop.core.export.dicom_sc import MANUFACTURER

# Series numbers beside the Secondary Capture's 9901, so the derived series sort after the acquired ones.
SERIES_SEG, SERIES_PMAP, SERIES_SR = 9902, 9903, 9904
MODEL_NAME = "VALD-MD Desktop"
# A private coding scheme for the concepts no standard names (the attribution map and its statistics).
LOCAL_SCHEME = "99VALD"
LOCAL_SCHEME_NAME = "VALD-MD Desktop local codes"
_DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000"}


@dataclass(frozen=True)
class DerivedSource:
    """The film as the derived objects see it (de-identified copy or the original), and how they are labelled."""

    dataset: Dataset
    deidentified: bool
    software_version: str = ""

    def new_uid(self) -> str:
        # De-identified: random 2.25 UIDs, which name no organisation (pydicom's root would name this software).
        return generate_uid(prefix=None) if self.deidentified else generate_uid()

    @property
    def software(self) -> str:
        return self.software_version or "unknown"

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.dataset.Rows), int(self.dataset.Columns)


def prepare_source(
    source: Dataset | None,
    *,
    deidentified: bool,
    uid_map: UidMap | None = None,
    pseudonym: str = "",
    keep_uids: bool = False,
    software_version: str = "",
) -> DerivedSource:
    """Check ``source`` can carry derived objects and de-identify it when asked (the film is never modified)."""
    if source is None:
        raise ExportError("DICOM export needs a DICOM film as the source; this film is not DICOM.")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not str(source.get(keyword, "")):
            raise ExportError(
                "The source film has no DICOM study or instance identifiers, so no DICOM can be placed."
            )
    if not (int(source.get("Rows", 0) or 0) > 0 and int(source.get("Columns", 0) or 0) > 0):
        raise ExportError("The source film does not say its size (Rows, Columns), so no DICOM can be placed.")
    if deidentified:
        source = deidentify(source, uid_map, pseudonym=pseudonym, keep_uids=keep_uids)
    return DerivedSource(source, deidentified, software_version)


def reference_copy(src: DerivedSource) -> Dataset:
    """A header-only copy of the source for highdicom: no pixels, and no pixel spacing of zero (some CR films
    carry 0\\0, which would be copied into the object and make it invalid)."""
    ds = Dataset()
    for elem in src.dataset:
        if elem.tag.group >= 0x7FE0:
            continue
        ds.add(elem)
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value is not None and not _positive_pair(value):
            del ds[keyword]
    return ds


def pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    """The film's (row, column) spacing in mm from Pixel Spacing or Imager Pixel Spacing, when it gives one."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value is not None and _positive_pair(value):
            return float(value[0]), float(value[1])
    return None


def _positive_pair(value: Any) -> bool:
    try:
        return len(value) == 2 and all(float(v) > 0 for v in value)
    except (TypeError, ValueError):
        return False


def local(value: str, meaning: str) -> Any:
    """A concept in this application's private coding scheme."""
    import highdicom as hd

    return hd.sr.CodedConcept(value, LOCAL_SCHEME, meaning)


def model_identity(record: dict[str, Any]) -> tuple[str, str]:
    """(model name, manifest hash) from a run record, "unknown" where the record does not say."""
    found = record.get("model")
    model: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(model.get("name") or "unknown")[:64]
    digest = str(model.get("manifest_hash") or model.get("manifest_sha256") or "unknown")[:64]
    return name, digest


def finish(obj: Dataset, src: DerivedSource, *, description: str, local_codes: bool = False) -> Dataset:
    """The attributes every derived object carries beyond what highdicom writes; returns ``obj``."""
    source = src.dataset
    if "SpecificCharacterSet" in source:
        obj.SpecificCharacterSet = source.SpecificCharacterSet
    if "PatientOrientation" in source and len(source.PatientOrientation) == 2 and "Rows" in obj:
        obj.PatientOrientation = source.PatientOrientation
    elif "Rows" in obj:
        obj.PatientOrientation = ["L", "F"]  # the PA chest convention the film's panels are drawn in
    for keyword in ("BodyPartExamined",):
        if source.get(keyword):
            setattr(obj, keyword, source.get(keyword))
    obj.SeriesDescription = description[:64]
    now = _dt.datetime.now()
    if "ContentDate" in obj or "Rows" in obj:
        obj.ContentDate = DA(now.date())
        obj.ContentTime = TM(now.time().replace(microsecond=0))
    if local_codes:
        item = Dataset()
        item.CodingSchemeDesignator = LOCAL_SCHEME
        item.CodingSchemeName = LOCAL_SCHEME_NAME
        item.CodingSchemeResponsibleOrganization = MANUFACTURER
        obj.CodingSchemeIdentificationSequence = [item]
    if burned_in_status(source) == YES and "BurnedInAnnotation" in obj:
        obj.BurnedInAnnotation = "YES"
    if src.deidentified:
        _mark_deidentified(obj, source)
    return obj


def _mark_deidentified(obj: Dataset, clean_source: Dataset) -> None:
    for keyword in (
        "PatientIdentityRemoved",
        "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
        "LongitudinalTemporalInformationModified",
    ):
        if keyword in clean_source:
            setattr(obj, keyword, clean_source.get(keyword))
    for elem in obj.iterall():
        if elem.VR in _DUMMY and elem.value not in (None, ""):
            elem.value = _DUMMY[elem.VR]
