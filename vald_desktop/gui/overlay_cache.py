"""Normalised maps shared between the worker and the GUI thread.

Normalising a map (a percentile over the whole film) is the costly part of drawing an overlay; the worker does it
right after a run, off the GUI thread, and the panels pick the result up from here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

_MAX = 32
_lock = threading.Lock()
_cache: OrderedDict[int, tuple[Any, np.ndarray]] = OrderedDict()


def display_norm(result: Any) -> np.ndarray:
    """``result.map`` scaled to [-1, 1] by its |M| percentile (signed), computed once per result object."""
    key = id(result)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is result:
            return hit[1]
    from ..core.attribution import OverlayStyle, normalise

    norm = normalise(np.asarray(result.map), OverlayStyle(mode="signed"))
    with _lock:
        # The result object is kept alongside so its id cannot be reused by another object while cached.
        _cache[key] = (result, norm)
        while len(_cache) > _MAX:
            _cache.popitem(last=False)
    return norm
