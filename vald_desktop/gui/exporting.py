"""Adapter from the Export menu to ``core.export`` (PNG with provenance, PDF report, DICOM SC, SEG / PMAP / SR,
folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import ExportError

# (menu label, kind, file-dialog filter); "folder" asks for a directory instead of a file.
EXPORT_KINDS = (
    ("Overlay and composite PNG…", "png", "PNG images (*.png)"),
    ("PDF report…", "pdf", "PDF (*.pdf)"),
    ("DICOM Secondary Capture, de-identified…", "dicom-deid", "DICOM (*.dcm)"),
    ("DICOM Secondary Capture into the source study…", "dicom", "DICOM (*.dcm)"),
    # Both "objects" kinds ask for a folder and write <stem>-seg.dcm, <stem>-pmap.dcm and <stem>-sr.dcm there.
    ("DICOM Segmentation, Parametric Map and SR, de-identified…", "objects-deid", ""),
    ("DICOM Segmentation, Parametric Map and SR into the source study…", "objects", ""),
    ("Everything into a folder…", "folder", ""),
)

# The PACS entries that follow them in the same menu (handled in ``pacs_sender``).
PACS_LABELS = {
    "node": "PACS node…",
    "send": "Send to PACS…",
    "send_objects": "Send Segmentation, Parametric Map and SR to PACS…",
    "send_file": "Send file to PACS…",
}
# The derived DICOM objects and the file name endings they get in a folder.
OBJECT_SUFFIXES = {"seg": "-seg.dcm", "pmap": "-pmap.dcm", "sr": "-sr.dcm"}
FOLDER_KINDS = ("folder", "objects", "objects-deid")


def pacs_kind(deidentify: bool) -> str:
    """The DICOM export kind a PACS send writes first."""
    return "dicom-deid" if deidentify else "dicom"


def suffix_for(kind: str) -> str:
    return {"png": "-overlay.png", "pdf": "-report.pdf", "dicom": ".dcm", "dicom-deid": "-deid.dcm"}.get(
        kind, ""
    )


def object_kinds(result: Any) -> list[str]:
    """The derived objects a run gives: the Parametric Map always, the SEG and SR when it had a lung mask."""
    return list(OBJECT_SUFFIXES) if getattr(result, "mask", None) is not None else ["pmap"]


def object_paths(folder: Path, stem: str, result: Any) -> list[Path]:
    return [Path(folder) / f"{stem}{OBJECT_SUFFIXES[k]}" for k in object_kinds(result)]


def is_deidentifying(kind: str) -> bool:
    """Every export kind but the DICOM (SC, or SEG / PMAP / SR) into the source study is de-identified."""
    return kind not in ("dicom", "objects")


def export_result(
    kind: str,
    path: Path,
    film: Any,
    result: Any,
    overlay: dict[str, Any],
    *,
    accept_burned_in_risk: bool = False,
    stem: str = "vald",
    overwrite: bool | None = None,
) -> list[Path]:
    """Write the export ``kind`` to ``path``; the user already confirmed overwriting in the save dialog, and
    (``accept_burned_in_risk``) that a film which does not declare burned-in text shows none. Folder kinds write
    ``stem``-named files and refuse to replace any unless ``overwrite``."""
    from vald_desktop.core.attribution.maps import OverlayStyle
    from vald_desktop.core.export.exporter import ExportOptions, RunExporter

    options = ExportOptions(
        deidentify=is_deidentifying(kind),
        style=OverlayStyle(**overlay),
        overwrite=kind not in FOLDER_KINDS if overwrite is None else overwrite,
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
    if kind in ("objects", "objects-deid"):
        targets = {k: path / f"{stem}{OBJECT_SUFFIXES[k]}" for k in object_kinds(result)}
        if not options.overwrite:
            for target in targets.values():
                if target.exists() or target.with_name(target.name + ".json").exists():
                    raise ExportError(f"{target.name} already exists in {path.name}; choose another folder.")
        built = {k: exporter.build_object(k) for k in targets}  # all built before any is written
        return [p for k, target in targets.items() for p in exporter.write_object(k, target, built[k])]
    raise ValueError(f"unknown export kind {kind!r}")
