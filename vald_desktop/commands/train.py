"""``vald train``: fine-tune a VALD-MD model (UNet + BERT text encoder) with prior preservation.

Everything lives in ``vald_training``; this module only maps flags onto its config. Runs under
``accelerate launch -m vald_desktop.cli train ...`` unchanged for several GPUs or nodes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a model (DreamBooth-style, prior preservation)",
        description="Fine-tune UNet + text encoder on a COVID-19 Radiography layout folder or a CSV (path,prompt). "
        "Flags override the config file.",
    )
    p.add_argument("--config", type=Path, help="YAML config (see training/configs/)")
    p.add_argument(
        "--data", help="dataset folder ({Normal,COVID,...}/images) or CSV with path/image,prompt columns"
    )
    p.add_argument("--base", help="base model folder (diffusers img2img, e.g. from 'vald models assemble')")
    p.add_argument("--out", help="output model folder (checkpoints go to OUT/.checkpoints)")
    p.add_argument("--max-steps", type=int, help="cap the total number of optimizer steps")
    p.add_argument(
        "--schedule", choices=["paper", "mixed"], help="per-class phases (paper) or one shuffled phase"
    )
    p.add_argument("--resolution", type=int)
    p.add_argument(
        "--batch-size", dest="train_batch_size", type=int, help="instance images per process and step"
    )
    p.add_argument("--prior-batch-size", type=int)
    p.add_argument("--prior-weight", type=float)
    p.add_argument("--lr", dest="learning_rate", type=float)
    p.add_argument("--grad-accum", dest="gradient_accumulation_steps", type=int)
    p.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"])
    p.add_argument("--gradient-checkpointing", action="store_true", default=None)
    p.add_argument("--ema", action="store_true", default=None)
    p.add_argument("--use-8bit-adam", action="store_true", default=None)
    p.add_argument("--cache-latents", action="store_true", default=None)
    p.add_argument("--checkpointing-steps", type=int)
    p.add_argument("--validation-steps", type=int)
    p.add_argument("--resume", help="'latest' or a checkpoint folder")
    p.add_argument("--seed", type=int)
    p.add_argument("--report-to", help="tensorboard (when installed) or none")
    p.add_argument(
        "--base-only",
        action="store_true",
        help="only build the config's base model (build_base), then stop: run this once in a single process "
        "before 'accelerate launch' trains on several",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    p.add_argument("--json", action="store_true", help="print the run metrics as JSON")
    p.set_defaults(func=run)


_OVERRIDES = (
    "data",
    "base",
    "out",
    "max_steps",
    "schedule",
    "resolution",
    "train_batch_size",
    "prior_batch_size",
    "prior_weight",
    "learning_rate",
    "gradient_accumulation_steps",
    "mixed_precision",
    "gradient_checkpointing",
    "ema",
    "use_8bit_adam",
    "cache_latents",
    "checkpointing_steps",
    "validation_steps",
    "resume",
    "seed",
    "report_to",
)


def run(args: argparse.Namespace) -> int:
    import os

    from vald_training.base_model import build_trained_base
    from vald_training.config import load_config
    from vald_training.trainer import train

    from vald_desktop.core.base.errors import SettingsError

    cfg = load_config(args.config, {k: getattr(args, k, None) for k in _OVERRIDES})
    base_only = bool(getattr(args, "base_only", False))
    built = (Path(cfg.base) / "model_index.json").is_file()
    if base_only and not cfg.build_base:
        raise SettingsError("--base-only needs a config with a build_base section.")
    if cfg.build_base and not built:
        if os.environ.get("WORLD_SIZE", "1") != "1":
            raise SettingsError(
                "Build the base model in a single process first ('vald train --config ... --base-only')."
            )
        build_trained_base(
            cfg.build_base,
            data=cfg.data,
            class_prompts=cfg.class_prompts,
            resolution=cfg.resolution,
            out_dir=cfg.base,
            seed=cfg.seed,
            progress=not args.no_progress,
        )
    if base_only:
        print(f"base model {'already at' if built else 'written to'} {cfg.base}")
        return 0
    result = train(cfg, progress=not args.no_progress)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model written to {cfg.out} ({result['steps']} steps, final loss {result['final_loss']})")
    return 0
