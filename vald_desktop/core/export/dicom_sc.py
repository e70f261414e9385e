"""DICOM Secondary Capture of the attribution composite, built with highdicom.

Placed in the source study (same Study Instance UID, new Series and SOP Instance UIDs, a Source Image Sequence
reference to the film) so it lands beside the film in the PACS; or de-identified for research: the source is first
de-identified whole (:func:`vald_desktop.core.export.deid.deidentify`, keyed-hash UIDs), and the capture is built
from that copy, so it lands in the source's pseudonymous study and nothing it copies can carry identity.

Burned In Annotation is said only when known: YES when the caption or the source shows identity, NO when the source
declares none and the caption shows none; otherwise (a source that does not say) it is left out, never claimed NO.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DA, TM

from vald_desktop.core.base.atomic import write_bytes
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.burned_in import NO, YES, burned_in_status
from vald_desktop.core.export.deid import UidMap, deidentify

MANUFACTURER = "VALD-MD Desktop"
SERIES_DESCRIPTION = "VALD-MD attribution (research use only)"
DERIVATION = (
    "Healthy counterfactual by latent diffusion and difference map; research use only, not for diagnosis"
)
SERIES_NUMBER = 9901  # high, so the derived series sorts after the acquired ones in most viewers
# DICOM code: "Source image for image processing operation".
_PURPOSE = ("121322", "DCM", "Source image for image processing operation")


def build_secondary_capture(
    source: Dataset,
    rgb: np.ndarray,
    *,
    burned_in_identity: bool = False,
    deidentified: bool = False,
    uid_map: UidMap | None = None,
    pseudonym: str = "",
    keep_uids: bool = False,
    software_version: str = "",
    series_number: int = SERIES_NUMBER,
    instance_number: int = 1,
) -> Dataset:
    """Build the SC dataset for an RGB ``uint8`` HxWx3 composite derived from ``source``.

    ``burned_in_identity`` says whether the composite's pixels show the patient's identity (a caption with name or
    ID); it sets Burned In Annotation truthfully and is refused together with ``deidentified``. ``pseudonym`` and
    ``keep_uids`` are the de-identification options (:func:`~vald_desktop.core.export.deid.deidentify`).
    """
    rgb = np.ascontiguousarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ExportError("The image for the DICOM export must be an 8-bit RGB picture.")
    if deidentified and burned_in_identity:
        raise ExportError("A de-identified DICOM cannot show the patient's identity in its caption.")
    for keyword in ("StudyInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not str(source.get(keyword, "")):
            raise ExportError(
                "The source film has no DICOM study or instance identifiers, so no DICOM can be placed."
            )
    if deidentified:
        # Raises for a source that declares burned-in identity.
        source = deidentify(source, uid_map, pseudonym=pseudonym, keep_uids=keep_uids)
    source_burned = burned_in_status(source)
    # De-identified: random 2.25 UIDs, which name no organisation (pydicom's root would name this software).
    new_uid = generate_uid(prefix=None) if deidentified else generate_uid()

    try:
        with warnings.catch_warnings():
            # highdicom warns about unusual person names copied from the source; the values are kept as they are.
            warnings.simplefilter("ignore", UserWarning)
            sc = hd.sc.SCImage.from_ref_dataset(
                ref_dataset=source,
                pixel_array=rgb,
                photometric_interpretation="RGB",
                bits_allocated=8,
                coordinate_system="PATIENT",
                series_instance_uid=new_uid,
                series_number=series_number,
                sop_instance_uid=generate_uid(prefix=None) if deidentified else generate_uid(),
                instance_number=instance_number,
                manufacturer=MANUFACTURER,
                patient_orientation=_orientation(source),
                transfer_syntax_uid=ExplicitVRLittleEndian,
                series_description=SERIES_DESCRIPTION,
                software_versions=software_version or None,
            )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ExportError(f"The DICOM Secondary Capture could not be built ({type(exc).__name__}).") from None

    # The app is a workstation producing a derived picture, not a digitizer.
    sc.ConversionType = "WSD"
    now = _dt.datetime.now()
    sc.ContentDate = DA(now.date())
    sc.ContentTime = TM(now.time().replace(microsecond=0))
    if burned_in_identity or source_burned == YES:
        sc.BurnedInAnnotation = "YES"
    elif source_burned == NO:
        sc.BurnedInAnnotation = "NO"
    sc.RecognizableVisualFeatures = "NO"
    sc.DerivationDescription = DERIVATION
    sc.SourceImageSequence = [_source_reference(source)]
    if "SpecificCharacterSet" in source:
        sc.SpecificCharacterSet = source.SpecificCharacterSet
    # A derived image inherits its source's lossy-compression history (PS3.3 C.7.6.1.1.5).
    if str(source.get("LossyImageCompression", "")) == "01":
        sc.LossyImageCompression = "01"
        for keyword in ("LossyImageCompressionRatio", "LossyImageCompressionMethod"):
            if source.get(keyword):
                setattr(sc, keyword, source.get(keyword))
    for keyword in ("BodyPartExamined", "Laterality"):
        if source.get(keyword):
            setattr(sc, keyword, source.get(keyword))

    if deidentified:
        _mark_deidentified(sc, source)
    return sc


def write_dicom(target: str | os.PathLike[str], dataset: Dataset, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` as a DICOM Part 10 file atomically (never a partial file)."""
    file_meta = getattr(dataset, "file_meta", None)
    if file_meta is not None and "SOPInstanceUID" in dataset:
        file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID

    # Serialise in memory first: pydicom re-wraps disk errors (losing errno), and the atomic writer needs the
    # original errno to tell a full disk from a read-only folder.
    buf = io.BytesIO()
    dataset.save_as(buf, enforce_file_format=True)
    return write_bytes(target, buf.getvalue(), overwrite=overwrite)


def _mark_deidentified(sc: Dataset, clean_source: Dataset) -> None:
    # The method attributes the de-identified source carries. The capture's own dates and times (content, the
    # library's contribution) are emptied too: the export date bounds the study date.
    for keyword in (
        "PatientIdentityRemoved",
        "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
        "LongitudinalTemporalInformationModified",
    ):
        if keyword in clean_source:
            setattr(sc, keyword, clean_source.get(keyword))
    for elem in sc.iterall():
        if elem.VR in ("DA", "DT", "TM"):
            elem.value = ""


def _orientation(source: Dataset) -> tuple[str, str]:
    # The composite keeps the film's row/column directions in every panel; "L","F" is the PA chest convention.
    value = source.get("PatientOrientation")
    if value is not None and len(value) == 2 and all(str(v) for v in value):
        return (str(value[0]), str(value[1]))
    return ("L", "F")


def _source_reference(source: Dataset) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = source.SOPClassUID
    item.ReferencedSOPInstanceUID = source.SOPInstanceUID
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = _PURPOSE
    item.PurposeOfReferenceCodeSequence = [code]
    return item
