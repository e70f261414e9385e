"""Real films from pydicom-data: the CR chest radiograph and files of many kinds."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.films.film import Film
from vald_desktop.core.films.load import load_film


def _lungs_and_spine(image: np.ndarray) -> tuple[float, float]:
    """Mean of the two mid-lung fields and of the spine strip between them on a PA chest film."""
    h, w = image.shape
    rows = slice(int(0.25 * h), int(0.55 * h))
    right_lung = image[rows, int(0.15 * w) : int(0.30 * w)]
    left_lung = image[rows, int(0.65 * w) : int(0.80 * w)]
    spine = image[rows, int(0.46 * w) : int(0.54 * w)]
    return float((right_lung.mean() + left_lung.mean()) / 2), float(spine.mean())


def test_rg1_is_a_cr_chest_film_in_monochrome1(corpus_film) -> None:
    film: Film = corpus_film("RG1_UNCI.dcm")
    assert film.shape == (1955, 1841)
    assert film.info["modality"] == "CR"
    assert film.photometric == "MONOCHROME1" and film.monochrome1
    assert film.info["bits_stored"] == 15
    assert film.view == "PA"
    assert dict(film.metadata)["BodyPartExamined"] == "CHEST"
    assert len(film.sha256) == 64


def test_rg1_renders_air_filled_lungs_dark_and_spine_bright(corpus_film) -> None:
    film: Film = corpus_film("RG1_UNCI.dcm")
    shown = film.display()
    assert shown.dtype == np.float32 and shown.min() >= 0.0 and shown.max() <= 1.0
    lungs, spine = _lungs_and_spine(shown)
    assert spine > lungs + 0.08, f"MONOCHROME1 not inverted: lungs {lungs:.3f} vs spine {spine:.3f}"
    # Raw stored values run the other way (MONOCHROME1: high = dark), which is why inversion matters.
    raw_lungs, raw_spine = _lungs_and_spine(film.values)
    assert raw_lungs > raw_spine


def test_user_invert_flips_the_monochrome1_rendering(corpus_film) -> None:
    from dataclasses import replace

    film: Film = corpus_film("RG1_UNCI.dcm")
    normal = film.display()
    inverted = film.display(replace(film.window, invert=True))
    np.testing.assert_allclose(inverted, 1.0 - normal, atol=1e-6)


def test_rg1_uses_the_window_stored_in_the_file(corpus_film) -> None:
    film: Film = corpus_film("RG1_UNCI.dcm")
    assert (film.window.center, film.window.width, film.window.function) == (15000.0, 30000.0, "LINEAR")
    assert film.window == film.default_window


def test_rg1_zero_pixel_spacing_is_reported_as_unknown(corpus_film) -> None:
    # The file says "0.000\\0.000": a spacing of zero is no spacing, not a division by zero later on.
    assert corpus_film("RG1_UNCI.dcm").pixel_spacing is None


def test_lossless_jpeg2000_twin_decodes_to_the_identical_image(corpus_film) -> None:
    # RG1_UNCR is the original ("R" = from the reversible stream); its lossless J2K twin must match bit for bit.
    unc, j2kr = corpus_film("RG1_UNCR.dcm"), corpus_film("RG1_J2KR.dcm")
    assert j2kr.info["transfer_syntax"] == "JPEG 2000 Image Compression (Lossless Only)"
    assert unc.info["transfer_syntax"] == "Explicit VR Little Endian"
    np.testing.assert_array_equal(j2kr.stored, unc.stored)


def test_lossy_jpeg2000_twin_matches_its_decompressed_copy_exactly(corpus_film) -> None:
    # RG1_UNCI is RG1_J2KI decompressed (its Derivation Description says so): decoders must agree exactly.
    np.testing.assert_array_equal(corpus_film("RG1_J2KI.dcm").stored, corpus_film("RG1_UNCI.dcm").stored)


def test_lossy_jpeg2000_twin_is_close_to_the_original(corpus_film) -> None:
    original, j2ki = corpus_film("RG1_UNCR.dcm"), corpus_film("RG1_J2KI.dcm")
    assert j2ki.shape == original.shape
    diff = np.abs(j2ki.display() - original.display())
    assert float(diff.mean()) < 0.005, "the lossy twin drifted far from the original"
    assert float(np.percentile(diff, 99)) < 0.02
    # ... and it is lossy: guards the comparison against both files decoding to one buffer.
    assert not np.array_equal(j2ki.stored, original.stored)


def test_multiframe_film_selects_the_requested_frame(pydicom_data_dir) -> None:
    first = load_film(pydicom_data_dir / "SC_rgb_2frame.dcm", frame=0)
    second = load_film(pydicom_data_dir / "SC_rgb_2frame.dcm", frame=1)
    assert first.info["frames"] == 2 and second.info["frame"] == 1
    assert first.stored.shape == (100, 100, 3)
    assert not np.array_equal(first.stored, second.stored)


def test_rgb_film_is_shown_in_gray_with_red_darker_than_white(pydicom_data_dir) -> None:
    film = load_film(pydicom_data_dir / "SC_rgb.dcm")
    assert film.stored.ndim == 3 and film.values.ndim == 2
    assert not film.monochrome1
    # Luma of pure red (0.299) must sit between black and white.
    red = np.all(film.stored == [255, 0, 0], axis=-1)
    white = np.all(film.stored == [255, 255, 255], axis=-1)
    assert red.any() and white.any()
    shown = film.display()
    assert 0.2 < float(shown[red].mean()) < 0.4 < float(shown[white].mean())


def test_ybr_and_rgb_encodings_of_one_picture_render_alike(pydicom_data_dir) -> None:
    rgb = load_film(pydicom_data_dir / "SC_rgb.dcm").display()
    ybr = load_film(pydicom_data_dir / "SC_ybr_full_uncompressed.dcm").display()
    assert float(np.abs(rgb - ybr).max()) < 0.03


def test_palette_colour_film_is_converted_through_its_palette(pydicom_data_dir) -> None:
    film = load_film(pydicom_data_dir / "OT-PAL-8-face.dcm")  # no file meta: read by the forced fallback
    assert film.photometric == "PALETTE COLOR"
    assert film.values.shape == (480, 640)
    shown = film.display()
    assert float(shown.std()) > 0.05, "palette lookup produced a flat image"


def test_big_and_little_endian_copies_decode_the_same(pydicom_data_dir) -> None:
    little = load_film(pydicom_data_dir / "emri_small.dcm")
    big = load_film(pydicom_data_dir / "emri_small_big_endian.dcm")
    np.testing.assert_array_equal(little.values, big.values)


@pytest.mark.parametrize(
    "name", ["emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm", "emri_small_jpeg_2k_lossless.dcm"]
)
def test_compressed_copies_decode_to_the_uncompressed_pixels(pydicom_data_dir, name: str) -> None:
    reference = load_film(pydicom_data_dir / "emri_small.dcm").stored
    np.testing.assert_array_equal(load_film(pydicom_data_dir / name).stored, reference)


def test_jpeg_lossless_process14_decodes(pydicom_data_dir) -> None:
    film = load_film(pydicom_data_dir / "JPGLosslessP14SV1_1s_1f_8b.dcm")
    assert film.shape == (768, 1024) and float(film.values.std()) > 1.0


def test_ct_rescale_gives_hounsfield_units(pydicom_data_dir) -> None:
    film = load_film(pydicom_data_dir / "693_UNCI.dcm")
    # Air around the patient must be near -1000 HU after the Modality LUT, not the raw stored value.
    assert float(np.percentile(film.values, 1)) < -900
    assert film.pixel_spacing is not None and all(s > 0 for s in film.pixel_spacing)


def test_film_repr_keeps_pixels_and_metadata_out(corpus_film) -> None:
    text = repr(corpus_film("RG1_UNCI.dcm"))
    assert "RG1_UNCI.dcm" in text
    assert "CompressedSamples" not in text and "9RG1" not in text  # patient name and ID
    assert len(text) < 2000
