"""What the trainer sets up before the loop: the optimizer (8-bit AdamW when available) and the trackers."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any

from vald_desktop.core.base.errors import SettingsError
from vald_training.config import TrainConfig

if TYPE_CHECKING:
    from torch.optim import Optimizer


def make_optimizer(cfg: TrainConfig, groups: list[dict[str, Any]]) -> Optimizer:
    import torch

    kwargs: dict[str, Any] = {
        "betas": (cfg.adam_beta1, cfg.adam_beta2),
        "weight_decay": cfg.adam_weight_decay,
        "eps": cfg.adam_epsilon,
    }
    if cfg.use_8bit_adam:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise SettingsError(
                "8-bit Adam needs the bitsandbytes package; install it or turn use_8bit_adam off."
            )
        import bitsandbytes as bnb  # type: ignore[import-not-found]

        optimizer: Optimizer = bnb.optim.AdamW8bit(groups, **kwargs)
        return optimizer
    return torch.optim.AdamW(groups, **kwargs)


TENSORBOARD_MISSING = (
    "TensorBoard is not installed (pip install tensorboard); losses go to OUT/.logs/loss.jsonl only."
)


def trackers(cfg: TrainConfig) -> list[str]:
    """accelerate's trackers for ``report_to``; TensorBoard falls back to the loss.jsonl (always written)."""
    if cfg.report_to in ("", "none"):
        return []
    if cfg.report_to == "tensorboard" and not (
        importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX")
    ):
        if os.environ.get("RANK", "0") == "0":  # one notice per run, not one per process
            print(f"note: {TENSORBOARD_MISSING}", file=sys.stderr)
        return []
    return [cfg.report_to]


def leave_process_group() -> None:
    """Destroy the data-parallel (gloo/NCCL) group if one is up: left standing, it can hang a rank at exit after
    all the work is done (seen once in about twenty two-process runs)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
