"""What validation and export see of a training run, taken from the trainer and handed down.

A leaf: validation and export import this, never the trainer, so the trainer can import them without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the leaf stays free of torch, diffusers and accelerate at import
    from accelerate import Accelerator
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.training_utils import EMAModel
    from transformers import PreTrainedModel

    from vald_training.components import Parts
    from vald_training.config import TrainConfig
    from vald_training.data import Dataset


@dataclass(frozen=True)
class TrainState:
    """The run as it was at ``step``; the modules are the live ones, so their weights go on changing."""

    cfg: TrainConfig
    out: Path  # the output folder (``cfg.out``)
    acc: Accelerator  # process layout, barriers, trackers
    parts: Parts  # the frozen VAE, tokenizer and schedulers (and the loaded modules, for the model card)
    unet: UNet2DConditionModel  # the trained UNet, unwrapped from accelerate's wrappers
    text_encoder: PreTrainedModel  # the text encoder, unwrapped (trained or frozen, per the config)
    ema: EMAModel | None  # the UNet's moving average, when the config turns EMA on
    ds: Dataset
    plan: list[tuple[str | None, int]]  # [(class or None for all, optimizer steps)]
    use_mask: bool  # prompts were encoded with attention masks
    latent_shape: tuple[int, int, int]  # (channels, height, width) of one latent
    step: int  # optimizer steps done when the snapshot was taken
