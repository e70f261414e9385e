"""Procedural PA chest anatomy for the phantoms: body, lungs, mediastinum, heart, spine, ribs, clavicles.

Everything is rendered as a "density" image (bright = dense, as on a displayed film) from a handful of random
parameters, vectorised over the whole grid so one 256x256 anatomy costs a few milliseconds. The lesions
(``phantom_lesions``) only ever *add* density inside a compact region, which is what makes every abnormal
phantom's healthy twin exact outside the lesion mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gridsample import sample_grid, upsample
from .lungshapes import LungShapes


@dataclass
class Anatomy:
    """One rendered anatomy plus the geometry the lesions need (all arrays HxW float32 unless noted)."""

    density: np.ndarray  # healthy density image, roughly [0, 1]
    lung_cov: np.ndarray  # [2, H, W] lung coverage 0..1; 0 = image-left (patient right), 1 = image-right
    lung_dark: np.ndarray  # how much the lung air darkens each pixel (what an opacity gives back)
    box: tuple[float, float, float, float]  # lung-field box x0, y0, w, h (pixels)
    gap_left: np.ndarray  # per row: right border (column) of the image-left lung, -1 where it has none
    gap_right: np.ndarray  # per row: left border of the image-right lung, W where it has none
    heart_top: float  # row where the heart silhouette starts
    hila: tuple[tuple[float, float], tuple[float, float]]  # (x, y) of the image-left and image-right hilum
    shape_id: int

    @property
    def lung_mask(self) -> np.ndarray:
        return (self.lung_cov[0] + self.lung_cov[1]) > 0.5


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def noise_field(rng: np.random.Generator, cells: int, h: int, w: int) -> np.ndarray:
    """Smooth random field (zero mean, unit-ish std) with about ``cells`` features across the image."""
    return upsample(rng.standard_normal((cells + 1, cells + 1)).astype(np.float32), h, w)


def periodic_noise_1d(rng: np.random.Generator, n: int, x: np.ndarray) -> np.ndarray:
    """Smooth 1-D noise of period 1 in ``x`` with ``n`` knots (for angles, rib wobble, lesion outlines)."""
    knots = rng.standard_normal(n).astype(np.float32)
    frac = x - np.floor(x)  # np.mod is ~50x slower than this on float32 grids
    return np.interp(frac * n, np.arange(n + 1), np.append(knots, knots[0])).astype(np.float32)


def place_shape(
    shapes: LungShapes, idx: int, size: int, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Lung coverage [2, size, size] of normalised shape ``idx`` stretched into the pixel box (x0, y0, w, h)."""
    grid = shapes.masks.shape[-1]
    padded = np.zeros((2, grid + 2, grid + 2), np.float32)
    padded[:, 1:-1, 1:-1] = shapes.masks[idx].astype(np.float32) / 255.0
    x0, y0, w, h = box
    coords = np.arange(size, dtype=np.float32) + 0.5
    ry = np.clip((coords - y0) / h * grid - 0.5 + 1, 0, grid + 1)
    rx = np.clip((coords - x0) / w * grid - 0.5 + 1, 0, grid + 1)
    cov = sample_grid(padded, ry, rx)
    # Sharpen the bilinear ramp to about one pixel so the outline is crisp at any scale.
    return smoothstep((cov - 0.5) * max(w / grid, 1.0) + 0.5).astype(np.float32)


def _gap_borders(lung_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the inner borders of the two lungs (float32): the mediastinal gap is between them."""
    size = lung_cov.shape[-1]
    cols = np.arange(size, dtype=np.float32)[None, :]
    left = np.where(lung_cov[0] > 0.5, cols, -1.0).max(axis=1) + 1.0
    right = np.where(lung_cov[1] > 0.5, cols, float(size)).min(axis=1)
    # Below the base of one lung, carry its last border down so the heart keeps a sensible width.
    for border, missing in ((left, left <= 0), (right, right >= size)):
        valid = np.nonzero(~missing)[0]
        if len(valid):
            idx = np.maximum.accumulate(np.where(~missing, np.arange(size), valid[0]))
            border[:] = border[idx]
    # Going down, the heart border may not jump outwards: below the medial end of a lung base only its lateral
    # costophrenic recess is left, which is not the heart's edge.
    for i in range(1, size):
        left[i] = max(left[i], left[i - 1] - 2.0)
        right[i] = min(right[i], right[i - 1] + 2.0)
    return left.astype(np.float32), right.astype(np.float32)


def _diaphragm(lung_cov: np.ndarray) -> np.ndarray:
    """Per column, the row of the lung base (interpolated across the mediastinum and beyond the lungs)."""
    size = lung_cov.shape[-1]
    lung = (lung_cov[0] + lung_cov[1]) > 0.5
    rows = np.arange(size, dtype=np.float32)[:, None]
    bottom = np.where(lung, rows, -1.0).max(axis=0)
    has = bottom >= 0
    if not has.any():
        return np.full(size, float(size), np.float32)
    cols = np.arange(size)
    return np.interp(cols, cols[has], bottom[has]).astype(np.float32)


def _lateral_extent(lung_cov: np.ndarray, xm: float, w: float, s: float) -> np.ndarray:
    """Per row (column vector): the farther lateral lung edge from the midline, smoothed and extended."""
    from scipy.ndimage import gaussian_filter1d

    size = lung_cov.shape[-1]
    # First / last lung column per row via argmax on booleans (much cheaper than a masked max over the grid).
    m0, m1 = lung_cov[0] > 0.5, lung_cov[1] > 0.5
    first = m0.argmax(axis=1).astype(np.float32) + 0.5
    last = (size - 1 - m1[:, ::-1].argmax(axis=1)).astype(np.float32) + 0.5
    left = np.where(m0.any(axis=1), np.maximum(xm - first, 0), 0)
    right = np.where(m1.any(axis=1), np.maximum(last - xm, 0), 0)
    ext = np.maximum(left, right).astype(np.float32)
    rows = np.nonzero(ext > 0)[0]
    if len(rows) == 0:
        return np.full((size, 1), w / 2, np.float32)
    ext[: rows[0]] = ext[rows[0]]
    ext[rows[-1] + 1 :] = ext[rows[-1]]
    ext = np.maximum(ext, 0.75 * w / 2)  # where one lung is short, keep a sensible waist
    return gaussian_filter1d(ext, 0.04 * s)[:, None].astype(np.float32)


def render_anatomy(rng: np.random.Generator, size: int, shapes: LungShapes) -> Anatomy:
    s = float(size)
    # Column / row vectors: terms that depend on one axis only stay 1-D until they meet (speed).
    y = np.arange(size, dtype=np.float32)[:, None] + 0.5
    x = np.arange(size, dtype=np.float32)[None, :] + 0.5

    idx = int(rng.integers(len(shapes)))
    aspect = float(np.clip(shapes.aspect[idx] * rng.uniform(0.93, 1.07), 0.72, 1.1))
    w = s * rng.uniform(0.60, 0.74)
    h = min(w * aspect, s * 0.76)
    xm = s / 2 + s * rng.uniform(-0.035, 0.035)
    y0 = s * rng.uniform(0.07, 0.14)
    y0 = min(y0, s * 0.95 - h)
    box = (xm - w / 2, y0, w, h)
    lung_cov = place_shape(shapes, idx, size, box)
    lung = lung_cov[0] + lung_cov[1]

    # Body: neck widening into the shoulders; the rib cage hugs the lungs, so the torso follows their
    # lateral edges plus a chest wall (a lung never ends far inside a thin, dark flank).
    torso = _lateral_extent(lung_cov, xm, w, s) + w * rng.uniform(0.05, 0.09)
    neck = s * rng.uniform(0.10, 0.13)
    shoulder_y = y0 + h * rng.uniform(-0.02, 0.06)
    t = smoothstep((y - (shoulder_y - 0.12 * s)) / (0.14 * s))
    hw = neck + (torso - neck) * t
    hw = hw + w * 0.14 * np.exp(-(((y - shoulder_y + 0.03 * s) / (0.06 * s)) ** 2))  # shoulder girdle
    dx = np.abs(x - xm)
    thick = np.sqrt(np.clip(1 - (dx / hw) ** 2, 0, 1))  # path length through a rounded body
    body = smoothstep((hw - dx) / 2.0 + 0.5)
    tissue = rng.uniform(0.46, 0.54) + rng.uniform(0.14, 0.20) * thick
    tissue = tissue * (1 + 0.04 * noise_field(rng, 5, size, size))
    dens = body * tissue

    # Mediastinum and spine: a bright central band, vertebrae periodic along it.
    med_hw = w * rng.uniform(0.07, 0.09)
    med = smoothstep((med_hw - dx) / (0.03 * s) + 0.5) * (y > y0 - 0.1 * s)
    dens += 0.10 * med * body
    spine_hw = w * rng.uniform(0.040, 0.050)
    vert_period = h * rng.uniform(0.065, 0.08)
    vert = 0.5 + 0.5 * np.cos(2 * np.pi * (y - y0) / vert_period) ** 2
    dens += 0.08 * smoothstep((spine_hw - dx) / 2.0 + 0.5) * vert * body

    # Heart and diaphragm follow the real lung outline: the heart fills the gap between the lungs below the
    # hila, the abdomen starts under the lung bases (the domes), the heart's lower border merges with it.
    gap_left, gap_right = _gap_borders(lung_cov)
    base = _diaphragm(lung_cov)
    heart_top = y0 + h * rng.uniform(0.42, 0.5)
    # Both terms vanish above the heart and the domes: compute them on the rows below only.
    r0 = int(max(0, min(heart_top, float(base.min()) - 3.0)))
    yl = y[r0:]
    below = smoothstep((yl - base[None, :]) / 3.0 + 0.5)
    in_gap = smoothstep((x - gap_left[r0:, None]) / 1.5 + 0.5) * smoothstep(
        (gap_right[r0:, None] - x) / 1.5 + 0.5
    )
    heart = in_gap * smoothstep((yl - heart_top) / (0.08 * h)) * (1 - below)
    dens[r0:] += (rng.uniform(0.08, 0.12) * heart + rng.uniform(0.04, 0.07) * below) * body[r0:]

    # Lungs: air darkens, most at the lateral periphery and apices; vessels radiate from the hila.
    hila = ((xm - w * 0.20, y0 + h * 0.45), (xm + w * 0.18, y0 + h * 0.47))
    lung_dark = rng.uniform(0.36, 0.44) * (1 + 0.06 * noise_field(rng, 6, size, size))
    lung_dark = lung_dark * (0.9 + 0.15 * np.clip(dx / (w / 2), 0, 1))
    # Vessels are smooth: render them at half resolution and upsample (a third of the phantom's cost otherwise).
    half = max(size // 2, 16)
    k = size / half
    yh = (np.arange(half, dtype=np.float32)[:, None] + 0.5) * k
    xh = (np.arange(half, dtype=np.float32)[None, :] + 0.5) * k
    vessels_h = np.zeros((half, half), np.float32)
    for hx, hy in hila:
        r = np.hypot(xh - hx, yh - hy)
        theta = np.arctan2(yh - hy, xh - hx) / (2 * np.pi)
        streak = np.maximum(periodic_noise_1d(rng, 48, theta), 0) + 0.5 * np.maximum(
            periodic_noise_1d(rng, 97, theta + r / (3 * s)), 0
        )
        vessels_h += streak * np.exp(-r / (0.22 * w))
    vessels = upsample(vessels_h, size, size) * 0.05 * (0.7 + 0.3 * noise_field(rng, 24, size, size))
    mottle = 0.015 * noise_field(rng, 40, size, size)
    dens = dens - lung * (lung_dark - vessels - mottle)

    # Ribs: posterior arcs (rising then falling laterally) and fainter anterior arcs, one vectorised pass per side.
    side_dx = (x - xm) / (w / 2)
    ad = np.abs(side_dx)
    in_chest = np.clip(1.15 - ad, 0, 1) * (ad > 0.06) * body
    wob = 0.01 * h * periodic_noise_1d(rng, 7, ad / 2)
    spacing = h * rng.uniform(0.085, 0.1)
    first = y0 - 0.35 * spacing
    post = (y - first - h * (-0.09 * ad + 0.26 * ad**2) + wob) / spacing
    band = post - np.floor(post)
    rib_w = rng.uniform(0.36, 0.46)
    prof = np.sqrt(np.maximum(np.sin(np.pi * np.clip(band / rib_w, 0, 1)), 0)) * (band < rib_w)
    ribs = prof * ((post >= 0) & (post < 10)) * rng.uniform(0.07, 0.10)
    ant = (y - first - 0.6 * spacing - h * (0.32 * (1 - ad) ** 2 - 0.05)) / (spacing * 1.05)
    aband = ant - np.floor(ant)
    aprof = np.sin(np.pi * np.clip(aband / 0.3, 0, 1)) * (aband < 0.3)
    ribs += aprof * ((ant >= 1) & (ant < 7)) * (ad < 0.85) * rng.uniform(0.025, 0.04)
    dens += ribs * in_chest

    # Clavicles: oblique bands from the sternal notch up and out over the apices (only the top rows hold them).
    c0, c1 = int(max(0, y0 - 0.2 * h)), int(min(size, y0 + 0.15 * h))
    yc = y[c0:c1]
    for sign in (-1.0, 1.0):
        ux = sign * (x - xm) / (w / 2)
        cy = y0 + h * (0.03 - 0.10 * ux + 0.07 * (ux - 0.5) ** 2) + h * rng.uniform(-0.02, 0.02)
        seg = smoothstep((ux - 0.10) / 0.05) * smoothstep((1.05 - ux) / 0.08)
        clav = np.sqrt(np.clip(1 - np.abs(yc - cy) / (0.022 * h), 0, 1)) * seg
        dens[c0:c1] += rng.uniform(0.08, 0.12) * clav * body[c0:c1]

    return Anatomy(
        density=dens.astype(np.float32),
        lung_cov=lung_cov,
        lung_dark=(lung_dark - vessels - mottle).astype(np.float32),
        box=box,
        gap_left=gap_left,
        gap_right=gap_right,
        heart_top=float(heart_top),
        hila=hila,
        shape_id=idx,
    )
