"""Thin-plate warps that move a projected CT's lungs onto real lung shapes (torchxrayvision's hand-drawn masks).

Landmarks are points on each lung's outline sampled along rays from its centroid, in the same order for the
source (the CT's film lung label) and the target (a real two-lung shape placed over the source's lung box). The
warp is solved backwards (target → source) so the film and its label are resampled with the same field.
"""

from __future__ import annotations

import numpy as np

RAYS = 20  # landmarks per lung
GRID = 24  # the warp is evaluated on this coarse grid, then interpolated


def outline_points(lung: np.ndarray, rays: int = RAYS) -> np.ndarray:
    """[rays, 2] (row, col) of the farthest lung pixel from the centroid along each ray."""
    rows, cols = np.nonzero(lung)
    if rows.size == 0:
        raise ValueError("empty lung")
    cy, cx = rows.mean(), cols.mean()
    ang = np.arctan2(rows - cy, cols - cx)
    dist = np.hypot(rows - cy, cols - cx)
    bins = ((ang + np.pi) / (2 * np.pi) * rays).astype(int) % rays
    out = np.empty((rays, 2))
    for b in range(rays):
        sel = bins == b
        if not sel.any():  # a thin lung: fall back to the centroid
            out[b] = (cy, cx)
            continue
        i = np.argmax(np.where(sel, dist, -1.0))
        out[b] = (rows[i], cols[i])
    return out


def split_two(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The two largest regions of a two-lung mask, image-left first; None when there are not two."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask)
    if n < 2:
        return None
    sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
    a, b = 1 + np.argsort(sizes)[-2:]
    la, lb = lab == a, lab == b
    if np.nonzero(la)[1].mean() > np.nonzero(lb)[1].mean():
        la, lb = lb, la
    return la, lb


def target_points(
    rng: np.random.Generator, shape: np.ndarray, aspect: float, src_box: tuple[float, float, float, float]
) -> np.ndarray:
    """Landmarks of a real shape ([2, G, G] coverage, image-left lung first) placed over ``src_box``.

    ``src_box`` = (row0, col0, height, width) of the source lungs; the target box keeps the real shape's
    height/width ratio partly, with random size and shift, so lungs get taller, wider, narrower than the CT's.
    """
    r0, c0, h, w = src_box
    src_aspect = h / w
    new_w = w * rng.uniform(0.86, 1.12)
    new_h = h * (aspect / src_aspect) ** 0.7 * rng.uniform(0.9, 1.1)
    cy = r0 + h / 2 + rng.uniform(-0.04, 0.04) * h
    cx = c0 + w / 2 + rng.uniform(-0.03, 0.03) * w
    g = shape.shape[-1]
    pts = []
    for ch in range(2):
        p = outline_points(shape[ch] > 127)
        rows = cy - new_h / 2 + (p[:, 0] + 0.5) / g * new_h
        cols = cx - new_w / 2 + (p[:, 1] + 0.5) / g * new_w
        pts.append(np.stack([rows, cols], axis=1))
    return np.concatenate(pts)


def frame_anchors(h: int, w: int, n: int = 6) -> np.ndarray:
    """Points on the frame's border (and beyond) that stay put, so the warp fades out away from the lungs."""
    t = np.linspace(0, 1, n)
    pts = []
    for m in (-0.15, 1.15):
        pts += [(m * h, x * w) for x in t] + [(y * h, m * w) for y in t]
    return np.asarray(pts, float)


def backward_field(target: np.ndarray, source: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[2, H, W] source coordinates of every target pixel (thin-plate spline through the landmark pairs)."""
    from scipy import ndimage as ndi
    from scipy.interpolate import RBFInterpolator

    h, w = shape
    anchors = frame_anchors(h, w)
    tps = RBFInterpolator(
        np.concatenate([target, anchors]),
        np.concatenate([source, anchors]),
        kernel="thin_plate_spline",
        smoothing=2.0,
    )
    gy, gx = np.meshgrid(np.linspace(0, h - 1, GRID), np.linspace(0, w - 1, GRID), indexing="ij")
    coarse = tps(np.stack([gy.ravel(), gx.ravel()], axis=1)).reshape(GRID, GRID, 2)
    yy, xx = np.meshgrid(
        np.arange(h) * (GRID - 1) / max(1, h - 1), np.arange(w) * (GRID - 1) / max(1, w - 1), indexing="ij"
    )
    return np.stack([ndi.map_coordinates(coarse[..., k], [yy, xx], order=1) for k in range(2)])
