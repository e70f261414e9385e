"""The counterfactual engine: SDEdit img2img with the stock diffusers pipeline, kept warm between runs.

``Engine.run`` turns a film (float32 HxW in [0, 1]) into its healthy counterfactual and the signed map
M = film − counterfactual on the film's own grid. Interactive re-runs are cheap: the film's VAE latents (and its
reconstruction) and each prompt's text embedding are cached, and the pipeline receives them directly
(``prompt_embeds`` and 4-channel scaled latents as ``image``, which img2img takes as-is), so a new prompt or guidance
costs only the denoising steps. Per-step work (progress, previews, cancel, mask-confined blending) runs in
``callback_on_step_end``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.attribution.maps import film_plus_edit, signed_map
from vald_desktop.core.base.errors import Cancelled, OutOfMemoryError, SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.geometry import Placement, mask_to_model, to_film, to_model
from vald_desktop.core.engine.models import (
    ModelInfo,
    cap_tokenizer,
    enter_low_memory,
    load_pipeline,
    pipeline_info,
    resolve_model_dir,
)
from vald_desktop.core.engine.provenance import build_record
from vald_desktop.core.engine.run_inputs import check_image, check_mask
from vald_desktop.core.engine.steps import Progress, StepHook

__all__ = ["Engine", "Progress", "RunResult"]

FILM_CACHE_SIZE = 4
TEXT_CACHE_SIZE = 32


@dataclass
class RunResult:
    settings: RunSettings
    original: np.ndarray  # the film as the model saw it (float32 HxW, [0, 1])
    reference: np.ndarray  # what the map is measured against: the film as the model saw it
    counterfactual: np.ndarray  # mean over seeds
    counterfactuals: list[np.ndarray]  # one per seed
    map: np.ndarray  # film − counterfactual, signed, zero outside the mask
    map_std: np.ndarray | None  # per-pixel std of the per-seed maps (seeds > 1)
    mask: Any  # the LungMask used (or None)
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class _FilmEntry:
    placement: Placement
    latents: Any  # torch tensor (1, C, h, w), scaled by the VAE scaling factor
    reconstruction: np.ndarray | None = None
    # (negative prompt, timesteps) -> DDIM-inverted latents: a new prompt on the same film skips the inversion
    inverted: dict[Any, Any] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]


class Engine:
    """Keeps one model loaded and its caches warm. Not re-entrant: one run at a time (a lock enforces it)."""

    def __init__(self, model_dir: str | Path | None = None, device: str | None = None) -> None:
        self.model_dir = model_dir
        self.device = device
        self.pipe: Any = None
        self.info: ModelInfo | None = None
        self.stats = {"vae_encode": 0, "text_encode": 0, "film_cache_hits": 0, "text_cache_hits": 0}
        self._films: OrderedDict[str, _FilmEntry] = OrderedDict()
        self._texts: OrderedDict[str, Any] = OrderedDict()
        self._scheduler_config: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._device_of: tuple[Any, Any] = (None, None)  # (pipe, its execution device)

    @classmethod
    def from_pipeline(cls, pipe: Any, folder: str | Path) -> Engine:
        """An engine around a ready ``StableDiffusionImg2ImgPipeline`` (e.g. the weights being trained), so a
        caller gets exactly what ``vald run`` does without writing the weights out first.

        ``folder`` (an existing folder) names the model; ``load`` keeps this pipeline while it is the model folder.
        The pipeline is used as given (device, dtype); only its tokenizer is capped at 77 tokens, as on loading.
        """
        engine = cls(folder)
        cap_tokenizer(pipe)
        pipe.set_progress_bar_config(disable=True)
        engine.pipe = pipe
        engine.info = pipeline_info(pipe, folder)
        engine._scheduler_config = dict(pipe.scheduler.config)
        return engine

    # -- model lifecycle -------------------------------------------------------------------------------------------
    def set_model(self, model_dir: str | Path | None, device: str | None = None) -> None:
        """Choose another model (or device); the old pipeline is freed now, the new one loads on the next run."""
        with self._lock:
            self.unload()
            self.model_dir = model_dir
            if device is not None:
                self.device = device

    def load(self) -> ModelInfo:
        """Load the model (heavy: call it off the GUI thread). A second call is free."""
        with self._lock:
            path = resolve_model_dir(self.model_dir)
            if self.pipe is not None and self.info is not None and self.info.path == path.resolve():
                return self.info
            self.unload()
            self.pipe, self.info = load_pipeline(path, self.device)
            self._scheduler_config = dict(self.pipe.scheduler.config)
            return self.info

    def clear_caches(self) -> None:
        """Forget cached film latents and prompt embeddings (the model stays loaded)."""
        with self._lock:
            self._films.clear()
            self._texts.clear()

    def unload(self) -> None:
        with self._lock:
            was_cuda = self.info is not None and self.info.device.startswith("cuda")
            self.pipe = None
            self.info = None
            self._device_of = (None, None)  # holds the old pipeline otherwise
            self._films.clear()
            self._texts.clear()
            gc.collect()
            if was_cuda:
                import torch

                torch.cuda.empty_cache()

    # -- running ---------------------------------------------------------------------------------------------------
    def run(
        self,
        image: np.ndarray,
        settings: RunSettings,
        *,
        mask: Any = None,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        film_sha256: str | None = None,
    ) -> RunResult:
        """Counterfactual + map for ``image`` (float32 HxW in [0, 1]). Raises typed errors; ``Cancelled`` on cancel."""
        if not isinstance(settings, RunSettings):
            raise SettingsError("Run settings are missing.")
        settings.validate()
        img = check_image(image)
        lung = None if settings.mask_mode == "none" else mask
        if lung is not None:
            check_mask(lung, img.shape)
        if settings.confine_to_mask and lung is None:
            raise SettingsError(
                "Mask-confined editing needs a lung mask; choose a mask or turn confinement off."
            )
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        import torch

        with self._lock:
            info = self.load()
            try:
                return self._run(img, settings, lung, progress, cancel, film_sha256)
            except torch.OutOfMemoryError:
                pass
            # Out of memory once: retry in the low-memory mode, then give up with a sentence.
            gc.collect()
            if not enter_low_memory(self.pipe, info.device):
                raise OutOfMemoryError(_OOM_SENTENCE) from None
            self.info = dataclasses.replace(info, low_memory=True)
            self._device_of = (None, None)  # offloading may move the execution device
            try:
                return self._run(img, settings, lung, progress, cancel, film_sha256)
            except torch.OutOfMemoryError:
                raise OutOfMemoryError(_OOM_SENTENCE) from None

    def _run(
        self,
        img: np.ndarray,
        settings: RunSettings,
        lung: Any,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
        film_sha256: str | None,
    ) -> RunResult:
        import torch

        assert self.pipe is not None and self.info is not None
        pipe = self.pipe
        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        with torch.inference_mode():
            film_hit = self._film_key(img) in self._films
            entry = self._film(img)
            transfer = settings.reference == "reconstruction"
            floor = float(settings.edit_floor)
            if (transfer or settings.confine_to_mask or floor > 0) and entry.reconstruction is None:
                entry.reconstruction = self._decode(entry.latents, entry.placement)
            # Mask-confined: the lung mask itself, on the film's grid, weights the edit (the latent mask is dilated
            # for the decoder's context, and the edit's rim in that margin is not lung).
            weight = np.asarray(getattr(lung, "mask", lung), np.float32) if settings.confine_to_mask else None
            timings["film"] = time.perf_counter() - t_start

            t0 = time.perf_counter()
            guided = settings.guidance > 1.0  # diffusers skips classifier-free guidance at guidance <= 1
            text_hit = settings.prompt in self._texts and (
                not guided or settings.negative_prompt in self._texts
            )
            k = settings.seeds
            cond = self._embed(settings.prompt).repeat(k, 1, 1)
            uncond = self._embed(settings.negative_prompt).repeat(k, 1, 1) if guided else None
            timings["text"] = time.perf_counter() - t0

            from vald_desktop.core.engine.schedulers import make_scheduler

            pipe.scheduler = make_scheduler(settings.scheduler, self._scheduler_config)
            seeds = [settings.seed + i for i in range(k)]
            generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
            latents0 = entry.latents.repeat(k, 1, 1, 1)
            hook = StepHook(
                settings=settings,
                progress=progress,
                cancel=cancel,
                preview=lambda lat: film_plus_edit(
                    self._decode(lat[:1], entry.placement),
                    img,
                    entry.reconstruction,
                    transfer,
                    weight=weight,
                    floor=floor,
                ),
                original=latents0 if settings.confine_to_mask else None,
                latent_mask=self._latent_mask(lung, entry.placement) if settings.confine_to_mask else None,
                seeds=seeds,
            )
            t0 = time.perf_counter()
            hook.start()
            start: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
            if settings.noise == "inverted":
                from vald_desktop.core.engine.inversion import inverted_start, start_noise, starting_from

                args = (entry.latents, self._embed(settings.negative_prompt), settings.negative_prompt)
                inv, alpha = inverted_start(
                    pipe, entry.inverted, *args, settings.steps, settings.strength, hook
                )
                start = starting_from(pipe.scheduler, inv.repeat(k, 1, 1, 1), alpha)
                hook.use_blend_noise(start_noise(inv, entry.latents, alpha).repeat(k, 1, 1, 1))
                timings["invert"] = time.perf_counter() - t0
                t0 = time.perf_counter()
            with start:
                out = pipe(
                    prompt_embeds=cond,
                    negative_prompt_embeds=uncond,
                    image=latents0,
                    strength=float(settings.strength),
                    num_inference_steps=int(settings.steps),
                    guidance_scale=float(settings.guidance),
                    generator=generators,
                    output_type="latent",
                    callback_on_step_end=hook,
                    callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"],
                    return_dict=False,
                )
            timings["denoise"] = time.perf_counter() - t0
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            t0 = time.perf_counter()
            cfs = [self._decode(out[0][i : i + 1], entry.placement) for i in range(k)]
            cfs = [
                film_plus_edit(cf, img, entry.reconstruction, transfer, weight=weight, floor=floor)
                for cf in cfs
            ]
            timings["decode"] = time.perf_counter() - t0

        counterfactual = cfs[0] if k == 1 else np.mean(cfs, axis=0).astype(np.float32)
        sigma = float(settings.smooth_sigma) * max(img.shape) / entry.placement.size
        the_map = signed_map(img, counterfactual, lung, sigma)
        map_std = None
        if k > 1:
            per_seed = np.stack([signed_map(img, cf, lung, sigma) for cf in cfs])
            map_std = per_seed.std(axis=0).astype(np.float32)
        timings["total"] = time.perf_counter() - t_start
        record = build_record(
            settings,
            model=self.info,
            seeds=seeds,
            timings=timings,
            film_sha256=film_sha256,
            film_shape=(img.shape[0], img.shape[1]),
            extra={
                "unet_calls": hook.calls,
                "cache": {"film": film_hit, "text": text_hit},
                "mask_source": getattr(lung, "source", None) if lung is not None else None,
            },
        )
        return RunResult(
            settings=settings,
            original=img,
            reference=np.asarray(img, dtype=np.float32),
            counterfactual=counterfactual,
            counterfactuals=cfs,
            map=the_map,
            map_std=map_std,
            mask=lung,
            record=record,
        )

    # -- caches ----------------------------------------------------------------------------------------------------
    def _film_key(self, img: np.ndarray) -> str:
        # The array's own buffer, not a copy: hashing lets go of the interpreter lock, copying 2k of pixels did not.
        digest = hashlib.sha1(np.ascontiguousarray(img).data)
        digest.update(repr((img.shape, self.info.path if self.info else None)).encode())
        return digest.hexdigest()

    def _film(self, img: np.ndarray) -> _FilmEntry:
        key = self._film_key(img)
        if key in self._films:
            self._films.move_to_end(key)
            self.stats["film_cache_hits"] += 1
            return self._films[key]
        import torch

        pipe, info = self.pipe, self.info
        assert pipe is not None and info is not None
        square, placement = to_model(img, info.native_size)
        x = torch.from_numpy(square * 2.0 - 1.0)[None, None].expand(1, 3, -1, -1)
        x = x.to(device=self._execution_device(), dtype=pipe.vae.dtype)
        # The posterior mean (not a sample) keeps the cached latents deterministic and independent of the seed.
        latents = pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor
        self.stats["vae_encode"] += 1
        entry = _FilmEntry(placement=placement, latents=latents)
        self._films[key] = entry
        while len(self._films) > FILM_CACHE_SIZE:
            self._films.popitem(last=False)
        return entry

    def _embed(self, text: str) -> Any:
        if text in self._texts:
            self._texts.move_to_end(text)
            self.stats["text_cache_hits"] += 1
            return self._texts[text]
        pipe = self.pipe
        # encode_prompt tokenizes to model_max_length and passes an attention mask only when the encoder's config
        # asks for one, exactly as the stock pipeline would; clip_skip stays None (BERT has no final_layer_norm).
        emb, _ = pipe.encode_prompt(text, self._execution_device(), 1, False)
        self.stats["text_encode"] += 1
        self._texts[text] = emb
        while len(self._texts) > TEXT_CACHE_SIZE:
            self._texts.popitem(last=False)
        return emb

    def _execution_device(self) -> Any:
        """The pipeline's execution device, looked up once per pipeline: diffusers recomputes it on every access by
        inspecting every module's hooks (about 10 ms on a CPU), which a run would otherwise pay three times."""
        pipe, device = self._device_of
        if pipe is not self.pipe:
            device = self.pipe._execution_device
            self._device_of = (self.pipe, device)
        return device

    def _decode(self, latents: Any, placement: Placement) -> np.ndarray:
        pipe = self.pipe
        image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        gray = (image.float() / 2 + 0.5).clamp(0, 1).mean(dim=1)[0].cpu().numpy()
        return to_film(gray, placement)

    def _latent_mask(self, lung: Any, placement: Placement) -> Any:
        import torch
        from scipy.ndimage import binary_dilation

        pipe = self.pipe
        square = mask_to_model(np.asarray(lung.mask, dtype=bool), placement)
        factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
        n = placement.size // factor
        cells = square[: n * factor, : n * factor].reshape(n, factor, n, factor).any(axis=(1, 3))
        # One latent cell of margin: the decoder's receptive field would otherwise blur the lung edge.
        cells = binary_dilation(cells, iterations=1)
        return torch.from_numpy(cells.astype(np.float32))[None, None].to(
            self._execution_device(), pipe.unet.dtype
        )


_OOM_SENTENCE = (
    "The device ran out of memory even in low-memory mode; use fewer seeds, a smaller model or the CPU."
)
