"""Automatic lung mask: fit the statistical lung shape model (``lung_atlas``) to a film.

Why not thresholding: the lungs are the dark fields of a chest film only while they are aerated; an opacity,
an effusion or a consolidation makes part of a lung as bright as the mediastinum, and any intensity rule
drops it from the mask — exactly in the films where the mask matters. Here intensity only *places* a
plausible lung shape:

1. work on a small copy (long side ``WORK``); robust contrast; air outside the body (dark and connected to
   the border) is treated like soft tissue so it cannot pass for lung;
2. coarse search over the lung box (centre, width, height) with the mean shape, scored by the correlation of
   a soft template (lung = 1, surroundings = 0, on a canvas beyond the box) with the darkness of the film;
3. local refinement of the box and the shape-mode coefficients (Powell), with a penalty that keeps the
   coefficients near the population (an opacified lobe cannot simply be cut away);
4. render the fitted signed distance maps at the film's own resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vald_desktop.core.base.gridsample import sample_grid
from vald_desktop.core.masks.atlas import BOX, Atlas, canvas_coords, load_atlas

WORK = 128  # long side of the working image
TAU = 0.03  # template edge softness, box units
RING = 0.12  # width of the surroundings the template compares the lungs with, box units
PRIOR = 0.001  # weight of the shape prior per squared sigma
MAX_SIGMA = 2.5  # shape coefficients stay within this many standard deviations
N_MODES = 12
MAXFEV = (600, 800)  # Powell budgets of the two fitting stages
FINE_STEP = 3  # canvas subsampling while refining the fit
COARSE_STEP = 4  # ... and during the coarse search
LUNG_PRIOR = 2.0  # keeps the per-lung moves small (squared box units)
R_OUT = 0.05  # refinement band outside the fitted outline, in lung-box widths
R_IN = 0.025  # ... and inside it


@dataclass(frozen=True)
class Fit:
    """A fitted lung model: per-lung boxes in pixels of the *input* image and mode coefficients (in sigmas)."""

    boxes: tuple[
        tuple[float, float, float, float], tuple[float, float, float, float]
    ]  # per lung x0, y0, w, h
    coeffs: np.ndarray
    score: float


def work_image(image: np.ndarray, side: int = WORK) -> tuple[np.ndarray, float]:
    """Area-downsampled copy with the long side ``side``, and the scale factor (input px per work px)."""
    from PIL import Image

    h, w = image.shape
    scale = max(h, w) / side
    if scale <= 1:
        return image.astype(np.float32), 1.0
    small = Image.fromarray(image.astype(np.float32), mode="F").resize(
        (max(1, round(w / scale)), max(1, round(h / scale))), Image.Resampling.BOX
    )
    out = np.asarray(small, np.float32)
    return out, h / out.shape[0]


def lungness(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(darkness scaled to about [0, 1], body mask): air outside the body is no evidence either way."""
    from scipy import ndimage as ndi

    lo, med, hi = np.percentile(work, [1, 50, 99])
    img = np.clip((work - lo) / max(hi - lo, 1e-6), 0, 1)
    dark = (1.0 - img).astype(np.float32)
    body = np.ones(img.shape, np.float32)
    # Air: clearly darker than the typical film and connected to the image border.
    t_air = 0.35 * (med - lo) / max(hi - lo, 1e-6)
    lab, n = ndi.label(img < t_air)
    if n:
        edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
        air = np.isin(lab, edge[edge > 0])
        # Guard: never let "air" swallow the middle of the picture (a lung reaching the border on a tight crop).
        h, w = img.shape
        if air[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean() < 0.1:
            body[air] = 0.0
    return dark, body


class _Scorer:
    """Correlation of each lung's template with the film's darkness, for per-lung boxes and mode coefficients."""

    def __init__(self, atlas: Atlas, feature: tuple[np.ndarray, np.ndarray], step: int = 1) -> None:
        self.atlas = atlas
        # Darkness and validity stacked: sampled together, validity 0 = air or beyond the picture.
        self.feature = np.stack(feature).astype(np.float32)
        self.coords = canvas_coords()[::step]
        self.step = step
        # The model at this scorer's resolution, so each evaluation mixes small arrays.
        self._mean = np.ascontiguousarray(atlas.mean[:, ::step, ::step])
        self._modes = np.ascontiguousarray(atlas.modes[:, :, ::step, ::step])
        self._sigma = atlas.sigma
        self._mean_t = self._templates(None)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.feature.shape[1]), int(self.feature.shape[2])

    def _templates(self, coeffs: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per lung (template, weight): lung = 1 inside, 0 in a ring around it, farther ignored (weight 0).

        Only the lungs' *immediate* surroundings count: chest wall, mediastinum, diaphragm. Farther tissue
        (thin body edges, abdomen, arms) varies too much between films to be evidence either way.
        """
        out = []
        sdfs = self._mean
        if coeffs is not None and len(coeffs):
            k = len(coeffs)
            sdfs = sdfs + np.tensordot(
                (np.asarray(coeffs) * self._sigma[:k]).astype(np.float32), self._modes[:k], 1
            )
        for sdf in sdfs:
            t = 1.0 / (1.0 + np.exp(np.clip(sdf / TAU, -30, 30)))
            wgt = 1.0 / (1.0 + np.exp(np.clip((sdf - RING) / TAU, -30, 30)))
            out.append((t.astype(np.float32), wgt.astype(np.float32)))
        return out

    def sample(self, x0: float, y0: float, w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
        hh, ww = self.shape
        ys = y0 + self.coords * h
        xs = x0 + self.coords * w
        f = sample_grid(self.feature, np.clip(ys - 0.5, 0, hh - 1), np.clip(xs - 0.5, 0, ww - 1))
        inside = ((ys >= 0) & (ys <= hh))[:, None] & ((xs >= 0) & (xs <= ww))[None, :]
        return f[0], f[1] * inside

    def score(
        self, boxes: list[tuple[float, float, float, float]], coeffs: np.ndarray | None = None
    ) -> float:
        """Mean over both lungs of the weighted correlation of template and darkness."""
        templates = self._mean_t if coeffs is None else self._templates(coeffs)
        total = 0.0
        for i, (t, wgt) in enumerate(templates):
            if i == 0 or boxes[i] != boxes[i - 1]:
                f, valid = self.sample(*boxes[i])
            w = wgt * valid
            sw = w.sum()
            if sw < 1e-6:
                continue
            mt = (w * t).sum() / sw
            mf = (w * f).sum() / sw
            dt, df = t - mt, f - mf
            cov = (w * dt * df).sum()
            var = (w * dt * dt).sum() * (w * df * df).sum()
            total += float(cov / np.sqrt(max(var, 1e-18)))
        return total / len(templates)


def _coarse(scorer: _Scorer, atlas: Atlas) -> tuple[float, float, float, float]:
    hh, ww = scorer.shape
    best = (-2.0, (0.0, 0.0, 1.0, 1.0))
    a_mean, a_std = atlas.aspect
    for wf in np.linspace(0.42, 0.95, 9):
        w = wf * ww
        for aspect in np.linspace(a_mean - 2 * a_std, a_mean + 2 * a_std, 5):
            h = aspect * w
            if h > 0.98 * hh or h < 0.3 * hh:
                continue
            for cx in np.linspace(0.38, 0.62, 7) * ww:
                for top in np.linspace(0.0, 0.98 * hh - h, 7):
                    box = (cx - w / 2, top, w, h)
                    s = scorer.score([box, box])
                    if s > best[0]:
                        best = (s, box)
    return best[1]


def _boxes(base: tuple[float, float, float, float], p: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Common box moves p[0:4], then per-lung moves p[4:8] and p[8:12] (shift and log-scale, in box units)."""
    x0, y0, w, h = base
    x0, y0, w, h = x0 + p[0] * w, y0 + p[1] * h, w * np.exp(p[2]), h * np.exp(p[3])
    out = []
    for q in (p[4:8], p[8:12]):
        # Scale each lung about the box centre so a per-lung scale does not drag it sideways.
        sw, sh = np.exp(q[2]), np.exp(q[3])
        cx, cy = x0 + w / 2, y0 + h / 2
        out.append((cx - sw * w / 2 + q[0] * w, cy - sh * h / 2 + q[1] * h, sw * w, sh * h))
    return out


def fit_lungs(image: np.ndarray, atlas: Atlas | None = None) -> Fit:
    """Fit the lung shape model to a display image (float HxW, bone bright)."""
    from scipy.optimize import minimize

    atlas = atlas or load_atlas()
    work, scale = work_image(np.asarray(image, np.float32))
    feature = lungness(work)
    coarse = _coarse(_Scorer(atlas, feature, step=COARSE_STEP), atlas)
    scorer = _Scorer(atlas, feature, step=FINE_STEP)
    k = min(N_MODES, len(atlas.sigma))

    def cost(p: np.ndarray) -> float:
        c = np.clip(p[12:], -MAX_SIGMA, MAX_SIGMA)
        return (
            -scorer.score(_boxes(coarse, p), c)
            + PRIOR * float((c**2).sum())
            + LUNG_PRIOR * float((p[4:12] ** 2).sum())
        )

    # Stage 1: one box for both lungs plus the shape modes; stage 2: let each lung move and scale a little.
    p = np.zeros(12 + k)
    free1 = np.r_[0:4, 12 : 12 + k]

    def cost1(q: np.ndarray) -> float:
        full = p.copy()
        full[free1] = q
        return cost(full)

    res = minimize(
        cost1, p[free1], method="Powell", options={"xtol": 1e-2, "ftol": 1e-4, "maxfev": MAXFEV[0]}
    )
    p[free1] = res.x
    res = minimize(cost, p, method="Powell", options={"xtol": 1e-2, "ftol": 1e-4, "maxfev": MAXFEV[1]})
    p = res.x
    boxes = tuple(tuple(float(v) * scale for v in b) for b in _boxes(coarse, p))
    coeffs = np.clip(p[12:], -MAX_SIGMA, MAX_SIGMA).astype(np.float32)
    return Fit(boxes, coeffs, float(-res.fun))  # type: ignore[arg-type]


def render_fit(
    fit: Fit, shape: tuple[int, int], atlas: Atlas | None = None, scale: float = 1.0
) -> np.ndarray:
    """Bool [2, H, W] lungs of a fit (channel 0 image-left, 1 image-right) on an image of ``shape``.

    ``scale``: pixels of the fitted (input) image per pixel of the target image.
    """
    atlas = atlas or load_atlas()
    sdf = atlas.sdf(fit.coeffs)
    c = sdf.shape[-1]
    h, w = shape
    margin = (c / BOX - 1) / 2
    lungs = np.zeros((2, h, w), bool)
    for ch, box in enumerate(fit.boxes):
        x0, y0, bw, bh = (v / scale for v in box)
        # Image pixel centre → box coordinate → fractional canvas index (sample i sits at (i+0.5)/BOX - MARGIN).
        ry = ((np.arange(h, dtype=np.float32) + 0.5 - y0) / bh + margin) * BOX - 0.5
        rx = ((np.arange(w, dtype=np.float32) + 0.5 - x0) / bw + margin) * BOX - 0.5
        vals = sample_grid(sdf[ch], np.clip(ry, 0, c - 1), np.clip(rx, 0, c - 1))
        inside = ((ry >= 0) & (ry <= c - 1))[:, None] & ((rx >= 0) & (rx <= c - 1))[None, :]
        lungs[ch] = (vals < 0) & inside
    return lungs


def refine(lungs: np.ndarray, image: np.ndarray, fit: Fit, scale: float) -> np.ndarray:
    """Snap the fitted outline to the film's lung edges within a narrow band.

    Per lung: a pixel near the fitted border (up to R_OUT outside, R_IN inside) is lung when it is darker than
    the midpoint between the lung's core and its surroundings. The band is narrow and lopsided on purpose:
    an opacity touching the pleura can only nibble R_IN off the fitted shape, never cut a lobe away.
    ``scale`` is input pixels per pixel of ``image``/``lungs``.
    """
    from scipy import ndimage as ndi

    dark, body_f = lungness(image)
    body = body_f > 0.5  # air outside the body is dark too, but never lung
    out = np.zeros_like(lungs)
    for ch in range(2):
        m = lungs[ch]
        if m.sum() < 20:
            out[ch] = m
            continue
        bw = fit.boxes[ch][2] / scale
        r_out = max(1.0, R_OUT * bw)
        r_in = max(1.0, R_IN * bw)
        d_in = ndi.distance_transform_edt(m)
        d_out = ndi.distance_transform_edt(~m)
        core = d_in > 2 * r_in
        ring = (d_out > r_out) & (d_out < 2.5 * r_out) & ~lungs[1 - ch] & body
        if core.sum() < 10 or ring.sum() < 10:
            out[ch] = m
            continue
        # The aerated part of the core sets the lung level (an opacity must not drag it towards tissue).
        t = 0.5 * (np.percentile(dark[core], 75) + np.median(dark[ring]))
        band = ((d_in > 0) & (d_in <= r_in)) | ((d_out > 0) & (d_out <= r_out))
        new = (m & ~band) | (band & (dark > t) & body)
        # Smooth the snapped outline: rib edges and noise should not make it ragged.
        new = ndi.gaussian_filter(new.astype(np.float32), max(1.0, 0.012 * bw)) > 0.5
        lab, n = ndi.label(new)
        if n > 1:
            sizes = ndi.sum(new, lab, index=np.arange(1, n + 1))
            new = lab == (np.argmax(sizes) + 1)
        out[ch] = ndi.binary_fill_holes(new)
    out[1] &= ~out[0]
    return out


EFFUSION_GAP = 0.10  # a lung base this much higher than the other's (in lung heights) may hide fluid
MENISCUS = 0.02  # ... when the lung's lower edge on the film rises towards the chest wall by this much
RIGHT_HIGHER = 0.035  # the patient's right lung base sits this much higher on average (the 434 real masks)


def _rows(m: np.ndarray) -> tuple[int, int]:
    ys = np.nonzero(m.any(1))[0]
    return int(ys[0]), int(ys[-1])


def meniscus_rise(lung: np.ndarray, dark: np.ndarray, threshold: float, lateral_first: bool) -> float:
    """How far the lung's lower edge *on the film* rises from the middle of the lung to the chest wall.

    Per column, the lowest row (down to 30 % of the lung's height below it) where the film is lung-dark.
    A normal base is lowest at the costophrenic angle (negative result); pleural fluid lies higher laterally
    (a meniscus) and blunts that angle (positive). In lung heights.
    """
    cols = np.nonzero(lung.any(0))[0]
    top, bottom = _rows(lung)
    height = max(bottom - top, 1)
    stop = min(dark.shape[0], bottom + int(0.3 * height))
    edge = []
    for c in range(int(cols[0]), int(cols[-1]) + 1):
        ys = np.nonzero(dark[top:stop, c] > threshold)[0]
        edge.append(top + (ys[-1] if len(ys) else 0))
    e = np.asarray(edge, np.float32)
    q = len(e) // 4
    if q < 2:
        return 0.0
    lateral = e[:q] if lateral_first else e[-q:]
    return float((np.median(e[q : len(e) - q]) - np.median(lateral)) / height)


def fill_effusions(lungs: np.ndarray, image: np.ndarray, fit: Fit, scale: float) -> np.ndarray:
    """Give back the base of a lung that pleural fluid hides.

    Fluid at a lung base is as bright as the abdomen below the diaphragm, so both the fit and the refinement
    stop at the fluid's upper edge and the mask loses the base, the very region an effusion map is about.
    Two cues together say fluid rather than a high diaphragm: that lung's base is much higher than the other
    one's (EFFUSION_GAP), and the film's lung edge there rises towards the chest wall (a meniscus) instead of
    dipping into the costophrenic angle. Then the fitted lung shape is stretched down to the other lung's base
    level (less the usual height difference) and its lower part added. One-sided fluid only: with fluid on
    both sides there is no healthy base to compare with.
    """
    from scipy import ndimage as ndi

    if lungs[0].sum() < 20 or lungs[1].sum() < 20:
        return lungs
    dark, body = lungness(image)
    inside = body > 0.5
    # Air outside the body is dark but never lung: it must not pass for the lung's lower edge.
    dark = ndi.gaussian_filter(dark * inside, 1.0)
    (t0, b0), (t1, b1) = _rows(lungs[0]), _rows(lungs[1])
    height = max(b0 - t0, b1 - t1, 1)
    # Channel 0 is the image left = the patient's right lung, whose base is normally the higher one.
    expected = {0: b1 - RIGHT_HIGHER * height, 1: b0 + RIGHT_HIGHER * height}
    bottoms = (b0, b1)
    out = lungs.copy()
    for ch in (0, 1):
        if expected[ch] - bottoms[ch] < EFFUSION_GAP * height:
            continue
        m = lungs[ch]
        core = ndi.distance_transform_edt(m) > 3
        ring = ~m & ~lungs[1 - ch] & inside
        if core.sum() < 10 or ring.sum() < 10:
            continue
        threshold = 0.5 * (np.percentile(dark[core], 75) + np.median(dark[ring]))
        if meniscus_rise(m, dark, threshold, lateral_first=(ch == 0)) < MENISCUS:
            continue
        delta = (expected[ch] - bottoms[ch]) * scale  # in pixels of the fitted image
        boxes = list(fit.boxes)
        x0, y0, w, h = boxes[ch]
        boxes[ch] = (x0, y0, w, h + delta)
        stretched = render_fit(Fit(tuple(boxes), fit.coeffs, fit.score), image.shape, scale=scale)[ch]  # type: ignore[arg-type]
        # Only below the lung's present lower edge (higher up, the refined outline already follows the film)
        # and within its present width (the stretched model is a guess, its sides least of all).
        has_lung = m.any(0)
        lowest = m.shape[0] - 1 - np.argmax(m[::-1], axis=0)
        below = (np.arange(m.shape[0])[:, None] > lowest[None, :]) & has_lung[None, :]
        out[ch] |= stretched & below & inside & ~lungs[1 - ch]
    out[1] &= ~out[0]
    return out
