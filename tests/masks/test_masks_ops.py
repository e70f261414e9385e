"""Lung-mask operations and sources: split, morphology, resize, files, validation, source order, CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.base.errors import MaskError, MaskWarning
from vald_desktop.core.masks.lung_mask import LungMask, split_lungs
from vald_desktop.core.masks.resolve import dataset_sibling, load_mask, resolve_mask, save_mask, validate


def two_lungs(h: int = 100, w: int = 120) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[15:85, 10:50] = True  # image left = patient right
    m[20:80, 70:110] = True  # image right = patient left
    return m


def test_patient_left_lung_is_the_one_on_the_image_right() -> None:
    lm = LungMask.from_mask(two_lungs(), "file")
    assert lm.left[20:80, 70:110].all()
    assert not lm.left[:, :60].any() and lm.right[15:85, 10:50].all() and not lm.right[:, 60:].any()
    assert lm.left_fraction == pytest.approx(60 * 40 / 12000) and lm.right_fraction == pytest.approx(
        70 * 40 / 12000
    )
    assert lm.area_fraction == pytest.approx(lm.left_fraction + lm.right_fraction)


def test_touching_lungs_are_cut_at_the_midline() -> None:
    m = two_lungs()
    m[40:50, 50:70] = True  # a bridge drawn across the mediastinum
    left, right = split_lungs(m)
    assert left.any() and right.any() and not (left & right).any()
    assert np.array_equal(left | right, m)
    assert np.nonzero(left)[1].min() >= 59 and np.nonzero(right)[1].max() <= 60


def test_resize_keeps_sides_and_is_nearest_neighbour() -> None:
    lm = LungMask.from_mask(two_lungs(), "file")
    big = lm.resized((299, 299))
    assert big.shape == (299, 299) and big.mask.dtype == bool
    assert set(np.unique(big.mask)) <= {False, True}
    assert np.nonzero(big.left)[1].min() > 149 > np.nonzero(big.right)[1].max()
    assert abs(big.area_fraction - lm.area_fraction) < 0.02


def test_save_and_load_round_trip_at_another_size(tmp_path: Path) -> None:
    lm = LungMask.from_mask(two_lungs(), "atlas")
    out = save_mask(lm, tmp_path / "m.png")
    png = np.asarray(Image.open(out))
    assert png.dtype == np.uint8 and set(np.unique(png)) == {0, 255}
    back = load_mask(out, (100, 120))
    assert np.array_equal(back.mask, lm.mask) and back.source == "file"
    assert load_mask(out, (50, 60)).shape == (50, 60)


@pytest.mark.parametrize("mode", ["L", "RGB", "I;16", "1"])
def test_masks_in_other_picture_formats_are_thresholded(tmp_path: Path, mode: str) -> None:
    m = two_lungs()
    if mode == "I;16":
        arr = (m * 40000).astype(np.uint16) + 100
        img = Image.fromarray(arr)
    else:
        img = Image.fromarray((m * 200 + 20).astype(np.uint8)).convert(mode, dither=Image.Dither.NONE)
    img.save(tmp_path / "m.png")
    assert np.array_equal(load_mask(tmp_path / "m.png", m.shape).mask, m)


def test_bad_mask_files_raise_mask_errors(tmp_path: Path) -> None:
    with pytest.raises(MaskError, match="does not exist"):
        load_mask(tmp_path / "none.png", (10, 10))
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    with pytest.raises(MaskError, match="not a picture"):
        load_mask(tmp_path / "junk.png", (10, 10))
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "empty.png")
    with pytest.raises(MaskError, match="marks no lung"):
        load_mask(tmp_path / "empty.png", (10, 10))


def test_validate_warns_about_empty_lopsided_and_huge_masks() -> None:
    good = LungMask.from_mask(two_lungs(), "atlas")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate(good) == []
    empty = LungMask.from_mask(np.zeros((50, 50), bool), "atlas")
    with pytest.warns(MaskWarning, match="empty"):
        assert validate(empty)
    one = two_lungs()
    one[:, 60:] = False
    assert any("no left lung" in w for w in validate(LungMask.from_mask(one, "atlas"), warn=False))
    huge = np.ones((50, 50), bool)
    assert any("spills" in w for w in validate(LungMask.from_mask(huge, "atlas"), warn=False))


def _dataset(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A COVID-19 Radiography Database-like pair: 299x299 image, 256x256 mask."""
    img_dir = tmp_path / "COVID" / "images"
    mask_dir = tmp_path / "COVID" / "masks"
    img_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    film = img_dir / "COVID-1.png"
    Image.fromarray(np.full((299, 299), 128, np.uint8)).save(film)
    m = np.zeros((256, 256), bool)
    m[40:200, 30:110] = True
    m[40:200, 146:226] = True
    Image.fromarray(m.astype(np.uint8) * 255).save(mask_dir / "COVID-1.png")
    return film, m


def test_dataset_sibling_mask_is_found_and_resized(tmp_path: Path) -> None:
    film, m = _dataset(tmp_path)
    assert dataset_sibling(film) == tmp_path / "COVID" / "masks" / "COVID-1.png"
    lm = resolve_mask(film)
    assert lm.source == "dataset" and lm.shape == (299, 299)
    assert abs(lm.area_fraction - m.mean()) < 0.01 and lm.left.any() and lm.right.any()
    assert dataset_sibling(tmp_path / "elsewhere" / "x.png") is None


def test_explicit_mask_file_wins_over_the_dataset_mask(tmp_path: Path) -> None:
    film, _ = _dataset(tmp_path)
    own = two_lungs(100, 100)
    Image.fromarray(own.astype(np.uint8) * 255).save(tmp_path / "own.png")
    lm = resolve_mask(film, mask_file=tmp_path / "own.png")
    assert lm.source == "file" and lm.shape == (299, 299)


def test_missing_segmenter_weights_are_reported_plainly(tmp_path: Path) -> None:
    film = tmp_path / "f.png"
    Image.fromarray(np.full((64, 64), 100, np.uint8)).save(film)
    with pytest.raises(MaskError, match="does not exist"):
        resolve_mask(film, weights=tmp_path / "w.pt")


def test_cli_mask_writes_mask_and_overlay_at_film_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    film, _ = _dataset(tmp_path)
    out, ov = tmp_path / "out" / "mask.png", tmp_path / "out" / "overlay.png"
    assert main(["mask", str(film), "--out", str(out), "--overlay", str(ov)]) == 0
    text = capsys.readouterr().out
    assert "source: dataset" in text and "left lung (patient):" in text
    assert Image.open(out).size == (299, 299) and Image.open(ov).mode == "RGB"


def test_cli_mask_bad_input_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["mask", str(tmp_path / "missing.dcm"), "--out", str(tmp_path / "m.png")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "m.png").exists()


def test_a_lungmask_file_beside_the_film_is_its_mask(tmp_path: Path) -> None:
    film = tmp_path / "case.png"
    Image.fromarray(np.full((100, 120), 90, np.uint8)).save(film)
    Image.fromarray(two_lungs().astype(np.uint8) * 255).save(tmp_path / "case-lungmask.png")
    lm = resolve_mask(film)
    assert lm.source == "dataset" and np.array_equal(lm.mask, two_lungs())


def test_a_brush_stroke_is_a_press_then_lines_from_the_last_point_and_undoes_in_one_step() -> None:
    from vald_desktop.core.masks.edit import MaskEdit

    ed = MaskEdit(np.zeros((40, 40), bool))
    assert not ed.stroke_to(10, 10, 2), "a move without a press paints nothing"
    ed.stroke_start(5, 20, 2)
    assert ed.stroke_to(35, 20, 2) and ed.mask[20, 5:36].all(), "a fast move leaves no gap"
    assert ed.end_stroke() and not ed.end_stroke() and not ed.stroke_to(35, 30, 2)
    assert ed.undo() and not ed.mask.any()
