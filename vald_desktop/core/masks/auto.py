"""The automatic lung mask with its verdict: the shipped network, sided by anatomy and header, checked.

1. The shipped segmenter (``models/lung-segmenter``) gives P(lung); the mask is its cleaned-up threshold.
2. Sides come from ``masks.laterality`` (header orientation, heart and mediastinum).
3. ``masks.quality.plausibility`` checks the result. When it fails, the atlas fit is tried as a cross-check: if
   the atlas mask passes, it is used (still "uncertain", saying why); otherwise the network's mask is kept.
4. The verdict: "ok" only when the mask is plausible and the sides are certain; confidence combines how sure
   the network is about its outline, the sides' evidence and the checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.masks.atlas_fit import work_image
from vald_desktop.core.masks.atlas_mask import auto_segment
from vald_desktop.core.masks.laterality import Sides, side_lungs
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.quality import network_confidence, plausibility


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def judged(
    display: np.ndarray, mask: np.ndarray, source: str, dataset: Any = None, confidence: float = 1.0
) -> tuple[LungMask, list[str], Sides]:
    """A LungMask sided and judged; also the plausibility reasons alone and the sides (for callers that compare)."""
    sides = side_lungs(display, mask, dataset)
    problems = plausibility(display, sides.left, sides.right)
    reasons = problems + sides.reasons
    conf = confidence * (1.0 if sides.certain else 0.6) * (0.5 if problems else 1.0)
    quality = "ok" if not problems and sides.certain else "uncertain"
    lm = LungMask(np.asarray(mask, bool).copy(), sides.left, sides.right, source)
    return lm.with_verdict(quality, conf, reasons), problems, sides


WORK_SIDE = 1024  # masks are found, sided and judged at most this large, then scaled to the film


def learned_mask(display: np.ndarray, dataset: Any = None, fallback: bool = True) -> LungMask:
    """The shipped network's mask of a display image, sided and judged (see the module docstring).

    The work is done on a copy no larger than WORK_SIDE (a 3k film costs what a 1k film does); the mask is then
    scaled to the film.
    """
    full = np.asarray(display, np.float32)
    small, _ = work_image(full, WORK_SIDE)
    mask = _learned(small, dataset, fallback)
    return mask if small.shape == full.shape else mask.resized((int(full.shape[0]), int(full.shape[1])))


def _learned(display: np.ndarray, dataset: Any, fallback: bool) -> LungMask:
    from vald_desktop.core.masks.learned import load_learned, lung_field

    seg = load_learned()
    prob = seg.probability(display)
    field = lung_field(prob)
    mask, problems, _ = judged(display, field, "learned", dataset, network_confidence(prob, field))
    if not problems or not fallback:
        return mask
    try:
        atlas = atlas_mask(display, dataset)
    except MaskError:  # the atlas cannot fit this picture either: keep the network's mask, flagged
        return mask.with_verdict(
            "uncertain", mask.confidence, [*mask.reasons, "The atlas fit finds no lungs either."]
        )
    agreement = dice(atlas.mask, field)
    if atlas.quality == "ok" or not plausibility(display, atlas.left, atlas.right):
        note = f"The learned mask was implausible; the atlas fit is used instead (the two agree with Dice {agreement:.2f})."
        return atlas.with_verdict("uncertain", min(atlas.confidence, 0.5), [*problems, note, *atlas.reasons])
    note = f"The atlas fit is no better (the two agree with Dice {agreement:.2f})."
    return mask.with_verdict("uncertain", mask.confidence, [*mask.reasons, note])


def atlas_mask(display: np.ndarray, dataset: Any = None) -> LungMask:
    """The atlas fit (``masks.atlas_fit``), sided and judged."""
    raw = auto_segment(display)
    return judged(display, raw.mask, "atlas", dataset, 0.7)[0]
