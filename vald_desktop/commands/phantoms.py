"""``vald phantoms``: write synthetic chest phantoms with healthy twins, lesion masks and lung masks."""

from __future__ import annotations

import argparse
import json
import time


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from vald_phantoms.phantom import FINDINGS, LAYOUTS

    p = subparsers.add_parser(
        "phantoms",
        help="write synthetic chest phantoms (image, healthy twin, lesion mask, lung mask, labels.csv)",
        description="Write N synthetic PA chest phantoms, findings in turn, with labels.csv "
        "(id,finding,laterality,prompt,image,healthy,lesion_mask,lung_mask; paths relative to DIR).",
    )
    p.add_argument("--n", type=int, help="number of phantoms (a set; required unless --name)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the set (default 0); same seed, same phantoms"
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--layout", choices=LAYOUTS, default="flat", help="folder layout (default flat)")
    p.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    p.add_argument(
        "--findings",
        default=",".join(FINDINGS),
        help=f"comma-separated findings to cycle through (default all: {','.join(FINDINGS)})",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="processes to draw with (default: one per CPU core, at most one per 16 phantoms; 1 = in-process); "
        "the files are the same for any number",
    )
    p.add_argument(
        "--both-sides",
        action="store_true",
        help="write each sided finding (lung opacity, effusion) on both sides of the same anatomy",
    )
    one = p.add_argument_group("a single named phantom (e.g. the bundled sample film) instead of a set")
    one.add_argument(
        "--name", help="write one phantom as NAME.png, NAME-healthy.png, NAME-lesion.png, NAME-lungmask.png"
    )
    one.add_argument("--finding", help="its finding (with --name)")
    one.add_argument(
        "--laterality", choices=("left", "right"), help="patient side for sided findings (with --name)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vald_desktop.core.base.errors import DataError
    from vald_desktop.core.masks.shapes import load_shapes
    from vald_phantoms.phantom import worker_count, write_phantoms

    if args.name:
        return _run_single(args)
    if args.n is None:
        raise DataError("Say how many phantoms to write with --n (or one named phantom with --name).")
    findings = tuple(f.strip() for f in args.findings.split(",") if f.strip())
    shapes = load_shapes()  # load (and cache) the real lung shapes before timing
    start = time.perf_counter()
    labels = write_phantoms(
        args.out,
        args.n,
        args.seed,
        layout=args.layout,
        size=args.size,
        findings=findings,
        workers=args.workers,
        both_sides=args.both_sides,
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "labels": str(labels),
                "n": args.n,
                "seed": args.seed,
                "layout": args.layout,
                "size": args.size,
                "lung_shapes": shapes.source,
                "workers": worker_count(args.n, args.workers),
                "seconds": round(seconds, 3),
                "phantoms_per_s": round(args.n / seconds, 1) if seconds > 0 else None,
            }
        )
    )
    return 0


def _run_single(args: argparse.Namespace) -> int:
    from vald_phantoms.phantom import write_sample

    paths = write_sample(args.out, args.name, args.seed, args.finding or "normal", args.laterality, args.size)
    print(json.dumps({key: str(path) for key, path in paths.items()}))
    return 0
