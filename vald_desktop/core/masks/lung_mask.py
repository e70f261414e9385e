"""The LungMask type (a leaf: segmenters, editors and the engine import it) and the left/right split.

Laterality is radiological: on a PA/AP film the patient's **left** lung is on the **image right**.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

QUALITIES = ("ok", "uncertain")


@dataclass(frozen=True)
class LungMask:
    """A binary lung mask at the film's size, split into the patient's left and right lung."""

    mask: np.ndarray  # bool HxW, both lungs
    left: np.ndarray  # bool HxW, the PATIENT's left lung (image right on PA/AP)
    right: np.ndarray  # bool HxW, the patient's right lung (image left)
    source: str  # one of SOURCES
    # The verdict: "ok" (plausible, sided) or "uncertain" (with one-line reasons); confidence in [0, 1].
    # Masks a person drew or chose (file, dataset, edited) are taken as given: "ok", confidence 1.
    quality: str = "ok"
    confidence: float = 1.0
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_mask(cls, mask: np.ndarray, source: str) -> LungMask:
        """Split a two-lung mask into patient left / right (see :func:`split_lungs`)."""
        mask = np.asarray(mask, bool)
        left, right = split_lungs(mask)
        return cls(mask.copy(), left, right, source)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.mask.shape[0]), int(self.mask.shape[1])

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0

    @property
    def left_fraction(self) -> float:
        return float(self.left.mean()) if self.left.size else 0.0

    @property
    def right_fraction(self) -> float:
        return float(self.right.mean()) if self.right.size else 0.0

    @property
    def is_empty(self) -> bool:
        return not bool(self.mask.any())

    @property
    def is_uncertain(self) -> bool:
        return self.quality != "ok"

    def resized(self, shape: tuple[int, int]) -> LungMask:
        """Nearest-neighbour resize to ``shape`` (rows, columns); left / right and the verdict are kept."""
        return replace(
            self,
            mask=resize_nearest(self.mask, shape),
            left=resize_nearest(self.left, shape),
            right=resize_nearest(self.right, shape),
        )

    def with_verdict(self, quality: str, confidence: float, reasons: tuple[str, ...] | list[str]) -> LungMask:
        """The same mask with another verdict (quality one of QUALITIES, confidence clipped to [0, 1])."""
        if quality not in QUALITIES:
            raise ValueError(f"quality must be one of {QUALITIES}, not {quality!r}")
        return replace(
            self, quality=quality, confidence=float(min(1.0, max(0.0, confidence))), reasons=tuple(reasons)
        )

    def verdict(self) -> dict[str, Any]:
        """The mask's JSON block (``vald mask --json``, run.json ``mask``); "left" is the patient's left lung."""
        total = max(1, self.mask.size)

        def lung(a: np.ndarray) -> dict[str, float | int]:
            n = int(a.sum())
            return {"area_pct": round(100.0 * n / total, 2), "pixels": n}

        return {
            "source": self.source,
            "quality": self.quality,
            "confidence": round(float(self.confidence), 3),
            "reasons": list(self.reasons),
            "lungs": {"left": lung(self.left), "right": lung(self.right)},
        }


def resize_nearest(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = a.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.intp), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.intp), w - 1)
    out: np.ndarray = a[rows[:, None], cols[None, :]]
    return out


def split_lungs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patient left, patient right) of a lung mask.

    Each connected component goes to the side of the midline its pixels mostly lie on; a component that
    straddles the midline (lungs drawn touching) is cut at it. The midline runs through the gap between the
    two largest components, or through the middle of the picture when there is only one.
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask, bool)
    left = np.zeros_like(mask)
    right = np.zeros_like(mask)
    if not mask.any():
        return left, right
    lab, n = ndi.label(mask)
    objects = ndi.find_objects(lab)
    mid = mask.shape[1] / 2
    if n >= 2:
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
        a, b = sorted(np.argsort(sizes)[-2:], key=lambda i: objects[i][1].start)
        gap_lo, gap_hi = objects[a][1].stop, objects[b][1].start
        # Two lungs side by side: cut in their gap; overlapping in x (odd drawings): keep the picture's middle.
        if gap_hi >= gap_lo and sizes[b] > 0.1 * sizes[a] and sizes[a] > 0.1 * sizes[b]:
            mid = (gap_lo + gap_hi) / 2
    image_right = (np.arange(mask.shape[1]) + 0.5 >= mid)[None, :]
    for i, sl in enumerate(objects, start=1):
        comp = lab[sl] == i
        xs = np.nonzero(comp)[1] + sl[1].start + 0.5
        share_right = float((xs >= mid).mean())
        target = np.zeros_like(mask)
        target[sl] = comp
        if share_right > 0.9:
            left |= target
        elif share_right < 0.1:
            right |= target
        else:
            left |= target & image_right
            right |= target & ~image_right
    return left, right
