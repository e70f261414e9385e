"""Fine-tuning settings: one dataclass, loaded from YAML and overridden by command-line flags.

Defaults are the paper's recipe (lr 5e-5, batch 2, 512 px, bf16, 1200 steps on Normal then 500 per disease class,
prior preservation with real Normal films, UNet + text encoder trained jointly).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import SettingsError

# The paper's class labels used as prompts (COVID-19 Radiography Database folder name -> prompt).
PAPER_PROMPTS: dict[str, str] = {
    "Normal": "Normal chest scan",
    "COVID": "COVID 19",
    "Lung_Opacity": "Lung Opacity",
    "Viral Pneumonia": "Viral Pneumonia",
}
PAPER_PHASES: list[dict[str, Any]] = [
    {"class": "Normal", "steps": 1200},
    {"class": "COVID", "steps": 500},
    {"class": "Lung_Opacity", "steps": 500},
    {"class": "Viral Pneumonia", "steps": 500},
]
SCHEDULES = ("paper", "mixed")
PRECISIONS = ("no", "fp16", "bf16")
LR_SCHEDULERS = ("constant_with_warmup", "cosine", "linear")


@dataclass
class TrainConfig:
    base: str = ""  # a diffusers img2img folder (e.g. from `vald models assemble`)
    data: str = ""  # COVID-19 Radiography layout folder, or a CSV with path/image + prompt columns
    out: str = ""
    resolution: int = 512
    # "paper": one phase per entry of `phases` (Normal first, then each disease class) with prior preservation;
    # "mixed": one phase over every example, shuffled (better for training a small model from scratch).
    schedule: str = "paper"
    phases: list[dict[str, Any]] = field(default_factory=lambda: [dict(p) for p in PAPER_PHASES])
    max_steps: int | None = None  # caps the total; with "mixed" it is the total
    class_prompts: dict[str, str] = field(default_factory=lambda: dict(PAPER_PROMPTS))
    prior_class: str = "Normal"
    prior_weight: float = (
        1.0  # loss = MSE(instance) + prior_weight * MSE(prior); 0 turns prior preservation off
    )
    train_batch_size: int = 2  # per process
    prior_batch_size: int | None = None  # per process; defaults to train_batch_size
    gradient_accumulation_steps: int = 1
    learning_rate: float = 5e-5
    text_encoder_lr: float | None = None  # defaults to learning_rate
    lr_scheduler: str = "constant_with_warmup"
    lr_warmup_steps: int = 100
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_weight_decay: float = 1e-2
    adam_epsilon: float = 1e-8
    use_8bit_adam: bool = False  # only when bitsandbytes is importable
    max_grad_norm: float = 1.0
    mixed_precision: str = "bf16"
    gradient_checkpointing: bool = False
    train_text_encoder: bool = True
    caption_dropout: float = (
        0.1  # share of prompts replaced by "" so classifier-free guidance has an unconditional
    )
    use_attention_mask: bool | None = None  # None: keep the base model's policy; saved with the output
    ema: bool = False
    ema_decay: float = 0.9999
    noise_offset: float = 0.0
    snr_gamma: float | None = None
    # Train only on timesteps >= this: at high noise the film no longer shows where a finding is, so the prompt
    # (e.g. its side) is all the model has to go on. 0 = the whole schedule.
    min_timestep: int = 0
    cache_latents: bool = False
    phantom_twins: bool = False  # also train on each phantom's healthy twin, prompted "normal chest x-ray"
    augment: bool = False  # light intensity/scale jitter; never flips (that would swap laterality)
    seed: int = 0
    checkpointing_steps: int = 500
    checkpoints_total_limit: int | None = 2
    resume: str | None = None  # "latest" or a checkpoint folder
    validation_steps: int = 0  # 0 = only at the end
    validation_prompt: str = "normal chest x-ray"
    validation_images: list[str] = field(default_factory=list)
    validation_strength: float = 0.55
    validation_guidance: float = 4.0
    validation_inference_steps: int = 25
    log_every: int = 10
    report_to: str = "tensorboard"  # used when installed; "none" turns trackers off
    build_base: dict[str, Any] | None = None  # build `base` from scratch first if missing (see base_model.py)
    name: str = ""  # model name written to the model card
    card_notes: str = ""  # extra text for the model card (e.g. the exact command)

    def validate(self) -> None:
        if self.schedule not in SCHEDULES:
            raise SettingsError(f"Unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        if self.mixed_precision not in PRECISIONS:
            raise SettingsError(f"Mixed precision must be one of {', '.join(PRECISIONS)}.")
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise SettingsError(f"Unknown LR scheduler {self.lr_scheduler!r}.")
        if self.resolution < 8 or self.resolution % 8:
            raise SettingsError(f"The resolution must be a multiple of 8 (got {self.resolution}).")
        if self.train_batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise SettingsError("Batch size and gradient accumulation steps must be at least 1.")
        if not 0.0 <= self.caption_dropout < 1.0:
            raise SettingsError("Caption dropout must be between 0 and 1.")
        if self.prior_weight < 0:
            raise SettingsError("The prior-preservation weight must be 0 or more.")
        if not 0 <= self.min_timestep < 1000:
            raise SettingsError(f"min_timestep must be between 0 and 999 (got {self.min_timestep}).")
        if self.max_steps is not None and self.max_steps < 1:
            raise SettingsError("max_steps must be at least 1.")
        for name in ("base", "data", "out"):
            if not getattr(self, name):
                raise SettingsError(f"Training needs --{name} (or '{name}:' in the config file).")

    @property
    def prior_bs(self) -> int:
        return self.train_batch_size if self.prior_batch_size is None else self.prior_batch_size

    def phase_plan(self) -> list[tuple[str | None, int]]:
        """[(class or None for all, optimizer steps)], capped by ``max_steps``."""
        if self.schedule == "mixed":
            total = self.max_steps or sum(int(p["steps"]) for p in self.phases)
            return [(None, int(total))]
        plan: list[tuple[str | None, int]] = []
        left = self.max_steps
        for phase in self.phases:
            steps = int(phase["steps"])
            if left is not None:
                steps = min(steps, left)
                left -= steps
            if steps > 0:
                plan.append((str(phase["class"]), steps))
        return plan

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (optional), apply non-None ``overrides``, validate."""
    data: dict[str, Any] = {}
    if path:
        import yaml

        try:
            loaded = yaml.safe_load(Path(path).read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise SettingsError(f"The training config {Path(path).name} cannot be read ({exc}).") from None
        if not isinstance(loaded, dict):
            raise SettingsError(f"The training config {Path(path).name} is not a mapping of settings.")
        data.update(loaded)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"Unknown training setting(s): {', '.join(unknown)}.")
    cfg = TrainConfig(**data)
    cfg.validate()
    return cfg
