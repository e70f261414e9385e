"""Automatic lung mask: accurate on phantoms (also with large opacities), better than thresholding, sane on a real film."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.masks.resolve import auto_segment
from vald_evaluation.mask_benchmark import dice, otsu_lungs

pytestmark = pytest.mark.slow


def test_auto_mask_matches_clear_phantom_lungs(auto_results) -> None:
    scores = [dice(mask.mask, ph.lung_mask) for ph, mask in auto_results["normal"]]
    assert np.mean(scores) >= 0.90, f"Dice on clear lungs {np.round(scores, 3)}"
    assert min(scores) >= 0.85, f"Dice on clear lungs {np.round(scores, 3)}"


def test_auto_mask_keeps_opacified_lungs(auto_results) -> None:
    scores = [dice(mask.mask, ph.lung_mask) for ph, mask in auto_results["lung_opacity"]]
    assert np.mean(scores) >= 0.85, f"Dice on lungs with large opacities {np.round(scores, 3)}"
    # The opacity itself must stay inside the mask: that is where the difference map matters.
    kept = [
        (mask.mask & ph.lesion_mask).sum() / ph.lesion_mask.sum() for ph, mask in auto_results["lung_opacity"]
    ]
    assert np.mean(kept) >= 0.8, f"share of the opacity inside the automatic mask {np.round(kept, 3)}"


def test_auto_mask_keeps_the_lung_base_behind_a_pleural_effusion(auto_results) -> None:
    scores = [dice(mask.mask, ph.lung_mask) for ph, mask in auto_results["effusion"]]
    assert np.mean(scores) >= 0.90 and min(scores) >= 0.85, (
        f"Dice on lungs with effusions {np.round(scores, 3)}"
    )
    # The fluid lies inside the lung; a mask that stops at its upper edge hides it from the difference map.
    kept = [
        (mask.mask & ph.lesion_mask).sum() / ph.lesion_mask.sum() for ph, mask in auto_results["effusion"]
    ]
    assert np.mean(kept) >= 0.5, f"share of the effusion inside the automatic mask {np.round(kept, 3)}"


def test_thresholding_loses_opacified_lung_where_the_shape_model_does_not(auto_results) -> None:
    ours = [dice(mask.mask, ph.lung_mask) for ph, mask in auto_results["lung_opacity"]]
    otsu = [dice(otsu_lungs(ph.image), ph.lung_mask) for ph, _ in auto_results["lung_opacity"]]
    assert np.mean(ours) > np.mean(otsu) + 0.05, (
        f"shape model {np.mean(ours):.3f} vs Otsu {np.mean(otsu):.3f}"
    )
    kept_otsu = np.mean(
        [
            (otsu_lungs(ph.image) & ph.lesion_mask).sum() / ph.lesion_mask.sum()
            for ph, _ in auto_results["lung_opacity"]
        ]
    )
    kept_ours = np.mean(
        [(m.mask & ph.lesion_mask).sum() / ph.lesion_mask.sum() for ph, m in auto_results["lung_opacity"]]
    )
    assert kept_ours > kept_otsu + 0.2, "thresholding should drop the opacity, the shape model should keep it"


def test_auto_mask_splits_patient_left_onto_the_image_right(auto_results) -> None:
    ph, m = auto_results["normal"][0]
    w = ph.image.shape[1]
    left_x = np.nonzero(m.left)[1].mean()
    right_x = np.nonzero(m.right)[1].mean()
    assert left_x > w / 2 > right_x, "patient-left lung must be on the image right"
    assert not (m.left & m.right).any() and np.array_equal(m.mask, m.left | m.right)
    assert m.source == "atlas"


def test_real_chest_film_gives_two_lungs_inside_the_picture(real_chest_path) -> None:
    from vald_desktop.core.films.load import load_film

    film = load_film(real_chest_path)
    image = film.display()[::4, ::4]  # 1955x1841 -> ~489x461: the fit works on a small copy anyway
    m = auto_segment(image)
    lab, n = ndi.label(m.mask)
    assert n == 2, f"expected two lungs, found {n} pieces"
    h, w = m.mask.shape
    centres = [c[1] for c in ndi.center_of_mass(m.mask, lab, [1, 2])]
    assert min(centres) < w / 2 < max(centres), "one lung on each side of the midline"
    assert 0.15 <= m.area_fraction <= 0.50, f"lungs cover {m.area_fraction:.0%} of the film"
    for i in (1, 2):
        comp = lab == i
        touches = comp[0].any() or comp[-1].any() or comp[:, 0].any() or comp[:, -1].any()
        assert not touches, "a lung touches the film border"
    assert m.left.sum() > 0.3 * m.right.sum() and m.right.sum() > 0.3 * m.left.sum()


def test_blank_or_tiny_images_are_refused_plainly() -> None:
    with pytest.raises(MaskError, match="blank"):
        auto_segment(np.zeros((64, 64), np.float32))
    with pytest.raises(MaskError):
        auto_segment(np.zeros((8, 8), np.float32))
