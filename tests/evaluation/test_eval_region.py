"""The region benchmark: its two-lesion phantoms are exact, its numbers mean what they say (checked with a runner
whose answers are known), and ``vald evaluate region`` prints them with the real engine."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vald_desktop.cli import main
from vald_desktop.core.base.settings import RunSettings
from vald_evaluation.region_benchmark import lung_disc, region_benchmark, two_lesion_phantom
from vald_phantoms.phantom import make_phantom


def test_the_two_lesion_phantom_is_its_two_single_lesion_phantoms_on_one_twin():
    both, left, right = two_lesion_phantom(3, 128)
    one_left = make_phantom(3, "lung_opacity", 128, laterality="left")
    one_right = make_phantom(3, "lung_opacity", 128, laterality="right")
    assert left.any() and right.any() and not (left & right).any()
    np.testing.assert_array_equal(both.image[left], one_left.image[left])
    np.testing.assert_array_equal(both.image[right], one_right.image[right])
    np.testing.assert_array_equal(both.image[~(left | right)], both.healthy[~(left | right)])
    assert (left & both.lung_mask).sum() > 0.5 * left.sum(), "the lesions are in the lungs"


def test_the_disc_lies_inside_the_lung():
    ph = make_phantom(4, "normal", 128)
    cols = np.arange(128)[None, :]
    lung = ph.lung_mask & (cols >= 64)
    disc = lung_disc(lung)
    assert disc.mask.sum() > 20 and not (disc.mask & ~lung).any()


def _region_only(image, settings, mask, region):
    """A perfect region-confined runner: changes the film by 0.1 inside the region, nothing elsewhere; without a
    region it changes the whole lung."""
    where = mask.mask if region is None else region.mask
    m = np.where(where, np.float32(0.1), np.float32(0.0))
    return SimpleNamespace(counterfactual=image - m, map=m)


def test_a_runner_that_respects_the_region_meets_every_target():
    report = region_benchmark(_region_only, 2, 11, RunSettings(edit_floor=0.015), size=64)
    ind, rem = report["induction"], report["removal"]
    assert (
        ind["mass_inside"] == 1.0 and ind["max_outside"] == 0.0 and ind["mean_inside"] == pytest.approx(0.1)
    )
    assert ind["mass_inside_free"] < 0.5 and ind["mean_inside_free"] == pytest.approx(0.1)
    assert rem["removed_unpainted_free"] > 0, "without the region the other lesion changes too"
    assert rem["auroc_unpainted_outside_region"] == 0.5 and rem["removed_unpainted"] == 0.0
    assert rem["auroc_painted"] > 0.8 and rem["auroc_unpainted_whole_lung"] < 0.5
    assert all(report["targets"].values())


def test_a_runner_that_ignores_the_region_fails_the_targets():
    def everywhere(image, settings, mask, region):
        return _region_only(image, settings, mask, None)

    report = region_benchmark(everywhere, 2, 11, RunSettings(edit_floor=0.015), size=64)
    assert report["induction"]["mass_inside"] < 0.5 and report["induction"]["max_outside"] > 0.015
    assert not report["targets"]["induced_mass_inside_at_least_0.90"]
    assert not report["targets"]["outside_at_or_below_edit_floor"]
    assert (
        math.isfinite(report["removal"]["removed_unpainted"]) and report["removal"]["removed_unpainted"] != 0
    )


def test_vald_evaluate_region_prints_the_json_report(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
):
    args = [
        "evaluate",
        "region",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--n",
        "1",
        "--size",
        "64",
    ]
    assert main([*args, "--settings", "steps=4,strength=0.5,noise=random,confine_to_mask=false"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n"] == 1 and doc["settings"]["steps"] == 4 and doc["size"] == 64
    assert doc["induction"]["mass_inside"] == pytest.approx(1.0) and doc["induction"]["max_outside"] == 0.0
    assert doc["removal"]["removed_unpainted"] == 0.0
    assert set(doc["targets"]) == {
        "induced_mass_inside_at_least_0.90",
        "outside_at_or_below_edit_floor",
        "unpainted_lesion_auroc_near_0.5",
    }
