"""Lung masks: where a film's mask comes from, and the operations the viewer and the editor need.

Sources, in order (``resolve_mask``): an explicit mask file; the dataset sibling mask
(``…/<Class>/images/<name>`` → ``…/<Class>/masks/<name>``, COVID-19 Radiography Database layout, or
``<name>-lungmask.png`` beside the film); a learned
segmenter when the user points to its weights (``mask_segmenter``; or $VALD_SEGMENTER_WEIGHTS); the built-in automatic mask (a lung shape model fitted to the
film, see ``mask_auto``). Every mask is split into the patient's left and right lung: on a PA/AP film the
patient's **left** lung is on the **image right**.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import write_bytes
from .errors import MaskError, MaskWarning
from .graypng import encode_gray_png

if TYPE_CHECKING:
    from .films import Film

SOURCES = ("file", "dataset", "segmenter", "atlas", "edited")
REFINE_SIDE = 256  # the automatic mask is refined at this long side, then scaled to the film


@dataclass(frozen=True)
class LungMask:
    """A binary lung mask at the film's size, split into the patient's left and right lung."""

    mask: np.ndarray  # bool HxW, both lungs
    left: np.ndarray  # bool HxW, the PATIENT's left lung (image right on PA/AP)
    right: np.ndarray  # bool HxW, the patient's right lung (image left)
    source: str  # one of SOURCES

    @classmethod
    def from_mask(cls, mask: np.ndarray, source: str) -> LungMask:
        """Split a two-lung mask into patient left / right (see :func:`split_lungs`)."""
        mask = np.asarray(mask, bool)
        left, right = split_lungs(mask)
        return cls(mask.copy(), left, right, source)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.mask.shape[0]), int(self.mask.shape[1])

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0

    @property
    def left_fraction(self) -> float:
        return float(self.left.mean()) if self.left.size else 0.0

    @property
    def right_fraction(self) -> float:
        return float(self.right.mean()) if self.right.size else 0.0

    @property
    def is_empty(self) -> bool:
        return not bool(self.mask.any())

    def dilate(self, px: int) -> LungMask:
        """Grow by ``px`` pixels (a disc); each lung grows on its own and never into the other."""
        return self._morph(px, grow=True)

    def erode(self, px: int) -> LungMask:
        """Shrink by ``px`` pixels (a disc)."""
        return self._morph(px, grow=False)

    def _morph(self, px: int, grow: bool) -> LungMask:
        from scipy import ndimage as ndi

        if px <= 0:
            return self
        # Distance transforms give an exact disc at any radius, at a cost independent of px.
        if grow:
            d_left = ndi.distance_transform_edt(~self.left)
            d_right = ndi.distance_transform_edt(~self.right)
            left = (d_left <= px) & (d_left <= d_right)  # a contested pixel goes to the nearer lung
            right = (d_right <= px) & (d_right < d_left)
        else:
            left = ndi.distance_transform_edt(self.left) > px
            right = ndi.distance_transform_edt(self.right) > px
        return LungMask(left | right, left, right, self.source)

    def resized(self, shape: tuple[int, int]) -> LungMask:
        """Nearest-neighbour resize to ``shape`` (rows, columns); left / right keep their labels."""
        return LungMask(
            _nearest(self.mask, shape), _nearest(self.left, shape), _nearest(self.right, shape), self.source
        )

    def with_source(self, source: str) -> LungMask:
        return LungMask(self.mask, self.left, self.right, source)

    def to_png(self) -> bytes:
        """8-bit PNG, 255 = lung, at the mask's size."""
        return encode_gray_png(self.mask)


def _nearest(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = a.shape
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.intp), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.intp), w - 1)
    return a[rows[:, None], cols[None, :]]


def split_lungs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(patient left, patient right) of a lung mask.

    Each connected component goes to the side of the midline its pixels mostly lie on; a component that
    straddles the midline (lungs drawn touching) is cut at it. The midline runs through the gap between the
    two largest components, or through the middle of the picture when there is only one.
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask, bool)
    left = np.zeros_like(mask)
    right = np.zeros_like(mask)
    if not mask.any():
        return left, right
    lab, n = ndi.label(mask)
    objects = ndi.find_objects(lab)
    mid = mask.shape[1] / 2
    if n >= 2:
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
        a, b = sorted(np.argsort(sizes)[-2:], key=lambda i: objects[i][1].start)
        gap_lo, gap_hi = objects[a][1].stop, objects[b][1].start
        # Two lungs side by side: cut in their gap; overlapping in x (odd drawings): keep the picture's middle.
        if gap_hi >= gap_lo and sizes[b] > 0.1 * sizes[a] and sizes[a] > 0.1 * sizes[b]:
            mid = (gap_lo + gap_hi) / 2
    image_right = (np.arange(mask.shape[1]) + 0.5 >= mid)[None, :]
    for i, sl in enumerate(objects, start=1):
        comp = lab[sl] == i
        xs = np.nonzero(comp)[1] + sl[1].start + 0.5
        share_right = float((xs >= mid).mean())
        target = np.zeros_like(mask)
        target[sl] = comp
        if share_right > 0.9:
            left |= target
        elif share_right < 0.1:
            right |= target
        else:
            left |= target & image_right
            right |= target & ~image_right
    return left, right


def load_mask(path: str | os.PathLike[str], shape: tuple[int, int], source: str = "file") -> LungMask:
    """Read a mask picture (any size; gray, colour or 16-bit) and fit it to ``shape`` (nearest neighbour).

    Non-binary masks are thresholded at half their range. Raises MaskError if unreadable or empty.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    name = path.name
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
        binary = _nearest(binary, shape)
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


def auto_segment(image: np.ndarray) -> LungMask:
    """The built-in automatic lung mask of a display image (float HxW in [0, 1], bone bright)."""
    from .gridsample import upsample
    from .mask_auto import _work_image, fill_effusions, fit_lungs, refine, render_fit

    img = np.asarray(image, np.float32)
    if img.ndim != 2 or min(img.shape) < 16:
        raise MaskError("The automatic lung mask needs a 2-D film of at least 16 x 16 pixels.")
    if not np.all(np.isfinite(img)) or float(img.max() - img.min()) < 1e-6:
        raise MaskError("The film is blank; no lung mask can be found on it.")
    fit = fit_lungs(img)
    # Refine on a copy of moderate size (distance transforms on a 2000-pixel film would be slow), then scale up.
    small, scale = _work_image(img, REFINE_SIDE)
    lungs = refine(render_fit(fit, small.shape, scale=scale), small, fit, scale)
    lungs = fill_effusions(lungs, small, fit, scale)
    h, w = img.shape
    if small.shape != img.shape:
        from scipy import ndimage as ndi

        soft = np.stack([ndi.gaussian_filter(ch.astype(np.float32), 0.7) for ch in lungs])
        lungs = upsample(soft, h, w) > 0.5
    right, left = lungs[0], lungs[1] & ~lungs[0]  # channel 0 = image left = patient right
    return LungMask(right | left, left, right, "atlas")


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
    from .films import Film, load_film

    if not isinstance(film, Film):
        film_path = film_path or film
        film = load_film(film)
    shape = film.shape
    if mask_file is not None:
        return load_mask(mask_file, shape, source="file")
    if film_path is not None:
        sibling = dataset_sibling(film_path)
        if sibling is not None:
            return load_mask(sibling, shape, source="dataset")
    from .mask_segmenter import configured_weights, segment_with_weights

    weights = weights if weights is not None else configured_weights()
    if weights is not None:
        mask = segment_with_weights(film.display(), weights)
        if not mask.is_empty:
            validate(mask)
            return mask
        warnings.warn(
            MaskWarning("The lung segmenter found no lungs on this film; using the built-in automatic mask."),
            stacklevel=2,
        )
    mask = auto_segment(film.display())
    validate(mask)
    return mask
