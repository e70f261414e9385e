"""``vald evaluate domain``: how well a model's domain score separates its own kind of film from others (JSON).

Held-out training-domain phantoms against shifted phantoms (pixel size, contrast, noise, anatomy scale, all at
once) and against films given by path; plus the domain step's share of a default run. See
``vald_evaluation.domain_benchmark``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_domain_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "domain",
        help="domain score: AUROC against shifted phantoms and real films, in-domain share, cost",
        description="Scores held-out phantoms, shifted phantoms and the films given with the model's domain "
        "calibration and prints AUROCs, the shares each side of the model's threshold and the per-run cost.",
    )
    d.add_argument("films", nargs="*", help="films to score as well (e.g. real radiographs)")
    d.add_argument("--model", default=None, help="model folder (default $VALD_MODEL, then the demo model)")
    d.add_argument("--n", type=int, default=200, help="held-out phantoms (default 200)")
    d.add_argument("--n-shift", type=int, default=60, help="phantoms per shifted set (default 60)")
    d.add_argument("--seed", type=int, default=None, help="seed of the held-out phantoms (default 2024)")
    d.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default auto)")
    d.set_defaults(func=_domain)


def _domain(args: argparse.Namespace) -> int:
    from vald_evaluation.domain_benchmark import HELD_OUT_SEED, domain_benchmark

    report = domain_benchmark(
        args.model,
        n=args.n,
        seed=HELD_OUT_SEED if args.seed is None else args.seed,
        films=[Path(f) for f in args.films],
        device=args.device,
        n_shift=args.n_shift,
    )
    print(json.dumps(report, indent=2))
    return 0
