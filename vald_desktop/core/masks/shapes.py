"""Real lung shapes from the torchxrayvision wheel, normalised for phantoms and the automatic-mask atlas.

The wheel ships 517 hand-drawn lung masks (``torchxrayvision/data/semantic_masks_v7labs_lungs.zip``). We read
them in memory (a zip inside a zip), keep those that show exactly two plausible lungs, crop each to the bounding
box of both lungs and resample it to a fixed square grid with one channel per lung (image-left, image-right).
The aspect ratio of the box is kept so shapes can be placed back without distortion.

Decoding all masks takes ~10 s, so the derived set is cached as a small ``.npz`` in the user cache folder,
keyed by the wheel's size and modification time.
"""

from __future__ import annotations

import glob
import io
import logging
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vald_desktop.core.base.atomic import write_with

log = logging.getLogger(__name__)

MASKS_MEMBER = "torchxrayvision/data/semantic_masks_v7labs_lungs.zip"
GRID = 96  # side of the normalised shape grid (both lungs' bounding box)
CACHE_VERSION = 1
_REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class LungShapes:
    """Normalised two-lung shapes.

    ``masks``: uint8 [N, 2, GRID, GRID] coverage 0..255; channel 0 = image-left lung (patient right),
    channel 1 = image-right lung (patient left). ``aspect``: float32 [N] height / width of the original box.
    ``source``: "wheel" (real masks) or "procedural" (fallback).
    """

    masks: np.ndarray
    aspect: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.masks.shape[0])


def find_wheel() -> Path | None:
    """The torchxrayvision wheel: $VALD_XRV_WHEEL, then ``<repo>/.cache/wheels``, then an installed package."""
    env = os.environ.get("VALD_XRV_WHEEL")
    if env and Path(env).is_file():
        return Path(env)
    hits = sorted(glob.glob(str(_REPO / ".cache" / "wheels" / "torchxrayvision-*.whl")))
    if hits:
        return Path(hits[-1])
    try:
        import importlib.util

        spec = importlib.util.find_spec("torchxrayvision")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        data = Path(spec.origin).parent / "data" / Path(MASKS_MEMBER).name
        if data.is_file():
            return data  # an installed package: the inner zip itself
    return None


def _inner_zip(path: Path) -> zipfile.ZipFile:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(MASKS_MEMBER)
        return zipfile.ZipFile(io.BytesIO(data))
    return zipfile.ZipFile(path)


def iter_raw_masks(path: Path, max_side: int = 256) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (name, bool mask) for each image in the masks zip, downsampled to at most ``max_side``."""
    from PIL import Image

    inner = _inner_zip(path)
    for name in inner.namelist():
        if name.endswith("/"):
            continue
        try:
            opened = Image.open(io.BytesIO(inner.read(name)))
            opened.draft("L", (max_side, max_side))  # JPEG: decode at reduced scale, much faster
            img = opened.convert("L")
            img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        except (OSError, ValueError):
            continue
        yield name, np.asarray(img) > 127


def normalise(mask: np.ndarray, grid: int = GRID) -> tuple[np.ndarray, float] | None:
    """Two-lung mask → ([2, grid, grid] uint8 coverage, box aspect), or None if it is not two plausible lungs."""
    from scipy import ndimage as ndi

    lab, k = ndi.label(mask)
    if k < 2:
        return None
    sizes = ndi.sum(mask, lab, index=np.arange(1, k + 1))
    order = np.argsort(sizes)[::-1]
    big, small = sizes[order[0]], sizes[order[1]]
    # Two lungs of comparable size that cover a sensible part of the picture; specks are annotation noise.
    if small < 0.35 * big or big < 0.02 * mask.size:
        return None
    lungs = [ndi.binary_fill_holes(lab == order[i] + 1) for i in range(2)]
    cx = [np.nonzero(lung)[1].mean() for lung in lungs]
    if cx[0] > cx[1]:
        lungs.reverse()
        cx.reverse()
    union = lungs[0] | lungs[1]
    rows = np.nonzero(union.any(axis=1))[0]
    cols = np.nonzero(union.any(axis=0))[0]
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    w, h = x1 - x0, y1 - y0
    # One lung per side of the box centre, not stacked or overlapping much.
    mid = (x0 + x1) / 2
    if not (cx[0] < mid < cx[1]) or w < 20 or h < 20:
        return None
    aspect = h / w
    if not 0.55 < aspect < 1.4:
        return None
    out = np.empty((2, grid, grid), np.uint8)
    for i, lung in enumerate(lungs):
        crop = lung[y0:y1, x0:x1].astype(np.float32)
        out[i] = np.clip(_resample(crop, grid, grid) * 255 + 0.5, 0, 255).astype(np.uint8)
    return out, float(aspect)


def _resample(a: np.ndarray, h: int, w: int) -> np.ndarray:
    from scipy import ndimage as ndi

    zoom = (h / a.shape[0], w / a.shape[1])
    # Pre-smooth when shrinking so the coverage is area-like rather than aliased.
    sigma = [max(0.0, 0.5 / z - 0.5) for z in zoom]
    if max(sigma) > 0:
        a = ndi.gaussian_filter(a, sigma)
    out: np.ndarray = ndi.zoom(a, zoom, order=1, mode="nearest", grid_mode=True)[:h, :w]
    return out


def _cache_path(wheel: Path) -> Path:
    import platformdirs

    st = wheel.stat()
    key = f"{st.st_size}-{int(st.st_mtime)}-v{CACHE_VERSION}-g{GRID}"
    return Path(platformdirs.user_cache_dir("vald-desktop")) / f"lungshapes-{key}.npz"


def build_shapes(wheel: Path) -> LungShapes:
    masks, aspects = [], []
    for _name, raw in iter_raw_masks(wheel):
        norm = normalise(raw)
        if norm is not None:
            masks.append(norm[0])
            aspects.append(norm[1])
    if not masks:
        raise ValueError("no usable lung masks")
    return LungShapes(np.stack(masks), np.asarray(aspects, np.float32), "wheel")


@lru_cache(maxsize=2)
def load_shapes(allow_procedural: bool = True) -> LungShapes:
    """The real lung shapes (cached on disk), or procedural ones with a warning when the wheel is missing."""
    wheel = find_wheel()
    if wheel is None:
        if not allow_procedural:
            raise FileNotFoundError("torchxrayvision wheel not found")
        log.warning(
            "Real lung shapes unavailable (torchxrayvision wheel not found; run 'make setup' or set "
            "VALD_XRV_WHEEL); using procedural lung shapes."
        )
        return procedural_shapes(64, seed=0)
    cache = _cache_path(wheel)
    if cache.is_file():
        try:
            with np.load(cache) as data:
                return LungShapes(data["masks"], data["aspect"], "wheel")
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt below
    shapes = build_shapes(wheel)
    try:
        write_with(cache, lambda fh: np.savez_compressed(fh, masks=shapes.masks, aspect=shapes.aspect))
    except Exception as exc:  # a read-only cache folder only costs time
        log.info("could not cache lung shapes: %s", exc)
    return shapes


def procedural_shapes(n: int, seed: int = 0, grid: int = GRID) -> LungShapes:
    """Fallback two-lung shapes: rounded apices, domed bases, a sharp costophrenic angle, a heart notch."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:grid, 0:grid].astype(np.float32) / (grid - 1)
    masks = np.empty((n, 2, grid, grid), np.uint8)
    for k in range(n):
        for side in range(2):
            # Work in a lung-local frame: s = 0 medial .. 1 lateral, v = 0 apex .. 1 base.
            width = rng.uniform(0.40, 0.46)
            # s: 0 at the medial border, 1 at the lateral chest wall (image-left lung: lateral is u = 0).
            s = (u - (1 - width)) / width if side == 1 else (width - u) / width
            apex = 0.05 + 0.1 * (1 - s) ** 2 + rng.uniform(-0.02, 0.02)
            base = 0.82 + 0.16 * np.clip(s, 0, 1) ** 1.5 + rng.uniform(-0.04, 0.04)
            notch = (0.35 if side == 1 else 0.15) * np.clip((v - 0.45) / 0.55, 0, 1) ** 1.2
            inside = (s > notch) & (s < 1) & (v > apex) & (v < base)
            masks[k, side] = np.where(inside, 255, 0).astype(np.uint8)
    aspect = rng.uniform(0.8, 1.05, n).astype(np.float32)
    return LungShapes(masks, aspect, "procedural")
