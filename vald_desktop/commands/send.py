"""``vald send FILE.dcm … [--to HOST:PORT | --dicomweb URL]``: C-STORE or STOW-RS exported DICOM files (``--echo``: test).

Any DICOM file goes: the Secondary Capture, the Segmentation, Parametric Map and SR of ``vald run``, or anything
else with SOP Class and Instance UIDs. A failed send leaves the file where it is, so it can be sent again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vald_desktop.commands.node_flags import add_node_arguments, node_from_args
from vald_desktop.core.base.errors import PacsError

__all__ = ["add_node_arguments", "add_parser", "node_from_args", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "send",
        help="send exported DICOM files to a PACS (C-STORE or STOW-RS), or test the connection",
        description="Send DICOM files to a PACS node: DIMSE (--to HOST:PORT, C-STORE) or DICOMweb (--dicomweb URL, "
        "STOW-RS). Without either, the saved node is used (see --save). A failed send leaves the file where it "
        "is, so it can be sent again.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.dcm", help="DICOM files to send")
    add_node_arguments(parser)
    parser.add_argument(
        "--echo",
        action="store_true",
        help="test the connection (C-ECHO, or a DICOMweb search) before sending",
    )
    parser.add_argument(
        "--save",
        action="store_true",
        help="remember this node for later commands and the app (a DICOMweb password or token too, readable by "
        "you only)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from vald_desktop.core.export import dicomweb, pacs
    from vald_desktop.core.export.remote import describe, echo, send

    node = node_from_args(args)
    if not args.files and not args.echo:
        raise PacsError("Nothing to do: name DICOM files to send, or use --echo to test the connection.")
    if args.echo:
        echo(node)
        print(f"echo ok: {describe(node)}")
    if args.save:
        path = dicomweb.save_node(node) if isinstance(node, dicomweb.DicomWebNode) else pacs.save_node(node)
        print(f"saved the PACS node in {path}")
    for path in args.files:
        send(node, path)
        print(f"sent {path.name} to {describe(node)}")
    return 0
