"""DICOM stored values to display values: Modality LUT, VOI LUT sequence, the file's window, colour to gray.

Enhanced multi-frame objects keep rescale and window in functional groups; they are flattened per frame here.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.film import to_gray
from vald_desktop.core.films.windowing import Window, auto_window, window_from_range

log = logging.getLogger(__name__)


def get_value(ds: Dataset, keyword: str, default: Any = None) -> Any:
    """Read an element, treating values that cannot be parsed (damaged or forced-read files) as absent."""
    try:
        value = ds.get(keyword, default)
    except Exception:
        return default
    return default if value is None or value == "" else value


def _first(value: Any) -> Any:
    # Multi-valued Window Center/Width: the first pair is the default (PS3.3 C.11.2.1.2).
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return value[0] if len(value) else None
    return value


def has_element(ds: Dataset, keyword: str) -> bool:
    try:
        return keyword in ds
    except Exception:
        return False


def colour_values(
    ds: Dataset, stored: np.ndarray, photometric: str, bits_stored: int, name: str
) -> tuple[np.ndarray, Window]:
    rgb = stored
    if photometric == "PALETTE COLOR" and stored.ndim == 2:
        try:
            rgb = apply_color_lut(stored, ds)
        except Exception:
            raise FilmError(
                f"{name} is a palette-colour image whose palette is missing or damaged."
            ) from None
        # Palette entries are 8 or 16 bits whatever Bits Stored says.
        top = 255.0 if rgb.dtype == np.uint8 else 65535.0
    else:
        top = float(2 ** min(bits_stored, 32) - 1)
    if rgb.ndim != 3:
        raise FilmError(f"{name} says it is a colour image but holds one sample per pixel; it is damaged.")
    values = to_gray(rgb[..., :3])
    if rgb.dtype.kind == "f":
        return values, auto_window(values)
    return values, window_from_range(0.0, top, function="LINEAR")


def gray_values(ds: Dataset, stored: np.ndarray, frame: int, name: str) -> tuple[np.ndarray, Window]:
    view = _frame_view(ds, frame)
    try:
        values = np.asarray(apply_modality_lut(stored, view), dtype=np.float32)
    except Exception:
        raise FilmError(f"{name} has a damaged Modality LUT (rescale slope/intercept).") from None
    if not np.all(np.isfinite(values)):
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    lut_seq = get_value(view, "VOILUTSequence")
    if lut_seq:
        try:
            values, (low, high) = _apply_voi_lut(values, lut_seq[0], ds)
            return values, window_from_range(low, high, function="LINEAR")
        except Exception:
            log.debug("VOI LUT sequence unusable; falling back to the window or automatic window")
    return values, _file_window(view) or auto_window(values)


def _apply_voi_lut(values: np.ndarray, item: Dataset, ds: Dataset) -> tuple[np.ndarray, tuple[float, float]]:
    """Look ``values`` up in one VOI LUT item (PS3.3 C.11.2.1.1); returns the output and the LUT's own range.

    The display window spans the LUT's output values: many LUTs declare 16 bits but use only 12.

    Done here rather than with pydicom's helper, which indexes with the output dtype and wraps
    8-bit LUTs longer than 256 entries.
    """
    entries, first, bits = (int(v) for v in item.LUTDescriptor)
    entries = entries or 65536
    if first >= 32768 and float(values.min()) < 0:
        first -= 65536  # the first mapped value is stored unsigned but means a signed input
    raw = item.LUTData
    if isinstance(raw, (bytes, bytearray)):
        little = ds.original_encoding[1] is not False
        data = np.frombuffer(bytes(raw), dtype="<u2" if little else ">u2")
        if bits == 8 and data.size * 2 >= entries and data.size < entries:
            data = np.frombuffer(bytes(raw), dtype=np.uint8)  # 8-bit entries packed two per OW word
    else:
        data = np.asarray(list(raw) if isinstance(raw, (list, tuple, pydicom.multival.MultiValue)) else [raw])
    lut = data[:entries].astype(np.float32)
    if lut.size == 0:
        raise ValueError("empty LUT")
    index = np.clip(np.rint(values) - first, 0, lut.size - 1).astype(np.int64)
    return lut[index], (float(lut.min()), float(lut.max()))


def _frame_view(ds: Dataset, frame: int) -> Dataset:
    """A flat dataset with the rescale/window that apply to ``frame``.

    Enhanced multi-frame objects keep them in functional groups instead of the top level.
    """
    if (
        has_element(ds, "RescaleSlope")
        or has_element(ds, "WindowCenter")
        or has_element(ds, "VOILUTSequence")
    ):
        return ds
    view = Dataset()
    for keyword in ("ModalityLUTSequence", "PixelRepresentation", "BitsStored", "PhotometricInterpretation"):
        if has_element(ds, keyword):
            setattr(view, keyword, ds[keyword].value)
    groups = []
    shared = get_value(ds, "SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    per_frame = get_value(ds, "PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        groups.append(per_frame[frame])
    for group in groups:
        for seq_keyword in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
            seq = get_value(group, seq_keyword)
            if not seq:
                continue
            for elem in seq[0]:
                if elem.keyword:
                    setattr(view, elem.keyword, elem.value)
    return view


def _file_window(ds: Dataset) -> Window | None:
    center, width = _first(get_value(ds, "WindowCenter")), _first(get_value(ds, "WindowWidth"))
    if center is None or width is None:
        return None
    function = str(get_value(ds, "VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
    try:
        return Window(center=float(center), width=float(width), function=function)
    except (FilmError, TypeError, ValueError):
        return None  # a nonsense window in the file: the automatic one is better than a blank screen
