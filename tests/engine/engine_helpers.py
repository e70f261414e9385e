"""Helpers for the engine tests (a lung mask from a bool array, a forward-call counter, a PNG's run record); a
unique name, not conftest."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vald_desktop.core.engine.provenance import PNG_KEY
from vald_desktop.core.masks.lung_mask import LungMask


def lung_mask_of(mask: np.ndarray) -> LungMask:
    """A LungMask split at the middle column (patient left = image right), whatever the array's shape."""
    mask = np.asarray(mask, bool)
    cols = np.arange(mask.shape[1])[None, :]
    return LungMask(mask, mask & (cols >= mask.shape[1] // 2), mask & (cols < mask.shape[1] // 2), "test")


@contextlib.contextmanager
def count_forward(module: Any) -> Iterator[list[int]]:
    """Count forward calls of a torch module with a hook."""
    calls = [0]

    def hook(*_: Any) -> None:
        calls[0] += 1

    handle = module.register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def png_record(path: Path) -> dict[str, Any] | None:
    """The run record in a PNG's text chunk, read as any PNG reader would."""
    with Image.open(path) as im:
        im.load()
        raw = dict(getattr(im, "text", {})).get(PNG_KEY)
    return None if raw is None else json.loads(raw)


def write_chest_png(path: Path, size: int = 96, seed: int = 11) -> Path:
    """A phantom chest film as PNG: passes the film-kind pixel test and gets plausible automatic lungs (a smooth
    test picture does not, and is rightly refused when the automatic mask is asked for)."""
    from vald_phantoms.phantom import make_phantom

    Image.fromarray((make_phantom(seed, "normal", size=size).image * 255).astype(np.uint8)).save(path)
    return path
