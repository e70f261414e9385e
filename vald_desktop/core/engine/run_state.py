"""What the steps of one engine run hand each other: the film's cached entry and its side of the run, and the
text embeddings. Plain records; the engine (``core.engine.sampler``) fills them, and ``run_record`` makes the run
record from them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vald_desktop.core.attribution.maps import film_plus_edit
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.geometry import Placement
from vald_desktop.core.engine.models import ModelInfo
from vald_desktop.core.engine.provenance import build_record
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.region import EditRegion

if TYPE_CHECKING:
    import torch


@dataclass
class FilmEntry:
    placement: Placement
    latents: torch.Tensor  # (1, C, h, w), scaled by the VAE scaling factor
    reconstruction: np.ndarray | None = None
    # (negative prompt, timesteps) -> DDIM-inverted latents: a new prompt on the same film skips the inversion
    inverted: dict[tuple[str, tuple[int, ...]], torch.Tensor] = field(default_factory=dict)
    # (timesteps, noise seed) -> the domain score's measures (core.engine.domain_features): once per film and model
    domain_measures: dict[tuple[tuple[int, ...], int], dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class FilmPass:
    """The film's side of one run: its latents, and how a decoded sample becomes the counterfactual."""

    image: np.ndarray
    mask: LungMask | None  # the lung mask the map is confined to
    entry: FilmEntry
    clean: torch.Tensor  # the film's latents, one per seed: img2img's ``image``
    cached: bool  # the latents came from the cache
    transfer: bool  # reference "reconstruction": the film keeps its detail, only the model's edit is added
    weight: np.ndarray | None  # mask-confined: the lung mask weighs the edit
    floor: float
    region: EditRegion | None = None  # the reader's edit region: nothing outside it changes

    def counterfactual(self, decoded: np.ndarray) -> np.ndarray:
        return film_plus_edit(
            decoded,
            self.image,
            self.entry.reconstruction,
            self.transfer,
            weight=self.weight,
            floor=self.floor,
            region=None if self.region is None else self.region.weight(),
        )


@dataclass(frozen=True)
class Texts:
    cond: torch.Tensor  # the prompt's embedding, one per seed
    uncond: torch.Tensor | None  # the negative prompt's, one per seed; None when the run is not guided
    cached: bool  # no text went through the encoder


@contextlib.contextmanager
def timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Time the block into ``timings[key]`` (seconds), for the run record."""
    t0 = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - t0


def run_record(
    model: ModelInfo | None,
    settings: RunSettings,
    film: FilmPass,
    texts: Texts,
    seeds: list[int],
    unet_calls: int,
    timings: dict[str, float],
    film_sha256: str | None,
    domain: dict[str, Any],
) -> dict[str, Any]:
    """The run record (core.engine.provenance) with what only this run knows: UNet calls, cache hits, mask, domain."""
    return build_record(
        settings,
        model=model,
        seeds=seeds,
        timings=timings,
        film_sha256=film_sha256,
        film_shape=(film.image.shape[0], film.image.shape[1]),
        extra={
            "unet_calls": unet_calls,
            "cache": {"film": film.cached, "text": texts.cached},
            "mask_source": film.mask.source if film.mask is not None else None,
            "domain": domain,
            **({"region": film.region.record()} if film.region is not None else {}),
        },
    )
