"""``vald doctor``: the self-test from the command line (the app's ``vald-desktop --selftest`` adds its window).

Opens the bundled sample film, finds its lung mask, checks and loads the default model (``--model`` /
``$VALD_MODEL`` / the demo model), runs a short counterfactual, renders the overlay, writes the run folder and a
PDF into a temporary folder, and prints one line per check with its time, after versions, device and decoders.
Exit 0 only when every check passed; otherwise the last line is ``error: The self-test failed: <checks>.`` and
the exit code is 2, as for every typed error.
"""

from __future__ import annotations

import argparse
import json
import sys

from vald_desktop.core.base.errors import ValdError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="self-test: sample film, mask, model, a short run, overlay, export; versions and device",
        description="Runs every check (one failure does not stop the others) and prints a one-screen report. "
        "Exit 0 only when every check passed, 2 otherwise.",
    )
    p.add_argument("--model", default=None, help="model folder (default $VALD_MODEL, then the demo model)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead")
    p.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    from vald_desktop.selftest.runner import (
        as_json,
        failure_sentence,
        format_line,
        header,
        run_selftest,
        summary,
    )

    live = None
    if not args.json:
        print(header("vald doctor"), flush=True)
        live = lambda r: print(format_line(r), flush=True)  # noqa: E731
    results = run_selftest(args.model, args.device, on_result=live)
    if args.json:
        print(json.dumps(as_json(results)))
    else:
        print(summary(results))
    sys.stdout.flush()
    failed = failure_sentence(results)
    if failed:
        raise ValdError(failed)
    return 0
