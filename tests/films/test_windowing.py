"""Window/level: the three DICOM VOI functions (PS3.3 C.11.2.1.2) mapped to [0, 1], and the automatic window."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.film import film_from_array
from vald_desktop.core.films.windowing import Window, apply_window, auto_window, window_from_range


def _linear_reference(x: float, c: float, w: float) -> float:
    """PS3.3 C.11.2.1.2.1 written out literally, output range [0, 1]."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0.0
    if x > c - 0.5 + (w - 1) / 2:
        return 1.0
    return (x - (c - 0.5)) / (w - 1) + 0.5


def test_linear_matches_the_standard_formula_point_by_point() -> None:
    c, w = 40.0, 400.0
    xs = np.array([-1000, -160.5, -160, -159.5, 0, 39.5, 40, 239, 239.5, 240, 3000], np.float32)
    got = apply_window(xs, Window(c, w, "LINEAR"))
    want = np.array([_linear_reference(float(x), c, w) for x in xs], np.float32)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_linear_exact_maps_the_window_edges_to_black_and_white() -> None:
    window = Window(100.0, 50.0, "LINEAR_EXACT")
    got = apply_window(np.array([0, 75, 87.5, 100, 112.5, 125, 500], np.float32), window)
    np.testing.assert_allclose(got, [0, 0, 0.25, 0.5, 0.75, 1, 1], atol=1e-6)


def test_sigmoid_is_half_at_the_centre_and_follows_the_standard_curve() -> None:
    c, w = 1000.0, 400.0
    xs = np.array([0, 800, 1000, 1200, 1600], np.float32)
    got = apply_window(xs, Window(c, w, "SIGMOID"))
    want = 1.0 / (1.0 + np.exp(-4.0 * (xs - c) / w))
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got[2] == pytest.approx(0.5)
    assert 0 < got[0] < got[1] < got[3] < got[4] < 1  # never clipped, unlike the linear functions


def test_linear_width_one_is_a_threshold() -> None:
    got = apply_window(np.array([9, 9.4, 9.6, 10, 11], np.float32), Window(10.0, 1.0, "LINEAR"))
    np.testing.assert_array_equal(got, [0, 0, 1, 1, 1])


@pytest.mark.parametrize(
    "center,width,function",
    [(0, 0.5, "LINEAR"), (0, 0, "LINEAR_EXACT"), (0, -3, "SIGMOID"), (0, 10, "GAMMA")],
)
def test_invalid_windows_are_refused_with_a_sentence(center: float, width: float, function: str) -> None:
    with pytest.raises(FilmError):
        Window(center, width, function)


def test_window_function_names_are_normalised() -> None:
    assert Window(0, 10, "linear_exact").function == "LINEAR_EXACT"


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT"])
def test_window_from_range_puts_low_at_black_and_high_at_white(function: str) -> None:
    window = window_from_range(-200.0, 800.0, function=function)
    assert (window.low, window.high) == pytest.approx((-200.0, 800.0))
    got = apply_window(np.array([-200, 300, 800], np.float32), window)
    np.testing.assert_allclose(got, [0, 0.5, 1], atol=2e-3)


def test_auto_window_ignores_a_few_extreme_pixels() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(1000, 100, (200, 200)).astype(np.float32)
    values[:2, :2] = 60000  # a burned-in marker
    window = auto_window(values)
    assert 600 < window.low < 800 and 1200 < window.high < 1400


def test_auto_window_of_a_flat_image_is_still_usable() -> None:
    window = auto_window(np.full((10, 10), 7.0, np.float32))
    assert window.width > 0
    assert np.all(np.isfinite(apply_window(np.full((2, 2), 7.0), window)))


def test_display_inverts_only_when_invert_is_set_on_monochrome2() -> None:
    film = film_from_array(np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10))
    plain = film.display()
    flipped = film.display(Window(film.window.center, film.window.width, film.window.function, invert=True))
    np.testing.assert_allclose(flipped, 1 - plain, atol=1e-6)
    np.testing.assert_allclose(plain, film.values, atol=1e-6)  # unit floats show as they are


def test_film_from_array_windows_by_dtype() -> None:
    assert (film_from_array(np.zeros((4, 4), np.uint8)).window.low, 0.0) == (0.0, 0.0)
    assert film_from_array(np.zeros((4, 4), np.uint8)).window.high == 255.0
    ramp16 = np.arange(16, dtype=np.uint16).reshape(4, 4) * 1000
    film = film_from_array(ramp16)
    assert film.display().min() == 0.0 and film.display().max() == 1.0


def test_film_from_array_refuses_nan_and_wrong_shapes() -> None:
    with pytest.raises(FilmError):
        film_from_array(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(FilmError):
        film_from_array(np.zeros((4, 4, 2), np.float32))
    with pytest.raises(FilmError):
        film_from_array(np.zeros(16, np.float32))
