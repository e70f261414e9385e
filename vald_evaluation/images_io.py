"""Reading image sets for evaluation: grayscale films as float arrays in [0, 1], paired by file name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vald_desktop.core.base.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm")
# Name endings that mark a counterfactual saved beside (or instead of) its film's own name.
CF_SUFFIXES = ("-counterfactual", "_counterfactual", ".counterfactual", "-cf", "_cf")


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` sorted by relative path; a missing or empty folder is a :class:`DataError`."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"The image folder {root} does not exist.")
    pattern = "**/*" if recursive else "*"
    files = sorted(
        p
        for p in root.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise DataError(f"The folder {root} holds no images (PNG, JPEG, TIFF, BMP or DICOM).")
    return files


def load_gray(path: str | Path) -> np.ndarray:
    """A film as float32 HxW in [0, 1]. 16-bit PNGs keep their depth; colour images are averaged to gray."""
    path = Path(path)
    if path.suffix.lower() == ".dcm":
        from vald_desktop.core.films.load import load_film

        return np.asarray(load_film(path).display(), dtype=np.float32)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64)
                top = 65535.0 if arr.max() > 255 else 255.0
                return np.clip(arr / top, 0, 1).astype(np.float32)
            if img.mode == "F":
                return np.clip(np.asarray(img, dtype=np.float32), 0, 1)
            return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read the image {path.name}: {exc}.") from None


def resize_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a [0, 1] float image to (H, W); a no-op when the size already matches."""
    if image.shape[:2] == tuple(shape):
        return image
    pil = Image.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float32)


def generated_images(folder: Path) -> list[Path]:
    """Counterfactual images below ``folder``.

    ``vald run`` in batch mode writes one folder per film (named after it) holding ``counterfactual.png`` beside an
    overlay and a composite; where such folders exist only their ``counterfactual.png`` counts. Otherwise every image
    file counts (counterfactuals saved under the film's own name).
    """
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    run_outputs = [p for p in files if p.name == "counterfactual.png"]
    return run_outputs or files


def source_stem(path: Path) -> str:
    """The file name (stem) of the film a generated image came from."""
    if path.name == "counterfactual.png":
        return path.parent.name
    stem = path.stem
    for suffix in CF_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def pair_by_name(refs: list[Path], cands: list[Path]) -> list[tuple[str, Path, Path]]:
    """Pairs (name, ref, cand) matched by the source film's stem (see ``source_stem``); unmatched names are skipped."""
    by_stem: dict[str, Path] = {}
    for p in cands:
        by_stem.setdefault(source_stem(p), p)
    pairs = [(r.stem, r, by_stem[r.stem]) for r in refs if r.stem in by_stem]
    if not pairs:
        raise DataError(
            "No file names match between the two folders; counterfactuals must keep the input's name."
        )
    return pairs
