"""Which lung is the patient's left: the header decides, anatomy confirms or doubts, image halves never alone."""

from __future__ import annotations

import numpy as np
import pydicom
from chest_drawing import drawn_chest, image_right_lung

from vald_desktop.core.masks.laterality import header_orientation, side_lungs, split_image_halves


def _header(orientation: str) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.PatientOrientation = orientation.split("\\")
    return ds


def test_usual_film_without_header_is_sided_by_the_heart() -> None:
    img, lungs = drawn_chest()
    sides = side_lungs(img, lungs)
    assert sides.certain and sides.evidence == "anatomy", sides.reasons
    assert np.array_equal(sides.left, image_right_lung(lungs)), (
        "the patient's left lung must be on the image right"
    )
    assert sides.anatomy_score is not None and sides.anatomy_score > 0


def test_mirrored_film_without_header_is_flagged_not_silently_sided() -> None:
    img, lungs = drawn_chest()
    sides = side_lungs(img[:, ::-1], lungs[:, ::-1])
    assert not sides.certain, "a film whose heart lies on the image left must not pass as a usual film"
    assert any("mirrored" in r for r in sides.reasons)


def test_header_saying_mirrored_labels_the_image_left_lung_as_the_patients_left() -> None:
    img, lungs = drawn_chest()
    img, lungs = img[:, ::-1], lungs[:, ::-1]
    sides = side_lungs(img, lungs, _header("R\\F"))
    assert sides.certain and sides.evidence == "header and anatomy"
    assert np.array_equal(sides.right, image_right_lung(lungs)), (
        "rows running to the patient's right: swap sides"
    )


def test_header_and_heart_disagreeing_is_uncertain() -> None:
    img, lungs = drawn_chest()
    sides = side_lungs(img[:, ::-1], lungs[:, ::-1], _header("L\\F"))
    assert not sides.certain and any("dextrocardia" in r for r in sides.reasons)
    assert sides.evidence == "header", "the labels still follow the header, flagged"


def test_central_heart_without_header_cannot_be_sided() -> None:
    img, lungs = drawn_chest(heart_shift=0.0)
    sides = side_lungs(img, lungs)
    assert not sides.certain and sides.evidence == "convention"
    assert any("cannot be told" in r for r in sides.reasons)


def test_lateral_orientation_in_header_is_a_reason() -> None:
    assert header_orientation(_header("A\\F")) == (
        None,
        "Patient Orientation is A/F: not a frontal film's orientation.",
    )
    assert header_orientation(_header("L\\F"))[0] == "standard"
    assert header_orientation(pydicom.Dataset()) == (None, None)


def test_lungs_touching_at_the_apex_are_cut_through_the_mediastinum() -> None:
    img, lungs = drawn_chest()
    bridge = lungs.copy()
    bridge[40:48, 60:140] = True  # the apices drawn joined
    left_img, right_img, cut = split_image_halves(bridge)
    assert 90 <= cut <= 110
    assert not (left_img & right_img).any() and (left_img | right_img).sum() == bridge.sum()
    assert left_img[:, 110:].sum() == 0 and right_img[:, :90].sum() == 0


def test_a_lateral_orientation_in_the_header_makes_the_sides_uncertain() -> None:
    img, lungs = drawn_chest()
    sides = side_lungs(img, lungs, _header("A\\F"))
    assert not sides.certain and any("not a frontal" in r for r in sides.reasons)
