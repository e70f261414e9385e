"""Export flags of ``vald run``: ``--report R.pdf --dicom OUT.dcm [--dicom-seg S.dcm --dicom-pmap P.dcm --dicom-sr R.dcm]
[--deidentify] [--send HOST:PORT --aet AET] [--force]``.

``add_export_arguments(parser)`` adds them; ``apply_export_arguments(args, result, film, out_dir)`` writes the
report and the DICOM (each with its JSON record beside it) after a run and sends the DICOM if asked.
With ``--deidentify`` everything the run writes is de-identified: ``check_film_before_run`` refuses a film with
(unconfirmed) burned-in text before anything is written, ``deidentify_run_record`` redacts the run record that
run.json and every PNG carry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import ExportError, PacsError

# The derived DICOM objects: (kind for the run writer, flag, what the help calls it).
OBJECT_FLAGS = (
    ("seg", "--dicom-seg", "Segmentation of the lungs and the thresholded map"),
    ("pmap", "--dicom-pmap", "Parametric Map of the signed attribution map"),
    ("sr", "--dicom-sr", "Comprehensive SR (TID 1500) of the per-lung statistics"),
)

if TYPE_CHECKING:
    from vald_desktop.core.attribution.maps import OverlayStyle
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.export.pacs import PacsNode
    from vald_desktop.core.films.film import Film


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("export (single film)")
    g.add_argument(
        "--report", type=Path, metavar="R.pdf", help="write a one-page PDF report (relative: in --out)"
    )
    g.add_argument(
        "--dicom",
        type=Path,
        metavar="OUT.dcm",
        help="write a DICOM Secondary Capture in the film's study (relative: in --out)",
    )
    for kind, flag, what in OBJECT_FLAGS:
        g.add_argument(
            flag,
            dest=f"dicom_{kind}",
            type=Path,
            metavar="OUT.dcm",
            help=f"write a DICOM {what} referencing the film (relative: in --out)",
        )
    g.add_argument(
        "--deidentify",
        action="store_true",
        help="de-identify everything written (run folder, records, report, DICOM: PS3.15 basic profile), for research",
    )
    g.add_argument("--pseudonym", default="", metavar="CODE", help="subject code for a de-identified DICOM")
    g.add_argument(
        "--keep-study-uids",
        action="store_true",
        help="with --deidentify: keep the source's study, series and instance UIDs (Retain UIDs Option)",
    )
    g.add_argument(
        "--accept-burned-in-risk",
        action="store_true",
        help="with --deidentify: the film does not say whether text is burned into its pixels, and you have "
        "checked that it shows no name, ID or date",
    )
    g.add_argument(
        "--show-identity", action="store_true", help="print name, ID and dates in the report and the caption"
    )
    g.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="report paper (default A4)")
    g.add_argument("--send", metavar="HOST:PORT", help="send the DICOM to this PACS (C-STORE)")
    g.add_argument("--aet", default="ANY-SCP", help="the PACS's (called) AE title (default ANY-SCP)")
    g.add_argument(
        "--calling-aet", default=None, help="this computer's AE title at the PACS (default VALDMD)"
    )
    g.add_argument(
        "--pacs-timeout", type=float, default=10.0, help="seconds to wait for the PACS (default 10)"
    )
    g.add_argument("--force", action="store_true", help="replace existing report/DICOM files")


def _dicom_flags(args: argparse.Namespace) -> list[str]:
    """The DICOM outputs asked for: "dicom" (the Secondary Capture) and "dicom_seg" / "dicom_pmap" / "dicom_sr"."""
    return [f for f in ("dicom", *(f"dicom_{k}" for k, _, _ in OBJECT_FLAGS)) if getattr(args, f, None)]


def check_export_arguments(args: argparse.Namespace) -> None:
    """Refuse inconsistent export flags before any (slow) run starts."""
    wanted = getattr(args, "report", None) or _dicom_flags(args)
    film = getattr(args, "film", None)
    if wanted and film is not None and (Path(film).is_dir() or Path(film).suffix.lower() == ".txt"):
        raise ExportError(
            "--report and the DICOM exports apply to a single film, not to a folder or a list of films."
        )
    if getattr(args, "send", None) and not _dicom_flags(args):
        raise ExportError(
            "--send needs --dicom OUT.dcm (or --dicom-seg, --dicom-pmap, --dicom-sr): "
            "the files are written first, then sent."
        )
    if getattr(args, "deidentify", False) and getattr(args, "show_identity", False):
        raise ExportError("--deidentify and --show-identity cannot be combined.")
    for flag in ("pseudonym", "keep_study_uids", "accept_burned_in_risk"):
        if getattr(args, flag, None) and not getattr(args, "deidentify", False):
            raise ExportError(f"--{flag.replace('_', '-')} only applies together with --deidentify.")
    out_dir = Path(getattr(args, "out", None) or ".")
    for flag in ("report", "dicom", *(f"dicom_{k}" for k, _, _ in OBJECT_FLAGS)):
        path = getattr(args, flag, None)
        if path is not None and _place(path, out_dir).exists() and not getattr(args, "force", False):
            raise ExportError(f"{Path(path).name} already exists; add --force to replace it.")
    if getattr(args, "send", None):
        _node(args)  # a malformed address or AE title fails now, not after the run


def apply_export_arguments(
    args: argparse.Namespace, result: RunResult, film: Film, out_dir: Path
) -> dict[str, Path]:
    """Write ``--report`` / ``--dicom`` for ``result`` (relative paths land in ``out_dir``); send with ``--send``."""
    if not (getattr(args, "report", None) or _dicom_flags(args)):
        return {}
    check_export_arguments(args)
    from vald_desktop.core.export.exporter import ExportOptions, RunExporter

    options = ExportOptions(
        deidentify=bool(args.deidentify),
        show_identity=bool(args.show_identity),
        pseudonym=args.pseudonym or "",
        page_size=args.page_size,
        overwrite=bool(args.force),
        style=overlay_style(args),
        keep_study_uids=bool(getattr(args, "keep_study_uids", False)),
        accept_burned_in_risk=bool(getattr(args, "accept_burned_in_risk", False)),
    )
    exporter = RunExporter(result, film.dataset, options)
    written: dict[str, Path] = {}
    if args.report:
        pdf, record = exporter.write_pdf(_place(args.report, out_dir))
        written.update(report=pdf, report_record=record)
    if args.dicom:
        dcm, record = exporter.write_dicom(_place(args.dicom, out_dir))
        written.update(dicom=dcm, dicom_record=record)
    for kind, _, _ in OBJECT_FLAGS:
        target = getattr(args, f"dicom_{kind}", None)
        if target:
            dcm, record = exporter.write_object(kind, _place(target, out_dir))
            written.update({f"dicom_{kind}": dcm, f"dicom_{kind}_record": record})
    if args.send:
        for key in _dicom_flags(args):
            _send(args, written[key])
    return written


def check_film_before_run(args: argparse.Namespace, film: Film) -> None:
    """Refuse, before the run writes anything, a de-identified run of a film whose pixels may show identity, and
    DICOM objects of a film that is not DICOM."""
    objects = [flag for flag in _dicom_flags(args) if flag != "dicom"]
    if objects and film.dataset is None:
        flag = "--" + objects[0].replace("_", "-")
        raise ExportError(f"{flag} needs a DICOM film as the source; this film is not DICOM.")
    if getattr(args, "deidentify", False):
        from vald_desktop.core.export.burned_in import check_burned_in

        check_burned_in(film.dataset, accept_risk=bool(getattr(args, "accept_burned_in_risk", False)))


def deidentify_run_record(args: argparse.Namespace, result: RunResult, film: Film) -> None:
    """With --deidentify, the run record (run.json, the PNG chunks) loses the film's name, hash and local paths
    and says how it was de-identified."""
    if not getattr(args, "deidentify", False):
        return
    from vald_desktop.core.export.deid_record import deidentification_summary, redact_record

    clean = redact_record(result.record)
    clean["deidentification"] = deidentification_summary(
        film.dataset,
        pseudonym=bool(getattr(args, "pseudonym", "")),
        keep_uids=bool(getattr(args, "keep_study_uids", False)),
    )
    result.record.clear()
    result.record.update(clean)


def _send(args: argparse.Namespace, path: Path) -> None:
    from vald_desktop.core.export.pacs import store

    node = _node(args)
    try:
        store(node, path)
    except PacsError:
        print(
            f"kept {path}; send it again with: vald send {path} --to {node.address} --aet {node.ae_title}",
            file=sys.stderr,
        )
        raise
    print(f"sent {path.name} to {node.ae_title} at {node.address}")


def _node(args: argparse.Namespace) -> PacsNode:
    from vald_desktop.core.export.pacs import DEFAULT_CALLING_AET, PacsNode, parse_address

    host, port = parse_address(args.send)
    return PacsNode(
        host,
        port,
        args.aet,
        args.calling_aet or DEFAULT_CALLING_AET,
        timeout=float(args.pacs_timeout),
    )


def _place(path: Path, out_dir: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else Path(out_dir) / path


def overlay_style(args: argparse.Namespace) -> OverlayStyle:
    """The overlay of ``vald run``'s flags (the default style when the parser has none), so the run's PNGs and its
    report and DICOM draw, and count lung statistics, the same way."""
    from vald_desktop.core.attribution.maps import OverlayStyle

    if not hasattr(args, "overlay"):
        return OverlayStyle()
    return OverlayStyle(mode=args.overlay, opacity=args.opacity, threshold=args.threshold)
