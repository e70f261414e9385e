"""The atlas fit as a mask (``masks.atlas_fit``): the automatic mask before the learned segmenter, now its fallback."""

from __future__ import annotations

import numpy as np

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.base.gridsample import upsample
from vald_desktop.core.masks.atlas_fit import fill_effusions, fit_lungs, refine, render_fit, work_image
from vald_desktop.core.masks.lung_mask import LungMask

REFINE_SIDE = 256  # the automatic mask is refined at this long side, then scaled to the film


def auto_segment(image: np.ndarray) -> LungMask:
    """The built-in automatic lung mask of a display image (float HxW in [0, 1], bone bright)."""
    img = np.asarray(image, np.float32)
    if img.ndim != 2 or min(img.shape) < 16:
        raise MaskError("The automatic lung mask needs a 2-D film of at least 16 x 16 pixels.")
    if not np.all(np.isfinite(img)) or float(img.max() - img.min()) < 1e-6:
        raise MaskError("The film is blank; no lung mask can be found on it.")
    fit = fit_lungs(img)
    # Refine on a copy of moderate size (distance transforms on a 2000-pixel film would be slow), then scale up.
    small, scale = work_image(img, REFINE_SIDE)
    lungs = refine(render_fit(fit, small.shape, scale=scale), small, fit, scale)
    lungs = fill_effusions(lungs, small, fit, scale)
    h, w = img.shape
    if small.shape != img.shape:
        from scipy import ndimage as ndi

        soft = np.stack([ndi.gaussian_filter(ch.astype(np.float32), 0.7) for ch in lungs])
        lungs = upsample(soft, h, w) > 0.5
    right, left = lungs[0], lungs[1] & ~lungs[0]  # channel 0 = image left = patient right
    return LungMask(right | left, left, right, "atlas")
