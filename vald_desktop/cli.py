"""The ``vald`` command: the same core as the GUI, headless.

Each subcommand lives in ``vald_desktop/commands/<name>.py`` with ``add_parser(subparsers)`` that registers it and
sets ``func``. Command modules are light; heavy libraries (torch, diffusers) are imported inside the handlers so
``vald inspect`` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from vald_desktop.commands import (
    bench,
    doctor,
    evaluate,
    inspect,
    mask,
    masks,
    models,
    pacs,
    phantoms,
    run,
    send,
    train,
)
from vald_desktop.core.base.errors import Cancelled, ValdError

COMMANDS = (inspect, mask, masks, run, phantoms, models, train, evaluate, bench, send, pacs, doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vald", description="VALD-MD Desktop, headless.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except Cancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("cancelled: interrupted.", file=sys.stderr)
        return 130
    except ValdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
