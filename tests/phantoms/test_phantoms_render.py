"""Phantom generator: exact twins, consistent masks, laterality, determinism, film-like appearance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from vald_desktop.core.base.errors import DataError
from vald_phantoms.phantom import FINDINGS, make_phantom, prompt_for

ABNORMAL = [f for f in FINDINGS if f != "normal"]


@pytest.mark.parametrize("finding", FINDINGS)
def test_abnormal_phantom_equals_its_healthy_twin_outside_the_lesion(finding: str) -> None:
    for seed in (1, 2, 3):
        ph = make_phantom(seed, finding, size=128)
        assert ph.image.shape == ph.healthy.shape == ph.lesion_mask.shape == ph.lung_mask.shape == (128, 128)
        assert ph.image.dtype == np.float32 and ph.lesion_mask.dtype == bool and ph.lung_mask.dtype == bool
        assert ph.image.min() >= 0.0 and ph.image.max() <= 1.0
        outside = ~ph.lesion_mask
        assert np.array_equal(ph.image[outside], ph.healthy[outside]), "twin differs outside the lesion mask"
        if finding == "normal":
            assert not ph.lesion_mask.any()
        else:
            assert ph.lesion_mask.any(), f"{finding} phantom has an empty lesion mask"
            # The lesion is visible: it brightens the film on average where it sits.
            assert ph.image[ph.lesion_mask].mean() > ph.healthy[ph.lesion_mask].mean() + 0.02


@pytest.mark.parametrize("finding", ABNORMAL)
def test_lesions_sit_in_the_lungs(finding: str) -> None:
    for seed in (5, 6):
        ph = make_phantom(seed, finding, size=128)
        # Lesions may tint the one-pixel anti-aliased rim of the lung outline, never beyond it.
        lungs = ndi.binary_dilation(ph.lung_mask, iterations=1)
        outside = (ph.lesion_mask & ~lungs).sum()
        assert outside == 0, f"{outside} pixels of the {finding} lesion lie outside the lungs"
        assert (ph.lesion_mask & ph.lung_mask).sum() > 0.6 * ph.lesion_mask.sum()


def test_the_twin_of_every_finding_is_the_normal_phantom_of_the_same_seed() -> None:
    normal = make_phantom(11, "normal", size=96)
    for finding in ABNORMAL:
        assert np.array_equal(make_phantom(11, finding, size=96).healthy, normal.image)


def test_same_seed_same_phantom_and_other_seed_other_phantom() -> None:
    a = make_phantom(7, "lung_opacity", size=96)
    b = make_phantom(7, "lung_opacity", size=96)
    c = make_phantom(8, "lung_opacity", size=96)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.lesion_mask, b.lesion_mask)
    assert a.laterality == b.laterality and a.prompt == b.prompt
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("finding", ["lung_opacity", "effusion", "nodule"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_patient_left_lesion_is_on_the_image_right(finding: str, side: str) -> None:
    ph = make_phantom(21, finding, size=128, laterality=side)
    assert ph.laterality == side
    cols = np.nonzero(ph.lung_mask.any(axis=0))[0]
    midline = (cols[0] + cols[-1]) / 2
    cx = np.nonzero(ph.lesion_mask)[1].mean()
    on_image_right = cx > midline
    assert on_image_right == (side == "left"), f"{finding} on the patient's {side} drawn on the wrong side"


def test_prompts_name_the_patient_side() -> None:
    assert make_phantom(3, "normal").prompt == "normal chest x-ray"
    assert make_phantom(3, "lung_opacity", laterality="left").prompt == "large lung opacity on the left"
    assert make_phantom(3, "effusion", laterality="right").prompt == "pleural effusion on the right"
    assert prompt_for("nodule", "left") == "carcinoma"
    assert make_phantom(3, "covid19").prompt == "COVID 19"
    assert make_phantom(3, "viral_pneumonia").laterality == "bilateral"
    assert make_phantom(3, "cardiomegaly").laterality == "none"


def test_random_laterality_uses_both_sides() -> None:
    sides = {make_phantom(s, "lung_opacity", size=64).laterality for s in range(12)}
    assert sides == {"left", "right"}


def test_large_opacity_fills_a_good_part_of_one_lung() -> None:
    for seed in range(4):
        ph = make_phantom(seed, "lung_opacity", size=128, laterality="right")
        lab, _ = ndi.label(ph.lung_mask)
        left_half = ph.lung_mask & (np.arange(128)[None, :] < 64)
        share = (ph.lesion_mask & left_half).sum() / max(left_half.sum(), 1)
        assert share > 0.2, f"a 'large' opacity covers only {share:.0%} of the lung"


def test_phantom_looks_like_a_pa_film() -> None:
    for seed in range(5):
        ph = make_phantom(seed, "normal", size=128)
        img, lung = ph.image, ph.lung_mask
        air = np.concatenate([img[:, :4].ravel(), img[:, -4:].ravel()])
        lab, n = ndi.label(lung)
        assert n == 2, "a phantom should show two separate lung fields"
        centres = ndi.center_of_mass(lung, lab, [1, 2])
        assert (centres[0][1] - 64) * (centres[1][1] - 64) < 0, "one lung on each side of the midline"
        rows = np.nonzero(lung.any(axis=1))[0]
        cols = np.nonzero(lung.any(axis=0))[0]
        mid = (cols[0] + cols[-1]) // 2
        mediastinum = img[rows[len(rows) // 3] : rows[2 * len(rows) // 3], mid - 2 : mid + 3]
        mediastinum = mediastinum[~lung[rows[len(rows) // 3] : rows[2 * len(rows) // 3], mid - 2 : mid + 3]]
        assert np.median(air) < np.median(img[lung]) < np.median(mediastinum), "air < lungs < mediastinum"
        assert 0.15 < lung.mean() < 0.5


def test_bad_requests_raise_data_errors() -> None:
    with pytest.raises(DataError, match="Unknown finding"):
        make_phantom(0, "pneumothorax")
    with pytest.raises(DataError):
        make_phantom(0, "lung_opacity", laterality="bilateral")
    with pytest.raises(DataError):
        make_phantom(0, "normal", size=8)


def test_windowed_upsampling_equals_the_full_field() -> None:
    from vald_desktop.core.base.gridsample import upsample

    small = np.random.default_rng(0).standard_normal((2, 7, 9)).astype(np.float32)
    full = upsample(small, 100, 80)
    assert full.shape == (2, 100, 80) and full.flags.c_contiguous
    window = (slice(13, 61), slice(5, 77))
    assert np.array_equal(upsample(small, 100, 80, window), full[:, 13:61, 5:77])


def test_lung_coverage_is_zero_outside_its_window() -> None:
    from vald_desktop.core.masks.shapes import load_shapes
    from vald_phantoms.anatomy import render_anatomy

    for seed in range(3):
        anat = render_anatomy(np.random.default_rng(seed), 96, load_shapes())
        for ch, (rows, cols) in enumerate(anat.lung_win):
            inside = np.zeros((96, 96), bool)
            inside[rows, cols] = True
            assert anat.lung_cov[ch][~inside].max(initial=0) == 0 and anat.lung_cov[ch][inside].max() > 0.5
        assert np.array_equal(anat.lung_mask, anat.lung_cov.sum(axis=0) > 0.5)
