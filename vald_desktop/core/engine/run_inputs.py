"""What the engine accepts as a film and a lung mask: checked before any model work, one sentence when not."""

from __future__ import annotations

from typing import Any

import numpy as np

from vald_desktop.core.base.errors import FilmError, MaskError
from vald_desktop.core.films.kind import FilmKind
from vald_desktop.core.masks.lung_mask import LungMask


def check_image(image: Any) -> np.ndarray:
    """A film for the engine: 2-D float32 in [0, 1] (colour averaged to gray), or one FilmError sentence."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        arr = arr[..., :3].mean(axis=2) if arr.shape[2] >= 3 else arr[..., 0]
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise FilmError("The image must be a single grayscale picture.")
    if min(arr.shape) < 8:
        raise FilmError(f"The image is too small ({arr.shape[1]}x{arr.shape[0]} pixels).")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise FilmError("The image contains invalid (non-finite) pixel values.")
    out: np.ndarray = np.clip(arr, 0.0, 1.0)
    return out


def check_kind(kind: FilmKind | None) -> None:
    """Refuse films the method is not for (CT, MR, ultrasound, lateral views …): no map is made of them."""
    if kind is not None and kind.refusal:
        raise FilmError(kind.refusal)


def check_mask(mask: LungMask, shape: tuple[int, ...]) -> None:
    """A lung mask the engine can use on a film of ``shape``, or one MaskError sentence."""
    if not isinstance(mask, LungMask):  # callers outside the typed code (plugins, scripts) get a sentence too
        raise MaskError("The lung mask has no pixel data.")
    arr = mask.mask
    if np.shape(arr) != shape:
        raise MaskError(
            f"The lung mask is {np.shape(arr)[1]}x{np.shape(arr)[0]} but the film is {shape[1]}x{shape[0]}."
        )
    if not np.asarray(arr, dtype=bool).any():
        raise MaskError("The lung mask is empty.")
