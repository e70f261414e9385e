"""``vald inspect FILE``: what the application sees in a film, without loading any model (no torch import)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "inspect",
        help="summarise a film (DICOM, PNG, JPEG, TIFF) and optionally render it",
        description="Print a film's size, modality, photometric interpretation, bits, transfer syntax, "
        "window and display statistics.",
    )
    parser.add_argument("file", type=Path, help="the film to read")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--png", type=Path, metavar="OUT.png", help="write the display rendering as 8-bit PNG"
    )
    parser.add_argument(
        "--frame", type=int, default=0, metavar="N", help="frame of a multi-frame DICOM (from 0)"
    )
    parser.set_defaults(func=run)
    return parser


def summarise(film: Any) -> dict[str, Any]:
    """The inspect summary as plain JSON-able data (no patient identifiers)."""
    shown = film.display()
    window = film.window
    return {
        "file": film.source,
        "format": film.info.get("format"),
        "rows": film.info.get("rows"),
        "columns": film.info.get("columns"),
        "modality": film.info.get("modality"),
        "photometric_interpretation": film.info.get("photometric_interpretation"),
        "bits_stored": film.info.get("bits_stored"),
        "transfer_syntax": film.info.get("transfer_syntax"),
        "frames": film.info.get("frames"),
        "frame": film.info.get("frame"),
        "monochrome1": film.monochrome1,
        "pixel_spacing_mm": list(film.pixel_spacing) if film.pixel_spacing else None,
        "view": film.view,
        "laterality": film.laterality,
        "window": {"center": window.center, "width": window.width, "function": window.function},
        "values": {"min": float(np.min(film.values)), "max": float(np.max(film.values))},
        "display": {"min": float(shown.min()), "max": float(shown.max()), "mean": float(shown.mean())},
        "sha256": film.sha256,
    }


def _text(summary: dict[str, Any]) -> str:
    w, d = summary["window"], summary["display"]
    spacing = summary["pixel_spacing_mm"]
    lines = [
        f"file:            {summary['file']} ({summary['format']})",
        f"size:            {summary['rows']} rows x {summary['columns']} columns"
        + (
            f", frame {summary['frame']} of {summary['frames']}"
            if summary["frames"] and summary["frames"] > 1
            else ""
        ),
        f"modality:        {summary['modality'] or '-'}",
        f"photometric:     {summary['photometric_interpretation']}",
        f"bits stored:     {summary['bits_stored']}",
        f"transfer syntax: {summary['transfer_syntax'] or '-'}",
        f"pixel spacing:   {f'{spacing[0]:g} x {spacing[1]:g} mm' if spacing else '-'}",
        f"view:            {summary['view'] or '-'}  laterality: {summary['laterality'] or '-'}",
        f"window:          center {w['center']:g}, width {w['width']:g} ({w['function']})",
        f"display:         min {d['min']:.4f}, max {d['max']:.4f}, mean {d['mean']:.4f}",
        f"sha256:          {summary['sha256']}",
    ]
    return "\n".join(lines)


def _write_png(film: Any, out: Path) -> None:
    from PIL import Image

    from vald_desktop.core.base.atomic import write_bytes

    pixels = np.clip(np.rint(film.display() * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    write_bytes(out, buffer.getvalue())


def run(args: argparse.Namespace) -> int:
    from vald_desktop.core.films.load import load_film

    film = load_film(args.file, frame=args.frame)
    summary = summarise(film)
    if args.png is not None:
        _write_png(film, args.png)
        summary["png"] = str(args.png)
    if args.json:
        print(json.dumps(summary, sort_keys=False))
    else:
        print(_text(summary))
        if args.png is not None:
            print(f"wrote:           {args.png}")
    return 0
