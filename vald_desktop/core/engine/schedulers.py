"""Scheduler choice: the paper's PNDM plus DPM-Solver++ 2M, DDIM and Euler, all derived from the model's own config."""

from __future__ import annotations

from typing import Any

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import SCHEDULERS


def make_scheduler(name: str, base_config: Any) -> Any:
    """A fresh scheduler of kind ``name`` built from the model's scheduler config (same noise schedule)."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler, PNDMScheduler

    config = dict(base_config)
    if name == "pndm":
        return PNDMScheduler.from_config(config)
    if name == "dpmpp":
        return DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=False
        )
    if name == "ddim":
        # SD's config stores clip_sample=false only as an extra key; DDIM would otherwise default to clipping.
        return DDIMScheduler.from_config(config, clip_sample=bool(config.get("clip_sample", False)))
    if name == "euler":
        return EulerDiscreteScheduler.from_config(config)
    raise SettingsError(f"Unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}.")
