"""Findings for the phantoms: each returns an added-density field with compact support.

The field is zero outside the lesion (values below a floor are cut to exactly zero), so the abnormal image
equals its healthy twin bit for bit outside ``field > 0`` — the lesion mask. Channel 0 of ``lung_cov`` is the
image-left lung (patient right), channel 1 the image-right lung (patient left).

Every field is a product with the lung coverage, so it is computed only in a window of the lungs and returned
with it as ``(field, (rows, cols))``: outside the window the field is exactly 0.
"""

from __future__ import annotations

import numpy as np

from vald_desktop.core.base.gridsample import Window
from vald_phantoms.anatomy import Anatomy
from vald_phantoms.fields import hypot, noise_field, periodic_noise_1d, smoothstep, span

FLOOR = 0.004  # below this the added density is invisible; cutting it keeps the lesion mask honest
SIDE_CHANNEL = {"right": 0, "left": 1}  # patient side -> image-left / image-right lung channel

Field = tuple[np.ndarray, Window]


def _grid(size: int, win: Window) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a window as a column and a row vector (they broadcast to its shape)."""
    y = np.arange(size, dtype=np.float32)[win[0], None] + 0.5
    x = np.arange(size, dtype=np.float32)[None, win[1]] + 0.5
    return y, x


def _inside(anat: Anatomy, ch: int) -> tuple[np.ndarray, Window]:
    """One lung's mask (coverage > 0.5) in its window, and the window."""
    win = anat.lung_win[ch]
    return anat.lung_cov[ch][win] > 0.5, win


def _side_box(mask: np.ndarray, win: Window) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of one lung (its mask within its window)."""
    ys, xs = np.nonzero(mask)
    c0, r0 = win[1].start, win[0].start
    return float(xs.min() + c0), float(ys.min() + r0), float(xs.max() + 1 + c0), float(ys.max() + 1 + r0)


def _pick_inside(rng: np.random.Generator, mask: np.ndarray, win: Window) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    k = int(rng.integers(len(ys)))
    return float(xs[k] + win[1].start) + 0.5, float(ys[k] + win[0].start) + 0.5


def _centre_inside(rng: np.random.Generator, mask: np.ndarray, margin: float) -> tuple[float, float]:
    """A random point of ``mask`` whose surrounding circle of radius ``margin`` lies in the mask too.

    Rejection sampling with a ring test: far cheaper than a distance transform of the whole image.
    """
    ys, xs = np.nonzero(mask)
    ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    h, w = mask.shape
    for _ in range(200):
        k = int(rng.integers(len(ys)))
        cy, cx = ys[k] + 0.5, xs[k] + 0.5
        ry = np.clip((cy + margin * np.sin(ring)).astype(int), 0, h - 1)
        rx = np.clip((cx + margin * np.cos(ring)).astype(int), 0, w - 1)
        if mask[ry, rx].all():
            return float(cx), float(cy)
    return float(cx), float(cy)  # a very thin lung: accept the last draw


def lung_opacity(rng: np.random.Generator, anat: Anatomy, side: str) -> Field:
    """A large consolidation: an irregular blob covering a third to two thirds of one lung."""
    ch = SIDE_CHANNEL[side]
    size = anat.density.shape[0]
    lung, win = _inside(anat, ch)
    y, x = _grid(size, win)
    bx0, by0, bx1, by1 = _side_box(lung, win)
    lw, lh = bx1 - bx0, by1 - by0
    cov = anat.lung_cov[ch][win]
    region = lung & (y > by0 + 0.3 * lh) & (y < by0 + 0.8 * lh)
    cx, cy = _pick_inside(rng, region if region.any() else lung, win)
    radius = np.sqrt(lw * lh) * rng.uniform(0.40, 0.58)
    theta = np.arctan2(y - cy, x - cx) / (2 * np.pi)
    r_edge = radius * (1 + 0.22 * periodic_noise_1d(rng, 9, theta))
    r = hypot((x - cx) / 1.1, y - cy)
    prof = smoothstep((r_edge - r) / (0.35 * radius))
    texture = 0.78 + 0.22 * noise_field(rng, 18, size, size, win)
    amp = rng.uniform(0.70, 0.95)
    return amp * prof * np.clip(texture, 0.3, 1.2) * anat.lung_dark[win] * cov, win


def nodule(rng: np.random.Generator, anat: Anatomy, side: str) -> Field:
    """A round, slightly lobulated mass well inside one lung."""
    ch = SIDE_CHANNEL[side]
    size = anat.density.shape[0]
    lung, win = _inside(anat, ch)
    full = np.zeros((size, size), bool)
    full[win] = lung
    radius = size * rng.uniform(0.028, 0.055)
    cx, cy = _centre_inside(rng, full, radius * 1.3)
    y, x = _grid(size, win)
    theta = np.arctan2(y - cy, x - cx) / (2 * np.pi)
    r_edge = radius * (1 + 0.12 * periodic_noise_1d(rng, 7, theta))
    dist = hypot(x - cx, y - cy)
    prof = smoothstep((r_edge - dist) / 2.5)
    dome = np.sqrt(np.clip(1 - (dist / (r_edge + 1.0)) ** 2, 0, 1))
    amp = rng.uniform(0.75, 1.0)
    return amp * prof * (0.6 + 0.4 * dome) * (anat.lung_dark[win] + 0.04) * anat.lung_cov[ch][win], win


def cardiomegaly(rng: np.random.Generator, anat: Anatomy) -> Field:
    """An enlarged heart: its borders bulge into both lungs, mostly into the patient's left (image right)."""
    size = anat.density.shape[0]
    _, y0, w, h = anat.box
    yy = np.arange(size, dtype=np.float32) + 0.5
    t = np.clip((yy - anat.heart_top) / (y0 + h - anat.heart_top), 0, 1)
    bulge = (
        np.maximum(np.sin(np.pi * t**0.7), 0) ** 0.8
    )  # widest in the lower third, back to the diaphragm at the base
    grow_left = w * rng.uniform(0.03, 0.06) * bulge  # image left = patient right
    grow_right = w * rng.uniform(0.08, 0.14) * bulge
    # Where nothing grows (bulge 0) the new silhouette is the old one: the field is 0 on those rows.
    grows = span(bulge > 0)
    lrows, cols = anat.lung_box
    rows = slice(
        max(grows.start, lrows.start), max(min(grows.stop, lrows.stop), max(grows.start, lrows.start))
    )
    win = (rows, cols)
    y, x = _grid(size, win)
    gap_left, gap_right = anat.gap_left[rows, None], anat.gap_right[rows, None]
    left_new = (anat.gap_left - grow_left)[rows, None]
    right_new = (anat.gap_right + grow_right)[rows, None]
    # New heart silhouette minus the old one (both with the same soft edge): exactly zero where nothing grew.
    into_left = smoothstep((x - left_new) / 1.5 + 0.5) - smoothstep((x - gap_left) / 1.5 + 0.5)
    into_right = smoothstep((right_new - x) / 1.5 + 0.5) - smoothstep((gap_right - x) / 1.5 + 0.5)
    into_left = np.clip(into_left, 0, 1) * anat.lung_cov[0][win]
    into_right = np.clip(into_right, 0, 1) * anat.lung_cov[1][win]
    return (into_left + into_right) * (anat.lung_dark[win] + 0.06), win


def _patchy(rng: np.random.Generator, size: int, cells: int, cut: float, win: Window) -> np.ndarray:
    """Patches: a smooth field above a cut, rescaled to 0..1 — compact by construction."""
    field = noise_field(rng, cells, size, size, win) + 0.5 * noise_field(rng, cells * 2, size, size, win)
    return np.clip((field - cut) / 1.0, 0, 1)


def viral_pneumonia(rng: np.random.Generator, anat: Anatomy) -> Field:
    """Bilateral diffuse perihilar interstitial opacities."""
    size = anat.density.shape[0]
    win = anat.lung_box
    y, x = _grid(size, win)
    _, _, w, _ = anat.box
    near = np.zeros((y.shape[0], x.shape[1]), np.float32)
    for hx, hy in anat.hila:
        near = np.maximum(near, np.exp(-hypot(x - hx, y - hy) / (0.35 * w)))
    patches = _patchy(rng, size, 14, rng.uniform(-0.4, 0.1), win)
    lung = anat.lung_cov[0][win] + anat.lung_cov[1][win]
    amp = rng.uniform(0.45, 0.7)
    return amp * patches * near * anat.lung_dark[win] * lung, win


def covid19(rng: np.random.Generator, anat: Anatomy) -> Field:
    """Bilateral ground-glass opacities, peripheral and in the lower zones."""
    size = anat.density.shape[0]
    win = anat.lung_box
    y, x = _grid(size, win)
    x0, y0, w, h = anat.box
    xm = x0 + w / 2
    lateral = smoothstep((np.abs(x - xm) / (w / 2) - 0.35) / 0.45)
    lower = smoothstep(((y - y0) / h - 0.35) / 0.35)
    patches = _patchy(rng, size, 10, rng.uniform(-0.5, 0.0), win)
    lung = anat.lung_cov[0][win] + anat.lung_cov[1][win]
    amp = rng.uniform(0.45, 0.65)
    return amp * patches * lateral * lower * anat.lung_dark[win] * lung, win


def effusion(rng: np.random.Generator, anat: Anatomy, side: str) -> Field:
    """Pleural fluid at one lung base: a meniscus, higher laterally, that blunts the costophrenic angle."""
    ch = SIDE_CHANNEL[side]
    size = anat.density.shape[0]
    lung, lwin = _inside(anat, ch)
    _, x = _grid(size, lwin)
    bx0, by0, bx1, by1 = _side_box(lung, lwin)
    lh = by1 - by0
    # Lateral-ness within this lung: 0 medial .. 1 at the chest wall.
    s = (x - bx0) / (bx1 - bx0) if ch == 1 else (bx1 - x) / (bx1 - bx0)
    level = by1 - lh * rng.uniform(0.18, 0.32)
    meniscus = level - lh * rng.uniform(0.08, 0.16) * np.clip(s, 0, 1) ** 2
    # The fluid lies below the meniscus: only the rows from its highest point down (1 px margin).
    rows = lwin[0]
    rows = slice(min(max(rows.start, int(np.floor(float(meniscus.min()) - 0.5)) - 1), rows.stop), rows.stop)
    win = (rows, lwin[1])
    y, _ = _grid(size, win)
    prof = smoothstep((y - meniscus) / (0.05 * lh))
    amp = rng.uniform(0.85, 1.0)
    return amp * prof * (anat.lung_dark[win] + 0.05) * anat.lung_cov[ch][win], win


def finalize(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut the invisible tail to exactly zero; return (field, lesion mask)."""
    field = np.where(field > FLOOR, field, 0.0).astype(np.float32)
    return field, field > 0
