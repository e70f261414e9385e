"""Helpers for the engine tests (a stand-in lung mask, a forward-call counter); a unique name, not conftest."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np


class StandInMask:
    """Anything with bool ``mask``/``left``/``right`` arrays works as a lung mask (patient left = image right)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        cols = np.arange(mask.shape[1])[None, :]
        self.left = mask & (cols >= mask.shape[1] // 2)
        self.right = mask & (cols < mask.shape[1] // 2)
        self.source = "test"


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
