"""The PACS node flags of ``vald send`` and ``vald pacs``: a DIMSE node (``--to HOST:PORT``) or DICOMweb.

Without either, the saved node is used: the one ``vald send --save`` and the app's PACS dialog store (the DIMSE
node in ``pacs.json``, else the DICOMweb node in ``dicomweb.json``, both in the user's config folder;
``$VALD_PACS_CONFIG`` moves them). Flags fill the gaps of the saved node. DICOMweb secrets never go on the command
line: the password comes from ``$VALD_DICOMWEB_PASSWORD``, a bearer token from ``$VALD_DICOMWEB_TOKEN``, else from
the saved node when it is for the same URL.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from vald_desktop.core.base.errors import PacsError


def add_node_arguments(parser: argparse.ArgumentParser, *, retrieve: bool = False) -> None:
    g = parser.add_argument_group("PACS node (default: the saved one)")
    g.add_argument("--to", metavar="HOST:PORT", help="a DIMSE PACS address")
    g.add_argument("--aet", default=None, help="the PACS's (called) AE title (default ANY-SCP)")
    g.add_argument(
        "--calling-aet",
        default=None,
        help="this computer's AE title, as registered at the PACS (default VALDMD)",
    )
    g.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the PACS (default 10; 30 web)"
    )
    if retrieve:
        g.add_argument(
            "--retrieve",
            choices=("get", "move"),
            default=None,
            help="how series come back: C-GET (default) or C-MOVE to this computer's storage port",
        )
        g.add_argument(
            "--store-port", type=int, default=None, help="the port C-MOVE sends to (default 11112)"
        )
    g.add_argument("--dicomweb", metavar="URL", help="a DICOMweb service's base URL instead of a DIMSE node")
    g.add_argument(
        "--user", default=None, help="DICOMweb user name (the password comes from $VALD_DICOMWEB_PASSWORD)"
    )
    g.add_argument("--ca-bundle", default=None, metavar="PEM", help="DICOMweb: trust these CA certificates")
    g.add_argument(
        "--no-verify-tls",
        action="store_true",
        help="DICOMweb: do not check the server's certificate (test servers only)",
    )


def node_from_args(args: argparse.Namespace) -> Any:
    """The DIMSE or DICOMweb node the flags name, filled from the saved node; raises PacsError when there is none."""
    if getattr(args, "dicomweb", None):
        return dicomweb_node(args)
    if args.to or _dimse_flags(args):
        return dimse_node(args)
    from vald_desktop.core.export.remote import load_saved

    node = load_saved()
    if node is None:
        raise PacsError(
            "No PACS address: give --to HOST:PORT or --dicomweb URL (and --save to remember it, as the app's "
            "PACS dialog does)."
        )
    return node


def _dimse_flags(args: argparse.Namespace) -> bool:
    keys = ("aet", "calling_aet", "retrieve", "store_port")
    return any(getattr(args, k, None) is not None for k in keys)


def dimse_node(args: argparse.Namespace) -> Any:
    from vald_desktop.core.export.pacs import PacsNode, load_node, parse_address

    saved = load_node()
    if args.to:
        host, port = parse_address(args.to)
    elif saved is not None:
        host, port = saved.host, saved.port
    else:
        raise PacsError("No PACS address: give --to HOST:PORT (and --save to remember it).")
    fields = {**(saved.to_dict() if saved is not None else {}), "host": host, "port": port}
    for key, value in (
        ("ae_title", args.aet),
        ("calling_ae_title", args.calling_aet),
        ("timeout", args.timeout),
        ("retrieve", getattr(args, "retrieve", None)),
        ("store_port", getattr(args, "store_port", None)),
    ):
        if value is not None:
            fields[key] = value
    return PacsNode.from_dict(fields)


def dicomweb_node(args: argparse.Namespace) -> Any:
    from vald_desktop.core.export.dicomweb import PASSWORD_ENV, TOKEN_ENV, DicomWebNode, load_node

    url = str(args.dicomweb).strip()
    saved = load_node()
    # The saved sign-in goes only to the server it was saved for.
    fields: dict[str, Any] = saved.to_dict() if saved is not None and saved.address == url.rstrip("/") else {}
    fields["url"] = url
    if args.user is not None:
        fields.update(username=args.user, token="")
    password, token = os.environ.get(PASSWORD_ENV), os.environ.get(TOKEN_ENV)
    if password:
        fields.update(password=password, token="")
    if token:
        fields.update(token=token, username="", password="")
    if args.ca_bundle is not None:
        fields["ca_bundle"] = args.ca_bundle
    if args.no_verify_tls:
        fields["verify_tls"] = False
    if args.timeout is not None:
        fields["timeout"] = args.timeout
    return DicomWebNode.from_dict(fields)
