"""``vald phantoms``: write synthetic chest phantoms with healthy twins, lesion masks and lung masks."""

from __future__ import annotations

import argparse
import json
import time


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ..core.phantoms import FINDINGS, LAYOUTS

    p = subparsers.add_parser(
        "phantoms",
        help="write synthetic chest phantoms (image, healthy twin, lesion mask, lung mask, labels.csv)",
        description="Write N synthetic PA chest phantoms, findings in turn, with labels.csv "
        "(id,finding,laterality,prompt,image,healthy,lesion_mask,lung_mask; paths relative to DIR).",
    )
    p.add_argument("--n", type=int, required=True, help="number of phantoms")
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.lungshapes import load_shapes
    from ..core.phantoms import write_phantoms

    findings = tuple(f.strip() for f in args.findings.split(",") if f.strip())
    shapes = load_shapes()  # load (and cache) the real lung shapes before timing
    start = time.perf_counter()
    labels = write_phantoms(
        args.out, args.n, args.seed, layout=args.layout, size=args.size, findings=findings
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
                "seconds": round(seconds, 3),
                "phantoms_per_s": round(args.n / seconds, 1) if seconds > 0 else None,
            }
        )
    )
    return 0
