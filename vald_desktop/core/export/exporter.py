"""The one writer of a run's outputs, for ``vald run`` and the app's Export menu alike.

``RunExporter`` renders a run result once (overlay, composite, per-lung statistics) and writes:

* the run folder of ``vald run`` (:meth:`RunExporter.write_run`): ``counterfactual.png``, ``map.npy``
  (``map_std.npy`` for several seeds), ``overlay.png``, ``composite.png`` and ``run.json``;
* exports (:meth:`write_pngs`, :meth:`write_pdf`, :meth:`write_dicom`, :meth:`export_folder`): overlay and composite
  PNGs, a one-page PDF report and a DICOM Secondary Capture, each with a JSON record beside it.

Every PNG carries the run record in its text chunk. The lung statistics are computed once, by the overlay's own
threshold rule (``core.attribution.maps.lung_stats``), and the same numbers go into run.json, every export record
and the PDF.

Identity is opt-in for exports: by default they are de-identified (no name/ID in captions or the PDF, the DICOM
goes through the Annex E basic profile, the record loses the film's name, hash and paths), and only after burned-in
text is ruled out (``core.export.burned_in``: declared by the film, or confirmed by the user). The run folder is the working record
beside the film: the full record, and no identity in its caption. Exports overwrite nothing unless
``overwrite``; every file goes through :mod:`core.base.atomic`, so a refused or failed write leaves no partial file.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from vald_desktop.core.attribution import maps as attribution
from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.engine import provenance
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.burned_in import UNKNOWN, burned_in_note, burned_in_status, check_burned_in
from vald_desktop.core.export.deid import UidMap
from vald_desktop.core.export.deid_record import deidentification_summary
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom
from vald_desktop.core.export.records import caption_text, export_record, identity_lines
from vald_desktop.core.export.report_pdf import ReportContent, write_report

RUN_RECORD = "run.json"  # written last: a run folder holding it is complete


@dataclass(frozen=True)
class ExportOptions:
    deidentify: bool = True  # DICOM through the Annex E profile, record redacted (the safe default)
    show_identity: bool = False  # name, ID and dates in the PDF and burned into the composite caption
    pseudonym: str = ""  # research subject code for de-identified exports (Patient Name and ID in the DICOM)
    page_size: str = "A4"
    style: attribution.OverlayStyle = field(default_factory=attribution.OverlayStyle)
    overwrite: bool = False
    keep_study_uids: bool = False  # de-identified DICOM stays in the source study (the Retain UIDs Option)
    # The user looked at a film that does not declare burned-in text and confirmed it shows none.
    accept_burned_in_risk: bool = False

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


class RunExporter:
    """Writes one run result; keeps the UID map so every de-identified file of the session agrees."""

    def __init__(
        self,
        result: RunResult,
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
        self.map_std = None if result.map_std is None else np.asarray(result.map_std, dtype=np.float32)
        self.mask = result.mask
        if self.original.shape != self.map.shape or self.counterfactual.shape != self.map.shape:
            raise ExportError(
                "The run's images do not have the same size, so they cannot be exported together."
            )
        style = self.options.style
        self.lung_stats = run_lung_stats(result, style)
        # The edit region the run was held to, outlined on every overlay (its hash and area are in the record).
        self.region_edge = None if result.region is None else attribution.region_edge(result.region.mask)
        # The record every output carries: the run's own, plus what this writer drew and measured.
        self.record: dict[str, Any] = dict(result.record)
        self.record.setdefault("settings", result.settings.to_dict())
        if result.mask is not None:
            self.record["lung_stats"] = self.lung_stats
            self.record["mask"] = result.mask.verdict()  # source, ok / uncertain, confidence, reasons
        self.record["overlay"] = {
            "mode": style.mode,
            "opacity": style.opacity,
            "threshold": style.threshold,
            "percentile": style.percentile,
        }
        self.identity = identity_lines(
            dataset, show=self.options.show_identity, pseudonym=self.options.pseudonym
        )
        self._composites: dict[str, np.ndarray] = {}
        self.deidentification = (
            deidentification_summary(
                dataset, pseudonym=bool(self.options.pseudonym), keep_uids=self.options.keep_study_uids
            )
            if self.options.deidentify
            else None
        )

    # -- rendered pictures ------------------------------------------------------------------------------------
    @property
    def caption(self) -> str:
        return caption_text(self.record, self.identity)

    @property
    def burned_in_identity(self) -> bool:
        # A pseudonym is not identity; only real identity lines make the caption identifying.
        return self.options.show_identity and bool(self.identity)

    def overlay(self) -> np.ndarray:
        return attribution.render_overlay(self.original, self.map, self.options.style, self.region_edge)

    def composite(self, caption: str | None = None) -> np.ndarray:
        """Original | counterfactual | overlay with ``caption`` (default: the export caption) below."""
        text = self.caption if caption is None else caption
        if text not in self._composites:
            self._composites[text] = attribution.composite(
                self.original, self.counterfactual, self.map, self.options.style, text, self.region_edge
            )
        return self._composites[text]

    def png_record(self) -> dict[str, Any]:
        return export_record(
            self.record, deidentified=self.options.deidentify, deidentification=self.deidentification
        )

    def check_burned_in(self) -> None:
        """Refuse a de-identified export of a film whose pixels show, or may show unconfirmed, identity."""
        if self.options.deidentify:
            check_burned_in(self.dataset, accept_risk=self.options.accept_burned_in_risk)

    def report_content(self) -> ReportContent:
        style = self.options.style
        return ReportContent(
            original=self.original,
            counterfactual=self.counterfactual,
            overlay=self.overlay(),
            colorbar=attribution.colorbar(style, 256, width=16),
            stats=self.lung_stats,
            record=self.png_record(),
            identity=self._report_identity(),
            page_size=self.options.page_size,
            signed=style.mode == "signed",
        )

    # -- the run folder -------------------------------------------------------------------------------------
    def write_run(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write the ``vald run`` outputs into ``out_dir``, replacing earlier ones; ``run.json`` comes last."""
        out_dir = Path(out_dir)
        paths = {
            "counterfactual": out_dir / "counterfactual.png",
            "map": out_dir / "map.npy",
            "overlay": out_dir / "overlay.png",
            "composite": out_dir / "composite.png",
        }
        provenance.write_png(paths["counterfactual"], self.counterfactual, self.record)
        atomic.write_with(paths["map"], lambda fh: np.save(fh, self.map))
        if self.map_std is not None:
            std = self.map_std
            paths["map_std"] = out_dir / "map_std.npy"
            atomic.write_with(paths["map_std"], lambda fh: np.save(fh, std))
        provenance.write_png(paths["overlay"], self.overlay(), self.record)
        provenance.write_png(paths["composite"], self.composite(caption_text(self.record, [])), self.record)
        record = {**self.record, "outputs": {k: v.name for k, v in paths.items()}}
        paths["record"] = provenance.write_json(out_dir / RUN_RECORD, record)
        return paths

    # -- single exports (each with its JSON record beside it) -----------------------------------------------
    def write_pngs(
        self, overlay_path: str | os.PathLike[str], composite_path: str | os.PathLike[str]
    ) -> list[Path]:
        paths = [Path(overlay_path), Path(composite_path)]
        self.check_burned_in()
        self._refuse_existing([*paths, *(_record_path(p) for p in paths)])
        rec = self.png_record()
        provenance_write_png(paths[0], self.overlay(), rec, overwrite=self.options.overwrite)
        provenance_write_png(paths[1], self.composite(), rec, overwrite=self.options.overwrite)
        return [*paths, self._write_record(paths[1], {"overlay_png": paths[0], "composite_png": paths[1]})]

    def write_pdf(self, path: str | os.PathLike[str]) -> list[Path]:
        path = Path(path)
        self.check_burned_in()
        self._refuse_existing([path, _record_path(path)])
        write_report(path, self.report_content(), overwrite=self.options.overwrite)
        return [path, self._write_record(path, {"report_pdf": path})]

    def build_dicom(self) -> Dataset:
        if self.dataset is None:
            raise ExportError("DICOM export needs a DICOM film as the source; this film is not DICOM.")
        self.check_burned_in()
        return build_secondary_capture(
            self.dataset,
            self.composite(),
            burned_in_identity=self.burned_in_identity,
            deidentified=self.options.deidentify,
            uid_map=self.uid_map,
            pseudonym=self.options.pseudonym,
            keep_uids=self.options.keep_study_uids,
            software_version=str(dict(self.record.get("versions", {})).get("vald-desktop", "")),
        )

    def write_dicom(self, path: str | os.PathLike[str]) -> list[Path]:
        path = Path(path)
        self._refuse_existing([path, _record_path(path)])
        ds = self.build_dicom()
        write_dicom(path, ds, overwrite=self.options.overwrite)
        return [path, self._write_record(path, {"dicom": path})]

    # -- derived DICOM objects: "seg", "pmap", "sr" (core.export.dicom_objects) --------------------------------
    def build_object(self, kind: str) -> Dataset:
        """The run's DICOM Segmentation, Parametric Map or SR, de-identified like the Secondary Capture."""
        from vald_desktop.core.export.dicom_objects import ObjectInputs, build_object

        self.check_burned_in()
        inputs = ObjectInputs(
            self.dataset, self.map, self.mask, self.options.style, self.lung_stats, self.record,
            deidentified=self.options.deidentify, uid_map=self.uid_map, pseudonym=self.options.pseudonym,
            keep_uids=self.options.keep_study_uids,
            software_version=str(dict(self.record.get("versions", {})).get("vald-desktop", "")),
        )  # fmt: skip
        return build_object(kind, inputs)

    def write_object(
        self, kind: str, path: str | os.PathLike[str], built: Dataset | None = None
    ) -> list[Path]:
        """Write ``build_object(kind)`` (or the ``built`` one) to ``path`` with its JSON record beside it."""
        path = Path(path)
        self._refuse_existing([path, _record_path(path)])
        ds = built if built is not None else self.build_object(kind)
        write_dicom(path, ds, overwrite=self.options.overwrite)
        return [path, self._write_record(path, {f"dicom_{kind}": path})]

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
        self.check_burned_in()
        self._refuse_existing([*files.values(), record_path])
        # Build everything in memory first, so a refused DICOM or a rendering error writes nothing at all.
        dicom = self.build_dicom() if "dicom" in files else None
        rec = self.png_record()
        ow = self.options.overwrite
        created = [p for p in (*files.values(), record_path) if not p.exists()]
        try:
            provenance_write_png(files["overlay_png"], self.overlay(), rec, overwrite=ow)
            provenance_write_png(files["composite_png"], self.composite(), rec, overwrite=ow)
            write_report(files["report_pdf"], self.report_content(), overwrite=ow)
            if dicom is not None:
                write_dicom(files["dicom"], dicom, overwrite=ow)
            record = export_record(
                self.record,
                deidentified=self.options.deidentify,
                files=files,
                deidentification=self.deidentification,
            )
            atomic.write_text(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n", overwrite=ow)
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

    # -- helpers ------------------------------------------------------------------------------------------------
    def _refuse_existing(self, paths: list[Path]) -> None:
        if self.options.overwrite:
            return
        for p in paths:
            if p.exists():
                raise ExportError(f"{p.name} already exists; choose another name or allow overwriting.")

    def _report_identity(self) -> list[tuple[str, str]]:
        # A de-identified report says so, and says who vouched for the pixels when the film did not.
        if not self.options.deidentify:
            return self.identity
        lines = self.identity or [("Patient", "de-identified")]
        if burned_in_status(self.dataset) == UNKNOWN:
            lines = [*lines, ("Burned-in text", burned_in_note(UNKNOWN))]
        return lines

    def _write_record(self, export_path: Path, files: dict[str, Path]) -> Path:
        record = export_record(
            self.record,
            deidentified=self.options.deidentify,
            files=files,
            deidentification=self.deidentification,
        )
        return atomic.write_text(
            _record_path(export_path),
            json.dumps(record, indent=2, sort_keys=True) + "\n",
            overwrite=self.options.overwrite,
        )


def run_lung_stats(result: RunResult, style: attribution.OverlayStyle) -> dict[str, dict[str, float]]:
    """The per-lung statistics of ``result`` under ``style``: what run.json, every export record, the PDF and the
    app's statistics box say ({} without a lung mask)."""
    if result.mask is None:
        return {}
    return attribution.lung_stats(np.asarray(result.map, dtype=np.float32), result.mask, style)


def provenance_write_png(path: Path, rgb: np.ndarray, record: dict[str, Any], *, overwrite: bool) -> Path:
    """PNG with the record in its ``vald-run`` text chunk, refusing to replace a file unless ``overwrite``."""
    if path.exists() and not overwrite:
        raise ExportError(f"{path.name} already exists; choose another name or allow overwriting.")
    return provenance.write_png(path, rgb, record)


def _record_path(export_path: Path) -> Path:
    # report.pdf -> report.pdf.json: unambiguous when a PDF and a DICOM share a stem.
    return export_path.with_name(export_path.name + ".json")
