"""Raster films (PNG, JPEG, TIFF, ...) via Pillow: 8/16-bit gray, RGB/RGBA/palette/LA to gray, EXIF orientation."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.film import Film, check_pixel_budget, natural_window, to_gray

# Modes Pillow converts for us: palettes to their colours; CMYK/YCbCr/LAB to RGB; 1-bit to 8-bit gray.
_TO_RGBA = {"P", "PA"}
_TO_RGB = {"CMYK", "YCbCr", "LAB", "HSV"}


def decode_raster(data: bytes, name: str, kind: str, frame: int = 0) -> Film:
    """Decode a picture file held in ``data``; ``kind`` is the sniffed format, used in messages.

    ``frame`` picks a page of a multi-page TIFF (or a frame of an animated picture).
    """
    with warnings.catch_warnings():
        # Our own 100-MP guard runs below; Pillow's bomb warning would only add noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise FilmError(
                f"{name} claims more than 100 megapixels; it is refused as damaged or unsafe."
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise FilmError(
                f"{name} looks like a {kind} picture but cannot be read; it is damaged."
            ) from None
        with image:
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1) or 1)
            check_pixel_budget(height, width, 1, name)
            if not 0 <= frame < frames:
                plural = "frame" if frames == 1 else "frames"
                raise FilmError(f"{name} has {frames} {plural}; frame {frame} does not exist.")
            try:
                if frame:
                    image.seek(frame)
                    # Pages of one TIFF may differ in size: guard the chosen one too.
                    check_pixel_budget(image.size[1], image.size[0], 1, name)
                image.load()
                # Phones and some scanners store the picture sideways plus a rotation tag.
                upright = ImageOps.exif_transpose(image)
                stored = _to_array(upright)
            except FilmError:
                raise
            except MemoryError:
                raise FilmError(f"{name} is too large to decode in the memory available.") from None
            except Exception:
                raise FilmError(f"{name} is a truncated or damaged {kind} picture.") from None
            mode = upright.mode
    if stored.ndim == 3:
        values = to_gray(stored[..., :3])
        photometric = "RGB"
    else:
        values = stored.astype(np.float32)
        photometric = "MONOCHROME2"
    if not np.all(np.isfinite(values)):
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    window = natural_window(values, stored.dtype)
    bits = 1 if mode == "1" else int(stored.dtype.itemsize * 8)
    info = {
        "format": kind,
        "rows": int(values.shape[0]),
        "columns": int(values.shape[1]),
        "modality": None,
        "photometric_interpretation": photometric,
        "bits_stored": bits,
        "transfer_syntax": None,
        "frames": frames,
        "frame": frame,
        "mode": mode,
    }
    return Film(
        source=name,
        stored=stored,
        values=values,
        window=window,
        default_window=window,
        photometric=photometric,
        monochrome1=False,
        info=info,
        metadata=[("Format", kind), ("Mode", mode), ("Size", f"{width} x {height}")],
    )


def _to_array(image: Image.Image) -> np.ndarray:
    """Gray images stay single-channel at their bit depth; colour ones become RGB (alpha is dropped)."""
    mode = image.mode
    if mode in _TO_RGBA:
        image = image.convert("RGBA")
    elif mode in _TO_RGB:
        image = image.convert("RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode == "LA":
        image = image.getchannel("L")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    arr = np.asarray(image)
    if arr.ndim == 3:
        # A film has no transparency; its colour channels carry the picture.
        arr = arr[..., :3]
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            arr = arr[..., 0]  # gray stored as RGB: keep it exactly, no luma rounding
    if arr.dtype == np.int32 and arr.size and int(arr.min()) >= 0 and int(arr.max()) <= 65535:
        arr = arr.astype(np.uint16)  # 16-bit PNGs open as 32-bit "I" in some Pillow versions
    return np.ascontiguousarray(arr)
