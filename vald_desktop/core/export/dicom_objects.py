"""The run's derived DICOM objects by name: "seg" (Segmentation), "pmap" (Parametric Map), "sr" (Comprehensive SR).

The run writer (:class:`~.exporter.RunExporter`) hands over plain values — film dataset, map, lung mask, overlay
style, the lung statistics it computed once, the run record and the de-identification options — and gets back a
dataset to write or send. De-identified objects come from the same de-identified film as the Secondary Capture
(see :mod:`.dicom_derived`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from vald_desktop.core.attribution.maps import OverlayStyle
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.deid import UidMap
from vald_desktop.core.export.dicom_derived import model_identity, prepare_source
from vald_desktop.core.masks.lung_mask import LungMask

OBJECT_KINDS = ("seg", "pmap", "sr")
LABELS = {"seg": "DICOM Segmentation", "pmap": "DICOM Parametric Map", "sr": "DICOM SR"}


@dataclass
class ObjectInputs:
    dataset: Dataset | None
    map: np.ndarray
    mask: LungMask | None
    style: OverlayStyle
    lung_stats: dict[str, dict[str, float]]
    record: dict[str, Any]
    deidentified: bool = True
    uid_map: UidMap = field(default_factory=UidMap)
    pseudonym: str = ""
    keep_uids: bool = False
    software_version: str = ""


def build_object(kind: str, inputs: ObjectInputs) -> Dataset:
    """The dataset of ``kind`` for this run; :class:`ExportError` when the run cannot give one."""
    if kind not in OBJECT_KINDS:
        raise ExportError(f"There is no DICOM object of kind {kind!r}; choose seg, pmap or sr.")
    mask = inputs.mask
    if kind in ("seg", "sr") and mask is None:
        raise ExportError(f"A {LABELS[kind]} needs the run's lung mask, and this run had none.")
    src = prepare_source(
        inputs.dataset,
        deidentified=inputs.deidentified,
        uid_map=inputs.uid_map,
        pseudonym=inputs.pseudonym,
        keep_uids=inputs.keep_uids,
        software_version=inputs.software_version,
    )
    if kind == "seg" and mask is not None:
        from vald_desktop.core.export.dicom_seg import above_threshold, build_segmentation

        name, digest = model_identity(inputs.record)
        return build_segmentation(
            src, mask, above_threshold(inputs.map, inputs.style), model_name=name, model_version=digest
        )
    if kind == "pmap":
        from vald_desktop.core.export.dicom_pmap import build_parametric_map

        return build_parametric_map(src, inputs.map)
    from vald_desktop.core.export.dicom_sr import build_report

    return build_report(src, inputs.lung_stats, inputs.record)
