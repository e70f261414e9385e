"""PNG / JPEG / TIFF films: bit depths, colour modes, alpha, palettes and EXIF orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.core.films.load import load_film


def _gradient(h: int = 40, w: int = 60) -> np.ndarray:
    """A horizontal ramp 0..255 with a bright block top-left, so orientation is checkable."""
    ramp = np.tile(np.linspace(0, 255, w), (h, 1))
    ramp[:8, :12] = 255
    return ramp


def test_8bit_gray_png_keeps_its_values_and_full_range_window(tmp_path: Path) -> None:
    pixels = _gradient().astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(tmp_path / "g8.png")
    film = load_film(tmp_path / "g8.png")
    np.testing.assert_array_equal(film.stored, pixels)
    assert film.info["bits_stored"] == 8 and film.photometric == "MONOCHROME2"
    # An 8-bit picture is already rendered: the default window shows it as any viewer would.
    np.testing.assert_allclose(film.display(), pixels / 255.0, atol=1e-6)


def test_16bit_gray_png_keeps_full_precision(tmp_path: Path) -> None:
    pixels = (np.tile(np.linspace(0, 4095, 64), (32, 1))).astype(
        np.uint16
    ) * 16 + 3  # values that need 16 bits
    Image.fromarray(pixels).save(tmp_path / "g16.png")
    film = load_film(tmp_path / "g16.png")
    assert film.stored.dtype == np.uint16
    np.testing.assert_array_equal(film.stored, pixels)
    assert film.info["bits_stored"] == 16
    shown = film.display()
    assert shown.min() == 0.0 and shown.max() == 1.0
    assert np.all(np.diff(shown[0]) >= 0)  # the ramp stays monotonic: no 8-bit wrap-around


def test_16bit_tiff_loads(tmp_path: Path) -> None:
    pixels = np.arange(48 * 32, dtype=np.uint16).reshape(48, 32) * 40
    Image.fromarray(pixels).save(tmp_path / "scan.tif")
    film = load_film(tmp_path / "scan.tif")
    assert film.info["format"] == "TIFF"
    np.testing.assert_array_equal(film.stored, pixels)


def test_rgba_png_drops_alpha_and_converts_to_gray(tmp_path: Path) -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 255  # pure red ...
    rgba[..., 3] = 0  # ... fully transparent: the picture, not the alpha, is what a film shows
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    film = load_film(tmp_path / "rgba.png")
    assert film.values.shape == (20, 30) and film.stored.shape == (20, 30, 3)
    np.testing.assert_allclose(film.values, 0.299 * 255, rtol=1e-5)


def test_gray_stored_as_rgb_keeps_exact_values(tmp_path: Path) -> None:
    gray = _gradient().astype(np.uint8)
    Image.fromarray(np.stack([gray] * 3, axis=-1), mode="RGB").save(tmp_path / "rgb_gray.png")
    film = load_film(tmp_path / "rgb_gray.png")
    np.testing.assert_array_equal(film.values, gray.astype(np.float32))


def test_palette_png_is_looked_up_through_its_palette(tmp_path: Path) -> None:
    indices = (np.arange(16 * 16).reshape(16, 16) % 4).astype(np.uint8)
    image = Image.fromarray(indices, mode="P")
    # Index order deliberately not brightness order: 0 -> white, 1 -> black, 2 -> mid gray, 3 -> dark gray.
    image.putpalette([255, 255, 255, 0, 0, 0, 128, 128, 128, 64, 64, 64] + [0] * (256 * 3 - 12))
    image.save(tmp_path / "pal.png")
    film = load_film(tmp_path / "pal.png")
    expected = np.array([255, 0, 128, 64], np.float32)[indices]
    np.testing.assert_array_equal(film.values, expected)


def test_gray_with_alpha_png_uses_the_gray_channel(tmp_path: Path) -> None:
    gray = _gradient().astype(np.uint8)
    Image.fromarray(np.stack([gray, np.full_like(gray, 7)], axis=-1), mode="LA").save(tmp_path / "la.png")
    film = load_film(tmp_path / "la.png")
    np.testing.assert_array_equal(film.stored, gray)


def test_one_bit_png_loads_as_black_and_white(tmp_path: Path) -> None:
    bits = np.zeros((10, 10), bool)
    bits[:, 5:] = True
    Image.fromarray(bits).save(tmp_path / "bw.png")
    film = load_film(tmp_path / "bw.png")
    shown = film.display()
    assert shown[:, :5].max() == 0.0 and shown[:, 5:].min() == 1.0


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_jpeg_is_shown_upright(tmp_path: Path, orientation: int) -> None:
    upright = np.zeros((40, 60), np.uint8)
    upright[:10, :15] = 255  # bright block at the top-left of the upright picture
    # Store the picture as a camera would: rotated, with an EXIF tag saying how to undo it.
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = Image.fromarray(upright).transpose(undo[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "photo.jpg", quality=95, exif=exif)
    film = load_film(tmp_path / "photo.jpg")
    assert film.shape == (40, 60)
    assert film.values[:10, :15].mean() > 200 and film.values[20:, 30:].mean() < 30


def test_raster_film_has_hash_and_no_dicom_dataset(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.ones((8, 8), np.uint8)).save(tmp_path / "b.png")
    a, b = load_film(tmp_path / "a.png"), load_film(tmp_path / "b.png")
    assert a.dataset is None and a.pixel_spacing is None and a.source == "a.png"
    assert len(a.sha256) == 64 and a.sha256 != b.sha256


def test_multipage_tiff_page_is_selected_by_frame(tmp_path: Path) -> None:
    pages = [Image.fromarray(np.full((12, 16), value, np.uint8)) for value in (10, 200)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    first = load_film(tmp_path / "pages.tif")
    second = load_film(tmp_path / "pages.tif", frame=1)
    assert first.info["frames"] == 2 and second.info["frame"] == 1
    assert np.all(first.stored == 10) and np.all(second.stored == 200)
