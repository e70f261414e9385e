"""Normalised maps and overlay layers shared between threads.

Normalising a map (a percentile over the whole film) is the costly part of drawing an overlay; the worker does it
right after a run, off the GUI thread. The layer images are made from it on a pool thread
(:mod:`.result_drawing`) and the panels pick both up from here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QImage

from vald_desktop.gui.qimage import pixmap_ready_qimage

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult

_MAX = 32
_lock = threading.Lock()
_cache: OrderedDict[int, tuple[RunResult, np.ndarray]] = OrderedDict()


def display_norm(result: RunResult) -> np.ndarray:
    """``result.map`` scaled to [-1, 1] by its |M| percentile (signed), computed once per result object."""
    key = id(result)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is result:
            return hit[1]
    from vald_desktop.core.attribution.maps import OverlayStyle, normalise

    norm = normalise(np.asarray(result.map), OverlayStyle(mode="signed"))
    with _lock:
        # The result object is kept alongside so its id cannot be reused by another object while cached.
        _cache[key] = (result, norm)
        while len(_cache) > _MAX:
            _cache.popitem(last=False)
    return norm


_layers: OrderedDict[tuple[int, str, float], tuple[RunResult, QImage]] = OrderedDict()


def overlay_image_for(result: RunResult, mode: str, threshold: float, compute: bool = True) -> QImage | None:
    """The overlay layer of ``result`` for (mode, threshold) as a QImage ready for a pixmap, computed once.

    Safe on any thread (a QImage, never a QPixmap). ``compute=False`` only looks in the cache (None on a miss).
    """
    from vald_desktop.core.attribution.viewing import overlay_layer

    key = (id(result), str(mode), float(threshold))
    with _lock:
        hit = _layers.get(key)
        if hit is not None and hit[0] is result:
            _layers.move_to_end(key)
            return hit[1]
    if not compute:
        return None
    image = pixmap_ready_qimage(overlay_layer(display_norm(result), key[1], key[2]))
    with _lock:
        _layers[key] = (result, image)
        while len(_layers) > 8:  # a 2k layer is 14 MB
            _layers.popitem(last=False)
    return image
