"""Learned lung segmenter (source 3 of ``masks.resolve_mask``): torchxrayvision's chest PSPNet.

The network is the ChestX-Det anatomy PSPNet that torchxrayvision (optional extra ``segmenter``) defines; it
outputs 14 anatomical channels at 512 x 512, of which we use "Left Lung" and "Right Lung". The user points to the
weights file (``pspnet_chestxray_best_model_4.pth``); nothing is downloaded. Weights are read with
``torch.load(weights_only=True)`` so a checkpoint cannot run code, and must fit the network exactly.

We take the network *definition* from torchxrayvision's files but do not run its package ``__init__``: that
imports torchvision, datasets and pandas, and the torchvision wheel on PyPI is a CUDA build that fails to load
beside a CPU-only torch. The definition itself needs only torch.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import os
import pickle
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.masks.lung_mask import LungMask

PACKAGE = "torchxrayvision"
ENV_VAR = "VALD_SEGMENTER_WEIGHTS"  # lets the app's automatic mask use a configured segmenter
INPUT_SIDE = 512  # the network's native resolution
LEFT_NAME, RIGHT_NAME = "Left Lung", "Right Lung"
# torchxrayvision's PSPNet maps its [-1024, 1024] input to [0, 1], then applies the ImageNet statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INSTALL_HINT = "pip install 'vald-desktop[segmenter]'"
_PRIVATE_PKG = "_vald_xrv_pspnet"
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, int, int], Segmenter] = {}


def configured_weights() -> Path | None:
    """The segmenter weights named by $VALD_SEGMENTER_WEIGHTS, or None when it is unset or empty."""
    value = os.environ.get(ENV_VAR, "").strip()
    return Path(value).expanduser() if value else None


def _package_dir() -> Path:
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MaskError(
            f"The learned lung segmenter needs the optional torchxrayvision package ({INSTALL_HINT})."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def network_definition() -> tuple[Any, list[str]]:
    """(the PSPNet class, its list of output channel names) from the installed torchxrayvision."""
    det = _package_dir() / "baseline_models" / "chestx_det"
    src = det / "ptsemseg"
    if not (src / "pspnet.py").is_file() or not (det / "__init__.py").is_file():
        raise MaskError(
            f"The installed torchxrayvision has no chest PSPNet; install version 1.5.7 ({INSTALL_HINT})."
        )
    targets = _targets(det / "__init__.py")
    with _LOCK:
        if _PRIVATE_PKG not in sys.modules:
            # A package object of our own whose path is torchxrayvision's ptsemseg folder: its relative
            # imports resolve there, and torchxrayvision's own __init__ never runs (see the module docstring).
            spec = importlib.machinery.ModuleSpec(_PRIVATE_PKG, None, is_package=True)
            spec.submodule_search_locations = [str(src)]
            sys.modules[_PRIVATE_PKG] = importlib.util.module_from_spec(spec)
        try:
            module = importlib.import_module(f"{_PRIVATE_PKG}.pspnet")
        except Exception as exc:  # a broken or unexpected install: say which package, not a traceback
            raise MaskError(f"torchxrayvision's PSPNet definition could not be loaded ({exc}).") from None
    return module.pspnet, targets


def _targets(init_py: Path) -> list[str]:
    """PSPNet.targets read from the source (a literal list), without executing the module."""
    tree = ast.parse(init_py.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "PSPNet":
            for stmt in node.body:
                target: ast.expr
                value: ast.expr | None
                if isinstance(stmt, ast.AnnAssign):
                    target, value = stmt.target, stmt.value
                elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target, value = stmt.targets[0], stmt.value
                else:
                    continue
                if isinstance(target, ast.Name) and target.id == "targets" and value is not None:
                    names = ast.literal_eval(value)
                    if isinstance(names, list) and {LEFT_NAME, RIGHT_NAME} <= set(names):
                        return [str(v) for v in names]
    raise MaskError("The installed torchxrayvision's PSPNet has no 'Left Lung' / 'Right Lung' outputs.")


def read_weights(path: Path) -> dict[str, Any]:
    """The checkpoint's state dict (``module.`` prefixes of a DataParallel save removed)."""
    import torch

    name = path.name
    if not path.is_file():
        raise MaskError(f"The segmenter weights file {name} does not exist.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a class or function the safe loader will not import
            raise MaskError(
                f"The segmenter weights file {name} holds Python objects besides weights; it was refused "
                "for safety (only plain tensors are loaded)."
            ) from None
        raise MaskError(f"The segmenter weights file {name} is not a PyTorch checkpoint.") from None
    except Exception:  # a file that is not a checkpoint can fail anywhere inside the unpickler
        raise MaskError(f"The segmenter weights file {name} is not a PyTorch checkpoint.") from None
    for key in ("model_state", "state_dict"):  # training scripts often wrap the state dict
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise MaskError(f"The segmenter weights file {name} does not hold network weights.")
    if all(str(k).startswith("module.") for k in obj):
        obj = {str(k)[len("module.") :]: v for k, v in obj.items()}
    return obj


@dataclass
class Segmenter:
    """The chest PSPNet with the user's weights, ready to segment display images."""

    net: Any
    targets: list[str]

    def logits(self, image: np.ndarray, side: int | None = None) -> np.ndarray:
        """Float [2, H, W] logits of ("Left Lung", "Right Lung") at the image's own size.

        ``side``: the network's input size (default INPUT_SIDE, its native 512).
        """
        import torch
        import torch.nn.functional as F

        side = side or INPUT_SIDE
        img = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
        h, w = img.shape
        # torchxrayvision scales films to [-1024, 1024] and its PSPNet maps that back to [0, 1]: for a display
        # image in [0, 1] the two steps cancel, so the display values go straight to the ImageNet statistics.
        x = torch.from_numpy(np.ascontiguousarray(img))[None, None]
        # Squeeze the whole film to side x side (torchxrayvision would centre-crop, cutting off lung on a
        # portrait film); the logits are stretched back the same way below.
        x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        x = x.repeat(1, 3, 1, 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        x = (x - mean) / std
        idx = [self.targets.index(LEFT_NAME), self.targets.index(RIGHT_NAME)]
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the definition calls the deprecated F.upsample
            y = self.net(x)[:, idx]
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return y[0].numpy()

    def segment(self, image: np.ndarray, side: int | None = None) -> LungMask:
        """The lung mask of a display image (float HxW in [0, 1], bone bright), source "segmenter"."""
        img = np.asarray(image, np.float32)
        if img.ndim != 2 or min(img.shape) < 16:
            raise MaskError("The lung segmenter needs a 2-D film of at least 16 x 16 pixels.")
        logit_left, logit_right = self.logits(img, side)
        # Multi-label sigmoid outputs: logit > 0 is probability > 0.5; a pixel claimed by both goes to the
        # more confident lung.
        named_left = (logit_left > 0) & (logit_left >= logit_right)
        named_right = (logit_right > 0) & ~named_left
        named_left, named_right = _largest_piece(named_left), _largest_piece(named_right)
        left, right = _radiological(named_left, named_right)
        return LungMask(left | right, left, right, "segmenter")


def _largest_piece(mask: np.ndarray) -> np.ndarray:
    """One lung is one piece: keep the largest connected component, holes filled."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask)
    if n > 1:
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
        mask = lab == (int(np.argmax(sizes)) + 1)
    return ndi.binary_fill_holes(mask) if n else mask


def _radiological(named_left: np.ndarray, named_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patient left, patient right) from the network's "Left Lung" / "Right Lung" channels.

    ChestX-Det labels anatomy by the patient's side (anatomical terms, as radiologists annotate), so on a PA/AP
    film "Left Lung" is expected on the image right, which is this project's convention too. Should a
    checkpoint name the sides by the image instead, its "Left Lung" would sit on the image left; we then swap,
    so the patient's left lung is always the one on the image right, as for every other mask source.
    """
    if named_left.any() and named_right.any():
        x_left = np.nonzero(named_left)[1].mean()
        x_right = np.nonzero(named_right)[1].mean()
        if x_left < x_right:
            return named_right, named_left
    return named_left, named_right


def load_segmenter(weights: str | os.PathLike[str]) -> Segmenter:
    """The PSPNet with the weights in ``weights`` (cached while the file is unchanged)."""
    import torch

    path = Path(weights).expanduser()
    if not path.is_file():
        raise MaskError(f"The segmenter weights file {path.name} does not exist.")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    state = read_weights(path)
    net_cls, targets = network_definition()
    # Build on the meta device and adopt the checkpoint's tensors: no time spent on a random initialisation
    # that the weights replace anyway (strict: every weight must be there and fit).
    with torch.device("meta"):
        net = net_cls(n_classes=len(targets))
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError:
        raise MaskError(
            f"The segmenter weights file {path.name} does not fit torchxrayvision's chest PSPNet (its weights "
            "have other names or shapes); point to pspnet_chestxray_best_model_4.pth."
        ) from None
    seg = Segmenter(net.eval(), targets)
    with _LOCK:
        _CACHE.clear()  # one network at a time: each holds about 270 MB
        _CACHE[key] = seg
    return seg


def segment_with_weights(image: np.ndarray, weights: str | os.PathLike[str]) -> LungMask:
    """The lung mask of a display image by the chest PSPNet with the given weights file."""
    return load_segmenter(weights).segment(image)
