"""``vald evaluate mask-sheets``: the automatic lung mask on every real film, held-out CT films and phantoms."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_mask_sheets_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mask-sheets",
        help="contact sheets of the automatic lung mask with its verdict (real films, held-out CT films, phantoms)",
    )
    p.add_argument("--out", default="docs/masks", help="folder for the PNG sheets and verdicts.json")
    p.add_argument("--n", type=int, default=16, help="held-out CT films and phantoms scored (default 16)")
    p.set_defaults(func=_mask_sheets)


def _mask_sheets(args: argparse.Namespace) -> int:
    from vald_training.segmenter.data import heldout_films

    from vald_evaluation.mask_sheets import write_sheets

    report = write_sheets(Path(args.out), args.n, heldout_films)
    for rec in report["real_films"]:
        flag = "" if not rec["problems"] else "  PROBLEMS: " + "; ".join(rec["problems"])
        print(f"{rec['film']}: {rec['quality']} ({rec['confidence']:.2f}) {rec['seconds']} s{flag}")
    altered = {k: v for k, v in report["altered_real_films"].items() if k != "rows"}
    summary = {k: v for k, v in report.items() if k not in ("real_films", "altered_real_films")}
    print("altered real films: " + json.dumps(altered))
    print(json.dumps(summary))
    return 0
