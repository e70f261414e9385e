"""A minimal, fast encoder for 8-bit grayscale PNGs (images and binary masks).

Pillow's encoder tries several row filters per line and costs ~5 ms for a noisy 256x256 image; writing
thousands of phantoms is dominated by that. Here every row uses the "Up" filter (vectorised in numpy) and zlib
level 1: about half the time for files of the same size. The output is a standard PNG any reader opens.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def to_u8(arr: np.ndarray) -> np.ndarray:
    """A [0, 1] float image → uint8 (rounded); a boolean mask → 0 / 255; uint8 passes through."""
    arr = np.asarray(arr)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint8:
        return arr
    scaled: np.ndarray = np.clip(arr.astype(np.float32) * 255.0 + 0.5, 0, 255)
    return scaled.astype(np.uint8)


def encode_gray_png(arr: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of a 2-D array (see :func:`to_u8` for the accepted types)."""
    u8 = to_u8(arr)
    if u8.ndim != 2 or min(u8.shape) < 1:
        raise ValueError("a grayscale PNG needs a non-empty 2-D array")
    h, w = u8.shape
    rows = np.empty((h, w + 1), np.uint8)
    rows[:, 0] = 2  # filter type "Up": each byte minus the byte above, modulo 256
    rows[0, 1:] = u8[0]
    rows[1:, 1:] = u8[1:] - u8[:-1]  # uint8 arithmetic wraps, which is exactly the PNG definition
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit grayscale, no interlace
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
