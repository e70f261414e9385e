"""``vald send FILE.dcm --to HOST:PORT [--aet AET]``: C-STORE exported DICOM files to a PACS (``--echo``: test only)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import PacsError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "send",
        help="send exported DICOM files to a PACS (C-STORE), or test the connection (C-ECHO)",
        description="Send DICOM files to a PACS node. Without --to, the saved node is used (see --save). "
        "A failed send leaves the file where it is, so it can be sent again.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.dcm", help="DICOM files to send")
    add_node_arguments(parser)
    parser.add_argument("--echo", action="store_true", help="test the connection (C-ECHO) before sending")
    parser.add_argument(
        "--save", action="store_true", help="remember this PACS node for later sends and the app"
    )
    parser.set_defaults(func=run)
    return parser


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", metavar="HOST:PORT", help="the PACS address")
    parser.add_argument("--aet", default=None, help="the PACS's (called) AE title (default ANY-SCP)")
    parser.add_argument(
        "--calling-aet",
        default=None,
        help="this computer's AE title, as registered at the PACS (default VALDMD)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the PACS (default 10)"
    )


def node_from_args(args: argparse.Namespace) -> Any:
    """The PACS node from --to/--aet/--calling-aet/--timeout, filling gaps from the saved node."""
    from vald_desktop.core.export.pacs import PacsNode, load_node, parse_address

    saved = load_node()
    if args.to:
        host, port = parse_address(args.to)
    elif saved is not None:
        host, port = saved.host, saved.port
    else:
        raise PacsError("No PACS address: give --to HOST:PORT (and --save to remember it).")
    base = saved.to_dict() if saved is not None else {}
    fields = {**base, "host": host, "port": port}
    for key, value in (
        ("ae_title", args.aet),
        ("calling_ae_title", args.calling_aet),
        ("timeout", args.timeout),
    ):
        if value is not None:
            fields[key] = value
    return PacsNode.from_dict(fields)


def run(args: argparse.Namespace) -> int:
    from vald_desktop.core.export.pacs import echo, save_node, store

    node = node_from_args(args)
    if not args.files and not args.echo:
        raise PacsError("Nothing to do: name DICOM files to send, or use --echo to test the connection.")
    if args.echo:
        echo(node)
        print(f"echo ok: {node.ae_title} at {node.address}")
    if args.save:
        path = save_node(node)
        print(f"saved the PACS node in {path}")
    for path in args.files:
        store(node, path)
        print(f"sent {path.name} to {node.ae_title} at {node.address}")
    return 0
