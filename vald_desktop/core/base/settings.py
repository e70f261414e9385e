"""The one run-settings dataclass.

It travels unchanged from the GUI controls (or CLI flags) through the worker into the sampler and into the
provenance record. Do not copy its fields elsewhere: pass the object, or ``replace()`` it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from vald_desktop.core.base.errors import SettingsError

SCHEDULERS = ("pndm", "dpmpp", "ddim", "euler")
MASK_MODES = ("none", "auto", "file", "edited")
REFERENCES = ("reconstruction", "input")
NOISES = ("random", "inverted")
HEALTHY_PROMPT = "normal chest x-ray"


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides what a counterfactual run produces."""

    prompt: str = HEALTHY_PROMPT
    negative_prompt: str = ""
    strength: float = 0.55  # paper: "most effective" 0.55 / guidance 4; figures use 0.85 / 7.5
    guidance: float = 4.0
    # Share of the denoising steps that use classifier-free guidance; the later, low-noise steps follow the prompt
    # alone (limited-interval guidance: less drift in healthy lung, fewer UNet evaluations). 1 = every step (paper).
    guidance_until: float = 1.0
    steps: int = 50
    scheduler: str = "pndm"
    seed: int = 0
    seeds: int = 1  # >1: multi-seed consensus (mean map + per-pixel std)
    mask_mode: str = "auto"
    # Mask-confined editing: latents outside the dilated lung mask stay original while denoising, and outside the mask
    # itself the counterfactual is the film (the decoder-output counterfactual: the reconstruction).
    confine_to_mask: bool = False
    # "reconstruction": counterfactual = film + (decoded − VAE reconstruction), the film's detail kept and only the
    # model's edit mapped; "input": counterfactual = decoder output, the paper's raw I_a − I_n. Map = film − counterfactual.
    reference: str = "reconstruction"
    # "random": SDEdit's random start noise (the paper). "inverted": the film's latents DDIM-inverted to the start
    # timestep (negative prompt, no guidance): deterministic, so the film's anatomy survives and the seed is unused.
    noise: str = "random"
    # Soft threshold on the model's edit, in film intensity (0..1): changes smaller than this are dropped and larger
    # ones shrink by it, so the faint change the healthy prompt makes across all lung tissue stays out. 0 = off.
    edit_floor: float = 0.0
    smooth_sigma: float = 0.0  # Gaussian smoothing of the map, in film pixels at model size
    preview_every: int = 5  # emit a decoded preview every k steps (0 = never)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SettingsError` with one sentence for the first invalid value."""
        if not isinstance(self.prompt, str):
            raise SettingsError("The prompt must be text.")
        if not isinstance(self.negative_prompt, str):
            raise SettingsError("The negative prompt must be text.")
        _number("strength", self.strength)
        if not 0.0 < float(self.strength) <= 1.0:
            raise SettingsError(f"Strength must be greater than 0 and at most 1 (got {self.strength}).")
        _number("guidance", self.guidance)
        if float(self.guidance) < 0.0:
            raise SettingsError(f"Guidance must be 0 or more (got {self.guidance}).")
        _number("guided share", self.guidance_until)
        if not 0.0 < float(self.guidance_until) <= 1.0:
            raise SettingsError(
                f"The guided share of the steps must be greater than 0 and at most 1 (got {self.guidance_until})."
            )
        _integer("steps", self.steps)
        if self.steps < 1:
            raise SettingsError(f"Steps must be at least 1 (got {self.steps}).")
        if self.steps > 1000:
            raise SettingsError(f"Steps must be at most 1000 (got {self.steps}).")
        if int(self.steps * float(self.strength)) < 1:
            raise SettingsError(
                f"{self.steps} steps at strength {self.strength} leave no denoising step; raise steps or strength."
            )
        if self.scheduler not in SCHEDULERS:
            raise SettingsError(
                f"Unknown scheduler {self.scheduler!r}; choose one of {', '.join(SCHEDULERS)}."
            )
        _integer("seed", self.seed)
        if not 0 <= self.seed < 2**63:
            raise SettingsError(f"The seed must be between 0 and 2^63 - 1 (got {self.seed}).")
        _integer("seeds", self.seeds)
        if not 1 <= self.seeds <= 16:
            raise SettingsError(f"The number of seeds must be between 1 and 16 (got {self.seeds}).")
        if self.mask_mode not in MASK_MODES:
            raise SettingsError(
                f"Unknown mask mode {self.mask_mode!r}; choose one of {', '.join(MASK_MODES)}."
            )
        if self.reference not in REFERENCES:
            raise SettingsError(
                f"Unknown map reference {self.reference!r}; choose one of {', '.join(REFERENCES)}."
            )
        if self.noise not in NOISES:
            raise SettingsError(f"Unknown start noise {self.noise!r}; choose one of {', '.join(NOISES)}.")
        if self.noise == "inverted" and self.seeds > 1:
            raise SettingsError(
                "Inverted start noise gives every seed the same counterfactual; use one seed or random noise."
            )
        _number("edit floor", self.edit_floor)
        if not 0.0 <= float(self.edit_floor) <= 0.5:
            raise SettingsError(f"The edit floor must be between 0 and 0.5 (got {self.edit_floor}).")
        _number("smooth_sigma", self.smooth_sigma)
        if float(self.smooth_sigma) < 0:
            raise SettingsError(f"Map smoothing must be 0 or more (got {self.smooth_sigma}).")
        _integer("preview_every", self.preview_every)
        if self.preview_every < 0:
            raise SettingsError(f"Preview interval must be 0 or more (got {self.preview_every}).")

    @property
    def unet_steps(self) -> int:
        """Denoising steps img2img actually runs: ``int(steps * strength)`` (PNDM adds one UNet call)."""
        return min(int(self.steps * self.strength), self.steps)

    @property
    def guidance_label(self) -> str:
        """Guidance for captions: ``4`` or ``4 on 50% of steps``."""
        return guidance_label(self.guidance, self.guidance_until)

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """Build from a record, ignoring unknown keys (records from newer versions still open)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def guidance_label(guidance: Any, until: Any = 1.0) -> str:
    """``4`` or ``4 on 50% of steps`` (also for records, whose values may be missing or odd)."""
    try:
        share = float(until)
    except (TypeError, ValueError):
        share = 1.0
    text = f"{guidance:g}" if isinstance(guidance, (int, float)) else str(guidance)
    return text if share >= 1.0 else f"{text} on {share:.0%} of steps"


def _number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise SettingsError(f"The {name} must be a finite number (got {value!r}).")


def _integer(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"The {name} must be a whole number (got {value!r}).")
