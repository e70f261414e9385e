"""SSIM and MS-SSIM over paired folders (reference film vs candidate, matched by file name)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import DataError
from vald_evaluation.images_io import generated_images, list_images, load_gray, pair_by_name, resize_to
from vald_evaluation.metrics_ssim import MIN_MS_SIDE, ms_ssim, ssim


def score_pairs(
    pairs: Sequence[tuple[str, Path, Path]], progress: Callable[[int, int], None] | None = None
) -> list[dict[str, Any]]:
    """One row per pair: name, ssim, msssim. Candidates are resized to the reference's grid (bilinear) first.

    MS-SSIM is NaN for films smaller than 176 pixels a side (its coarsest scale would hold no whole window).
    """
    rows = []
    for k, (name, ref_path, cand_path) in enumerate(pairs):
        ref = load_gray(ref_path)
        cand = resize_to(load_gray(cand_path), ref.shape)
        small = min(ref.shape) < MIN_MS_SIDE
        rows.append(
            {
                "name": name,
                "ssim": ssim(ref, cand, data_range=1.0),
                "msssim": math.nan if small else ms_ssim(ref, cand, data_range=1.0),
            }
        )
        if progress:
            progress(k + 1, len(pairs))
    return rows


def score_folders(refs: str | Path, cands: str | Path) -> list[dict[str, Any]]:
    """Score every film in ``refs`` that has a counterfactual in ``cands`` (same name, or a ``vald run`` folder)."""
    folder = Path(cands)
    if not folder.is_dir():
        raise DataError(f"The image folder {folder} does not exist.")
    return score_pairs(pair_by_name(list_images(refs), generated_images(folder)))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std())


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``--json`` document: means, standard deviations and every pair."""
    s_mean, s_std = mean_std([r["ssim"] for r in rows])
    m_mean, m_std = mean_std([r["msssim"] for r in rows])

    def num(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    return {
        "ssim_mean": num(s_mean),
        "ssim_std": num(s_std),
        "msssim_mean": num(m_mean),
        "msssim_std": num(m_std),
        "n": len(rows),
        "pairs": [{"name": r["name"], "ssim": num(r["ssim"]), "msssim": num(r["msssim"])} for r in rows],
    }


def rows_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "ssim", "msssim"])
    for r in rows:
        writer.writerow(
            [r["name"], f"{r['ssim']:.6f}", "" if math.isnan(r["msssim"]) else f"{r['msssim']:.6f}"]
        )
    return buf.getvalue()
