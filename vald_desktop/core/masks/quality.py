"""Is a lung mask plausible on this film? One check, shared by the app, the CLI and the tests.

Rules that hold for any frontal chest film, not numbers tuned to particular films:
- two lungs, each a real part of the film and neither a sliver of the other;
- the lungs, together, cover a believable part of the film;
- the lungs are darker than the mediastinum between them (aerated lung against heart and spine);
- the lungs lie inside the body: not on the film's darkest background (direct exposure beside the body), which
  reaches the film's edge — aerated lung is enclosed by ribs and soft tissue;
- each lung lies on its own side of the mediastinum;
- neither lung runs into the film's edge (a chest film frames the whole lung fields; a mask there has spilled, or
  the film was cropped through the lungs);
- neither lung falls into many pieces.
"""

from __future__ import annotations

import numpy as np

MIN_LUNG = 0.02  # each lung at least this share of the film
MAX_TOTAL = 0.65  # both lungs at most this share
MIN_TOTAL = 0.06
SIZE_RATIO = 0.3  # the smaller lung at least this share of the larger
MEDIASTINUM_MARGIN = 0.02  # the mediastinum is brighter than the lungs by at least this (display units)
OUTSIDE_SHARE = 0.2  # at most this share of a lung may lie on the background outside the body
BACKGROUND = (
    0.12  # background: below this fraction of the film's 1st–99th percentile range, touching the edge
)
MAX_PIECES = 3
EDGE_SHARE = 0.002  # at most this share of a lung may lie on the film's outermost 0.5 %


def plausibility(display: np.ndarray, left: np.ndarray, right: np.ndarray) -> list[str]:
    """Reasons the mask is implausible (one sentence each); empty when it passes every rule above."""
    from scipy import ndimage as ndi

    img = np.asarray(display, np.float32)
    left, right = np.asarray(left, bool), np.asarray(right, bool)
    size = img.size
    both = left | right
    total = float(both.sum()) / size
    if not both.any():
        return ["No lungs were found."]
    reasons: list[str] = []
    nl, nr = int(left.sum()), int(right.sum())
    if min(nl, nr) < MIN_LUNG * size:
        side = "left" if nl < nr else "right"
        reasons.append(f"Only one lung was found (the patient's {side} lung is missing or tiny).")
    elif min(nl, nr) < SIZE_RATIO * max(nl, nr):
        reasons.append("One lung is less than a third the size of the other.")
    if total > MAX_TOTAL:
        reasons.append(f"The mask covers {total:.0%} of the film: it spills outside the lungs.")
    elif total < MIN_TOTAL:
        reasons.append(f"The mask covers only {total:.0%} of the film: it misses most of the lungs.")
    lung_level = float(np.median(img[both]))
    gap = _between(left, right)
    if gap.sum() > 20 and float(np.median(img[gap])) < lung_level + MEDIASTINUM_MARGIN:
        reasons.append("The lungs are not darker than the mediastinum between them.")
    outside = background(img)
    for name, lung in (("left", left), ("right", right)):
        share = float(outside[lung].mean()) if lung.any() else 0.0
        if share > OUTSIDE_SHARE:
            reasons.append(
                f"The patient's {name} lung reaches outside the body ({share:.0%} of it lies on air)."
            )
    edge = _edge(img.shape)
    for name, lung in (("left", left), ("right", right)):
        if lung.any() and float(edge[lung].mean()) > EDGE_SHARE:
            reasons.append(
                f"The patient's {name} lung runs into the film's edge: cropped through, or the mask spills."
            )
    for name, lung in (("left", left), ("right", right)):
        _, pieces = ndi.label(lung)
        if pieces > MAX_PIECES:
            reasons.append(f"The patient's {name} lung falls into {pieces} pieces.")
    if nl and nr and not _apart(left, right):
        reasons.append("The two lungs are not one on each side of the mediastinum.")
    return reasons


def _edge(shape: tuple[int, ...]) -> np.ndarray:
    width = max(2, round(0.005 * max(shape[:2])))
    out = np.zeros(shape[:2], bool)
    out[:width], out[-width:], out[:, :width], out[:, -width:] = True, True, True, True
    return out


def background(img: np.ndarray) -> np.ndarray:
    """The film's darkest region that touches its edge: the air beside the body (direct exposure)."""
    from scipy import ndimage as ndi

    lo, hi = np.percentile(img, (1.0, 99.0))
    dark = img < lo + BACKGROUND * max(float(hi - lo), 1e-6)
    lab, n = ndi.label(dark)
    if n == 0:
        return np.asarray(dark, bool)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return np.isin(lab, edge[edge > 0])


def _between(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pixels between the two lungs' inner edges, on rows that show both (the mediastinum)."""
    out = np.zeros_like(left)
    xs = np.arange(left.shape[1])
    if not left.any() or not right.any():
        return out
    a_img, b_img = (
        (left, right) if xs[left.any(axis=0)].mean() < xs[right.any(axis=0)].mean() else (right, left)
    )
    for r in np.nonzero(a_img.any(axis=1) & b_img.any(axis=1))[0]:
        x0, x1 = xs[a_img[r]].max() + 1, xs[b_img[r]].min()
        if x1 > x0:
            out[r, x0:x1] = True
    return out


def _apart(left: np.ndarray, right: np.ndarray) -> bool:
    """Each lung on its own side: their column ranges overlap by less than a tenth of the narrower one."""
    xs = np.arange(left.shape[1])
    cl, cr = xs[left.any(axis=0)], xs[right.any(axis=0)]
    (a0, a1), (b0, b1) = sorted(((cl.min(), cl.max()), (cr.min(), cr.max())))
    overlap = max(0, a1 - b0 + 1)
    return bool(overlap < 0.1 * min(a1 - a0 + 1, b1 - b0 + 1))


def network_confidence(prob: np.ndarray, mask: np.ndarray) -> float:
    """How sure the network is: the mean of |2p − 1| over the mask and its fringe (p > 0.25).

    Resolution-free: a crisp lung field scores about 0.9 (only its outline is soft); a hesitant one, near 0.
    """
    region = (np.asarray(prob) > 0.25) | np.asarray(mask, bool)
    if not region.any():
        return 0.0
    return float(np.mean(np.abs(2.0 * prob[region] - 1.0)))
