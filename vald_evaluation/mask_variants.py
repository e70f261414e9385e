"""The automatic mask on altered real films: what a reader's films differ by, and whether any failure is silent.

Each real film is cropped, shrunk, rotated ±8°, re-windowed (gamma 0.6 / 1.6), framed in white, padded wide, given
a dense consolidation in the patient's right lower zone, and inverted (a wrong photometric). Every variant is read
header-less (as a PNG would be). A *silent* failure is an `ok` verdict on a mask that fails the real-film check
(``real_films.real_film_problems``); the inverted film must come out `uncertain`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from vald_desktop.core.masks.lung_mask import LungMask


def variants(display: np.ndarray, mask: LungMask) -> Iterator[tuple[str, np.ndarray]]:
    from PIL import Image
    from scipy import ndimage as ndi

    d = np.asarray(display, np.float32)
    h, w = d.shape
    yield "crop", d[int(0.05 * h) : int(0.8 * h), int(0.05 * w) : int(0.95 * w)]
    yield "512 px", np.asarray(Image.fromarray(d, mode="F").resize((512, round(512 * h / w))), np.float32)
    yield "rotated +8", ndi.rotate(d, 8, reshape=False, order=1, cval=0.0)
    yield "rotated -8", ndi.rotate(d, -8, reshape=False, order=1, cval=0.0)
    yield "gamma 0.6", d**0.6
    yield "gamma 1.6", d**1.6
    yield "white frame", np.pad(d, ((h // 10, h // 10), (w // 8, w // 8)), constant_values=1.0)
    yield "wide", np.pad(d, ((0, 0), (w // 3, w // 3)), constant_values=0.0)
    ys, xs = np.nonzero(mask.right)
    if ys.size:
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = np.percentile(ys, 70), xs.mean()
        blob = np.exp(-(((yy - cy) / (0.12 * h)) ** 2 + ((xx - cx) / (0.09 * w)) ** 2)) * mask.right
        yield "consolidation", np.clip(d + 0.45 * blob, 0, 1)
    yield "inverted", 1.0 - d


def run_variants(films: list[tuple[str, np.ndarray, LungMask]]) -> dict[str, Any]:
    """Verdicts of every variant of every (name, display, mask) film, and the counts a reader cares about."""
    from vald_desktop.core.films.film import film_from_array
    from vald_desktop.core.masks.resolve import resolve_mask
    from vald_evaluation.real_films import real_film_problems

    rows: list[dict[str, Any]] = []
    for name, display, mask in films:
        for kind, img in variants(display, mask):
            img = np.ascontiguousarray(img, np.float32)
            got = resolve_mask(film_from_array(img, f"{kind}.png"))
            problems = real_film_problems(img, got)
            rows.append(
                {
                    "film": name,
                    "variant": kind,
                    "quality": got.quality,
                    "reasons": list(got.reasons),
                    "problems": problems,
                    "silent": got.quality == "ok" and bool(problems),
                }
            )
    usable = [r for r in rows if r["variant"] != "inverted"]
    return {
        "variants": len(rows),
        "silent_failures": sum(r["silent"] for r in rows),
        "ok_share_of_usable_films": round(sum(r["quality"] == "ok" for r in usable) / max(1, len(usable)), 3),
        "inverted_flagged": all(r["quality"] == "uncertain" for r in rows if r["variant"] == "inverted"),
        "rows": rows,
    }
