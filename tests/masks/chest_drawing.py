"""A drawn frontal chest (body, two dark lungs, bright mediastinum and heart) for laterality and quality tests."""

from __future__ import annotations

import numpy as np


def drawn_chest(size: int = 200, heart_shift: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """(display image, lung mask). ``heart_shift`` > 0 puts the heart toward the image right (usual display)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.full((size, size), 0.05, np.float32)  # air outside the body
    body = ((xx - 0.5) / 0.42) ** 2 + ((yy - 0.55) / 0.6) ** 2 < 1
    img[body] = 0.75
    lungs = np.zeros((size, size), bool)
    for cx in (0.3, 0.7):
        lungs |= ((xx - cx) / 0.15) ** 2 + ((yy - 0.45) / 0.27) ** 2 < 1
    heart = ((xx - 0.5 - heart_shift) / 0.16) ** 2 + ((yy - 0.62) / 0.12) ** 2 < 1
    lungs &= ~heart
    img[lungs] = 0.3
    img[heart] = 0.85
    return img, lungs


def image_right_lung(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[:, : mask.shape[1] // 2] = False
    return out
