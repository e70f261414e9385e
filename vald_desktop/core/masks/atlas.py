"""Statistical lung shape model (mean + principal modes of signed distance maps) for the automatic mask.

Built from the real lung masks in the torchxrayvision wheel (see ``lungshapes``) and committed as a small
derived file, so the app's automatic mask works without the wheel. Rebuild it with::

    .venv/bin/python -m vald_desktop.core.masks.atlas            # writes resources/lung_atlas.npz

Frame: the bounding box of both lungs is the unit square (u right, v down); the model lives on a canvas that
extends ``MARGIN`` box widths beyond it on every side, so the fitted template also "sees" the mediastinum,
the chest wall and the diaphragm around the lungs. Each lung has its own signed distance map (negative
inside, in box units, clipped), channel 0 = image-left lung (patient right), channel 1 = image-right lung.

Every fifth real shape (index % HOLDOUT == 0) is left out of the model so tests can measure the automatic mask
on phantoms drawn with shapes it has never seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vald_desktop.core.base.atomic import write_with
from vald_desktop.core.base.errors import MaskError
from vald_desktop.core.base.package_data import data_path

log = logging.getLogger(__name__)

ATLAS_PATH = data_path("resources", "lung_atlas.npz")
BOX = 48  # model samples across the lung box
MARGIN = 0.25  # canvas margin around the box, in box widths / heights
CLIP = 0.25  # signed distances are clipped here (box units): far-field values carry no shape information
MODES = 12
HOLDOUT = 5
VERSION = 1


@dataclass(frozen=True)
class Atlas:
    mean: np.ndarray  # float32 [2, C, C] mean signed distance per lung
    modes: np.ndarray  # float32 [K, 2, C, C] principal modes (unit norm)
    sigma: np.ndarray  # float32 [K] standard deviation of each mode's coefficient
    aspect: tuple[float, float]  # mean and std of the lung box's height / width
    n_shapes: int

    @property
    def canvas(self) -> int:
        return int(self.mean.shape[-1])

    def sdf(self, coeffs: np.ndarray | None = None) -> np.ndarray:
        """Signed distance maps [2, C, C] of the shape with mode coefficients ``coeffs`` (in units of sigma)."""
        if coeffs is None or not len(coeffs):
            return self.mean
        k = len(coeffs)
        weights = (np.asarray(coeffs, np.float32) * self.sigma[:k]).astype(np.float32)
        return self.mean + np.tensordot(weights, self.modes[:k], axes=1)


def canvas_coords(n: int = BOX) -> np.ndarray:
    """Box coordinates (u or v) of the canvas sample centres along one axis."""
    c = int(round(n * (1 + 2 * MARGIN)))
    return ((np.arange(c, dtype=np.float32) + 0.5) / n - MARGIN).astype(np.float32)


def shape_sdf(shape: np.ndarray) -> np.ndarray:
    """[2, g, g] coverage (0..255) in the box → [2, C, C] clipped signed distance maps on the canvas."""
    from scipy import ndimage as ndi

    from vald_desktop.core.base.gridsample import sample_grid

    g = shape.shape[-1]
    coords = canvas_coords()
    # Canvas sample → fractional index into the g-grid; outside the box we sample the zero padding.
    idx = np.clip(coords * g - 0.5 + 1, 0, g + 1)
    padded = np.zeros((2, g + 2, g + 2), np.float32)
    padded[:, 1:-1, 1:-1] = shape.astype(np.float32) / 255.0
    cov = sample_grid(padded, idx, idx)
    out = np.empty_like(cov)
    for ch in range(2):
        inside = cov[ch] > 0.5
        d_out = ndi.distance_transform_edt(~inside)
        d_in = ndi.distance_transform_edt(inside)
        out[ch] = np.clip((d_out - d_in) / BOX, -CLIP, CLIP)
    return out.astype(np.float32)


def build_atlas(masks: np.ndarray, aspect: np.ndarray, modes: int = MODES) -> Atlas:
    """Mean and principal modes of the signed distance maps of the shapes not held out."""
    keep = np.arange(len(masks)) % HOLDOUT != 0
    sdfs = np.stack([shape_sdf(m) for m in masks[keep]])
    n = len(sdfs)
    flat = sdfs.reshape(n, -1).astype(np.float64)
    mean = flat.mean(axis=0)
    _, sing, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(modes, n - 1)
    sigma = sing[:k] / np.sqrt(max(n - 1, 1))
    shape = sdfs.shape[1:]
    return Atlas(
        mean=mean.reshape(shape).astype(np.float32),
        modes=vt[:k].reshape((k, *shape)).astype(np.float32),
        sigma=sigma.astype(np.float32),
        aspect=(float(aspect[keep].mean()), float(aspect[keep].std())),
        n_shapes=int(n),
    )


def save_atlas(atlas: Atlas, path: Path = ATLAS_PATH) -> Path:
    def writer(fh) -> None:  # type: ignore[no-untyped-def]
        np.savez_compressed(
            fh,
            mean=atlas.mean.astype(np.float16),
            modes=atlas.modes.astype(np.float16),
            sigma=atlas.sigma,
            aspect=np.asarray(atlas.aspect, np.float32),
            n_shapes=np.int32(atlas.n_shapes),
            version=np.int32(VERSION),
            box=np.int32(BOX),
            margin=np.float32(MARGIN),
            holdout=np.int32(HOLDOUT),
        )

    return write_with(path, writer)


@lru_cache(maxsize=1)
def load_atlas(path: Path = ATLAS_PATH) -> Atlas:
    """The committed shape model; rebuilt from the wheel if the file is missing; MaskError if neither exists."""
    if path.is_file():
        try:
            with np.load(path) as data:
                if int(data["version"]) != VERSION or int(data["box"]) != BOX:
                    raise ValueError("atlas format changed")
                mean, modes = data["mean"].astype(np.float32), data["modes"].astype(np.float32)
                asp = data["aspect"]
                return Atlas(
                    mean,
                    modes,
                    data["sigma"].astype(np.float32),
                    (float(asp[0]), float(asp[1])),
                    int(data["n_shapes"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            log.warning("lung atlas %s unreadable (%s); rebuilding it", path.name, exc)
    from vald_desktop.core.masks.shapes import find_wheel, load_shapes

    if find_wheel() is None:
        raise MaskError(
            "The automatic lung mask needs its lung atlas (resources/lung_atlas.npz), which is missing; reinstall the application."
        )
    shapes = load_shapes(allow_procedural=False)
    return build_atlas(shapes.masks, shapes.aspect)


def main() -> None:
    from vald_desktop.core.masks.shapes import load_shapes

    shapes = load_shapes(allow_procedural=False)
    atlas = build_atlas(shapes.masks, shapes.aspect)
    out = save_atlas(atlas)
    explained = atlas.sigma**2
    print(
        f"{out}: {atlas.n_shapes} shapes, {len(atlas.sigma)} modes, {out.stat().st_size / 1024:.0f} KiB, "
        f"sigma {np.round(explained / explained.sum(), 3).tolist()}"
    )


if __name__ == "__main__":
    main()
