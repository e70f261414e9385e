"""DICOM Parametric Map of the signed attribution map M = film − healthy counterfactual, built with highdicom.

32-bit float pixels on the film's grid, with a real-world value mapping (identity: slope 1, intercept 0; units
"no units", UCUM ``1``) and a window symmetric about zero whose width is twice the overlay's full-colour |M|
(the 99th percentile), so a viewer shows it as the app does: grey at 0, bright where the counterfactual removed
something, dark where it added.

The Parametric Map IOD needs a frame of reference and plane geometry, which projection films do not have. The map
is then given the film's pixel grid as its plane: the film's Frame of Reference UID when it has one (else a new
one), rows along the patient's left and columns toward the feet (the PA convention the film's Patient
Orientation states), its pixel spacing, or 1 mm where the film gives none. It still references the film itself.
"""

from __future__ import annotations

import warnings

import numpy as np
from pydicom.dataset import Dataset

from vald_desktop.core.attribution.maps import overlay_scale
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.dicom_derived import (
    MODEL_NAME,
    SERIES_PMAP,
    DerivedSource,
    finish,
    pixel_spacing,
    reference_copy,
)
from vald_desktop.core.export.dicom_sc import MANUFACTURER

SERIES_DESCRIPTION = "VALD-MD signed attribution map (research use only)"
LUT_LABEL = "ATTRIBUTION"
LUT_EXPLANATION = "Film minus healthy counterfactual (signed)"
CHEST = ("43799004", "SCT", "Chest")
_ORIENTATION = {"L": (1.0, 0.0, 0.0), "R": (-1.0, 0.0, 0.0), "F": (0.0, 0.0, -1.0), "H": (0.0, 0.0, 1.0)}


def window_for(m: np.ndarray) -> tuple[float, float]:
    """(center, width): 0 and twice the overlay's full-colour |M| (never zero width)."""
    scale = overlay_scale(np.asarray(m, dtype=np.float32), 99.0)
    return 0.0, float(max(2.0 * scale, 1e-6))


def build_parametric_map(src: DerivedSource, m: np.ndarray) -> Dataset:
    """The PMAP dataset for the float map ``m`` (resampled to the film's grid if its size differs)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    values = _fit(np.asarray(m, dtype=np.float32), src.shape)
    if not np.all(np.isfinite(values)):
        raise ExportError("The attribution map has values that are not numbers, so it cannot be exported.")
    low, high = float(values.min()), float(values.max())
    mapping = hd.pm.RealWorldValueMapping(
        lut_label=LUT_LABEL,
        lut_explanation=LUT_EXPLANATION,
        unit=codes.UCUM.NoUnits,
        value_range=(low, high if high > low else low + 1e-6),
        slope=1.0,
        intercept=0.0,
    )
    center, width = window_for(values)
    window = hd.VOILUTTransformation(
        window_center=center,
        window_width=width,
        window_explanation="Symmetric about zero",
        voi_lut_function="LINEAR_EXACT",  # the width is far below 1: only LINEAR_EXACT allows it
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pmap = hd.pm.ParametricMap(
                source_images=[_with_plane(src)],
                pixel_array=values,
                series_instance_uid=src.new_uid(),
                series_number=SERIES_PMAP,
                sop_instance_uid=src.new_uid(),
                instance_number=1,
                manufacturer=MANUFACTURER,
                manufacturer_model_name=MODEL_NAME,
                software_versions=src.software,
                device_serial_number="none",
                contains_recognizable_visual_features=False,
                real_world_value_mappings=[mapping],
                voi_lut_transformations=[window],
                content_description="Signed attribution map, research use only",
                content_label="VALD_MAP",
            )
    except (ValueError, TypeError, AttributeError, RuntimeError) as exc:
        raise ExportError(f"The DICOM Parametric Map could not be built ({type(exc).__name__}).") from None
    # Frame Anatomy: the chest, both sides (the map covers both lungs).
    anatomy = Dataset()
    anatomy.FrameLaterality = "B"
    region = Dataset()
    region.CodeValue, region.CodingSchemeDesignator, region.CodeMeaning = CHEST
    anatomy.AnatomicRegionSequence = [region]
    pmap.SharedFunctionalGroupsSequence[0].FrameAnatomySequence = [anatomy]
    return finish(pmap, src, description=SERIES_DESCRIPTION)


def _with_plane(src: DerivedSource) -> Dataset:
    """The reference copy given the film's pixel grid as a plane (see the module docstring); UIDs unchanged."""
    ref = reference_copy(src)
    if "ImageOrientationPatient" in ref and "ImagePositionPatient" in ref and "FrameOfReferenceUID" in ref:
        return ref
    if "FrameOfReferenceUID" not in ref:
        ref.FrameOfReferenceUID = src.new_uid()
    orientation = ref.get("PatientOrientation")
    rows_dir, cols_dir = ("L", "F")
    if orientation is not None and len(orientation) == 2:
        first, second = str(orientation[0])[:1], str(orientation[1])[:1]
        if (
            first in _ORIENTATION
            and second in _ORIENTATION
            and {first, second} not in ({"L", "R"}, {"H", "F"})
        ):
            rows_dir, cols_dir = first, second
    ref.ImageOrientationPatient = [*_ORIENTATION[rows_dir], *_ORIENTATION[cols_dir]]
    ref.ImagePositionPatient = [0.0, 0.0, 0.0]
    ref.PixelSpacing = list(pixel_spacing(ref) or (1.0, 1.0))
    ref.SliceThickness = 1.0
    return ref


def _fit(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if values.ndim != 2:
        raise ExportError("The attribution map must be a 2-D picture to become a DICOM Parametric Map.")
    if values.shape == shape:
        return values
    from scipy import ndimage as ndi

    zoom = (shape[0] / values.shape[0], shape[1] / values.shape[1])
    out: np.ndarray = ndi.zoom(values, zoom, order=1)[: shape[0], : shape[1]].astype(np.float32)
    return out
