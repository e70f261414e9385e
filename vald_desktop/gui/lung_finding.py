"""Finding a film's automatic lung mask in the film helper process, with its outline (Qt-free).

The built-in automatic mask is seconds of numpy and scipy work, much of it in long calls that keep Python's
interpreter lock; on the sampler thread it starved the window's thread (stalls of 100 ms and more on a 2k film).
In the helper process (see :mod:`.helper_process`) it has a lock of its own. The helper keeps the film it decoded
last, so usually only its checksum travels there; what comes back is bit-packed (a 2k mask is 3.6 MB as bytes,
0.45 MB packed), because unpickling the answer holds the window's lock too.
"""

from __future__ import annotations

import warnings
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vald_desktop.core.masks.edit import outline
from vald_desktop.gui.helper_process import remembered, run_in_helper, use_process

if TYPE_CHECKING:
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask


def outline_thickness(shape: tuple[int, ...]) -> int:
    """Outline width in film pixels, visible when a 2k film is fitted to the screen."""
    return max(1, round(max(shape[:2]) / 500))


@dataclass(frozen=True)
class Packed:
    """Boolean planes packed to bits for the trip between processes."""

    shape: tuple[int, int]
    bits: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, *planes: np.ndarray) -> Packed:
        return cls(planes[0].shape, tuple(np.packbits(p, axis=None) for p in planes))

    def planes(self) -> list[np.ndarray]:
        n = self.shape[0] * self.shape[1]
        return [np.unpackbits(b, count=n).view(bool).reshape(self.shape) for b in self.bits]


@dataclass(frozen=True)
class FoundLungs:
    """The automatic mask (with its verdict: ok or uncertain, confidence, reasons), its outline
    (``outline_thickness`` wide) and the warnings its validation gave."""

    mask: LungMask
    edge: np.ndarray  # bool HxW
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Answer:
    source: str
    planes: Packed  # mask, left, right, edge
    warnings: tuple[str, ...]
    # The mask's verdict (``LungMask.quality`` / ``confidence`` / ``reasons``), so the window can say when to doubt it.
    quality: str = "ok"
    confidence: float = 1.0
    reasons: tuple[str, ...] = ()


def _find(film: Film, path: str | None) -> _Answer:
    from vald_desktop.core.masks.resolve import resolve_mask

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mask = resolve_mask(film, film_path=path)
    edge = outline(mask.mask, outline_thickness(mask.shape))
    return _Answer(
        mask.source,
        Packed.of(mask.mask, mask.left, mask.right, edge),
        tuple(str(w.message) for w in caught),
        mask.quality,
        float(mask.confidence),
        tuple(str(r) for r in mask.reasons),
    )


def find_remembered(sha: str, path: str | None) -> _Answer | None:
    """Runs in the helper process on the film it decoded last; None when that is no longer the film ``sha``."""
    film = remembered(sha)
    return None if film is None else _find(film, path)


def _unpack(answer: _Answer) -> FoundLungs:
    from vald_desktop.core.masks.lung_mask import LungMask

    mask, left, right, edge = answer.planes.planes()
    lungs = LungMask(mask, left, right, answer.source, answer.quality, answer.confidence, answer.reasons)
    return FoundLungs(lungs, edge, answer.warnings)


def find_lungs(film: Film, path: Path | None = None) -> FoundLungs:
    """The film's automatic lung mask (``core.masks.resolve_mask``), found in the helper process when there is one.

    Raises what ``resolve_mask`` raises. Blocks the calling thread (never the window's), not the interpreter lock.
    """
    where = None if path is None else str(path)
    if use_process():
        sha = film.sha256
        try:
            answer = run_in_helper(find_remembered, sha, where) if sha else None
            if answer is None:
                answer = run_in_helper(_find, film, where)
            return _unpack(answer)
        except BrokenProcessPool:
            pass  # the helper stopped (on another film, or on this one): find the lungs here instead
    return _unpack(_find(film, where))
