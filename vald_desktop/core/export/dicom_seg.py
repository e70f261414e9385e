"""DICOM Segmentation of a run, built with highdicom: the two lungs and the thresholded attribution map.

One binary SEG on the film's pixel grid, referencing the film (see :mod:`.dicom_derived`), with three segments:

1. the patient's right lung (SCT 3341006 "Right lung"), 2. the patient's left lung (SCT 44029006 "Left lung") —
   on a PA/AP film the left lung is on the image right; both in the category SCT 91723000 "Anatomical Structure";
3. the attribution above the overlay's cut (the rule the lung statistics count: M > threshold × the |M|
   percentile scale), a concept of this application's own coding scheme.

A lung mask a person drew or chose is labelled MANUAL (edited: SEMIAUTOMATIC); an automatic one AUTOMATIC with
its algorithm named.
"""

from __future__ import annotations

import warnings

import numpy as np
from pydicom.dataset import Dataset

from vald_desktop.core.attribution.maps import OverlayStyle, overlay_scale
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.dicom_derived import (
    MODEL_NAME,
    SERIES_SEG,
    DerivedSource,
    finish,
    local,
    reference_copy,
)
from vald_desktop.core.export.dicom_sc import MANUFACTURER
from vald_desktop.core.masks.lung_mask import LungMask, resize_nearest

SERIES_DESCRIPTION = "VALD-MD lungs and attribution (research use only)"
RIGHT_LUNG = ("3341006", "SCT", "Right lung")
LEFT_LUNG = ("44029006", "SCT", "Left lung")
ATTRIBUTION_SEGMENT = ("ATTRIB-CUT", "Attribution above the overlay threshold")
SEGMENT_LABELS = ("Right lung", "Left lung", "Attribution above threshold")
_ALGORITHM_TYPE = {"file": "MANUAL", "dataset": "MANUAL", "edited": "SEMIAUTOMATIC"}


def above_threshold(m: np.ndarray, style: OverlayStyle) -> np.ndarray:
    """Where the map exceeds the overlay's cut: the pixels the lung statistics' area percentage counts."""
    m = np.asarray(m, dtype=np.float32)
    return m > style.threshold * overlay_scale(m, style.percentile)


def build_segmentation(
    src: DerivedSource,
    mask: LungMask,
    attribution: np.ndarray | None,
    *,
    model_name: str = "",
    model_version: str = "",
) -> Dataset:
    """The SEG dataset: lungs from ``mask`` and, when given, the boolean ``attribution`` region, at film size."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    shape = src.shape
    right, left = (_fit(a, shape) for a in (mask.right, mask.left))
    planes = [right, left]
    if attribution is not None:
        planes.append(_fit(attribution, shape))
    pixels = np.stack(planes, axis=-1)[np.newaxis].astype(np.uint8)

    anatomy = codes.SCT.AnatomicalStructure
    kind = _ALGORITHM_TYPE.get(mask.source, "AUTOMATIC")
    lung_algorithm = (
        hd.AlgorithmIdentificationSequence(
            name=f"{MODEL_NAME} lung mask ({mask.source})"[:64],
            family=codes.cid7162.ArtificialIntelligence,
            version=src.software,
        )
        if kind == "AUTOMATIC"
        else None
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=SEGMENT_LABELS[i],
            segmented_property_category=anatomy,
            segmented_property_type=hd.sr.CodedConcept(*code),
            algorithm_type=kind,
            algorithm_identification=lung_algorithm,
            tracking_uid=src.new_uid(),
            tracking_id=SEGMENT_LABELS[i],
        )
        for i, code in enumerate((RIGHT_LUNG, LEFT_LUNG))
    ]
    if attribution is not None:
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=3,
                segment_label=SEGMENT_LABELS[2],
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=local(*ATTRIBUTION_SEGMENT),
                algorithm_type="AUTOMATIC",
                algorithm_identification=hd.AlgorithmIdentificationSequence(
                    name=(model_name or MODEL_NAME)[:64],
                    family=codes.cid7162.ArtificialIntelligence,
                    version=(model_version or src.software)[:64],
                ),
                tracking_uid=src.new_uid(),
                tracking_id=SEGMENT_LABELS[2],
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # unusual person names copied from the source
            seg = hd.seg.Segmentation(
                source_images=[reference_copy(src)],
                pixel_array=pixels,
                segmentation_type="BINARY",
                segment_descriptions=descriptions,
                series_instance_uid=src.new_uid(),
                series_number=SERIES_SEG,
                sop_instance_uid=src.new_uid(),
                instance_number=1,
                manufacturer=MANUFACTURER,
                manufacturer_model_name=MODEL_NAME,
                software_versions=src.software,
                device_serial_number="none",
                content_description="Lungs and attribution, research use only",
                content_label="VALD_LUNGS",
                omit_empty_frames=False,
            )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ExportError(f"The DICOM Segmentation could not be built ({type(exc).__name__}).") from None
    return finish(seg, src, description=SERIES_DESCRIPTION, local_codes=attribution is not None)


def _fit(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    a = np.asarray(a, dtype=bool)
    if a.ndim != 2:
        raise ExportError("The lung mask must be a 2-D picture to become a DICOM Segmentation.")
    return a if a.shape == shape else resize_nearest(a, shape)
