"""``vald evaluate region``: does a region-confined run change the film only where the reader painted? (JSON)

Induction in a painted disc and removal of one lesion of two on fresh phantoms, with the model's recommended
settings unless ``--settings`` says otherwise. See ``vald_evaluation.region_benchmark``.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_region_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "region",
        help="region-confined editing: induced change inside a painted disc, removal of one lesion of two",
        description="Runs induction in a painted disc and removal of one painted lesion of two on fresh phantoms "
        "and prints the |M| mass inside the region, the largest |M| outside it and the AUROC of the map against "
        "the unpainted lesion (JSON).",
    )
    r.add_argument("--model", default=None, help="model folder (default $VALD_MODEL, then the demo model)")
    r.add_argument("--n", type=int, default=12, help="films per test (default 12)")
    r.add_argument("--seed", type=int, default=90210, help="phantom seed, unused in training (default 90210)")
    r.add_argument("--size", type=int, help="phantom side in pixels (default: the model's native size)")
    r.add_argument(
        "--settings",
        default="",
        help="run settings over the model's recommended ones, e.g. 'edit_floor=0,confine_to_mask=false'",
    )
    r.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default auto)")
    r.set_defaults(func=_region)


def _region(args: argparse.Namespace) -> int:
    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.models import recommended_settings, resolve_model_dir
    from vald_desktop.core.engine.sampler import Engine
    from vald_evaluation.phantom_benchmark import parse_override
    from vald_evaluation.region_benchmark import engine_region_runner, region_benchmark

    overrides = parse_override(args.settings)  # a typo fails before the model loads
    engine = Engine(args.model, args.device)
    info = engine.load()
    settings = (
        RunSettings().replace(**recommended_settings(resolve_model_dir(args.model))).replace(**overrides)
    )

    def note(msg: str) -> None:
        print(f"\r{msg:<40}", end="", file=sys.stderr, flush=True)

    report = region_benchmark(
        engine_region_runner(engine),
        args.n,
        args.seed,
        settings,
        args.size or info.native_size,
        progress=note,
    )
    print(file=sys.stderr)
    print(json.dumps(report | {"model": str(info.path)}, indent=2))
    return 0
