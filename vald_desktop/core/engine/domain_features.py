"""The numbers behind the domain score, measured with the loaded model on a film's cached latents.

One VAE decode on the model's grid and one batched UNet call (one sample per calibrated timestep, the empty prompt):
about two denoising steps' worth of work, once per film and model; later runs on the same film reuse them.
``calibrate`` measures a model's training films the same way and fits its :class:`~.domain.Calibration`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vald_desktop.core.base.errors import DataError, FilmError, ModelError
from vald_desktop.core.engine.domain import NOISE_SEED, TIMESTEPS, Calibration, read_model_domain, verdict
from vald_desktop.core.engine.geometry import Placement, to_model
from vald_desktop.core.engine.models import ModelInfo
from vald_desktop.core.engine.run_state import FilmEntry
from vald_desktop.core.engine.vae import encode_film
from vald_desktop.core.films.kind import FilmKind, pixel_check
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.quality import plausibility

if TYPE_CHECKING:
    import torch

PIXEL_FLAG = "the pixels do not look like a frontal chest radiograph"
CALIBRATION_FILMS = 48  # a few dozen training films: seconds for a small model, minutes for SD 1.x on a CPU


AUTOMATIC_SOURCES = ("learned", "atlas", "segmenter")  # masks a program found; a drawn mask is no witness


class DomainEngine(Protocol):
    """What the assessment reads of an engine (``core.engine.sampler.Engine``)."""

    pipe: Any
    info: ModelInfo | None

    @property
    def scheduler_config(self) -> dict[str, Any]: ...

    def _embed(self, text: str) -> torch.Tensor: ...

    def _execution_device(self) -> torch.device: ...


def assess(
    engine: DomainEngine,
    entry: FilmEntry,
    image: np.ndarray,
    kind: FilmKind | None,
    lung: LungMask | None = None,
) -> dict[str, Any]:
    """The run record's ``domain`` verdict for a film whose latents are in ``entry``; raises :class:`FilmError` for a
    header-less picture that does not look like a chest film when a second witness agrees: the model finds it
    unlike its training films, or the automatic lung mask finds no plausible lungs on it."""
    if kind is None:  # no header was read: the pixels alone say whether this is a frontal chest film
        looks = pixel_check(image)
        kind = FilmKind(looks_like_chest=looks, flags=() if looks else (PIXEL_FLAG,))
    model = read_model_domain(engine.info.path if engine.info is not None else None)
    cal = model.calibration
    measures = None
    if cal is not None:
        key = (cal.timesteps, cal.noise_seed)
        if key not in entry.domain_measures:
            args = (entry.latents, entry.placement, image, cal.timesteps, cal.noise_seed)
            entry.domain_measures[key] = measure(engine, *args)
        measures = entry.domain_measures[key]
    result = verdict(model, measures, kind)
    score, threshold = result["score"], result["threshold"]
    if kind.looks_like_chest is False and lung is not None and lung.source in AUTOMATIC_SOURCES:
        problems = plausibility(image, lung.left, lung.right)
        if problems:
            raise FilmError(
                "The film does not look like a frontal chest radiograph and the automatic lung mask finds no "
                f"plausible lungs on it ({problems[0].rstrip('.')}); no counterfactual is made."
            )
    if kind.looks_like_chest is False and score is not None and score > threshold:
        # Two witnesses, the pixels and the model, say this is no chest film: no map is made of it. Either alone
        # only flags the result (a bordered or rotated chest film can fail the loose pixel test).
        raise FilmError(
            f"The film does not look like a frontal chest radiograph and the model finds it unlike its training "
            f"films (score {score:.1f}, threshold {threshold:.1f}); no counterfactual is made."
        )
    return result


def calibrate(
    engine: DomainEngine,
    images: Iterable[np.ndarray],
    source: str,
    timesteps: tuple[int, ...] = TIMESTEPS,
    noise_seed: int = NOISE_SEED,
) -> Calibration:
    """Measure training films (float32 HxW in [0, 1], as a run sees them) and fit the model's calibration."""
    measures = [measure_image(engine, image, timesteps, noise_seed) for image in images]
    if len(measures) < 8:
        raise DataError(f"A domain calibration needs at least 8 training films; {len(measures)} were given.")
    return Calibration.fit(measures, source, timesteps, noise_seed)


def measure_image(
    engine: DomainEngine,
    image: np.ndarray,
    timesteps: tuple[int, ...] = TIMESTEPS,
    noise_seed: int = NOISE_SEED,
) -> dict[str, float]:
    """The measures of one film (float32 HxW in [0, 1]) encoded as a run would encode it."""
    import torch

    if engine.info is None:
        raise ModelError("Load the model before measuring a film against its domain.")
    img = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    with torch.inference_mode():
        latents, placement = encode_film(
            engine.pipe, img, engine.info.native_size, engine._execution_device()
        )
    return measure(engine, latents, placement, img, timesteps, noise_seed)


def calibrate_files(
    engine: DomainEngine, paths: Sequence[Path], source: str, films: int = CALIBRATION_FILMS
) -> Calibration:
    """Calibrate on up to ``films`` of ``paths``, spread evenly over the list; unreadable files are passed over."""
    from vald_desktop.core.films.load import load_film

    picked = [
        paths[int(i)] for i in np.unique(np.linspace(0, len(paths) - 1, min(films, len(paths))).round())
    ]

    def images() -> Iterator[np.ndarray]:
        for path in picked:
            try:
                yield load_film(path).display()  # exactly what a run on this file would see
            except FilmError:
                continue

    return calibrate(engine, images(), f"{source}; {len(picked)} of {len(paths)} films")


def measure(
    engine: DomainEngine,
    latents: torch.Tensor,
    placement: Placement,
    image: np.ndarray,
    timesteps: tuple[int, ...],
    noise_seed: int,
) -> dict[str, float]:
    """VAE round-trip error and denoising errors of one film, over its footprint on the model's grid."""
    import torch
    from diffusers import DDPMScheduler

    pipe = engine.pipe
    with torch.inference_mode():
        square, _ = to_model(np.asarray(image, np.float32), placement.size)
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        gray = (decoded.float() / 2 + 0.5).clamp(0, 1).mean(dim=1)[0].cpu().numpy()
        rows, cols = _footprint(placement, 1)
        out = {"vae_roundtrip": float(np.mean((gray[rows, cols] - square[rows, cols]) ** 2))}

        # Fixed noise and fixed timesteps: the same question for every film, so the answers compare.
        scheduler = DDPMScheduler.from_config(engine.scheduler_config)
        k = len(timesteps)
        x0 = latents.float().cpu().repeat(k, 1, 1, 1)
        noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(noise_seed))
        t = torch.tensor(timesteps, dtype=torch.long)
        alpha = scheduler.alphas_cumprod[t].float().view(-1, 1, 1, 1)
        noisy = alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise
        kind = scheduler.config.get("prediction_type", "epsilon")
        velocity = alpha.sqrt() * noise - (1 - alpha).sqrt() * x0
        target = {"v_prediction": velocity, "sample": x0}.get(kind, noise)
        device, dtype = latents.device, pipe.unet.dtype
        empty = engine._embed("").to(device, dtype).expand(k, -1, -1)
        pred = pipe.unet(
            noisy.to(device, dtype), t.to(device), encoder_hidden_states=empty, return_dict=False
        )
        err = ((pred[0].float().cpu() - target) ** 2).mean(dim=1).numpy()  # (k, h, w)
        rows, cols = _footprint(placement, placement.size // latents.shape[-1])
        for i, step in enumerate(timesteps):
            out[f"denoise_t{step}"] = float(err[i][rows, cols].mean())
    return out


def _footprint(p: Placement, factor: int) -> tuple[slice, slice]:
    """The cells of a grid ``factor`` times coarser than the model's that lie wholly on the film (not padding)."""
    top, left = -(-p.top // factor), -(-p.left // factor)
    bottom, right = (p.top + p.inner_h) // factor, (p.left + p.inner_w) // factor
    return slice(top, max(bottom, top + 1)), slice(left, max(right, left + 1))
