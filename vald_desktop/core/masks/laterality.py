"""Which lung is the patient's left: from the header and from anatomy, never from image halves alone.

Evidence:
- the header: Patient Orientation (0020,0020) names the direction the rows run. "L" (toward the patient's left)
  is the usual display of a frontal film: the patient's left on the image right. "R" means the film is shown
  mirrored: the patient's left is on the image *left*, and the lungs are labelled so.
- anatomy: the mediastinum between the lungs (the cut between them runs through it); the heart, whose shadow
  lies mostly to the patient's left of the rib cage's midline (:func:`heart_asymmetry`); and the diaphragm, whose
  right dome sits higher than the left over the liver (:func:`dome_offset`). Patient rotation moves the first two
  against each other, so their sum is the anatomy's score.

A film whose header and anatomy disagree (a mirrored export, dextrocardia) or that has neither clear evidence
is labelled but reported ``uncertain`` with the reason; it is never silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vald_desktop.core.masks.lung_mask import LungMask

STANDARD, MIRRORED = "standard", "mirrored"
# Heart + dome, measured on the real films here: 0.35 (RG1), 0.46 (davidson), 0.11 to 0.6 when they are cropped,
# rotated ±8°, re-windowed, framed or padded; held-out CT films 0.16 to 0.6; a mirrored film: negated.
HEART_CLEAR = 0.08  # |anatomy score| above which the anatomy counts as evidence
HEART_CONFLICT = 0.12  # ... and above which it contradicts a header that says otherwise


@dataclass(frozen=True)
class Sides:
    """Patient-left and patient-right lung masks, how they were decided, and why they may be doubted."""

    left: np.ndarray
    right: np.ndarray
    evidence: str  # "header", "anatomy", "header and anatomy", "convention"
    certain: bool
    anatomy_score: float | None  # heart + dome; positive: the usual display
    reasons: list[str] = field(default_factory=list)


def header_orientation(dataset: Any) -> tuple[str | None, str | None]:
    """(STANDARD | MIRRORED | None, reason) from Patient Orientation; a lateral row direction gives a reason."""
    if dataset is None:
        return None, None
    value = getattr(dataset, "PatientOrientation", None)
    if not value:
        return None, None
    parts = list(value) if not isinstance(value, str) else value.split("\\")
    row = str(parts[0]).upper() if parts else ""
    if row.startswith("L"):
        return STANDARD, None
    if row.startswith("R"):
        return MIRRORED, None
    return (
        None,
        f"Patient Orientation is {'/'.join(str(p) for p in parts)}: not a frontal film's orientation.",
    )


def split_image_halves(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(image-left lung, image-right lung, mediastinum column) — the cut runs through the gap between the lungs.

    The cut is the column, within the middle of the mask's extent, that the fewest lung pixels cross; pieces go
    to the side their centroid lies on, so a lung drawn touching the other is cut there.
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask, bool)
    cols = np.nonzero(mask.any(axis=0))[0]
    if cols.size == 0:
        return mask.copy(), mask.copy(), mask.shape[1] / 2
    lo, hi = cols.min(), cols.max()
    span = hi - lo + 1
    a, b = lo + int(0.3 * span), lo + int(0.7 * span) + 1
    counts = ndi.uniform_filter1d(mask.sum(axis=0).astype(np.float32), size=max(1, span // 40))
    window = counts[a:b]
    low = np.nonzero(window <= window.min() + 0.5)[0]
    cut = a + float(low.mean()) + 0.5 if window.size else mask.shape[1] / 2
    lab, n = ndi.label(mask)
    image_left = np.zeros_like(mask)
    centroids = ndi.center_of_mass(mask, lab, index=np.arange(1, n + 1)) if n else []
    xs = np.arange(mask.shape[1]) + 0.5
    for i, (_, cx) in enumerate(centroids, start=1):
        piece = lab == i
        share = float((piece[:, xs < cut]).sum()) / max(1, int(piece.sum()))
        if 0.1 < share < 0.9:  # straddles the cut: split it there
            image_left |= piece & (xs < cut)[None, :]
        elif cx < cut:
            image_left |= piece
    return image_left, mask & ~image_left, cut


def heart_asymmetry(display: np.ndarray, image_left: np.ndarray, image_right: np.ndarray) -> float | None:
    """Where the heart lies, low in the chest, relative to the midline of the rib cage (half chest widths).

    The midline is halfway between the lungs' outer edges (the rib cage is near symmetric). On rows between 55 %
    and 85 % of the height the lungs share, two witnesses: the centroid of the film's brightness above the lungs'
    own level *between* the lungs (the heart's shadow, in half chest widths from the midline), and how much
    further the gap between the lungs reaches to one side than the other (a share of the gap). Their sum is
    returned; positive: the heart lies to the image right (a usually displayed frontal film). The outline is the
    steadier witness (a consolidation beside the heart moves the shadow's centroid); the shadow breaks ties.
    None when the lungs share too few rows to tell.
    """
    rows = np.nonzero(image_left.any(axis=1) & image_right.any(axis=1))[0]
    if rows.size < 12:
        return None
    xs = np.arange(image_left.shape[1])
    outer_l = np.array([xs[image_left[r]].min() for r in rows], float)
    outer_r = np.array([xs[image_right[r]].max() for r in rows], float)
    inner_l = np.array([xs[image_left[r]].max() for r in rows], float)
    inner_r = np.array([xs[image_right[r]].min() for r in rows], float)
    mid = float(np.median((outer_l + outer_r) / 2))
    half = float(np.median(outer_r - outer_l)) / 2
    lo, hi = int(0.55 * rows.size), max(int(0.85 * rows.size), int(0.55 * rows.size) + 1)
    if half < 4:
        return None
    to_right = float(np.median(inner_r[lo:hi] - mid))
    to_left = float(np.median(mid - inner_l[lo:hi]))
    gap = float(np.clip((to_right - to_left) / max(to_right + to_left, 1e-6), -1.0, 1.0))
    img = np.asarray(display, np.float32)
    level = float(np.median(img[image_left | image_right]))
    num = den = 0.0
    for i in range(lo, hi):
        x0, x1 = int(inner_l[i]) + 1, int(inner_r[i])
        if x1 > x0:
            excess = np.clip(img[rows[i], x0:x1] - level, 0.0, None)
            num += float((np.arange(x0, x1) * excess).sum())
            den += float(excess.sum())
    shadow = (num / den - mid) / half if den > 1e-6 else 0.0
    return gap + shadow


def dome_offset(image_left: np.ndarray, image_right: np.ndarray) -> float | None:
    """How much lower the image-right lung reaches than the image-left one, in heights of the lungs.

    Positive on a usually displayed film: the right hemidiaphragm, over the liver, sits higher than the left. The
    lowest 5 % of each lung's rows are ignored (a costophrenic tip drawn a little long).
    """
    if not image_left.any() or not image_right.any():
        return None
    rows_l, rows_r = np.nonzero(image_left)[0], np.nonzero(image_right)[0]
    height = float(max(rows_l.max(), rows_r.max()) - min(rows_l.min(), rows_r.min()) + 1)
    return float(np.percentile(rows_r, 95) - np.percentile(rows_l, 95)) / height


def side_lungs(display: np.ndarray, mask: np.ndarray, dataset: Any = None) -> Sides:
    """Split a two-lung mask into the patient's left and right lung (see the module docstring)."""
    image_left, image_right, _ = split_image_halves(mask)
    header, header_reason = header_orientation(dataset)
    heart, dome = heart_asymmetry(display, image_left, image_right), dome_offset(image_left, image_right)
    asym = None if heart is None or dome is None else heart + dome
    anatomy = None if asym is None or abs(asym) < HEART_CLEAR else (STANDARD if asym > 0 else MIRRORED)
    reasons: list[str] = [header_reason] if header_reason else []
    if header is not None:
        # The header decides; anatomy can only raise a doubt.
        orientation, evidence, certain = header, "header", True
        if anatomy is not None and anatomy != header and abs(asym or 0.0) >= HEART_CONFLICT:
            certain = False
            reasons.append(
                "The heart lies on the patient's right by the header's orientation: a mirrored film or "
                "dextrocardia; check the side marker."
            )
        elif anatomy == header:
            evidence = "header and anatomy"
    elif anatomy == STANDARD:
        orientation, evidence, certain = STANDARD, "anatomy", True
    else:
        # No header: the labels follow the usual display, and the film says so when anatomy cannot confirm it.
        orientation, evidence, certain = STANDARD, "convention", False
        if anatomy == MIRRORED:
            reasons.append(
                "The heart lies on the image left and the header gives no orientation: a mirrored film or "
                "dextrocardia; labelled as usually displayed — check the side marker."
            )
        else:
            reasons.append(
                "Which lung is the patient's left cannot be told: no orientation in the header, and the heart and "
                "the diaphragm do not say; labelled as usually displayed (patient's left on the image right)."
            )
    certain = (
        certain and header_reason is None
    )  # a lateral orientation in the header: these are no frontal sides
    if orientation == STANDARD:
        left, right = image_right, image_left
    else:
        left, right = image_left, image_right
    return Sides(left, right, evidence, certain, None if asym is None else round(asym, 3), reasons)


def drawn_sides(mask: LungMask, dataset: Any = None) -> LungMask:
    """A drawn mask's sides (split by image halves) as the header shows the film: swapped when it is mirrored."""
    if header_orientation(dataset)[0] != MIRRORED:
        return mask
    return replace(mask, left=mask.right, right=mask.left)
