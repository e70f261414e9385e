"""Region-confined editing: the edit region (its PNG, hash and feathered weight), runs that change the film only
inside it (alone and with lung confinement on top, removal and the decoder-output counterfactual), `vald run
--region` and the outline on exports."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.attribution.maps import REGION_COLOUR, film_plus_edit, region_edge
from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.masks.region import EditRegion, disc_region, load_region, save_region

SETTINGS = RunSettings(steps=10, strength=0.9, guidance=7.5, preview_every=0)


@pytest.fixture
def region() -> EditRegion:
    """A disc in the patient's left lung of the engine tests' film (72 x 56)."""
    return disc_region((72, 56), (40.0, 36.0), 8.0)


def test_region_weight_is_zero_outside_one_deep_inside_and_ramps_at_the_edge(region):
    w = region.weight()
    assert w.dtype == np.float32 and w.shape == region.shape
    assert np.all(w[~region.mask] == 0.0)
    assert w[36, 40] == 1.0
    edge = region_edge(region.mask)
    assert 0.0 < w[edge].max() < 1.0, "the border is not feathered"
    assert region.feather_px >= 1.5 and 0 < region.area_pct < 100


def test_region_hash_is_the_documented_one_and_the_png_round_trips(region, tmp_path):
    h, w = region.shape
    want = hashlib.sha256(f"{h}x{w}:".encode() + np.packbits(region.mask, axis=None).tobytes()).hexdigest()
    assert region.sha256 == want and region.record()["sha256"] == want
    path = save_region(region, tmp_path / "r.png")
    with Image.open(path) as im:
        arr = np.asarray(im)
    assert set(np.unique(arr)) == {0, 255}, "255 = editable"
    back = load_region(path, region.shape)
    assert back.sha256 == region.sha256 and back.source == "file"


def test_empty_or_unreadable_regions_are_refused_in_one_sentence(tmp_path):
    with pytest.raises(MaskError, match="empty"):
        EditRegion(np.zeros((8, 8), bool))
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(blank)
    with pytest.raises(MaskError, match="255 = editable"):
        load_region(blank, (8, 8))
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    with pytest.raises(MaskError, match="not a picture"):
        load_region(tmp_path / "bad.png", (8, 8))


def test_film_plus_edit_keeps_the_film_outside_the_region_for_either_reference(region):
    rng = np.random.default_rng(0)
    film = rng.random(region.shape).astype(np.float32)
    recon = np.clip(film + rng.normal(0, 0.02, film.shape), 0, 1).astype(np.float32)
    decoded = np.clip(recon + 0.2, 0, 1).astype(np.float32)
    for transfer in (True, False):
        cf = film_plus_edit(decoded, film, recon, transfer, region=region.weight())
        np.testing.assert_array_equal(cf[~region.mask], film[~region.mask])
        assert np.abs(cf - film)[36, 40] > 0.1


@pytest.mark.parametrize("confine", [False, True])
def test_a_region_run_changes_the_film_only_inside_the_region(engine, film, left_lung_mask, region, confine):
    result = engine.run(film, SETTINGS.replace(confine_to_mask=confine), mask=left_lung_mask, region=region)
    outside = ~region.mask
    np.testing.assert_array_equal(result.counterfactual[outside], result.original[outside])
    assert np.all(result.map[outside] == 0)
    assert np.abs(result.map[region.mask]).mean() > 1e-3, "nothing changed inside the region"
    assert result.region is region
    assert result.record["region"] == region.record()


def test_a_region_that_does_not_fit_the_film_is_refused(engine, film):
    with pytest.raises(MaskError, match="edit region is 10x10"):
        engine.run(film, SETTINGS, region=EditRegion(np.ones((10, 10), bool)))


def test_vald_run_region_records_the_region_and_exports_outline_it(
    engine, film, tiny_model_dir, tmp_path, region
):
    film_png, region_png, out = tmp_path / "film.png", tmp_path / "region.png", tmp_path / "out"
    Image.fromarray((film * 255 + 0.5).astype(np.uint8)).save(film_png)
    save_region(region, region_png)
    argv = ["run", str(film_png), "--out", str(out), "--model", str(tiny_model_dir), "--no-mask"]
    assert main([*argv, "--steps", "6", "--strength", "0.9", "--quiet", "--region", str(region_png)]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["region"]["sha256"] == region.sha256
    assert record["region"]["area_pct"] == pytest.approx(region.area_pct, abs=1e-3)
    m = np.load(out / "map.npy")
    assert np.all(m[~region.mask] == 0) and np.abs(m[region.mask]).max() > 0
    with Image.open(out / "overlay.png") as im:
        overlay = np.asarray(im.convert("RGB"))
    amber = np.all(overlay == REGION_COLOUR, axis=-1)
    assert amber.any() and np.array_equal(amber, region_edge(region.mask)), "the overlay does not outline it"
