"""``vald bench``: sampler speed, cache effect, memory, film opening and GUI responsiveness (prints a table + JSON)."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure the sampler (overhead vs diffusers, schedulers, caches, memory, film opening)",
        description="Measure the sampler in one process: medians over repeats, A/B alternated. Prints a table; "
        "--json also writes the numbers (overhead_vs_diffusers is the engine/stock time ratio).",
    )
    p.add_argument("--model", help="model folder (default: the configured or demo model)")
    p.add_argument("--device", help="cpu, cuda, mps or auto")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    p.add_argument(
        "--quick", action="store_true", help="fewer repeats and steps (under 2 minutes on a tiny model)"
    )
    p.add_argument("--repeats", type=int, help="repeats per measurement (default 5, quick 3)")
    p.add_argument(
        "--dpm-steps",
        type=int,
        help="DPM-Solver++ steps to time (default: the fewest that match PNDM-75 on the phantom benchmark, "
        "core.bench.DPM_STEPS)",
    )
    p.add_argument("--compile", action="store_true", help="try torch.compile on the UNet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vald_desktop.commands.bench_app import DPM_STEPS, BenchConfig, run_bench
    from vald_desktop.commands.bench_report import format_table
    from vald_desktop.core.base.atomic import write_text
    from vald_desktop.core.base.errors import SettingsError

    if args.repeats is not None and args.repeats < 1:
        raise SettingsError("Repeats must be at least 1.")
    if args.dpm_steps is not None and args.dpm_steps < 1:
        raise SettingsError("DPM-Solver++ steps must be at least 1.")
    cfg = BenchConfig(
        model_dir=args.model,
        device=args.device,
        quick=args.quick,
        repeats=args.repeats,
        compile=args.compile,
        dpm_steps=args.dpm_steps or DPM_STEPS,
    )
    try:  # the GUI's meter for item 6; the bench still runs where the GUI cannot be imported
        from vald_desktop.gui.stall import measure_stall
    except Exception as exc:  # noqa: BLE001 - no GUI module, no PySide6, no display libraries
        cfg.stall_unavailable = f"{type(exc).__name__}: vald_desktop.gui.stall unavailable"
    else:
        cfg.stall_meter = measure_stall
    doc = run_bench(cfg, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_table(doc))
    if args.json:
        write_text(args.json, json.dumps(doc, indent=2) + "\n")
    return 0
