"""The counterfactual engine: SDEdit img2img with the stock diffusers pipeline, kept warm between runs.

``Engine.run`` turns a film (float32 HxW in [0, 1]) into its healthy counterfactual and the signed map
M = film − counterfactual on the film's own grid, in named steps: film latents, domain (``domain_features``: is
this a film the model knows), embeddings, start latents, denoise, decode, map, record. Interactive re-runs are
cheap: the film's VAE latents (and its reconstruction, and its domain measures) and each prompt's text embedding
are cached, and the pipeline receives them directly (``prompt_embeds`` and 4-channel scaled latents as ``image``,
which img2img takes as-is), so a new prompt or guidance costs only the denoising steps.
Per-step work (progress, previews, cancel, mask-confined blending) runs in ``callback_on_step_end``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vald_desktop.core.attribution.maps import seed_consensus
from vald_desktop.core.base.errors import Cancelled, OutOfMemoryError, SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.domain_features import assess
from vald_desktop.core.engine.geometry import Placement
from vald_desktop.core.engine.lru import Lru
from vald_desktop.core.engine.models import (
    ModelInfo,
    cap_tokenizer,
    enter_low_memory,
    load_pipeline,
    pipeline_info,
    resolve_model_dir,
)
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.engine.run_inputs import check_image, check_kind, check_mask
from vald_desktop.core.engine.run_state import FilmEntry, FilmPass, Texts, run_record, timed
from vald_desktop.core.engine.steps import Progress, StepHook
from vald_desktop.core.engine.vae import decode_to_film, edit_cells, encode_film
from vald_desktop.core.films.kind import FilmKind
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.region import EditRegion, check_region

if TYPE_CHECKING:
    import torch

__all__ = ["Engine", "Progress", "RunResult"]

FILM_CACHE_SIZE = 4
TEXT_CACHE_SIZE = 32


ProgressFn = Callable[[Progress], None]


class Engine:
    """Keeps one model loaded and its caches warm. Not re-entrant: one run at a time (a lock enforces it)."""

    def __init__(self, model_dir: str | Path | None = None, device: str | None = None) -> None:
        self.model_dir = model_dir
        self.device = device
        self.pipe: Any = None
        self.info: ModelInfo | None = None
        self._films: Lru[str, FilmEntry] = Lru(FILM_CACHE_SIZE)
        self._texts: Lru[str, torch.Tensor] = Lru(TEXT_CACHE_SIZE)
        self._scheduler_config: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._device_of: tuple[Any, Any] = (None, None)  # (pipe, its execution device)

    @property
    def stats(self) -> dict[str, int]:
        """Encodes done and encodes saved by the caches, since this engine was made."""
        films, texts = self._films, self._texts
        return {
            "vae_encode": films.misses,
            "text_encode": texts.misses,
            "film_cache_hits": films.hits,
            "text_cache_hits": texts.hits,
        }

    @property
    def scheduler_config(self) -> dict[str, Any]:
        """The loaded model's own scheduler config (runs swap the pipeline's scheduler; this stays)."""
        return dict(self._scheduler_config)

    def forget_inputs(self) -> None:
        """Drop the cached film latents and prompt embeddings: the next run pays for them again."""
        self._films.clear()
        self._texts.clear()

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

    def unload(self) -> None:
        with self._lock:
            was_cuda = self.info is not None and self.info.device.startswith("cuda")
            self.pipe = None
            self.info = None
            self._device_of = (None, None)  # holds the old pipeline otherwise
            self.forget_inputs()
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
        mask: LungMask | None = None,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        film_sha256: str | None = None,
        film_kind: FilmKind | None = None,
        region: EditRegion | None = None,
    ) -> RunResult:
        """Counterfactual + map for ``image`` (float32 HxW in [0, 1]). Raises typed errors; ``Cancelled`` on cancel.

        ``film_kind`` (``core.films.kind``) refuses films the method is not for and feeds the domain verdict.
        ``region`` (``core.masks.region``): the film changes only inside it (lung confinement still applies).
        """
        if not isinstance(settings, RunSettings):
            raise SettingsError("Run settings are missing.")
        settings.validate()
        check_kind(film_kind)
        img = check_image(image)
        lung = None if settings.mask_mode == "none" else mask
        if lung is not None:
            check_mask(lung, img.shape)
        if region is not None:
            check_region(region, img.shape)
        if settings.confine_to_mask and lung is None:
            raise SettingsError(
                "Mask-confined editing needs a lung mask; choose a mask or turn confinement off."
            )
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        import torch

        with self._lock:
            info = self.load()
            args = (img, settings, lung, region, progress, cancel, film_sha256, film_kind)
            try:
                return self._run(*args)
            except torch.OutOfMemoryError:
                pass
            # Out of memory once: retry in the low-memory mode, then give up with a sentence.
            gc.collect()
            if not enter_low_memory(self.pipe, info.device):
                raise OutOfMemoryError(_OOM_SENTENCE) from None
            self.info = dataclasses.replace(info, low_memory=True)
            self._device_of = (None, None)  # offloading may move the execution device
            try:
                return self._run(*args)
            except torch.OutOfMemoryError:
                raise OutOfMemoryError(_OOM_SENTENCE) from None

    def _run(
        self,
        img: np.ndarray,
        settings: RunSettings,
        lung: LungMask | None,
        region: EditRegion | None,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
        film_sha256: str | None,
        film_kind: FilmKind | None,
    ) -> RunResult:
        """Film latents → domain → embeddings → start latents → denoise → decode → map (attribution) → record."""
        import torch

        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        seeds = [settings.seed + i for i in range(settings.seeds)]
        with torch.inference_mode():
            with timed(timings, "film"):
                film = self._film_latents(img, settings, lung, region)
            with timed(timings, "domain"):  # reuses the film's cached latents
                domain = assess(self, film.entry, img, film_kind, lung)
            with timed(timings, "text"):
                texts = self._embeddings(settings)
            hook = self._step_hook(film, settings, seeds, progress, cancel)
            hook.start()
            t0 = time.perf_counter()
            start = self._start_latents(settings, film, hook)
            if settings.noise == "inverted":
                timings["invert"] = time.perf_counter() - t0
            with timed(timings, "denoise"):
                latents = self._denoise(settings, film, texts, seeds, hook, start)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            with timed(timings, "decode"):
                counterfactuals = self._decode_seeds(film, latents)
        sigma = float(settings.smooth_sigma) * max(img.shape) / film.entry.placement.size
        counterfactual, the_map, map_std = seed_consensus(img, counterfactuals, lung, sigma)
        timings["total"] = time.perf_counter() - t_start
        return RunResult(
            settings=settings,
            original=img,
            counterfactual=counterfactual,
            counterfactuals=counterfactuals,
            map=the_map,
            map_std=map_std,
            mask=lung,
            record=run_record(
                self.info, settings, film, texts, seeds, hook.calls, timings, film_sha256, domain
            ),
            region=region,
        )

    # -- the steps of a run ----------------------------------------------------------------------------------------
    def _film_latents(
        self, img: np.ndarray, settings: RunSettings, lung: LungMask | None, region: EditRegion | None
    ) -> FilmPass:
        """The film's VAE latents (cached per film), and its reconstruction when the edit is measured against it."""
        entry, cached = self._film(img)
        transfer = settings.reference == "reconstruction"
        floor = float(settings.edit_floor)
        held = settings.confine_to_mask or region is not None
        if (transfer or held or floor > 0) and entry.reconstruction is None:
            entry.reconstruction = self._decode(entry.latents, entry.placement)
        # Mask-confined: the lung mask itself, on the film's grid, weights the edit (the latent mask is dilated
        # for the decoder's context, and the edit's rim in that margin is not lung).
        weight = np.asarray(lung.mask, np.float32) if settings.confine_to_mask and lung is not None else None
        clean = entry.latents.repeat(settings.seeds, 1, 1, 1)
        return FilmPass(img, lung, entry, clean, cached, transfer, weight, floor, region)

    def _embeddings(self, settings: RunSettings) -> Texts:
        """The prompt's embedding and, when guided, the negative prompt's, each cached per text."""
        guided = settings.guidance > 1.0  # diffusers skips classifier-free guidance at guidance <= 1
        cached = settings.prompt in self._texts and (not guided or settings.negative_prompt in self._texts)
        k = settings.seeds
        cond = self._embed(settings.prompt).repeat(k, 1, 1)
        uncond = self._embed(settings.negative_prompt).repeat(k, 1, 1) if guided else None
        return Texts(cond, uncond, cached)

    def _step_hook(
        self,
        film: FilmPass,
        settings: RunSettings,
        seeds: list[int],
        progress: ProgressFn | None,
        cancel: threading.Event | None,
    ) -> StepHook:
        """The per-step work: progress with previews, cancel, and the blend outside the lungs when confined and
        outside the edit region when there is one."""
        placement = film.entry.placement
        lung = film.mask.mask if settings.confine_to_mask and film.mask is not None else None
        region = film.region.mask if film.region is not None else None
        cells = edit_cells(self.pipe, [lung, region], placement, self._execution_device())
        return StepHook(
            settings=settings,
            progress=progress,
            cancel=cancel,
            preview=lambda lat: film.counterfactual(self._decode(lat[:1], placement)),
            original=film.clean if cells is not None else None,
            latent_mask=cells,
            seeds=seeds,
        )

    def _start_latents(
        self, settings: RunSettings, film: FilmPass, hook: StepHook
    ) -> contextlib.AbstractContextManager[None]:
        """The run's scheduler and where denoising starts. Random noise: the pipeline noises the film's latents with
        the seeded generators itself. Inverted: the film DDIM-inverted to the start timestep; the returned block
        answers the pipeline's one ``add_noise`` call with it."""
        from vald_desktop.core.engine.schedulers import make_scheduler

        pipe = self.pipe
        pipe.scheduler = make_scheduler(settings.scheduler, self._scheduler_config)
        if settings.noise != "inverted":
            return contextlib.nullcontext()
        from vald_desktop.core.engine.inversion import inverted_start, start_noise, starting_from

        entry, k = film.entry, settings.seeds
        args = (entry.latents, self._embed(settings.negative_prompt), settings.negative_prompt)
        inv, alpha = inverted_start(pipe, entry.inverted, *args, settings.steps, settings.strength, hook)
        hook.use_blend_noise(start_noise(inv, entry.latents, alpha).repeat(k, 1, 1, 1))
        return starting_from(pipe.scheduler, inv.repeat(k, 1, 1, 1), alpha)

    def _denoise(
        self,
        settings: RunSettings,
        film: FilmPass,
        texts: Texts,
        seeds: list[int],
        hook: StepHook,
        start: contextlib.AbstractContextManager[None],
    ) -> torch.Tensor:
        """The stock img2img loop from the film's latents, one seeded generator per seed; the final latents."""
        import torch

        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        with start:
            out = self.pipe(
                prompt_embeds=texts.cond,
                negative_prompt_embeds=texts.uncond,
                image=film.clean,
                strength=float(settings.strength),
                num_inference_steps=int(settings.steps),
                guidance_scale=float(settings.guidance),
                generator=generators,
                output_type="latent",
                callback_on_step_end=hook,
                callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"],
                return_dict=False,
            )
        latents: torch.Tensor = out[0]
        return latents

    def _decode_seeds(self, film: FilmPass, latents: torch.Tensor) -> list[np.ndarray]:
        """Each seed's latents decoded onto the film's grid and made into its counterfactual."""
        decoded = [self._decode(latents[i : i + 1], film.entry.placement) for i in range(latents.shape[0])]
        return [film.counterfactual(d) for d in decoded]

    # -- caches ----------------------------------------------------------------------------------------------------
    def _film_key(self, img: np.ndarray) -> str:
        # The array's own buffer, not a copy: hashing lets go of the interpreter lock, copying 2k of pixels did not.
        digest = hashlib.sha1(np.ascontiguousarray(img).data)
        digest.update(repr((img.shape, self.info.path if self.info else None)).encode())
        return digest.hexdigest()

    def _film(self, img: np.ndarray) -> tuple[FilmEntry, bool]:
        """The film's cache entry (VAE-encoding it on a miss) and whether it was cached."""

        def encode() -> FilmEntry:
            assert self.info is not None
            latents, placement = encode_film(self.pipe, img, self.info.native_size, self._execution_device())
            return FilmEntry(placement=placement, latents=latents)

        return self._films.get_or_make(self._film_key(img), encode)

    def _embed(self, text: str) -> torch.Tensor:
        def encode() -> torch.Tensor:
            # encode_prompt tokenizes to model_max_length and passes an attention mask only when the encoder's
            # config asks for one, as the stock pipeline would; clip_skip stays None (BERT has no final_layer_norm).
            emb: torch.Tensor = self.pipe.encode_prompt(text, self._execution_device(), 1, False)[0]
            return emb

        return self._texts.get_or_make(text, encode)[0]

    def _execution_device(self) -> torch.device:
        """Cached per pipeline: diffusers recomputes it from every module's hooks (~10 ms on a CPU) each access."""
        pipe, cached = self._device_of
        if pipe is not self.pipe:
            cached = self.pipe._execution_device
            self._device_of = (self.pipe, cached)
        device: torch.device = cached
        return device

    def _decode(self, latents: torch.Tensor, placement: Placement) -> np.ndarray:
        return decode_to_film(self.pipe, latents, placement)


_OOM_SENTENCE = (
    "The device ran out of memory even in low-memory mode; use fewer seeds, a smaller model or the CPU."
)
