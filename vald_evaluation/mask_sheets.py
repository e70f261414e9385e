"""Contact sheets: every real film with its automatic lung mask and verdict, plus held-out CT films and phantoms.

``vald evaluate mask-sheets --out docs/masks`` writes ``real-films.png``, ``heldout-ct-films.png``,
``phantoms.png`` and ``verdicts.json`` (per film: source, quality, confidence, reasons, lung areas, seconds).
The patient's left lung is tinted blue and marked "L", the right green and marked "R". The corners of real films
that do not declare themselves free of burned-in text are blacked out in the sheet (names and dates sit there).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base.atomic import write_text, write_with
from vald_desktop.core.masks.lung_mask import LungMask

TILE = 360
HeldOut = Callable[[int], Iterable[tuple[np.ndarray, np.ndarray]]]


def overlay(display: np.ndarray, mask: LungMask) -> np.ndarray:
    """uint8 RGB: the film with both lungs tinted and outlined (amber outline when the verdict is uncertain)."""
    from scipy import ndimage as ndi

    base = np.repeat(np.clip(display, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    width = max(1, round(max(display.shape) / 250))
    for lung, colour in ((mask.left, (0.2, 0.45, 1.0)), (mask.right, (0.1, 0.85, 0.3))):
        tint = np.asarray(colour, np.float32)
        base[lung] = 0.72 * base[lung] + 0.28 * tint
        edge = lung & ~ndi.binary_erosion(lung, iterations=width)
        base[edge] = (1.0, 0.7, 0.0) if mask.is_uncertain else tint
    return (base * 255 + 0.5).astype(np.uint8)


def tile(display: np.ndarray, mask: LungMask, title: str, lines: list[str]) -> np.ndarray:
    """One captioned tile: the overlay fitted into TILE x TILE, "L"/"R" at each lung, the verdict below."""
    from PIL import Image, ImageDraw, ImageFont

    rgb = Image.fromarray(overlay(display, mask))
    h, w = display.shape
    scale = TILE / max(h, w)
    rgb = rgb.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (TILE, TILE + 64), (24, 24, 24))
    canvas.paste(rgb, ((TILE - rgb.width) // 2, (TILE - rgb.height) // 2))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    for lung, letter in ((mask.left, "L"), (mask.right, "R")):
        if lung.any():
            ys, xs = np.nonzero(lung)
            x = (TILE - rgb.width) // 2 + xs.mean() * scale
            y = (TILE - rgb.height) // 2 + ys.mean() * scale
            draw.text((x - 5, y - 8), letter, fill=(255, 255, 0), font=ImageFont.load_default(size=20))
    colour = (255, 180, 0) if mask.is_uncertain else (120, 230, 120)
    draw.text((6, TILE + 2), title, fill=(235, 235, 235), font=font)
    verdict = f"{mask.quality} ({mask.confidence:.2f}), {mask.source}"
    draw.text((6, TILE + 20), verdict, fill=colour, font=font)
    for i, line in enumerate(lines[:1]):
        draw.text(
            (6, TILE + 38 + 16 * i), line[:60], fill=(200, 200, 200), font=ImageFont.load_default(size=11)
        )
    return np.asarray(canvas)


def covered_corners(display: np.ndarray) -> np.ndarray:
    """The film with its corners blacked out: where burned-in names and dates sit on films that may carry them."""
    out = np.array(display, np.float32, copy=True)
    h, w = out.shape
    bh, bw = max(1, round(0.08 * h)), max(1, round(0.45 * w))
    for rows in (slice(0, bh), slice(h - bh, h)):
        for cols in (slice(0, bw), slice(w - bw, w)):
            out[rows, cols] = 0.0
    return out


def sheet(tiles: list[np.ndarray], columns: int = 4) -> np.ndarray:
    rows = [tiles[i : i + columns] for i in range(0, len(tiles), columns)]
    blank = np.zeros_like(tiles[0])
    return np.concatenate([np.concatenate(r + [blank] * (columns - len(r)), axis=1) for r in rows], axis=0)


def _save(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    write_with(path, lambda fh: Image.fromarray(rgb).save(fh, format="PNG"))


def _real(out: Path) -> tuple[list[dict[str, Any]], list[tuple[str, np.ndarray, LungMask]]]:
    from vald_desktop.core.export.burned_in import burned_in_status
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks.resolve import resolve_mask
    from vald_evaluation.real_films import real_chest_films, real_film_problems

    tiles, records, kept = [], [], []
    for path in real_chest_films():
        film = load_film(path)
        t = time.perf_counter()
        mask = resolve_mask(film)
        secs = time.perf_counter() - t
        display = film.display()
        problems = real_film_problems(display, mask)
        if path.name != "RG1_UNCR.dcm" and not path.name.startswith("RG1_J2K"):  # the same pixels as RG1_UNCI
            kept.append((path.name, display, mask))
        if burned_in_status(film.dataset) != "NO":
            display = covered_corners(display)
        records.append({"film": path.name, **mask.verdict(), "seconds": round(secs, 2), "problems": problems})
        tiles.append(
            tile(display, mask, path.name, list(mask.reasons) or ["no reasons: plausible and sided"])
        )
    if tiles:
        _save(out / "real-films.png", sheet(tiles))
    return records, kept


def _heldout(out: Path, n: int, ct_films: HeldOut | None) -> dict[str, Any]:
    """Held-out CT films (the segmenter's own test set) with Dice against their exact labels, and phantoms."""
    from vald_desktop.core.masks.auto import dice, judged
    from vald_desktop.core.masks.learned import load_learned, lung_field
    from vald_phantoms.phantom import FINDINGS, make_phantom

    seg = load_learned()
    result: dict[str, Any] = {}
    if ct_films is not None:
        tiles, scores = [], []
        for i, (img, truth) in enumerate(ct_films(n)):
            mask = judged(img, lung_field(seg.probability(img)), "learned")[0]
            scores.append(dice(mask.mask, truth))
            tiles.append(tile(img, mask, f"held-out CT film {i}", [f"Dice {scores[-1]:.3f}"]))
        _save(out / "heldout-ct-films.png", sheet(tiles[:8]))
        result["heldout_ct_dice_mean"] = round(float(np.mean(scores)), 4)
        result["heldout_ct_dice_min"] = round(float(np.min(scores)), 4)
    tiles, scores = [], []
    for i in range(n):
        ph = make_phantom(777_000 + i, FINDINGS[i % len(FINDINGS)], size=256)
        mask = judged(ph.image, lung_field(seg.probability(ph.image)), "learned")[0]
        scores.append(dice(mask.mask, ph.lung_mask))
        tiles.append(tile(ph.image, mask, f"phantom {ph.finding}", [f"Dice {scores[-1]:.3f}"]))
    _save(out / "phantoms.png", sheet(tiles[:8]))
    result["phantom_dice_mean"] = round(float(np.mean(scores)), 4)
    result["phantom_dice_min"] = round(float(np.min(scores)), 4)
    return result


def write_sheets(out: Path, n: int = 16, ct_films: HeldOut | None = None) -> dict[str, Any]:
    """Write the sheets and verdicts.json; ``ct_films(n)`` gives held-out CT films (the training package has them)."""
    from vald_evaluation.mask_variants import run_variants

    out.mkdir(parents=True, exist_ok=True)
    records, kept = _real(out)
    report = {"real_films": records, "altered_real_films": run_variants(kept), **_heldout(out, n, ct_films)}
    write_text(out / "verdicts.json", json.dumps(report, indent=2) + "\n")
    return report
