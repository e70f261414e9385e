"""Learned lung segmenters (source 3 of ``masks.resolve_mask``).

Not supported in this version: a torchxrayvision PSPNet needs its own network definition, which this
application does not ship. The function exists so the source order and the error the user sees are fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import MaskError


def segment_with_weights(image: np.ndarray, weights: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
    """Always raises MaskError: learned segmenters are not supported yet (say so plainly)."""
    path = Path(weights)
    if not path.is_file():
        raise MaskError(f"The segmenter weights file {path.name} does not exist.")
    raise MaskError(
        "Learned lung segmenters are not supported in this version; leave out the weights to use the "
        "built-in automatic lung mask."
    )
