"""The learned lung segmenter: torchxrayvision's chest PSPNet with weights the user points to.

The real weights cannot be fetched here, so a randomly initialised network of the same layout stands in: the
tests check the plumbing (loading, channel choice, film size, left / right), not segmentation quality.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.core.base.errors import MaskError, MaskWarning
from vald_desktop.core.masks import segmenter as mask_segmenter
from vald_desktop.core.masks.resolve import resolve_mask
from vald_desktop.core.masks.segmenter import ENV_VAR, load_segmenter, read_weights, segment_with_weights

torch = pytest.importorskip("torch")

HAVE_XRV = importlib.util.find_spec("torchxrayvision") is not None
needs_xrv = pytest.mark.skipif(
    not HAVE_XRV,
    reason="the optional torchxrayvision package is not installed (pip install -e '.[segmenter]')",
)
TEST_SIDE = 64  # the network's input in these tests; 512 (its native size) takes ~25 s per film on a CPU


class _Payload:
    """Unpickling this would create ``marker``: the proof that a checkpoint ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random-weight PSPNet checkpoints, built once: the network says "lung" everywhere / nowhere.

    "lungs" is saved the way the real file is (DataParallel, every key prefixed ``module.``); "none" as a
    plain state dict wrapped in {"model_state": ...}, as training scripts save it.
    """
    if not HAVE_XRV:
        pytest.skip("the optional torchxrayvision package is not installed (pip install -e '.[segmenter]')")
    net_cls, targets = mask_segmenter.network_definition()
    torch.manual_seed(0)
    net = net_cls(n_classes=len(targets))
    left, right = targets.index("Left Lung"), targets.index("Right Lung")
    out = tmp_path_factory.mktemp("segmenter")
    paths = {}
    with torch.no_grad():
        net.classification.weight.zero_()
        # Distinct values per lung channel, so a test can tell which channel ended up where.
        for name, (bias_left, bias_right) in (("lungs", (8.0, 4.0)), ("none", (-8.0, -8.0))):
            net.classification.bias.zero_()
            net.classification.bias[left] = bias_left
            net.classification.bias[right] = bias_right
            state = {k: v.clone() for k, v in net.state_dict().items()}
            paths[name] = out / f"{name}.pth"
            if name == "lungs":
                torch.save({f"module.{k}": v for k, v in state.items()}, paths[name])
            else:
                torch.save({"model_state": state}, paths[name])
    return paths


@pytest.fixture(autouse=True)
def _small_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mask_segmenter, "INPUT_SIDE", TEST_SIDE)


def _film(tmp_path: Path, h: int = 90, w: int = 70) -> Path:
    path = tmp_path / "film.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (h, w), dtype=np.uint8)).save(path)
    return path


@needs_xrv
def test_segmenter_mask_comes_back_at_the_film_size_from_the_weights_file(checkpoints) -> None:
    image = np.random.default_rng(1).random((90, 70), dtype=np.float32)
    full = segment_with_weights(image, checkpoints["lungs"])
    assert full.source == "segmenter"
    assert full.shape == (90, 70)
    assert full.mask.all(), "weights that say 'lung' everywhere must give a full mask"
    assert not (full.left & full.right).any() and np.array_equal(full.mask, full.left | full.right)
    empty = segment_with_weights(image, checkpoints["none"])
    assert empty.shape == (90, 70) and empty.is_empty, "the mask must follow the weights actually loaded"


@needs_xrv
def test_segmenter_that_finds_no_lungs_falls_back_to_the_automatic_mask_with_a_warning(
    checkpoints, tmp_path
) -> None:
    film = _film(tmp_path, 64, 64)
    with pytest.warns(MaskWarning, match="found no lungs"):
        m = resolve_mask(film, weights=checkpoints["none"])
    assert m.source in ("learned", "atlas")  # the automatic mask: the shipped network, or its fallback


@needs_xrv
def test_segmenter_reads_the_lung_channels_by_name(checkpoints) -> None:
    seg = load_segmenter(checkpoints["lungs"])
    logits = seg.logits(np.zeros((40, 30), np.float32))
    assert logits.shape == (2, 40, 30)
    # The test weights put 8 on "Left Lung", 4 on "Right Lung" and 0 on the 12 other structures.
    assert np.allclose(logits[0], 8.0, atol=1e-3), "channel 0 must be 'Left Lung'"
    assert np.allclose(logits[1], 4.0, atol=1e-3), "channel 1 must be 'Right Lung'"


@needs_xrv
def test_segmenter_patient_left_lung_is_on_the_image_right(checkpoints, monkeypatch) -> None:
    seg = load_segmenter(checkpoints["lungs"])
    h, w = 60, 80
    blob_image_left = np.full((h, w), -5.0, np.float32)
    blob_image_left[10:50, 5:35] = 5.0
    blob_image_right = blob_image_left[:, ::-1].copy()
    # Anatomical naming ("Left Lung" = the patient's left, on the image right): kept as named.
    monkeypatch.setattr(
        type(seg), "logits", lambda self, image, side=None: np.stack([blob_image_right, blob_image_left])
    )
    m = seg.segment(np.zeros((h, w), np.float32))
    assert np.nonzero(m.left)[1].mean() > w / 2 > np.nonzero(m.right)[1].mean()
    # Weights that name the sides by the image put "Left Lung" on the image left: still patient left = image right.
    monkeypatch.setattr(
        type(seg), "logits", lambda self, image, side=None: np.stack([blob_image_left, blob_image_right])
    )
    m = seg.segment(np.zeros((h, w), np.float32))
    assert np.nonzero(m.left)[1].mean() > w / 2 > np.nonzero(m.right)[1].mean()
    assert m.source == "segmenter"


@needs_xrv
def test_vald_mask_uses_the_segmenter_weights_given(checkpoints, tmp_path, capsys) -> None:
    from vald_desktop.cli import main

    film = _film(tmp_path)
    out = tmp_path / "mask.png"
    assert main(["mask", str(film), "--segmenter-weights", str(checkpoints["lungs"]), "--out", str(out)]) == 0
    assert "source: segmenter" in capsys.readouterr().out
    assert Image.open(out).size == (70, 90)


@needs_xrv
def test_configured_segmenter_is_used_by_the_automatic_mask(checkpoints, tmp_path, monkeypatch) -> None:
    film = _film(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(checkpoints["lungs"]))
    with pytest.warns(MaskWarning):  # a mask covering the whole film is implausible, and says so
        assert resolve_mask(film).source == "segmenter"


def test_missing_weights_file_is_named_in_the_error(tmp_path) -> None:
    with pytest.raises(MaskError, match="w.pth does not exist"):
        load_segmenter(tmp_path / "w.pth")


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights\n" * 20)
    with pytest.raises(MaskError, match="notes.pth is not a PyTorch checkpoint"):
        read_weights(path)
    png = tmp_path / "picture.pth"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(png, format="PNG")
    with pytest.raises(MaskError, match="not a PyTorch checkpoint"):
        read_weights(png)


def test_checkpoint_holding_python_objects_is_refused_without_running_them(tmp_path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"conv.weight": torch.zeros(2), "extra": _Payload(str(marker))}, path)
    with pytest.raises(MaskError, match="refused"):
        read_weights(path)
    assert not marker.exists(), "loading the checkpoint must not run code stored in it"


@needs_xrv
def test_checkpoint_of_another_network_is_refused(tmp_path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(4, 3), "encoder.bias": torch.zeros(4)}, path)
    with pytest.raises(MaskError, match="does not fit torchxrayvision's chest PSPNet"):
        load_segmenter(path)
    path2 = tmp_path / "empty.pth"
    torch.save({"epoch": 3}, path2)
    with pytest.raises(MaskError, match="does not hold network weights"):
        load_segmenter(path2)


def test_missing_optional_dependency_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    path = tmp_path / "w.pth"
    torch.save({"conv.weight": torch.zeros(2)}, path)
    monkeypatch.setitem(sys.modules, "torchxrayvision", None)  # what an absent package looks like to imports
    with pytest.raises(MaskError, match=r"optional torchxrayvision package .*\[segmenter\]"):
        load_segmenter(path)
