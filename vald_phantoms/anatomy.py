"""Procedural PA chest anatomy for the phantoms: body, lungs, mediastinum, heart, spine, ribs, clavicles.

Everything is rendered as a "density" image (bright = dense, as on a displayed film) from a handful of random
parameters, vectorised; each term is computed only in the window where it can be non-zero (exactly the same
values as over the whole grid), so one 256x256 anatomy costs a few milliseconds. The lesions
(``phantom_lesions``) only ever *add* density inside a compact region, which is what makes every abnormal
phantom's healthy twin exact outside the lesion mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vald_desktop.core.base.gridsample import Window, sample_grid, upsample_coords
from vald_desktop.core.masks.shapes import LungShapes
from vald_phantoms.fields import (
    hypot,
    is_empty,
    noise_field,
    periodic_noise_1d,
    smoothstep,
    smoothstep_,
    span,
)


@dataclass
class Anatomy:
    """One rendered anatomy plus the geometry the lesions need (all arrays HxW float32 unless noted)."""

    density: np.ndarray  # healthy density image, roughly [0, 1]
    lung_cov: np.ndarray  # [2, H, W] lung coverage 0..1; 0 = image-left (patient right), 1 = image-right
    # How much the lung air darkens each pixel (what an opacity gives back); 0 outside lung_box.
    lung_dark: np.ndarray
    box: tuple[float, float, float, float]  # lung-field box x0, y0, w, h (pixels)
    gap_left: np.ndarray  # per row: right border (column) of the image-left lung, -1 where it has none
    gap_right: np.ndarray  # per row: left border of the image-right lung, W where it has none
    heart_top: float  # row where the heart silhouette starts
    hila: tuple[tuple[float, float], tuple[float, float]]  # (x, y) of the image-left and image-right hilum
    shape_id: int
    lung_mask: np.ndarray  # bool HxW: the lung fields, (lung_cov[0] + lung_cov[1]) > 0.5
    # Per lung channel: the (rows, cols) window outside which its coverage is exactly 0.
    lung_win: tuple[Window, Window]
    lung_box: Window  # the window holding both lungs


def _reach(r: np.ndarray, lo: int, hi: int) -> slice:
    """Output pixels whose bilinear taps (floor(r), floor(r) + 1) touch source indices lo..hi (r ascending)."""
    base = np.floor(r)
    return span((base >= lo - 1) & (base <= hi))


def place_shape(
    shapes: LungShapes, idx: int, size: int, box: tuple[float, float, float, float]
) -> tuple[np.ndarray, tuple[Window, Window]]:
    """Lung coverage [2, size, size] of normalised shape ``idx`` stretched into the pixel box (x0, y0, w, h).

    Also returns, per lung, the window outside which its coverage is exactly 0 (only that part is sampled).
    """
    grid = shapes.masks.shape[-1]
    x0, y0, w, h = box
    coords = np.arange(size, dtype=np.float32) + 0.5
    ry = np.clip((coords - y0) / h * grid - 0.5 + 1, 0, grid + 1)
    rx = np.clip((coords - x0) / w * grid - 0.5 + 1, 0, grid + 1)
    cov = np.zeros((2, size, size), np.float32)
    wins = []
    for ch in range(2):
        src = shapes.masks[idx, ch]
        rows, cols = np.flatnonzero(src.any(axis=1)), np.flatnonzero(src.any(axis=0))
        if not len(rows):
            wins.append((slice(0, 0), slice(0, 0)))
            continue
        # +1: the shape sits in a one-sample zero border so the outline fades to 0 at the box edge.
        win = (_reach(ry, rows[0] + 1, rows[-1] + 1), _reach(rx, cols[0] + 1, cols[-1] + 1))
        wins.append(win)
        if is_empty(win):
            continue
        padded = np.zeros((grid + 2, grid + 2), np.float32)
        padded[1:-1, 1:-1] = src.astype(np.float32) / 255.0
        part = sample_grid(padded, ry[win[0]], rx[win[1]])
        # Sharpen the bilinear ramp to about one pixel so the outline is crisp at any scale.
        part -= 0.5
        part *= max(w / grid, 1.0)
        part += 0.5
        cov[ch][win] = smoothstep_(part)
    return cov, (wins[0], wins[1])


def _union(a: Window, b: Window) -> Window:
    if is_empty(a):
        return b
    if is_empty(b):
        return a
    rows = slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop))
    return rows, slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop))


class _RowSpans:
    """Per row of one lung channel: whether it holds lung (coverage > 0.5), and its first / last such column."""

    def __init__(self, cov: np.ndarray, win: Window) -> None:
        size = cov.shape[-1]
        self.has = np.zeros(size, bool)
        self.first = np.zeros(size, np.intp)
        self.last = np.zeros(size, np.intp)
        if is_empty(win):
            return
        rs, cs = win
        m = cov[rs, cs] > 0.5
        self.has[rs] = m.any(axis=1)
        self.first[rs] = m.argmax(axis=1) + cs.start
        self.last[rs] = cs.stop - 1 - m[:, ::-1].argmax(axis=1)


def _gap_borders(left_lung: _RowSpans, right_lung: _RowSpans, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the inner borders of the two lungs (float32): the mediastinal gap is between them."""
    left = np.where(left_lung.has, left_lung.last + 1, 0).astype(np.float32)
    right = np.where(right_lung.has, right_lung.first, size).astype(np.float32)
    # Below the base of one lung, carry its last border down so the heart keeps a sensible width.
    for border, missing in ((left, left <= 0), (right, right >= size)):
        valid = np.nonzero(~missing)[0]
        if len(valid):
            idx = np.maximum.accumulate(np.where(~missing, np.arange(size), valid[0]))
            border[:] = border[idx]
    # Going down, the heart border may not jump outwards: below the medial end of a lung base only its lateral
    # costophrenic recess is left, which is not the heart's edge. Row by row that is
    # left[i] = max(left[i], left[i-1] - 2); in closed form a running maximum (exact: the borders are integers).
    ramp = 2.0 * np.arange(size)
    left = np.maximum.accumulate(left + ramp) - ramp
    right = np.minimum.accumulate(right - ramp) + ramp
    return left.astype(np.float32), right.astype(np.float32)


def _diaphragm(lung_mask: np.ndarray, win: Window) -> np.ndarray:
    """Per column, the row of the lung base (interpolated across the mediastinum and beyond the lungs)."""
    size = lung_mask.shape[-1]
    bottom = np.full(size, -1.0, np.float32)
    if not is_empty(win):
        rs, cs = win
        m = lung_mask[rs, cs]
        last = rs.stop - 1 - m[::-1].argmax(axis=0)
        bottom[cs] = np.where(m.any(axis=0), last, -1)
    has = bottom >= 0
    if not has.any():
        return np.full(size, float(size), np.float32)
    cols = np.arange(size)
    return np.interp(cols, cols[has], bottom[has]).astype(np.float32)


def _lateral_extent(left_lung: _RowSpans, right_lung: _RowSpans, xm: float, w: float, s: float) -> np.ndarray:
    """Per row (column vector): the farther lateral lung edge from the midline, smoothed and extended."""
    from scipy.ndimage import gaussian_filter1d

    size = len(left_lung.has)
    first = left_lung.first.astype(np.float32) + 0.5
    last = right_lung.last.astype(np.float32) + 0.5
    left = np.where(left_lung.has, np.maximum(xm - first, 0), 0)
    right = np.where(right_lung.has, np.maximum(last - xm, 0), 0)
    ext = np.maximum(left, right).astype(np.float32)
    rows = np.nonzero(ext > 0)[0]
    if len(rows) == 0:
        return np.full((size, 1), w / 2, np.float32)
    ext[: rows[0]] = ext[rows[0]]
    ext[rows[-1] + 1 :] = ext[rows[-1]]
    ext = np.maximum(ext, 0.75 * w / 2)  # where one lung is short, keep a sensible waist
    smooth: np.ndarray = gaussian_filter1d(ext, 0.04 * s)
    return smooth[:, None].astype(np.float32)


def _cols(values: np.ndarray) -> slice:
    """Columns where a (1, W) row of factors is non-zero."""
    return span(values[0] != 0)


def render_anatomy(rng: np.random.Generator, size: int, shapes: LungShapes) -> Anatomy:
    # Every draw from ``rng`` happens in the same order whatever the windows: the anatomy is a function of the seed.
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
    lung_cov, lung_win = place_shape(shapes, idx, size, box)
    lbox = _union(*lung_win)
    lung = lung_cov[0][lbox] + lung_cov[1][lbox]  # zero outside the lung window
    lung_mask = np.zeros((size, size), bool)
    lung_mask[lbox] = lung > 0.5
    spans = (_RowSpans(lung_cov[0], lung_win[0]), _RowSpans(lung_cov[1], lung_win[1]))

    # Body: neck widening into the shoulders; the rib cage hugs the lungs, so the torso follows their
    # lateral edges plus a chest wall (a lung never ends far inside a thin, dark flank).
    torso = _lateral_extent(*spans, xm, w, s) + w * rng.uniform(0.05, 0.09)
    neck = s * rng.uniform(0.10, 0.13)
    shoulder_y = y0 + h * rng.uniform(-0.02, 0.06)
    t = smoothstep((y - (shoulder_y - 0.12 * s)) / (0.14 * s))
    hw = neck + (torso - neck) * t
    hw = hw + w * 0.14 * np.exp(-(((y - shoulder_y + 0.03 * s) / (0.06 * s)) ** 2))  # shoulder girdle
    dx = np.abs(x - xm)
    thick = dx / hw  # becomes the path length through a rounded body: sqrt(clip(1 - (dx / hw)^2, 0, 1))
    np.square(thick, out=thick)
    np.subtract(1, thick, out=thick)
    np.clip(thick, 0, 1, out=thick)
    np.sqrt(thick, out=thick)
    body = hw - dx
    body /= 2.0
    body += 0.5
    smoothstep_(body)
    tissue_lo = rng.uniform(0.46, 0.54)
    thick *= rng.uniform(0.14, 0.20)
    thick += tissue_lo
    grain = noise_field(rng, 5, size, size)
    grain *= 0.04
    grain += 1
    thick *= grain
    thick *= body
    dens = thick  # body * tissue

    # Mediastinum and spine: a bright central band, vertebrae periodic along it (only their columns are touched).
    med_hw = w * rng.uniform(0.07, 0.09)
    med = 0.10 * smoothstep((med_hw - dx) / (0.03 * s) + 0.5)
    rows, cols = span(y[:, 0] > y0 - 0.1 * s), _cols(med)
    dens[rows, cols] += med[:, cols] * body[rows, cols]
    spine_hw = w * rng.uniform(0.040, 0.050)
    vert_period = h * rng.uniform(0.065, 0.08)
    vert = 0.5 + 0.5 * np.cos(2 * np.pi * (y - y0) / vert_period) ** 2
    spine = 0.08 * smoothstep((spine_hw - dx) / 2.0 + 0.5)
    cols = _cols(spine)
    dens[:, cols] += spine[:, cols] * vert * body[:, cols]

    # Heart and diaphragm follow the real lung outline: the heart fills the gap between the lungs below the
    # hila, the abdomen starts under the lung bases (the domes), the heart's lower border merges with it.
    gap_left, gap_right = _gap_borders(*spans, size)
    base = _diaphragm(lung_mask, lbox)
    heart_top = y0 + h * rng.uniform(0.42, 0.5)
    # Both terms vanish above the heart and the domes: compute them on the rows below only.
    r0 = int(max(0, min(heart_top, float(base.min()) - 3.0)))
    yl = y[r0:]
    below = (yl - base[None, :]) / 3.0
    below += 0.5
    smoothstep_(below)
    heart_amp, below_amp = rng.uniform(0.08, 0.12), rng.uniform(0.04, 0.07)
    lift = below_amp * below
    # The heart is 0 left of the image-left lung's border and right of the other's: only its columns.
    gl, gr = gap_left[r0:], gap_right[r0:]
    if len(gl):
        hc = slice(max(0, int(gl.min()) - 2), min(size, int(gr.max()) + 3))
        xg = x[:, hc]
        in_gap = smoothstep((xg - gl[:, None]) / 1.5 + 0.5) * smoothstep((gr[:, None] - xg) / 1.5 + 0.5)
        heart = in_gap * smoothstep((yl - heart_top) / (0.08 * h)) * (1 - below[:, hc])
        lift[:, hc] += heart_amp * heart
    lift *= body[r0:]
    dens[r0:] += lift

    # Lungs: air darkens, most at the lateral periphery and apices; vessels radiate from the hila.
    # All of it is multiplied by the lung coverage, so it is computed in the lung window only.
    rs, cs = lbox
    hila = ((xm - w * 0.20, y0 + h * 0.45), (xm + w * 0.18, y0 + h * 0.47))
    dark_amp = rng.uniform(0.36, 0.44)
    lung_dark = noise_field(rng, 6, size, size, lbox)
    lung_dark *= 0.06
    lung_dark += 1
    lung_dark *= dark_amp
    lung_dark *= 0.9 + 0.15 * np.clip(dx[:, cs] / (w / 2), 0, 1)
    # Vessels are smooth: render them at half resolution and upsample (a third of the phantom's cost otherwise),
    # and only the half-resolution samples the lung window's pixels interpolate from.
    half = max(size // 2, 16)
    k = size / half
    ry, rx = upsample_coords(half, size)[rs], upsample_coords(half, size)[cs]
    hrows = slice(int(np.floor(ry[0])), min(int(np.floor(ry[-1])) + 2, half)) if len(ry) else slice(0, 0)
    hcols = slice(int(np.floor(rx[0])), min(int(np.floor(rx[-1])) + 2, half)) if len(rx) else slice(0, 0)
    yh = (np.arange(half, dtype=np.float32)[hrows, None] + 0.5) * k
    xh = (np.arange(half, dtype=np.float32)[None, hcols] + 0.5) * k
    vessels_h = np.zeros((yh.shape[0], xh.shape[1]), np.float32)
    for hx, hy in hila:
        r = hypot(xh - hx, yh - hy)
        theta = np.arctan2(yh - hy, xh - hx) / (2 * np.pi)
        streak = np.maximum(periodic_noise_1d(rng, 48, theta), 0) + 0.5 * np.maximum(
            periodic_noise_1d(rng, 97, theta + r / (3 * s)), 0
        )
        vessels_h += streak * np.exp(-r / (0.22 * w))
    vessels = sample_grid(vessels_h, ry - hrows.start, rx - hcols.start) if not is_empty(lbox) else vessels_h
    vessels *= 0.05
    fine = noise_field(rng, 24, size, size, lbox)
    fine *= 0.3
    fine += 0.7
    vessels *= fine
    mottle = noise_field(rng, 40, size, size, lbox)
    mottle *= 0.015
    lung_dark -= vessels
    lung_dark -= mottle
    lung *= lung_dark
    dens[lbox] -= lung
    dark_full = np.zeros((size, size), np.float32)
    dark_full[lbox] = lung_dark

    # Ribs: posterior arcs (rising then falling laterally) and fainter anterior arcs, one vectorised pass per side.
    side_dx = (x - xm) / (w / 2)
    ad = np.abs(side_dx)
    chest = np.clip(1.15 - ad, 0, 1) * (ad > 0.06)
    wob = 0.01 * h * periodic_noise_1d(rng, 7, ad / 2)
    spacing = h * rng.uniform(0.085, 0.1)
    first = y0 - 0.35 * spacing
    rib_w = rng.uniform(0.36, 0.46)
    post_amp = rng.uniform(0.07, 0.10)
    ant_amp = rng.uniform(0.025, 0.04)
    # Ribs count only where the chest factor is non-zero, and only on the rows the arcs reach (2 px margin).
    cs = _cols(chest)
    lift_post = (h * (-0.09 * ad + 0.26 * ad**2) - wob)[0, cs]
    lift_ant = (h * (0.32 * (1 - ad) ** 2 - 0.05))[0, cs]
    if cs.stop > cs.start:
        top = min(first + lift_post.min(), first + 0.6 * spacing + lift_ant.min() + spacing * 1.05) - 2.0
        bottom = max(
            first + lift_post.max() + 10 * spacing, first + 0.6 * spacing + lift_ant.max() + 7.35 * spacing
        )
        rs = slice(max(0, int(np.floor(top - 0.5))), max(0, min(size, int(np.ceil(bottom + 2.0 - 0.5)) + 1)))
    else:
        rs = slice(0, 0)
    yr, adc = y[rs], ad[:, cs]
    post = (yr - first - h * (-0.09 * adc + 0.26 * adc**2) + wob[:, cs]) / spacing
    band = post - np.floor(post)
    prof = np.sqrt(np.maximum(np.sin(np.pi * np.clip(band / rib_w, 0, 1)), 0)) * (band < rib_w)
    ribs = prof * ((post >= 0) & (post < 10)) * post_amp
    ant = (yr - first - 0.6 * spacing - h * (0.32 * (1 - adc) ** 2 - 0.05)) / (spacing * 1.05)
    aband = ant - np.floor(ant)
    aprof = np.sin(np.pi * np.clip(aband / 0.3, 0, 1)) * (aband < 0.3)
    ribs += aprof * ((ant >= 1) & (ant < 7)) * (adc < 0.85) * ant_amp
    ribs *= chest[:, cs] * body[rs, cs]
    dens[rs, cs] += ribs

    # Clavicles: oblique bands from the sternal notch up and out over the apices (only the top rows hold them).
    c0, c1 = int(max(0, y0 - 0.2 * h)), int(min(size, y0 + 0.15 * h))
    yc = y[c0:c1]
    for sign in (-1.0, 1.0):
        ux = sign * (x - xm) / (w / 2)
        cy = y0 + h * (0.03 - 0.10 * ux + 0.07 * (ux - 0.5) ** 2) + h * rng.uniform(-0.02, 0.02)
        seg = smoothstep((ux - 0.10) / 0.05) * smoothstep((1.05 - ux) / 0.08)
        cs = _cols(seg)
        clav = np.sqrt(np.clip(1 - np.abs(yc - cy[:, cs]) / (0.022 * h), 0, 1)) * seg[:, cs]
        dens[c0:c1, cs] += rng.uniform(0.08, 0.12) * clav * body[c0:c1, cs]

    return Anatomy(
        density=dens,
        lung_cov=lung_cov,
        lung_dark=dark_full,
        box=box,
        gap_left=gap_left,
        gap_right=gap_right,
        heart_top=float(heart_top),
        hila=hila,
        shape_id=idx,
        lung_mask=lung_mask,
        lung_win=lung_win,
        lung_box=lbox,
    )
