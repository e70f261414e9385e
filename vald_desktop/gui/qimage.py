"""numpy arrays → QImage / QPixmap (the one place that knows Qt's image formats)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from vald_desktop.core.attribution.viewing import to_uint8


def _borrowed_qimage(image: np.ndarray) -> tuple[QImage, np.ndarray]:
    """A QImage over the array's own buffer (valid only while the returned array lives)."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = to_uint8(a)
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif a.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"cannot show an image of shape {a.shape}")
    return QImage(a.data, w, h, int(a.strides[0]), fmt), a


def array_to_qimage(image: np.ndarray) -> QImage:
    """Gray float [0, 1] / gray uint8 HxW, RGB uint8 HxWx3 or RGBA uint8 HxWx4 → an owning QImage."""
    q, _keep = _borrowed_qimage(image)
    return q.copy()  # detached, so the array may be freed


def pixmap_ready_qimage(image: np.ndarray) -> QImage:
    """Like :func:`array_to_qimage`, in the format a raster QPixmap keeps (RGB32, or premultiplied ARGB32 with
    alpha), so ``QPixmap.fromImage`` on the GUI thread shares the pixels instead of converting 2k of them.

    Safe on any thread (QImage, not QPixmap): large films make theirs on a pool thread.
    """
    q, _keep = _borrowed_qimage(image)
    target = QImage.Format.Format_ARGB32_Premultiplied if q.hasAlphaChannel() else QImage.Format.Format_RGB32
    return q.convertToFormat(target)  # a new, owning image: one pass instead of a copy and then a conversion


def array_to_pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(pixmap_ready_qimage(image))


def outline_rgba(
    edge: np.ndarray, color: tuple[int, int, int, int], fill: np.ndarray | None = None, fill_alpha: int = 0
) -> np.ndarray:
    """An RGBA layer: ``color`` on ``edge`` pixels, optionally a translucent fill of the same colour."""
    h, w = edge.shape
    # One 32-bit word per pixel: each boolean assignment writes a whole pixel at once (a 2k mask: ~4x faster
    # than assigning 4-byte rows into an HxWx4 array). The bytes stay in RGBA order.
    out = np.zeros((h, w), dtype=np.uint32)
    if fill is not None and fill_alpha > 0:
        out[fill] = _rgba_word((color[0], color[1], color[2], fill_alpha))
    out[edge] = _rgba_word(color)
    return out.view(np.uint8).reshape(h, w, 4)


def _rgba_word(rgba: tuple[int, int, int, int]) -> np.uint32:
    word: np.uint32 = np.array([rgba], dtype=np.uint8).view(np.uint32)[0, 0]
    return word
