"""Adapter from the Export menu to ``core.export`` (PNG with provenance, PDF report, DICOM SC, folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (menu label, kind, file-dialog filter); "folder" asks for a directory instead of a file.
EXPORT_KINDS = (
    ("Overlay and composite PNG…", "png", "PNG images (*.png)"),
    ("PDF report…", "pdf", "PDF (*.pdf)"),
    ("DICOM Secondary Capture, de-identified…", "dicom-deid", "DICOM (*.dcm)"),
    ("DICOM Secondary Capture into the source study…", "dicom", "DICOM (*.dcm)"),
    ("Everything into a folder…", "folder", ""),
)

# The PACS entries that follow them in the same menu (handled in ``pacs_sender``).
PACS_LABELS = {"node": "PACS node…", "send": "Send to PACS…", "send_file": "Send file to PACS…"}


def pacs_kind(deidentify: bool) -> str:
    """The DICOM export kind a PACS send writes first."""
    return "dicom-deid" if deidentify else "dicom"


def suffix_for(kind: str) -> str:
    return {"png": "-overlay.png", "pdf": "-report.pdf", "dicom": ".dcm", "dicom-deid": "-deid.dcm"}.get(
        kind, ""
    )


def is_deidentifying(kind: str) -> bool:
    """Every export kind but the DICOM into the source study is de-identified."""
    return kind != "dicom"


def export_result(
    kind: str,
    path: Path,
    film: Any,
    result: Any,
    overlay: dict[str, Any],
    *,
    accept_burned_in_risk: bool = False,
) -> list[Path]:
    """Write the export ``kind`` to ``path``; the user already confirmed overwriting in the save dialog, and
    (``accept_burned_in_risk``) that a film which does not declare burned-in text shows none."""
    from vald_desktop.core.attribution.maps import OverlayStyle
    from vald_desktop.core.export.exporter import ExportOptions, RunExporter

    options = ExportOptions(
        deidentify=is_deidentifying(kind),
        style=OverlayStyle(**overlay),
        overwrite=kind != "folder",
        accept_burned_in_risk=accept_burned_in_risk,
    )
    exporter = RunExporter(result, dataset=getattr(film, "dataset", None), options=options)
    if kind == "png":
        stem = path.name[: -len("-overlay.png")] if path.name.endswith("-overlay.png") else path.stem
        return exporter.write_pngs(path, path.with_name(f"{stem}-composite.png"))
    if kind == "pdf":
        return exporter.write_pdf(path)
    if kind in ("dicom", "dicom-deid"):
        return exporter.write_dicom(path)
    if kind == "folder":
        return exporter.export_folder(path, stem="vald").all()  # de-identified: no file name from the film
    raise ValueError(f"unknown export kind {kind!r}")
