"""The shipped lung segmenter (``models/lung-segmenter``): a small U-Net trained on films projected from a real CT.

Input: the film as the eye sees it (``Film.display()``: bone bright, MONOCHROME1 already inverted), padded to a
square with black (as the training films are) and resized to 128 x 128, contrast-stretched between its 1st and
99th percentiles. Output: the probability of "visible lung field" at the film's size. Which lung is the
patient's left is decided by ``masks.laterality``, not here.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.base.package_data import data_path

MODEL_DIR = data_path("models", "lung-segmenter")
WEIGHTS = "lung-unet.safetensors"
CONFIG = "lung-unet.json"
_LOCK = threading.Lock()
_CACHE: dict[Path, LearnedSegmenter] = {}


def square_input(image: np.ndarray, side: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The network's input: pad to a centred square with 0, area-resize to ``side``, stretch p1..p99 to 0..1.

    Returns the input and the padded square's (top, left, height, width) of the original inside it.
    """
    from PIL import Image

    img = np.asarray(image, np.float32)
    h, w = img.shape
    n = max(h, w)
    top, left = (n - h) // 2, (n - w) // 2
    sq = np.zeros((n, n), np.float32)
    sq[top : top + h, left : left + w] = img
    small = np.asarray(Image.fromarray(sq, mode="F").resize((side, side), Image.Resampling.BOX), np.float32)
    lo, hi = np.percentile(small, (1.0, 99.0))
    out = np.clip((small - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0).astype(np.float32)
    return out, (top, left, h, w)


def film_probability(square_prob: np.ndarray, frame: tuple[int, int, int, int]) -> np.ndarray:
    """Map a square probability map back onto the film (bilinear), cropping the padding."""
    from PIL import Image

    top, left, h, w = frame
    n = max(h, w)
    big = np.asarray(
        Image.fromarray(square_prob.astype(np.float32), mode="F").resize((n, n), Image.Resampling.BILINEAR)
    )
    return np.ascontiguousarray(big[top : top + h, left : left + w], dtype=np.float32)


@dataclass
class LearnedSegmenter:
    """The loaded network (evaluation mode) and its input side; thread-safe to call."""

    net: object
    side: int
    name: str

    def probability(self, image: np.ndarray) -> np.ndarray:
        """P(lung) at the film's size, float32 HxW in [0, 1]."""
        import torch

        x, frame = square_input(image, self.side)
        with _LOCK, torch.inference_mode():
            logits = self.net(torch.from_numpy(x)[None, None])  # type: ignore[operator]
        prob = torch.sigmoid(logits[0, 0]).numpy()
        return film_probability(prob, frame)


def load_learned(model_dir: Path | None = None) -> LearnedSegmenter:
    """The segmenter in ``model_dir`` (default: the shipped one), cached. Raises MaskError if missing or broken."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from vald_desktop.core.masks.unet import LungUNet

    folder = Path(model_dir) if model_dir is not None else MODEL_DIR
    with _LOCK:
        if folder in _CACHE:
            return _CACHE[folder]
    wpath, cpath = folder / WEIGHTS, folder / CONFIG
    if not wpath.is_file() or not cpath.is_file():
        raise MaskError(f"The lung segmenter is missing from {folder.name}; reinstall the application.")
    try:
        cfg = json.loads(cpath.read_text())
        net = LungUNet(tuple(int(w) for w in cfg["widths"]))
        net.load_state_dict(load_file(str(wpath)), strict=True)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise MaskError(
            f"The lung segmenter in {folder.name} cannot be loaded ({type(exc).__name__})."
        ) from None
    net.eval()
    seg = LearnedSegmenter(net, int(cfg["side"]), str(cfg.get("name", folder.name)))
    with _LOCK:
        _CACHE[folder] = seg
    return seg


def shipped_available() -> bool:
    return (MODEL_DIR / WEIGHTS).is_file() and (MODEL_DIR / CONFIG).is_file()


def lung_field(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The mask from P(lung): above ``threshold``, pieces under 2 % of the largest dropped, holes filled."""
    from scipy import ndimage as ndi

    mask = np.asarray(prob) > threshold
    lab, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.asarray(ndi.sum(mask, lab, index=np.arange(1, n + 1)))
    keep = 1 + np.nonzero(sizes >= 0.02 * sizes.max())[0]
    return np.asarray(ndi.binary_fill_holes(np.isin(lab, keep)), bool)
