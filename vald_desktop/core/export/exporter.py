"""Export a run: overlay and composite PNGs (with the run record in a text chunk), a one-page PDF report, a DICOM
Secondary Capture, and a JSON record beside every export.

Identity is opt-in: by default everything is de-identified (no name/ID in captions or the PDF, the DICOM goes
through the Annex E basic profile, the record loses the film hash). Nothing is overwritten unless ``overwrite``
is true, and every file goes through :mod:`.atomic`, so a refused or failed write leaves no partial file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from vald_desktop.core.attribution import maps as attribution
from vald_desktop.core.base.atomic import write_text
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.base.settings import guidance_label
from vald_desktop.core.engine import provenance
from vald_desktop.core.export.deid import UidMap
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom
from vald_desktop.core.export.report_pdf import DISCLAIMER, ReportContent, write_report

# Record keys that can link a de-identified export back to the patient's file or the user's disk.
_REDACTED_KEYS = ("film", "film_sha256", "film_source", "film_path", "source", "source_path")


@dataclass(frozen=True)
class ExportOptions:
    deidentify: bool = True  # DICOM through the Annex E profile, record redacted (the safe default)
    show_identity: bool = False  # name, ID and dates in the PDF and burned into the composite caption
    pseudonym: str = ""  # research subject code for de-identified exports (Patient Name and ID in the DICOM)
    page_size: str = "A4"
    style: attribution.OverlayStyle = field(default_factory=attribution.OverlayStyle)
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.deidentify and self.show_identity:
            raise ExportError(
                "A de-identified export cannot show the patient's identity; choose one of the two."
            )


@dataclass
class ExportedFiles:
    overlay_png: Path | None = None
    composite_png: Path | None = None
    report_pdf: Path | None = None
    dicom: Path | None = None
    records: list[Path] = field(default_factory=list)

    def all(self) -> list[Path]:
        files = [self.overlay_png, self.composite_png, self.report_pdf, self.dicom, *self.records]
        return [p for p in files if p is not None]


def identity_lines(dataset: Dataset | None, *, show: bool, pseudonym: str = "") -> list[tuple[str, str]]:
    """What the caption and the PDF show about the patient: nothing (or a pseudonym) unless identity is chosen."""
    if not show or dataset is None:
        return [("Subject", pseudonym)] if pseudonym else []
    lines = []
    for label, keyword in (
        ("Patient", "PatientName"),
        ("Patient ID", "PatientID"),
        ("Birth date", "PatientBirthDate"),
        ("Study date", "StudyDate"),
        ("Accession", "AccessionNumber"),
    ):
        value = str(dataset.get(keyword, "") or "").strip()
        if value:
            lines.append((label, value.replace("^", " ").strip()))
    return lines


def caption_text(record: dict[str, Any], identity: list[tuple[str, str]]) -> str:
    """The caption burned into the composite. It carries identity only when ``identity`` does."""
    s = dict(record.get("settings", {}))
    model = dict(record.get("model", {})).get("name", "unknown model")
    guidance = guidance_label(s.get("guidance", ""), s.get("guidance_until", 1.0))
    run = (
        f"VALD-MD | prompt: {s.get('prompt', '')!s} | strength {s.get('strength', '')} | "
        f"guidance {guidance} | steps {s.get('steps', '')} | seed {s.get('seed', '')} | model {model}"
    )
    lines = ["   ".join(f"{k}: {v}" for k, v in identity)] if identity else []
    # Pillow's built-in font has no em dash: the caption uses plain ASCII.
    return "\n".join([*lines, run, DISCLAIMER.replace(" \u2014 ", " - ")])


def export_record(
    record: dict[str, Any], *, deidentified: bool, files: dict[str, Path] | None = None
) -> dict[str, Any]:
    """The record written beside an export: the run record, redacted when de-identifying, plus what was written."""
    out = json.loads(json.dumps(record, default=str))
    if deidentified:
        for key in _REDACTED_KEYS:
            out.pop(key, None)
        if isinstance(out.get("model"), dict):
            out["model"].pop("path", None)  # a local folder path says who ran it where
    out["export"] = {
        "deidentified": deidentified,
        "files": {kind: {"name": p.name, "sha256": _sha256(p)} for kind, p in (files or {}).items()},
    }
    return out


class RunExporter:
    """Exports one run result; keeps the UID map so every de-identified file of the session agrees."""

    def __init__(
        self,
        result: Any,
        dataset: Dataset | None = None,
        options: ExportOptions | None = None,
        uid_map: UidMap | None = None,
    ) -> None:
        self.options = options or ExportOptions()
        self.dataset = dataset
        self.uid_map = uid_map if uid_map is not None else UidMap()
        self.original = np.asarray(result.original, dtype=np.float32)
        self.counterfactual = np.asarray(result.counterfactual, dtype=np.float32)
        self.map = np.asarray(result.map, dtype=np.float32)
        self.mask = getattr(result, "mask", None)
        self.record: dict[str, Any] = dict(getattr(result, "record", {}) or {})
        if "settings" not in self.record and getattr(result, "settings", None) is not None:
            self.record["settings"] = result.settings.to_dict()
        if self.original.shape != self.map.shape or self.counterfactual.shape != self.map.shape:
            raise ExportError(
                "The run's images do not have the same size, so they cannot be exported together."
            )
        self.identity = identity_lines(
            dataset, show=self.options.show_identity, pseudonym=self.options.pseudonym
        )
        self._composite: np.ndarray | None = None

    # -- rendered pictures ------------------------------------------------------------------------------------
    @property
    def caption(self) -> str:
        return caption_text(self.record, self.identity)

    @property
    def burned_in_identity(self) -> bool:
        # A pseudonym is not identity; only real identity lines make the caption identifying.
        return self.options.show_identity and bool(self.identity)

    def overlay(self) -> np.ndarray:
        return attribution.render_overlay(self.original, self.map, self.options.style)

    def composite(self) -> np.ndarray:
        if self._composite is None:
            self._composite = attribution.composite(
                self.original, self.counterfactual, self.map, self.options.style, self.caption
            )
        return self._composite

    def stats(self) -> dict[str, dict[str, float]]:
        if self.mask is None:
            return {}
        return attribution.lung_stats(self.map, self.mask, _stat_threshold(self.map, self.options.style))

    def png_record(self) -> dict[str, Any]:
        return export_record(self.record, deidentified=self.options.deidentify)

    # -- single exports (each with its JSON record beside it) -----------------------------------------------
    def write_pngs(
        self, overlay_path: str | os.PathLike[str], composite_path: str | os.PathLike[str]
    ) -> list[Path]:
        paths = [Path(overlay_path), Path(composite_path)]
        self._refuse_existing([*paths, *(_record_path(p) for p in paths)])
        rec = self.png_record()
        provenance_write_png(paths[0], self.overlay(), rec, overwrite=self.options.overwrite)
        provenance_write_png(paths[1], self.composite(), rec, overwrite=self.options.overwrite)
        return [*paths, self._write_record(paths[1], {"overlay_png": paths[0], "composite_png": paths[1]})]

    def write_pdf(self, path: str | os.PathLike[str]) -> list[Path]:
        path = Path(path)
        self._refuse_existing([path, _record_path(path)])
        self._render_pdf(path)
        return [path, self._write_record(path, {"report_pdf": path})]

    def build_dicom(self) -> Dataset:
        if self.dataset is None:
            raise ExportError("DICOM export needs a DICOM film as the source; this film is not DICOM.")
        return build_secondary_capture(
            self.dataset,
            self.composite(),
            burned_in_identity=self.burned_in_identity,
            deidentified=self.options.deidentify,
            uid_map=self.uid_map,
            pseudonym=self.options.pseudonym,
            software_version=str(dict(self.record.get("versions", {})).get("vald-desktop", "")),
        )

    def write_dicom(self, path: str | os.PathLike[str]) -> list[Path]:
        path = Path(path)
        self._refuse_existing([path, _record_path(path)])
        ds = self.build_dicom()
        write_dicom(path, ds, overwrite=self.options.overwrite)
        return [path, self._write_record(path, {"dicom": path})]

    # -- everything into one folder -------------------------------------------------------------------------
    def export_folder(self, folder: str | os.PathLike[str], stem: str = "vald") -> ExportedFiles:
        """Write ``<stem>-overlay.png``, ``<stem>-composite.png``, ``<stem>-report.pdf``, ``<stem>.dcm`` (DICOM
        films only) and ``<stem>.json`` into ``folder``. Existing files are refused before anything is written."""
        folder = Path(folder)
        files = {
            "overlay_png": folder / f"{stem}-overlay.png",
            "composite_png": folder / f"{stem}-composite.png",
            "report_pdf": folder / f"{stem}-report.pdf",
        }
        if self.dataset is not None:
            files["dicom"] = folder / f"{stem}.dcm"
        record_path = folder / f"{stem}.json"
        self._refuse_existing([*files.values(), record_path])
        # Build everything in memory first, so a refused DICOM or a rendering error writes nothing at all.
        dicom = self.build_dicom() if "dicom" in files else None
        rec = self.png_record()
        ow = self.options.overwrite
        created = [p for p in (*files.values(), record_path) if not p.exists()]
        try:
            provenance_write_png(files["overlay_png"], self.overlay(), rec, overwrite=ow)
            provenance_write_png(files["composite_png"], self.composite(), rec, overwrite=ow)
            self._render_pdf(files["report_pdf"])
            if dicom is not None:
                write_dicom(files["dicom"], dicom, overwrite=ow)
            record = export_record(self.record, deidentified=self.options.deidentify, files=files)
            write_text(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n", overwrite=ow)
        except BaseException:
            # Each file is atomic; this makes the set atomic too: no half-exported bundle is left behind.
            for p in created:
                with contextlib.suppress(OSError):
                    p.unlink()
            raise
        return ExportedFiles(
            overlay_png=files["overlay_png"],
            composite_png=files["composite_png"],
            report_pdf=files["report_pdf"],
            dicom=files.get("dicom"),
            records=[record_path],
        )

    def _render_pdf(self, path: Path) -> None:
        style = self.options.style
        content = ReportContent(
            original=self.original,
            counterfactual=self.counterfactual,
            overlay=self.overlay(),
            colorbar=attribution.colorbar(style, 256, width=16),
            stats=self.stats(),
            record=self.png_record(),
            identity=self.identity,
            page_size=self.options.page_size,
            signed=style.mode == "signed",
        )
        write_report(path, content, overwrite=self.options.overwrite)

    # -- helpers ------------------------------------------------------------------------------------------------
    def _refuse_existing(self, paths: list[Path]) -> None:
        if self.options.overwrite:
            return
        for p in paths:
            if p.exists():
                raise ExportError(f"{p.name} already exists; choose another name or allow overwriting.")

    def _write_record(self, export_path: Path, files: dict[str, Path]) -> Path:
        record = export_record(self.record, deidentified=self.options.deidentify, files=files)
        return write_text(
            _record_path(export_path),
            json.dumps(record, indent=2, sort_keys=True) + "\n",
            overwrite=self.options.overwrite,
        )


def provenance_write_png(path: Path, rgb: np.ndarray, record: dict[str, Any], *, overwrite: bool) -> Path:
    """PNG with the record in its ``vald-run`` text chunk, refusing to replace a file unless ``overwrite``."""
    if path.exists() and not overwrite:
        raise ExportError(f"{path.name} already exists; choose another name or allow overwriting.")
    return provenance.write_png(path, rgb, record)


def _record_path(export_path: Path) -> Path:
    # report.pdf -> report.pdf.json: unambiguous when a PDF and a DICOM share a stem.
    return export_path.with_name(export_path.name + ".json")


def _stat_threshold(m: np.ndarray, style: attribution.OverlayStyle) -> float:
    # The same cut the overlay draws: style.threshold of the |M| percentile scale.
    mag = np.abs(m[m != 0])
    if mag.size == 0:
        return 0.0
    return float(style.threshold * np.percentile(mag, style.percentile))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
