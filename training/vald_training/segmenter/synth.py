"""One randomised training film with its exact lung label, from the CT projections.

Order: findings that hide a lung border (added as attenuation, the label is unchanged: the mask is the lung
field as if aerated), arms beside the chest, a soft/bone mix, a thin-plate warp to a real lung shape, the film's
geometry (rotation, magnification, shift, aspect), a grey-level mapping, detector look, collimation, burned-in
text and markers, lines and tubes. Everything is drawn from one generator: a seed gives the same film.
"""

from __future__ import annotations

import numpy as np

from vald_training.segmenter.ct_projections import Projections
from vald_training.segmenter.overlays import burn_text, collimate, draw_lines
from vald_training.segmenter.warp import backward_field, outline_points, split_two, target_points


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    from scipy import ndimage as ndi

    f = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return np.asarray(f / max(float(np.abs(f).max()), 1e-6), np.float32)


def add_findings(rng: np.random.Generator, soft: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """Consolidation, effusion and diffuse haze inside the lungs (water-equivalent mm added along the ray)."""
    out = soft.copy()
    pair = split_two(lung)
    if pair is None:
        return out
    rows = np.arange(lung.shape[0])[:, None]
    scale = float(np.percentile(soft[lung], 50))  # a typical lung ray
    for one in pair:
        r = rng.random()
        if r < 0.22:  # consolidation: a blotchy patch in one zone
            ys = np.nonzero(one)[0]
            lo, hi = ys.min(), ys.max()
            centre = rng.uniform(lo, hi)
            band = np.exp(-(((rows - centre) / (rng.uniform(0.15, 0.45) * (hi - lo + 1))) ** 2))
            blotch = np.clip(_smooth_noise(rng, lung.shape, rng.uniform(3, 9)) + rng.uniform(0.1, 0.6), 0, 1)
            out += one * band * blotch * scale * rng.uniform(0.25, 0.9)
        elif r < 0.36:  # effusion: dense at the base, meniscus rising laterally
            ys, xs = np.nonzero(one)
            lo, hi = ys.min(), ys.max()
            level = hi - rng.uniform(0.1, 0.45) * (hi - lo)
            cx = xs.mean()
            lateral = np.abs(np.arange(lung.shape[1]) - cx)[None, :] / max(1.0, float(xs.std()))
            edge = level - 6.0 * lateral * rng.uniform(0.5, 1.5)
            ramp = np.clip((rows - edge) / rng.uniform(4, 14), 0, 1)
            out += one * ramp * scale * rng.uniform(0.4, 1.0)
        elif r < 0.46:  # diffuse haze (oedema, low inspiration)
            out += one * scale * rng.uniform(0.08, 0.3) * (0.6 + 0.4 * _smooth_noise(rng, lung.shape, 12))
    return out


def add_arms(rng: np.random.Generator, soft: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Soft-tissue bands of arms raised or hanging beside the chest."""
    out = soft.copy()
    h, w = soft.shape
    cols = np.nonzero(body.any(axis=0))[0]
    if cols.size == 0:
        return out
    thick = float(np.percentile(soft[body], 70))
    rows = np.arange(h)[:, None]
    for side in (-1, 1):
        if rng.random() < 0.5:
            continue
        edge = cols.min() if side < 0 else cols.max()
        centre = edge + side * rng.uniform(-0.02, 0.08) * w
        width = rng.uniform(0.05, 0.12) * w
        x = np.arange(w)[None, :]
        arm = np.clip(1 - ((x - centre) / width) ** 2, 0, None) ** 0.5
        top = rng.uniform(0.0, 0.5) * h
        arm = arm * (rows > top)
        out += arm * thick * rng.uniform(0.4, 0.9)
    return out


def film_geometry(
    rng: np.random.Generator, shape: tuple[int, int], out_side: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """[2, oh, ow] projection coordinates of every output pixel: rotation, magnification, shift, aspect."""
    h, w = shape
    aspect = rng.uniform(0.8, 1.35)  # output width / height
    oh, ow = (out_side, round(out_side * aspect)) if aspect <= 1 else (round(out_side / aspect), out_side)
    # Field of view in projection pixels: PA/AP magnification, adult or small patient, tight or loose framing.
    fov_h = h * rng.uniform(0.72, 1.08)
    px = fov_h / oh
    angle = np.deg2rad(rng.uniform(-7, 7))
    cy = h * rng.uniform(0.42, 0.55)
    cx = w * 0.5 + rng.uniform(-0.06, 0.06) * w
    yy, xx = np.meshgrid(np.arange(oh) - (oh - 1) / 2, np.arange(ow) - (ow - 1) / 2, indexing="ij")
    c, s = np.cos(angle), np.sin(angle)
    src_y = cy + px * (c * yy - s * xx)
    src_x = cx + px * (s * yy + c * xx)
    return np.stack([src_y, src_x]), (oh, ow)


def grey_levels(rng: np.random.Generator, line: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Line integral → film brightness (bone bright): one of 1−exp(−kL), linear, log; then gamma, stretch."""
    ref = float(np.percentile(line[body], 98)) if body.any() else float(line.max())
    x = line / max(ref, 1e-6)
    kind = rng.integers(3)
    if kind == 0:
        y = 1 - np.exp(-rng.uniform(1.2, 4.0) * x)
    elif kind == 1:
        y = x
    else:
        c = rng.uniform(3, 30)
        y = np.log1p(c * x) / np.log1p(c)
    lo, hi = np.percentile(y, (rng.uniform(0, 3), rng.uniform(97, 100)))
    y = np.clip((y - lo) / max(float(hi - lo), 1e-6), 0, 1)
    return np.asarray(y ** rng.uniform(0.6, 1.7), np.float32)


def detector_look(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Unsharp masking (digital films are crisp), blur, noise."""
    from scipy import ndimage as ndi

    out = img
    if rng.random() < 0.65:
        blur = ndi.gaussian_filter(out, rng.uniform(1.5, 8))
        out = out + rng.uniform(0.3, 1.6) * (out - blur)
    if rng.random() < 0.3:
        out = ndi.gaussian_filter(out, rng.uniform(0.4, 1.3))
    sigma = rng.uniform(0.0, 0.05)
    out = out + sigma * rng.standard_normal(out.shape).astype(np.float32)
    return np.asarray(np.clip(out, 0, 1), np.float32)


def _folds(field: np.ndarray) -> bool:
    """True when a warp folds or squeezes the film too much (Jacobian determinant out of [0.3, 3])."""
    dy_y, dy_x = np.gradient(field[0])
    dx_y, dx_x = np.gradient(field[1])
    det = dy_y * dx_x - dy_x * dx_y
    return bool(det.min() < 0.3 or det.max() > 3.0)


def synth_film(
    rng: np.random.Generator,
    proj: Projections,
    shapes: np.ndarray,
    aspects: np.ndarray,
    yaws: tuple[int, ...],
    out_side: int = 192,
) -> tuple[np.ndarray, np.ndarray]:
    """(film float32 HxW in [0, 1], lung bool HxW) with the long side ``out_side``; not yet padded to square.

    ``yaws``: indices into ``proj.yaws`` to draw from; ``shapes``/``aspects``: the real shapes to warp to.
    """
    from scipy import ndimage as ndi

    y = int(yaws[int(rng.integers(len(yaws)))])
    soft, bone, lung, body = proj.soft[y], proj.bone[y], proj.lung[y], proj.body[y]
    soft = add_arms(rng, add_findings(rng, soft, lung), body)
    line = soft + bone * rng.uniform(1.5, 4.5)

    field: np.ndarray | None = None
    pair = split_two(lung)
    if pair is not None and rng.random() < 0.85:
        rows, cols = np.nonzero(lung)
        box = (float(rows.min()), float(cols.min()), float(np.ptp(rows) + 1), float(np.ptp(cols) + 1))
        k = int(rng.integers(len(shapes)))
        src = np.concatenate([outline_points(pair[0]), outline_points(pair[1])])
        tgt = target_points(rng, shapes[k], float(aspects[k]), box)
        field = backward_field(tgt, src, lung.shape)
        if _folds(field):
            field = None

    coords, (oh, ow) = film_geometry(rng, lung.shape, out_side)
    if field is not None:  # output → warped frame (geometry) → source frame (thin-plate warp)
        coords = np.stack([ndi.map_coordinates(field[k], coords, order=1, mode="nearest") for k in range(2)])
    line_o = ndi.map_coordinates(line, coords, order=1, cval=0.0)
    lung_o = ndi.map_coordinates(lung.astype(np.float32), coords, order=1, cval=0.0) > 0.5
    body_o = ndi.map_coordinates(body.astype(np.float32), coords, order=1, cval=0.0) > 0.5
    img = grey_levels(rng, line_o, body_o)
    img = detector_look(rng, img)
    img = collimate(rng, img)
    img = burn_text(rng, img)
    img = draw_lines(rng, img, lung_o)
    return img, lung_o
