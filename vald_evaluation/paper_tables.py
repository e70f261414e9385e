"""The paper's tables 1-4 recomputed from a dataset and its generated counterfactuals, each row beside the paper's value.

Inputs:
- ``data``: the COVID-19 Radiography Database layout, ``{Normal,COVID,Lung_Opacity,Viral Pneumonia}/images/*.png``;
- ``generated``: the output of a batch ``vald run`` over it: one counterfactual per abnormal film, found by the
  film's file name (stem) anywhere below the folder; and, for table 4, the zero-shot "cardiomegaly" images induced
  on Normal films in ``generated/zero-shot-cardiomegaly/`` (or ``--induced``);
- ``chexpert``: CheXpert-v1.0-small (``train.csv`` + images) for the real cardiomegaly films of table 4.

Tables: 1 FID of each class's counterfactuals against real Normal films; 2 MS-SSIM and 3 SSIM between each abnormal
film and its counterfactual (mean ± std); 4 zero-shot cardiomegaly FID against CheXpert-small cardiomegaly films.
Each row carries the paper's own number from ``PAPER`` (a "—" where none is entered). The paper's tables could not be
read here: the stored copies of https://arxiv.org/html/2401.01414v1 and https://doi.org/10.1038/s41598-024-81646-x
reachable offline hold only the title and abstract, so ``PAPER`` is empty rather than guessed. Enter each value from
the paper's table with its (table, row) key; the row keys are the dataset's class folder names and, for table 4,
``TABLE4_ROW``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vald_desktop.core.base.atomic import write_text
from vald_desktop.core.base.errors import DataError, ValdError
from vald_evaluation.images_io import generated_images, list_images, source_stem
from vald_evaluation.pair_scores import mean_std, score_pairs

CLASSES = ("COVID", "Lung_Opacity", "Viral Pneumonia")
NORMAL = "Normal"
INDUCED_DIR = "zero-shot-cardiomegaly"
TABLE4_ROW = "zero-shot cardiomegaly"
# (table, row) -> the paper's value, or (mean, std) where the paper gives both. Source: arXiv 2401.01414 /
# Sci. Rep. 2024, doi 10.1038/s41598-024-81646-x. Empty: the tables could not be read here (module docstring).
PAPER: dict[tuple[int, str], float | tuple[float, float]] = {}
NO_VALUE = "—"

FidFn = Callable[[list[Path], list[Path]], float]


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


def compute_tables(
    data: Path,
    generated: Path,
    fid: FidFn | None,
    chexpert: Path | None = None,
    induced: Path | None = None,
    chexpert_limit: int | None = None,
) -> dict[str, Any]:
    """All four tables as plain data; a table that cannot be made carries a one-sentence ``note`` instead."""
    pairs = class_pairs(data, generated)
    scores = {cls: score_pairs(p) for cls, p in pairs.items()}
    tables: dict[str, Any] = {}

    rows1: list[dict[str, Any]] = []
    note1 = None
    if fid is None:
        note1 = "FID needs the Inception weights: pass --fid-weights or set VALD_FID_WEIGHTS."
    else:
        normals = list_images(data / NORMAL / "images") if (data / NORMAL / "images").is_dir() else []
        if len(normals) < 2:
            note1 = f"FID needs real Normal films in {data / NORMAL / 'images'}."
        else:
            for cls, p in pairs.items():
                rows1.append({"row": cls, "n": len(p), "value": fid([c for _, _, c in p], normals)})
    tables["table1"] = {
        "title": "FID of healthy counterfactuals vs real Normal films",
        "rows": rows1,
        "note": note1,
    }

    for number, key, title in ((2, "msssim", "MS-SSIM"), (3, "ssim", "SSIM")):
        rows = []
        for cls, s in scores.items():
            mean, std = mean_std([r[key] for r in s])
            rows.append({"row": cls, "n": len(s), "value": mean, "std": std})
        tables[f"table{number}"] = {
            "title": f"{title} between abnormal films and their counterfactuals",
            "rows": rows,
        }

    rows4: list[dict[str, Any]] = []
    note4 = None
    induced = induced or generated / INDUCED_DIR
    if fid is None:
        note4 = note1
    elif chexpert is None:
        note4 = "Table 4 needs CheXpert-small: pass --chexpert DIR."
    elif not induced.is_dir():
        note4 = f"Table 4 needs zero-shot cardiomegaly images in {induced}."
    else:
        try:
            real = chexpert_cardiomegaly(chexpert, chexpert_limit)
            made = generated_images(induced)
            rows4.append({"row": TABLE4_ROW, "n": len(made), "value": fid(made, real)})
        except ValdError as exc:
            note4 = str(exc)
    tables["table4"] = {
        "title": "Zero-shot cardiomegaly vs CheXpert-small cardiomegaly (FID)",
        "rows": rows4,
        "note": note4,
    }
    return tables


def _fmt(value: float | None, std: float | None = None) -> str:
    if value is None or math.isnan(value):
        return NO_VALUE
    if std is None or math.isnan(std):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return f"{value:.4f} ± {std:.4f}"


def to_markdown(tables: dict[str, Any]) -> str:
    out = []
    for number in (1, 2, 3, 4):
        t = tables[f"table{number}"]
        out.append(f"### Table {number}. {t['title']}\n")
        out.append("| row | n | this run | paper |\n|---|---:|---:|---:|")
        for r in t["rows"]:
            out.append(
                f"| {r['row']} | {r['n']} | {_fmt(r['value'], r.get('std'))} | {_fmt(*paper_value(number, r['row']))} |"
            )
        if t.get("note"):
            out.append(f"\n{t['note']}")
        out.append("")
    if PAPER:
        out.append(
            "'paper': Siddiqui et al., arXiv 2401.01414 (Sci. Rep. 2024); — where the paper gives no value."
        )
    else:
        out.append("'paper': the paper's values are not entered in this version (see paper_tables.PAPER).")
    return "\n".join(out) + "\n"


def paper_value(table: int, row: str) -> tuple[float | None, float | None]:
    """The paper's (value, std) for a row; (None, None) where it gives none."""
    entry = PAPER.get((table, row))
    if entry is None:
        return None, None
    if isinstance(entry, tuple):
        return float(entry[0]), float(entry[1])
    return float(entry), None


def write_tables(tables: dict[str, Any], out: Path) -> list[Path]:
    """``tables.md`` plus ``table{1..4}.csv`` (row, n, value, std, paper, paper_std) in ``out``."""
    written = [write_text(out / "tables.md", to_markdown(tables))]
    for number in (1, 2, 3, 4):
        lines = ["row,n,value,std,paper,paper_std"]
        for r in tables[f"table{number}"]["rows"]:
            paper, paper_std = paper_value(number, r["row"])
            std = r.get("std")
            cells = [
                r["row"],
                str(r["n"]),
                f"{r['value']:.6f}",
                "" if std is None or math.isnan(std) else f"{std:.6f}",
                "" if paper is None else f"{paper}",
                "" if paper_std is None else f"{paper_std}",
            ]
            lines.append(",".join(f'"{c}"' if "," in c or " " in c else c for c in cells))
        written.append(write_text(out / f"table{number}.csv", "\n".join(lines) + "\n"))
    return written
