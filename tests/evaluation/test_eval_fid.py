"""The FID Inception network (random weights here: no download) and the FID pipeline around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vald_desktop.core.base.errors import ModelError
from vald_evaluation import metrics_fid
from vald_evaluation.inception_fid import FEATURE_DIM, FIDInceptionV3
from vald_evaluation.metrics_fid import fid_between, load_inception


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weight file in the pytorch-fid layout (incl. the 1008-class head FID ignores), random values."""
    torch.manual_seed(0)
    state = FIDInceptionV3().state_dict()
    for key, value in state.items():
        # He-scaled convolutions keep the signal alive through 90-odd random layers, so inputs stay distinguishable.
        if key.endswith("conv.weight"):
            value.normal_(0, (2.0 / value[0].numel()) ** 0.5)
        elif key.endswith("running_var"):
            value.uniform_(0.8, 1.2)
    state["fc.weight"] = torch.randn(1008, FEATURE_DIM)
    state["fc.bias"] = torch.zeros(1008)
    path = tmp_path_factory.mktemp("fidw") / "pt_inception-random.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def image_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("fidsets")
    rng = np.random.default_rng(0)
    sets: tuple[list[Path], list[Path]] = ([], [])
    for k, (folder, scale) in enumerate((("a", 0.3), ("b", 1.0))):
        (root / folder).mkdir()
        for i in range(3):
            arr = (rng.random((64 + 8 * i, 80)) * 255 * scale).astype(np.uint8)
            path = root / folder / f"img{i}.png"
            Image.fromarray(arr).save(path)
            sets[k].append(path)
    return sets


def test_features_have_pool3_shape_and_are_deterministic(random_weights: Path) -> None:
    torch.set_num_threads(1)
    model = load_inception(random_weights, "cpu")
    x = torch.rand(2, 3, 120, 100, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        first, again, single = model(x), model(x), model(x[:1])
    assert first.shape == (2, FEATURE_DIM)
    assert torch.equal(first, again)
    torch.testing.assert_close(single[0], first[0], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(first[0], first[1])  # different images, different features
    assert (first >= 0).all()  # pool3 follows a ReLU


def test_loading_ignores_the_classifier_head_and_rejects_other_layouts(
    random_weights: Path, tmp_path: Path
) -> None:
    model = load_inception(random_weights, "cpu")
    saved = torch.load(random_weights, weights_only=True)
    torch.testing.assert_close(
        model.Mixed_7c.branch_pool.conv.weight, saved["Mixed_7c.branch_pool.conv.weight"]
    )
    bad = {k: v for k, v in saved.items() if not k.startswith("Mixed_7c")}
    bad_path = tmp_path / "bad.pth"
    torch.save(bad, bad_path)
    with pytest.raises(ModelError, match="do not match"):
        load_inception(bad_path, "cpu")


def test_missing_weights_name_the_file_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(metrics_fid.WEIGHTS_ENV, raising=False)
    with pytest.raises(ModelError, match="pt_inception-2015-12-05"):
        metrics_fid.resolve_weights(None)
    with pytest.raises(ModelError, match="does not exist"):
        metrics_fid.resolve_weights(tmp_path / "nope.pth")


def test_fid_between_sets_is_cached_and_positive(
    random_weights: Path,
    image_sets: tuple[list[Path], list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = image_sets
    cache = tmp_path / "cache"
    value = fid_between(a, b, random_weights, batch=2, device="cpu", cache_dir=cache, progress=False)
    assert value > 0
    assert len(list(cache.glob("*.npz"))) == 2

    def _no_recompute(*args, **kwargs):
        raise AssertionError("features should come from the cache")

    monkeypatch.setattr(metrics_fid, "compute_features", _no_recompute)
    again = fid_between(a, b, random_weights, batch=2, device="cpu", cache_dir=cache, progress=False)
    assert again == pytest.approx(value, rel=1e-12)
    monkeypatch.setenv(metrics_fid.WEIGHTS_ENV, str(random_weights))
    assert metrics_fid.resolve_weights(None) == random_weights
