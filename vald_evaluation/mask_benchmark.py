"""Benchmark of the automatic lung masks on phantoms whose lung shapes the atlas never saw.

Prints JSON: per finding, Dice of the atlas fit and of the shipped learned segmenter against the true lung mask, the share of the lesion kept
inside the mask, and the same for a thresholding baseline (Otsu). Run::

    .venv/bin/python -m vald_evaluation.mask_benchmark --n 20
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from vald_desktop.core.masks.atlas import HOLDOUT
from vald_phantoms.phantom import Phantom, make_phantom

BENCH_FINDINGS = ("normal", "lung_opacity", "effusion", "viral_pneumonia", "covid19")


def heldout_phantoms(finding: str, n: int, size: int = 256, start: int = 5000) -> list[Phantom]:
    """``n`` phantoms (seeds from ``start`` + 1 on) drawn with lung shapes held out of the atlas."""
    out: list[Phantom] = []
    seed = start
    while len(out) < n:
        seed += 1
        ph = make_phantom(seed, finding, size=size)
        if ph.shape_id % HOLDOUT == 0:
            out.append(ph)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(int(a.sum() + b.sum()), 1))


def otsu_lungs(image: np.ndarray) -> np.ndarray:
    """Thresholding baseline with a fair chance: dark pixels, border-connected air removed, two largest pieces."""
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu

    dark = image < threshold_otsu(image)
    lab, _ = ndi.label(dark)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    dark &= ~np.isin(lab, edge[edge > 0])
    lab, n = ndi.label(dark)
    if n > 2:
        sizes = ndi.sum(dark, lab, index=np.arange(1, n + 1))
        dark = np.isin(lab, np.argsort(sizes)[-2:] + 1)
    mask: np.ndarray = dark
    return mask


def evaluate(
    n: int, size: int = 256, findings: tuple[str, ...] = BENCH_FINDINGS
) -> dict[str, dict[str, float]]:
    from vald_desktop.core.masks.atlas_mask import auto_segment
    from vald_desktop.core.masks.auto import learned_mask
    from vald_desktop.core.masks.learned import shipped_available

    out: dict[str, dict[str, float]] = {}
    for finding in findings:
        ours, base, kept, kept_base, secs, learned, learned_secs = [], [], [], [], [], [], []
        for ph in heldout_phantoms(finding, n, size):
            t = time.perf_counter()
            mask = auto_segment(ph.image).mask
            secs.append(time.perf_counter() - t)
            if shipped_available():
                t = time.perf_counter()
                learned.append(dice(learned_mask(ph.image, fallback=False).mask, ph.lung_mask))
                learned_secs.append(time.perf_counter() - t)
            otsu = otsu_lungs(ph.image)
            ours.append(dice(mask, ph.lung_mask))
            base.append(dice(otsu, ph.lung_mask))
            if ph.lesion_mask.any():
                kept.append(float((mask & ph.lesion_mask).sum() / ph.lesion_mask.sum()))
                kept_base.append(float((otsu & ph.lesion_mask).sum() / ph.lesion_mask.sum()))
        out[finding] = {
            "dice_mean": round(float(np.mean(ours)), 3),
            "dice_min": round(float(np.min(ours)), 3),
            "otsu_dice_mean": round(float(np.mean(base)), 3),
            "lesion_kept": round(float(np.mean(kept)), 3) if kept else None,  # type: ignore[dict-item]
            "otsu_lesion_kept": round(float(np.mean(kept_base)), 3) if kept_base else None,  # type: ignore[dict-item]
            "seconds_per_film": round(float(np.mean(secs)), 2),
        }
        if learned:
            out[finding]["learned_dice_mean"] = round(float(np.mean(learned)), 3)
            out[finding]["learned_dice_min"] = round(float(np.min(learned)), 3)
            out[finding]["learned_seconds_per_film"] = round(float(np.mean(learned_secs)), 3)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="phantoms per finding (default 20)")
    parser.add_argument("--size", type=int, default=256, help="phantom size (default 256)")
    args = parser.parse_args(argv)
    print(json.dumps({"n": args.n, "size": args.size, "findings": evaluate(args.n, args.size)}, indent=1))


if __name__ == "__main__":
    main()
