"""numpy arrays → QImage / QPixmap (the one place that knows Qt's image formats)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from ..core.viewing import to_uint8


def array_to_qimage(image: np.ndarray) -> QImage:
    """Gray float [0, 1] / gray uint8 HxW, RGB uint8 HxWx3 or RGBA uint8 HxWx4 → an owning QImage."""
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
    # QImage borrows the buffer; .copy() detaches it so the array may be freed.
    return QImage(a.data, w, h, int(a.strides[0]), fmt).copy()


def array_to_pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(array_to_qimage(image))


def pixmap_ready_qimage(image: np.ndarray) -> QImage:
    """Like :func:`array_to_qimage`, converted to the format a raster QPixmap keeps (RGB32, or premultiplied ARGB32
    with alpha), so ``QPixmap.fromImage`` on the GUI thread shares the pixels instead of converting 2k of them."""
    q = array_to_qimage(image)
    alpha = q.hasAlphaChannel()
    return q.convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied if alpha else QImage.Format.Format_RGB32
    )


def outline_rgba(
    edge: np.ndarray, color: tuple[int, int, int, int], fill: np.ndarray | None = None, fill_alpha: int = 0
) -> np.ndarray:
    """An RGBA layer: ``color`` on ``edge`` pixels, optionally a translucent fill of the same colour."""
    h, w = edge.shape
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    if fill is not None and fill_alpha > 0:
        rgba[fill] = (color[0], color[1], color[2], fill_alpha)
    rgba[edge] = color
    return rgba
