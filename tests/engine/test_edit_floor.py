"""The edit floor: a soft threshold on the model's edit, so faint change across healthy lung stays out of the
counterfactual and the map, while large changes keep their place and shrink by the floor."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.attribution.maps import film_plus_edit
from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import RunSettings

SETTINGS = dict(steps=10, strength=0.6, guidance=4.0, preview_every=0, noise="inverted")


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    film = np.full((4, 4), 0.5, dtype=np.float32)
    reconstruction = np.full((4, 4), 0.45, dtype=np.float32)  # the VAE's own error: cancels in the edit
    decoded = reconstruction.copy()
    decoded[0, 0] += 0.2  # a real change
    decoded[0, 1] -= 0.2
    decoded[1, :] += 0.004  # faint drift
    decoded[2, :] -= 0.004
    return decoded, film, reconstruction


def test_floor_drops_faint_changes_and_shrinks_large_ones():
    decoded, film, reconstruction = _case()
    cf = film_plus_edit(decoded, film, reconstruction, True, floor=0.01)
    np.testing.assert_allclose(cf[0, 0], 0.5 + 0.19, atol=1e-6)
    np.testing.assert_allclose(cf[0, 1], 0.5 - 0.19, atol=1e-6)
    np.testing.assert_array_equal(cf[1:], film[1:])


def test_weight_confines_the_edit_and_floor_zero_keeps_it():
    decoded, film, reconstruction = _case()
    weight = np.zeros((4, 4), dtype=np.float32)
    weight[0, 0] = 1.0
    cf = film_plus_edit(decoded, film, reconstruction, True, weight=weight)
    np.testing.assert_allclose(cf[0, 0], 0.7, atol=1e-6)
    np.testing.assert_array_equal(cf.ravel()[1:], film.ravel()[1:])
    np.testing.assert_allclose(
        film_plus_edit(decoded, film, reconstruction, True), film + decoded - reconstruction
    )


def test_decoder_output_counterfactual_is_the_reconstruction_plus_the_floored_edit():
    decoded, film, reconstruction = _case()
    assert film_plus_edit(decoded, film, None, False) is decoded  # the paper's decoder output, untouched
    cf = film_plus_edit(decoded, film, reconstruction, False, floor=0.01)
    np.testing.assert_array_equal(cf[1:], reconstruction[1:])
    with pytest.raises(SettingsError, match="reconstruction is missing"):
        film_plus_edit(decoded, film, None, False, floor=0.01)


@pytest.mark.parametrize("bad", [-0.01, 0.6, float("nan"), True])
def test_out_of_range_floor_is_refused_with_a_sentence(bad):
    with pytest.raises(SettingsError, match="edit floor"):
        RunSettings(edit_floor=bad)


def test_engine_run_with_a_floor_is_the_soft_thresholded_run(engine, film, left_lung_mask):
    plain = engine.run(film, RunSettings(**SETTINGS), mask=left_lung_mask)
    edit = plain.counterfactual - plain.original
    floor = float(np.percentile(np.abs(edit), 60))
    floored = engine.run(film, RunSettings(**SETTINGS, edit_floor=floor), mask=left_lung_mask)
    small = np.abs(edit) <= floor
    assert small.any() and (~small).any()
    np.testing.assert_array_equal(floored.counterfactual[small], film[small])
    # Where the plain run was clipped to the film's range the two differ by the clipping.
    large = ~small & (plain.counterfactual > 0) & (plain.counterfactual < 1)
    shrunk = np.abs(floored.counterfactual - film)[large]
    np.testing.assert_allclose(shrunk, np.abs(edit[large]) - floor, atol=2e-5)
    # The map follows the counterfactual: zero where the change was faint.
    assert np.all(floored.map[small] == 0)
    assert floored.record["settings"]["edit_floor"] == pytest.approx(floor)
