"""DICOM decoding for films: pydicom 3 with non-GPL decoders, Modality LUT, VOI and MONOCHROME1 handling.

Pipeline (PS3.4 N.2): stored values -> Modality LUT -> VOI LUT sequence (if any) = ``Film.values``; the window
and the MONOCHROME1 inversion are applied at display time so the user can change them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films import codecs as dicom_codecs
from vald_desktop.core.films.dicom_values import colour_values, get_value, gray_values, has_element
from vald_desktop.core.films.film import Film, check_pixel_budget

log = logging.getLogger(__name__)

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# What the GUI's metadata panel shows, in this order. Kept out of logs: some of it identifies the patient.
_METADATA_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyDate",
    "StudyDescription",
    "SeriesDescription",
    "AccessionNumber",
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "ImageLaterality",
    "Laterality",
    "PatientOrientation",
    "Manufacturer",
    "ManufacturerModelName",
    "InstitutionName",
    "KVP",
    "Exposure",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsStored",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "RescaleSlope",
    "RescaleIntercept",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "LossyImageCompression",
)


def decode_dicom(data: bytes, name: str, frame: int = 0) -> Film:
    """Decode one frame of a DICOM file held in ``data`` (``name`` is used in messages only)."""
    with warnings.catch_warnings(), _quiet_pydicom_log():
        # pydicom warns about every small standard violation; films from the wild have many. Stay quiet.
        warnings.simplefilter("ignore")
        parsed = _parse(data, name)
        ds = parsed.ds
        rows, columns, frames = _geometry(parsed, name)
        check_pixel_budget(rows, columns, frames, name)
        if not 0 <= frame < frames:
            plural = "frame" if frames == 1 else "frames"
            raise FilmError(f"{name} has {frames} {plural}; frame {frame} does not exist.")
        syntax = _transfer_syntax(ds)
        _check_decodable(ds, syntax, name, frames)
        stored = _decode_frame(ds, frame, frames, name)
        return _build_film(ds, stored, name, syntax, frame, frames)


@contextlib.contextmanager
def _quiet_pydicom_log() -> Iterator[None]:
    """pydicom also logs its warnings; the user gets one FilmError sentence instead."""
    logger = logging.getLogger("pydicom")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Parsed:
    """A dataset plus how it was read: forced (no preamble) and whether pydicom hit the end of the file early."""

    def __init__(self, ds: Dataset, forced: bool, truncated: bool) -> None:
        self.ds, self.forced, self.truncated = ds, forced, truncated


def _parse(data: bytes, name: str) -> _Parsed:
    """Strict read first; files without the 128-byte preamble get a forced read."""
    forced = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError:
            forced = True
        except Exception:
            raise FilmError(f"{name} is a damaged or truncated DICOM file.") from None
        if forced:
            try:
                ds = pydicom.dcmread(io.BytesIO(data), force=True)
            except Exception:
                raise FilmError(
                    f"{name} is not a DICOM file or a picture this application can read."
                ) from None
    # pydicom reports a file cut short only as a warning ("End of file reached before ...").
    truncated = any("end of file" in str(w.message).lower() for w in caught)
    return _Parsed(ds, forced, truncated)


def _geometry(parsed: _Parsed, name: str) -> tuple[int, int, int]:
    ds = parsed.ds
    has_pixels = any(has_element(ds, k) for k in _PIXEL_KEYWORDS)
    rows, columns = get_value(ds, "Rows"), get_value(ds, "Columns")
    if parsed.forced and not (has_pixels and rows and columns) and not _has_dicom_identity(ds):
        # A forced read of arbitrary bytes "succeeds" with junk; only real DICOM identifiers count.
        raise FilmError(f"{name} is not a DICOM file or a picture this application can read.")
    if not has_pixels:
        if parsed.truncated:
            raise FilmError(f"{name} is truncated: the file ends before its image data.")
        raise FilmError(f"{name} is a DICOM file without pixel data (no image to show).")
    try:
        rows, columns = int(rows), int(columns)
    except (TypeError, ValueError):
        raise FilmError(f"{name} has pixel data but no valid Rows/Columns; it is damaged.") from None
    if rows < 1 or columns < 1:
        raise FilmError(f"{name} has pixel data but no valid Rows/Columns; it is damaged.")
    try:
        frames = int(get_value(ds, "NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        raise FilmError(f"{name} has an invalid Number of Frames; it is damaged.") from None
    return rows, columns, max(frames, 1)


def _has_dicom_identity(ds: Dataset) -> bool:
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = get_value(ds, keyword)
        if value and str(value).replace(".", "").isdigit():
            return True
    return False


def _transfer_syntax(ds: Dataset) -> UID:
    """The dataset's transfer syntax; guessed from the parsed encoding when the file meta lacks it."""
    meta = getattr(ds, "file_meta", None)
    syntax = get_value(meta, "TransferSyntaxUID") if meta is not None else None
    if syntax:
        return UID(str(syntax))
    implicit, little = ds.original_encoding if ds.original_encoding[0] is not None else (True, True)
    if little:
        syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    else:
        syntax = ExplicitVRBigEndian
    if meta is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    return syntax


def _check_decodable(ds: Dataset, syntax: UID, name: str, frames: int) -> None:
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise FilmError(dicom_codecs.unsupported_sentence(name, syntax)) from None
    if not decoder.is_available:
        raise FilmError(dicom_codecs.missing_plugin_sentence(name, syntax))
    if syntax.is_compressed or not has_element(ds, "PixelData"):
        return
    # Native pixel data: a header that promises more pixels than the file holds is damaged or truncated.
    try:
        expected = get_expected_length(ds, "bytes")
        present = len(ds.PixelData)
    except Exception:
        raise FilmError(
            f"{name} lacks the tags that describe its pixels (bits, samples); it is damaged."
        ) from None
    if present < expected:
        raise FilmError(
            f"{name} holds less pixel data than its Rows/Columns promise; the file is truncated or its header is wrong."
        )


def _decode_frame(ds: Dataset, frame: int, frames: int, name: str) -> np.ndarray:
    try:
        ds.pixel_array_options(index=frame if frames > 1 else None)
        arr = np.asarray(ds.pixel_array)
    except FilmError:
        raise
    except MemoryError:
        raise FilmError(f"{name} is too large to decode in the memory available.") from None
    except Exception as exc:
        log.debug("pixel decoding failed: %s", type(exc).__name__)
        syntax = UID(str(ds.file_meta.TransferSyntaxUID))
        if "does not support" in str(exc) and syntax in dicom_codecs.GPL_ONLY:
            raise FilmError(dicom_codecs.gpl_only_sentence(name, syntax)) from None
        raise FilmError(f"{name} could not be decoded; its pixel data is damaged or truncated.") from None
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise FilmError(f"{name} decoded to an unexpected shape; it is damaged.")
    return arr


def _build_film(ds: Dataset, stored: np.ndarray, name: str, syntax: UID, frame: int, frames: int) -> Film:
    photometric = str(get_value(ds, "PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    bits_stored = int(get_value(ds, "BitsStored", stored.dtype.itemsize * 8) or 8)
    monochrome1 = photometric == "MONOCHROME1"
    if stored.ndim == 3 or photometric in ("PALETTE COLOR", "RGB") or photometric.startswith("YBR"):
        values, window = colour_values(ds, stored, photometric, bits_stored, name)
        monochrome1 = False
    else:
        values, window = gray_values(ds, stored, frame, name)
    info = {
        "format": "DICOM",
        "rows": int(values.shape[0]),
        "columns": int(values.shape[1]),
        "modality": str(get_value(ds, "Modality", "")) or None,
        "photometric_interpretation": photometric,
        "bits_stored": bits_stored,
        "transfer_syntax": syntax.name if syntax.is_transfer_syntax else str(syntax),
        "frames": frames,
        "frame": frame,
    }
    return Film(
        source=name,
        stored=stored,
        values=values,
        window=window,
        default_window=window,
        photometric=photometric,
        monochrome1=monochrome1,
        pixel_spacing=_spacing(ds),
        view=_text(ds, "ViewPosition"),
        laterality=_text(ds, "ImageLaterality") or _text(ds, "Laterality"),
        info=info,
        metadata=_metadata(ds),
        dataset=ds,
    )


def _spacing(ds: Dataset) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = get_value(ds, keyword)
        try:
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError, IndexError):
            continue
        if row > 0 and col > 0 and np.isfinite(row) and np.isfinite(col):
            return row, col
    return None


def _text(ds: Dataset, keyword: str) -> str | None:
    value = get_value(ds, keyword)
    text = str(value).strip() if value is not None else ""
    return text or None


def _metadata(ds: Dataset) -> list[tuple[str, str]]:
    out = []
    for keyword in _METADATA_KEYWORDS:
        value = get_value(ds, keyword)
        if value is None:
            continue
        text = str(value).strip()
        if text:
            out.append((keyword, text[:200]))
    return out
