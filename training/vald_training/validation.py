"""Validation samples during training: fixed films and seeds through the app's own sampler -> composites + numbers.

The in-training weights (EMA weights when EMA is on) are wrapped in a ``StableDiffusionImg2ImgPipeline`` and handed to
``vald_desktop.core.engine.sampler.Engine`` — the code path of ``vald run``: same film loading, lung mask, ``RunSettings``,
prompt encoding, scheduler, seeds and map. So a composite here is what ``vald run --model`` gives for a checkpoint of
these weights. Written to ``OUT/.samples/``: ``{tag}-{k}.png`` (the ``vald run`` composite), ``{tag}-{k}.npz``
(counterfactual and map, float32) and one line per film in ``validation.jsonl``; the numbers also go to the trackers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from vald_desktop.core.base.errors import ValdError

if TYPE_CHECKING:
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from transformers import PreTrainedModel

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.sampler import Engine, RunResult
    from vald_desktop.core.masks.lung_mask import LungMask
    from vald_training.train_state import TrainState

log = logging.getLogger(__name__)
SAMPLES_DIR = ".samples"
NUMBERS_FILE = "validation.jsonl"


def default_validation_films(state: TrainState, n: int = 2) -> list[Path]:
    """The first film of up to ``n`` classes other than the prior class (abnormal films -> healthy prompt)."""
    ds, prior = state.ds, state.cfg.prior_class
    films: list[Path] = []
    for klass in sorted(ds.by_class):
        if klass != prior and len(films) < n:
            films.append(ds.examples[ds.by_class[klass][0]].path)
    return films or [ds.examples[0].path]


def validation_settings(state: TrainState, k: int, masked: bool) -> RunSettings:
    """The ``RunSettings`` of film ``k``: the config's prompt/strength/guidance/steps, seed = training seed + k."""
    from vald_desktop.core.base.settings import RunSettings

    cfg = state.cfg
    return RunSettings(
        prompt=cfg.validation_prompt,
        strength=cfg.validation_strength,
        guidance=cfg.validation_guidance,
        steps=cfg.validation_inference_steps,
        seed=cfg.seed + k,
        mask_mode="auto" if masked else "none",
        preview_every=0,
    )


def film_and_mask(path: Path) -> tuple[np.ndarray, LungMask | None]:
    """The film as ``vald run`` sees it, and its lung mask (dataset sibling or automatic; None when none fits)."""
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks.resolve import resolve_mask

    film = load_film(path)
    lung: LungMask | None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an implausible automatic mask still gives usable numbers
            lung = resolve_mask(film, film_path=path)
    except ValdError:
        lung = None
    return film.display(), lung


def map_numbers(result: RunResult) -> dict[str, float]:
    """How much the counterfactual changed: mean |map| over the film and inside the lungs (when there is a mask)."""
    m = np.abs(np.asarray(result.map, dtype=np.float32))
    numbers = {"map_abs_mean": float(m.mean())}
    if result.mask is not None:
        inside = np.asarray(result.mask.mask, dtype=bool)
        numbers["map_abs_mean_lungs"] = float(m[inside].mean()) if inside.any() else 0.0
    return numbers


@contextlib.contextmanager
def sampling_weights(state: TrainState) -> Iterator[tuple[UNet2DConditionModel, PreTrainedModel]]:
    """(unet, text_encoder) in eval mode, EMA weights swapped in, VAE in the UNet's dtype; all restored after."""
    unet, text_encoder, ema = state.unet, state.text_encoder, state.ema
    vae = state.parts.vae
    modes = unet.training, text_encoder.training
    vae_dtype = vae.dtype
    unet.eval()
    text_encoder.eval()
    if ema is not None:
        ema.store(unet.parameters())
        ema.copy_to(unet.parameters())
    # A bf16 VAE beside fp32 trainable weights (CUDA mixed precision) cannot decode the UNet's fp32 latents.
    if vae_dtype != unet.dtype:
        vae.to(dtype=unet.dtype)  # type: ignore[call-arg]  # diffusers' @wraps hides self
    try:
        yield unet, text_encoder
    finally:
        if vae.dtype != vae_dtype:
            vae.to(dtype=vae_dtype)  # type: ignore[call-arg]  # diffusers' @wraps hides self
        if ema is not None:
            ema.restore(unet.parameters())
        unet.train(modes[0])
        text_encoder.train(modes[1])


def make_engine(state: TrainState, unet: UNet2DConditionModel, text_encoder: PreTrainedModel) -> Engine:
    """An ``Engine`` (the ``vald run`` sampler) around the in-memory modules; a fresh one each time, so no cache
    holds embeddings or latents of older weights."""
    from diffusers import StableDiffusionImg2ImgPipeline

    from vald_desktop.core.engine.sampler import Engine

    p = state.parts
    pipe = StableDiffusionImg2ImgPipeline(
        vae=p.vae,
        text_encoder=text_encoder,
        tokenizer=p.tokenizer,
        unet=unet,
        scheduler=p.scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    # The engine's out-of-memory retry would hang CPU-offload hooks on the modules being trained: fail the sample.
    pipe._vald_low_memory = True  # type: ignore[attr-defined]  # the engine's own flag, read with getattr
    return Engine.from_pipeline(pipe, state.out)


def run_validation(state: TrainState, tag: str) -> list[Path]:
    """Main process only; returns the composite paths written (none when there are no films)."""
    acc, cfg = state.acc, state.cfg
    acc.wait_for_everyone()
    written: list[Path] = []
    if acc.is_main_process and cfg.validation_inference_steps >= 1:
        written = _validate(state, tag)
    acc.wait_for_everyone()
    return written


def _validate(state: TrainState, tag: str) -> list[Path]:
    from vald_desktop.core.attribution.maps import composite
    from vald_desktop.core.base import atomic
    from vald_desktop.core.engine.provenance import write_png

    cfg = state.cfg
    films = [Path(p) for p in cfg.validation_images] or default_validation_films(state)
    folder = state.out / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    images: list[tuple[int, np.ndarray]] = []
    rows: list[dict[str, Any]] = []
    with sampling_weights(state) as (unet, text_encoder):
        engine = make_engine(state, unet, text_encoder)
        for k, film_path in enumerate(films):
            try:  # a broken validation film or a failed sample must not stop training
                image, lung = film_and_mask(film_path)
                settings = validation_settings(state, k, lung is not None)
                result = engine.run(image, settings, mask=lung)
            except ValdError as exc:
                log.warning("validation film %d skipped: %s", k, exc)
                continue
            numbers = map_numbers(result)
            caption = (
                f"{tag} · {settings.prompt!r} · strength {settings.strength} · guidance {settings.guidance}"
            )
            comp = composite(result.original, result.counterfactual, result.map, None, caption)
            path = folder / f"{tag}-{k}.png"
            record = {"step": state.step, "tag": tag, "film": k, **result.record}
            write_png(path, comp, record)
            atomic.write_with(folder / f"{tag}-{k}.npz", functools.partial(_save_npz, result=result))
            written.append(path)
            images.append((k, comp))
            rows.append({"step": state.step, "tag": tag, "film": k, "seed": settings.seed, **numbers})
    _log_numbers(state, folder / NUMBERS_FILE, rows, images)
    return written


def _save_npz(fh: IO[bytes], result: RunResult) -> None:
    np.savez(fh, counterfactual=result.counterfactual, map=result.map)


def _log_numbers(
    state: TrainState, path: Path, rows: list[dict[str, Any]], images: list[tuple[int, np.ndarray]]
) -> None:
    if not rows:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    keys = sorted({key for row in rows for key in row if key.startswith("map_")})
    means = {f"validation/{key}": float(np.mean([row[key] for row in rows if key in row])) for key in keys}
    state.acc.log(means, step=state.step)
    for tracker in state.acc.trackers:
        if tracker.name == "tensorboard":
            # Composites differ in width (film aspect), so each is its own image.
            for k, image in images:
                tracker.writer.add_image(f"validation/{k}", image, state.step, dataformats="HWC")
