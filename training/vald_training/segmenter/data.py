"""Training and held-out films for the segmenter, as network inputs (128 x 128, padded square) with soft labels.

Training films: CT projections at the training yaws, warped to nine in ten of the real lung shapes, plus a share
of phantoms. Held-out films: the CT at yaws never trained on, warped to the other tenth of the shapes, with their
own seeds. Every film is a pure function of (seed, index): the same command trains the same network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vald_desktop.core.masks.learned import square_input
from vald_training.segmenter.ct_projections import (
    HELDOUT_YAWS,
    Projections,
    cached_projections,
    default_cache,
)
from vald_training.segmenter.overlays import burn_text, collimate, draw_lines
from vald_training.segmenter.synth import detector_look, synth_film

HELDOUT_EVERY = 10  # shape k is held out when k % HELDOUT_EVERY == 0


@dataclass(frozen=True)
class Materials:
    proj: Projections
    shapes: np.ndarray
    aspects: np.ndarray

    def split(self, heldout: bool) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
        """(yaw indices, shapes, aspects) of the training or the held-out films."""
        yaws = tuple(i for i, y in enumerate(self.proj.yaws) if (y in HELDOUT_YAWS) == heldout)
        keep = (np.arange(len(self.shapes)) % HELDOUT_EVERY == 0) == heldout
        return yaws, self.shapes[keep], self.aspects[keep]


@lru_cache(maxsize=2)
def materials(cache: Path) -> Materials:
    from vald_desktop.core.masks.shapes import load_shapes

    shapes = load_shapes(allow_procedural=False)
    return Materials(cached_projections(cache), shapes.masks, shapes.aspect)


def to_pair(img: np.ndarray, lung: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Network input (the app's own preprocessing) and the label's coverage on the same square grid."""
    from PIL import Image

    x, (top, left, h, w) = square_input(img, side)
    n = max(h, w)
    sq = np.zeros((n, n), np.float32)
    sq[top : top + h, left : left + w] = lung
    y = np.asarray(Image.fromarray(sq, mode="F").resize((side, side), Image.Resampling.BOX), np.float32)
    return x, y


def phantom_film(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from vald_phantoms.phantom import FINDINGS, make_phantom

    finding = str(FINDINGS[int(rng.integers(len(FINDINGS)))])
    ph = make_phantom(int(rng.integers(10**6, 2 * 10**6)), finding, size=256)
    img = detector_look(rng, ph.image.astype(np.float32))
    img = draw_lines(rng, burn_text(rng, collimate(rng, img)), ph.lung_mask)
    return img, ph.lung_mask


def film(
    mat: Materials, seed: int, index: int, heldout: bool, phantom_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Film ``index`` of the stream ``seed`` (full resolution, before the network's preprocessing)."""
    rng = np.random.default_rng([seed, index, int(heldout)])
    if not heldout and rng.random() < phantom_share:
        img, lung = phantom_film(rng)
    else:
        yaws, shapes, aspects = mat.split(heldout)
        img, lung = synth_film(rng, mat.proj, shapes, aspects, yaws)
    if not heldout and rng.random() < 0.5:
        # Mirrored films exist (exports, dextrocardia): the network must find lungs either way round, so that
        # laterality's anatomy check sees the same outline on a mirrored film, mirrored.
        img, lung = np.ascontiguousarray(img[:, ::-1]), np.ascontiguousarray(lung[:, ::-1])
    return img, lung


def stream(
    mat: Materials, seed: int, indices: Iterable[int], side: int, phantom_share: float, heldout: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in indices:
        yield to_pair(*film(mat, seed, i, heldout, phantom_share), side)


def heldout_films(n: int, seed: int = 4242) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` held-out CT films with their exact labels (yaws and lung shapes never trained on)."""
    mat = heldout_materials(default_cache())
    for i in range(n):
        yield film(mat, seed, i, True, 0.0)


@lru_cache(maxsize=2)
def heldout_materials(cache: Path) -> Materials:
    """Like :func:`materials`, but projecting only the held-out yaws (a quarter of the time when not cached)."""
    from vald_desktop.core.masks.shapes import load_shapes

    shapes = load_shapes(allow_procedural=False)
    return Materials(cached_projections(cache, yaws=HELDOUT_YAWS), shapes.masks, shapes.aspect)
