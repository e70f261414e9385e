"""A DICOM Segmentation of the lungs as the film's lung mask (a radiologist's own segmentation from the PACS).

Lung segments are found by their codes — SCT 39607008 "Lung" (with a Left / Right modifier when it has one),
44029006 "Left lung", 3341006 "Right lung" — or, for tools that code them otherwise, by a label that says "lung".
A segment's side comes from its code, its modifier or its label; sideless lungs are split at the midline like any
mask (patient left = image right). Binary, fractional (more than half counts) and label-map SEGs are read. A SEG
that references other images than the film (when the film's SOP Instance UID is known) or has another size is
refused with one sentence: it would outline someone else's lungs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.masks.lung_mask import LungMask, split_lungs

SEGMENTATION_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
LUNG, LEFT_LUNG, RIGHT_LUNG = "39607008", "44029006", "3341006"
LEFT, RIGHT = "7771000", "24028007"
# Labels that name nothing but a lung (other tools' codes aside): "Lung", "left lung", "Lungs_right"...
_LUNG_WORDS = {"lung", "lungs", "left", "right"}


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True for a Part 10 file (the ``DICM`` marker after the 128-byte preamble)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def load_seg_mask(
    path: str | os.PathLike[str], shape: tuple[int, int], source: str = "file", film_uid: str | None = None
) -> LungMask:
    """The lungs of the SEG at ``path`` as a LungMask of ``shape``; ``film_uid`` checks it belongs to the film."""
    name = Path(path).name
    try:
        ds = dcmread(path)
    except FileNotFoundError:
        raise MaskError(f"The mask file {name} does not exist.") from None
    except (InvalidDicomError, OSError, ValueError):
        raise MaskError(f"The mask file {name} is not a DICOM file this application can read.") from None
    if str(ds.get("SOPClassUID", "")) != SEGMENTATION_CLASS:
        raise MaskError(f"{name} is a DICOM file but not a Segmentation, so it holds no lung mask.")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if (rows, cols) != tuple(shape):
        raise MaskError(
            f"The segmentation {name} is {cols} × {rows} pixels but the film is {shape[1]} × {shape[0]}; "
            "it was made on another image."
        )
    if film_uid and film_uid not in _referenced_instances(ds):
        raise MaskError(f"The segmentation {name} was made on another image, not on this film.")
    sides = _lung_segments(ds)
    if not sides:
        raise MaskError(f"The segmentation {name} has no lung segment.")
    planes = _segment_planes(ds, name)
    left = np.zeros(shape, bool)
    right = np.zeros(shape, bool)
    sideless = np.zeros(shape, bool)
    for number, side in sides.items():
        plane = planes.get(number)
        if plane is None:
            continue
        {"left": left, "right": right}.get(side, sideless)[...] |= plane
    if sideless.any():
        extra_left, extra_right = split_lungs(sideless)
        left |= extra_left & ~right
        right |= extra_right & ~left
    right &= ~left  # a pixel claimed by both sides counts once (the patient's left)
    mask = left | right
    if not mask.any():
        raise MaskError(f"The lung segments of {name} are empty.")
    return LungMask(mask, left, right, source)


def _referenced_instances(ds: Dataset) -> set[str]:
    uids: set[str] = set()
    for series in ds.get("ReferencedSeriesSequence", []):
        uids.update(
            str(i.get("ReferencedSOPInstanceUID", "")) for i in series.get("ReferencedInstanceSequence", [])
        )
    for group in ds.get("PerFrameFunctionalGroupsSequence", []):
        for derivation in group.get("DerivationImageSequence", []):
            uids.update(
                str(i.get("ReferencedSOPInstanceUID", "")) for i in derivation.get("SourceImageSequence", [])
            )
    for item in ds.get("SourceImageSequence", []):
        uids.add(str(item.get("ReferencedSOPInstanceUID", "")))
    return uids - {""}


def _code(item: Dataset, keyword: str) -> str:
    seq = item.get(keyword)
    return str(seq[0].get("CodeValue", "")) if seq else ""


def _lung_segments(ds: Dataset) -> dict[int, str]:
    """Segment number -> "left", "right" or "" (side unknown), for the segments that are lungs."""
    out: dict[int, str] = {}
    for seg in ds.get("SegmentSequence", []):
        number = int(seg.get("SegmentNumber", 0) or 0)
        code = _code(seg, "SegmentedPropertyTypeCodeSequence")
        words = set(re.sub(r"[^a-z]", " ", str(seg.get("SegmentLabel", "") or "").lower()).split())
        type_items = seg.get("SegmentedPropertyTypeCodeSequence") or [Dataset()]
        modifier = _code(type_items[0], "SegmentedPropertyTypeModifierCodeSequence")
        if code == LEFT_LUNG:
            out[number] = "left"
        elif code == RIGHT_LUNG:
            out[number] = "right"
        elif code == LUNG or (words and words <= _LUNG_WORDS and words & {"lung", "lungs"}):
            side = {LEFT: "left", RIGHT: "right"}.get(modifier, "")
            out[number] = side or ("left" if "left" in words else "right" if "right" in words else "")
    return out


def _segment_planes(ds: Dataset, name: str) -> dict[int, np.ndarray]:
    """Segment number -> boolean plane (frames of one segment are combined)."""
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception:  # noqa: BLE001 - any decoder failure is one sentence
        raise MaskError(f"The pixels of the segmentation {name} cannot be decoded.") from None
    frames = pixels.reshape(-1, pixels.shape[-2], pixels.shape[-1])
    kind = str(ds.get("SegmentationType", "BINARY")).upper()
    planes: dict[int, np.ndarray] = {}
    if kind == "LABELMAP":
        for frame in frames:
            for number in np.unique(frame):
                if number:
                    planes[int(number)] = planes.get(int(number), np.zeros(frame.shape, bool)) | (
                        frame == number
                    )
        return planes
    cut = float(ds.get("MaximumFractionalValue", 1) or 1) / 2 if kind == "FRACTIONAL" else 0.5
    groups = ds.get("PerFrameFunctionalGroupsSequence", [])
    for index, frame in enumerate(frames):
        number = 1
        if index < len(groups) and groups[index].get("SegmentIdentificationSequence"):
            number = int(groups[index].SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        plane = frame > cut
        planes[number] = planes[number] | plane if number in planes else plane
    return planes
