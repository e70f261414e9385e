"""Where a film's lung mask comes from: files, the dataset's sibling mask, a segmenter, each with its verdict.

Sources, in order (``resolve_mask``): an explicit mask file; the dataset sibling mask
(``…/<Class>/images/<name>`` → ``…/<Class>/masks/<name>``, COVID-19 Radiography Database layout, or
``<name>-lungmask.png`` beside the film); torchxrayvision's PSPNet when the user points to its weights
(``masks.segmenter``, or $VALD_SEGMENTER_WEIGHTS); the shipped learned segmenter (``masks.auto``), with the atlas
fit (``masks.atlas_fit``) as its fallback and cross-check. Automatic masks are sided by ``masks.laterality`` and
judged by ``masks.quality``; drawn masks are taken as given ("ok"). On a usually displayed PA/AP film the
patient's **left** lung is on the **image right**; a header saying the film is mirrored swaps that.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from vald_desktop.core.base.atomic import write_bytes
from vald_desktop.core.base.errors import MaskError, MaskWarning
from vald_desktop.core.base.graypng import encode_gray_png
from vald_desktop.core.films.film import Film
from vald_desktop.core.films.load import load_film
from vald_desktop.core.masks.atlas_mask import auto_segment  # noqa: F401  (re-exported: tests and benchmarks)
from vald_desktop.core.masks.auto import atlas_mask, judged, learned_mask
from vald_desktop.core.masks.laterality import drawn_sides
from vald_desktop.core.masks.learned import shipped_available
from vald_desktop.core.masks.lung_mask import LungMask, resize_nearest
from vald_desktop.core.masks.seg_mask import is_dicom_file, load_seg_mask
from vald_desktop.core.masks.segmenter import configured_weights, segment_with_weights

SOURCES = ("file", "dataset", "segmenter", "learned", "atlas", "edited")


def load_mask(
    path: str | os.PathLike[str], shape: tuple[int, int], source: str = "file", film_uid: str | None = None
) -> LungMask:
    """Read a mask picture (any size; gray, colour or 16-bit) and fit it to ``shape`` (nearest neighbour).

    Non-binary masks are thresholded at half their range. A DICOM file must be a Segmentation of the lungs on
    this film (``masks.seg_mask``; ``film_uid``, the film's SOP Instance UID, when known). Raises MaskError if
    unreadable or empty.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    name = path.name
    if is_dicom_file(path):
        return load_seg_mask(path, shape, source, film_uid=film_uid)
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            arr = np.asarray(img.convert("F") if img.mode not in ("1", "L") else img, dtype=np.float32)
    except FileNotFoundError:
        raise MaskError(f"The mask file {name} does not exist.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise MaskError(f"The mask file {name} is not a picture this application can read.") from None
    if arr.ndim != 2 or arr.size == 0:
        raise MaskError(f"The mask file {name} is not a single-channel picture.")
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        raise MaskError(f"The mask file {name} marks no lung (it is all one value).")
    binary = arr > (lo + hi) / 2
    if binary.shape != tuple(shape):
        binary = resize_nearest(binary, shape)
    if not binary.any():
        raise MaskError(f"The mask file {name} marks no lung at this film's size.")
    return LungMask.from_mask(binary, source)


def save_mask(mask: LungMask | np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write the mask as an 8-bit PNG (255 = lung), atomically."""
    arr = mask.mask if isinstance(mask, LungMask) else np.asarray(mask, bool)
    return write_bytes(path, encode_gray_png(arr))


def validate(mask: LungMask, warn: bool = True) -> list[str]:
    """Plain-sentence warnings about an implausible mask (also issued as MaskWarning when ``warn``)."""
    from scipy import ndimage as ndi

    out: list[str] = []
    if mask.is_empty:
        out.append("The lung mask is empty; the difference map will not be confined to the lungs.")
    else:
        total = mask.area_fraction
        if total < 0.08:
            out.append(f"The lung mask covers only {total:.0%} of the film; it may have missed the lungs.")
        elif total > 0.65:
            out.append(f"The lung mask covers {total:.0%} of the film; it probably spills outside the lungs.")
        if not mask.left.any() or not mask.right.any():
            side = "left" if not mask.left.any() else "right"
            out.append(f"The lung mask has no {side} lung; check the mask before reading the map.")
        else:
            small, big = sorted((mask.left.sum(), mask.right.sum()))
            if small < 0.25 * big:
                out.append(
                    "One lung of the mask is less than a quarter the size of the other; check the mask."
                )
        lab, n = ndi.label(mask.mask)
        if n > 4:
            out.append(f"The lung mask falls into {n} pieces; it may be following noise.")
    if warn:
        for msg in out:
            warnings.warn(MaskWarning(msg), stacklevel=2)
    return out


def dataset_sibling(film_path: str | os.PathLike[str]) -> Path | None:
    """The mask shipped with a film, or None.

    ``…/<Class>/images/<name>.<ext>`` → ``…/<Class>/masks/<name>.*`` (COVID-19 Radiography Database layout,
    PNG first); also ``<name>-lungmask.png`` beside the film (how phantoms and the bundled sample ship it).
    """
    p = Path(film_path)
    beside = p.with_name(f"{p.stem}-lungmask.png")
    if beside.is_file():
        return beside
    if p.parent.name.lower() != "images":
        return None
    masks = p.parent.parent / ("masks" if p.parent.name == "images" else "Masks")
    for suffix in (".png", p.suffix, ".PNG", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        cand = masks / (p.stem + suffix)
        if cand.is_file():
            return cand
    return None


def resolve_mask(
    film: Film | str | os.PathLike[str],
    mask_file: str | os.PathLike[str] | None = None,
    weights: str | os.PathLike[str] | None = None,
    film_path: str | os.PathLike[str] | None = None,
) -> LungMask:
    """The film's lung mask from the first source that has one (see the module docstring).

    ``film`` is a loaded Film (then pass ``film_path`` to let the dataset sibling be found) or a path.
    ``weights``: the learned segmenter's weights file; when None, $VALD_SEGMENTER_WEIGHTS if set (so the app's
    automatic mask uses a configured segmenter). Segmenter and automatic masks are validated; implausible ones
    raise :class:`MaskWarning` warnings, not errors.
    """
    if not isinstance(film, Film):
        film_path = film_path or film
        film = load_film(film)
    shape = film.shape
    if mask_file is not None:
        uid = str(film.dataset.get("SOPInstanceUID", "")) if film.dataset is not None else ""
        loaded = load_mask(mask_file, shape, source="file", film_uid=uid or None)
        # A DICOM SEG codes each lung's side itself; a picture follows the film's display.
        return loaded if is_dicom_file(mask_file) else drawn_sides(loaded, film.dataset)
    if film_path is not None:
        sibling = dataset_sibling(film_path)
        if sibling is not None:
            return drawn_sides(load_mask(sibling, shape, source="dataset"), film.dataset)
    display = film.display()
    weights = weights if weights is not None else configured_weights()
    if weights is not None:
        mask = segment_with_weights(display, weights)
        if not mask.is_empty:
            validate(mask)
            return judged(display, mask.mask, "segmenter", film.dataset, 0.8)[0]
        warnings.warn(
            MaskWarning("The lung segmenter found no lungs on this film; using the built-in automatic mask."),
            stacklevel=2,
        )
    if shipped_available():
        return learned_mask(display, film.dataset)
    return atlas_mask(display, film.dataset)
