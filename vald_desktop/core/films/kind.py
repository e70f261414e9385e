"""What a film is, before any model sees it: a frontal chest radiograph, or something the method is not for.

``film_kind(film)`` reads the header where there is one (Modality, BodyPartExamined, ViewPosition, frames, colour)
and, where the header is missing or silent, looks at the pixels (``pixel_check``: a cheap "is this a frontal chest
radiograph" test on a 64 x 64 thumbnail). The answer is a :class:`FilmKind`: a ``refusal`` (one sentence; CT, MR,
ultrasound, nuclear medicine, lateral views …: no counterfactual is made) or ``flags`` (sentences that put the film
outside any chest-radiograph model's domain: colour, several frames, another body part, a film that does not look
like a frontal chest radiograph). ``check_film`` raises the refusal as a :class:`FilmError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.film import Film
from vald_desktop.core.films.windowing import apply_window

RADIOGRAPHS = frozenset({"CR", "DX", "DR", "RG"})  # computed, digital and conventional radiography
UNKNOWN_MODALITIES = frozenset({"", "OT", "SC"})  # "other" / secondary capture: the pixels must tell
_MODALITY_WORDS = {
    "CT": "a CT image",
    "MR": "an MR image",
    "US": "an ultrasound image",
    "NM": "a nuclear medicine image",
    "PT": "a PET image",
    "XA": "an X-ray angiogram",
    "RF": "a fluoroscopy image",
    "MG": "a mammogram",
    "IO": "an intra-oral dental radiograph",
    "PX": "a panoramic dental radiograph",
    "ES": "an endoscopy image",
    "XC": "a photograph",
    "SM": "a microscopy slide",
    "OP": "an eye photograph",
    "SEG": "a segmentation",
    "RTDOSE": "a radiotherapy dose map",
    "RTIMAGE": "a radiotherapy portal image",
}
FRONTAL_VIEWS = frozenset({"PA", "AP"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LLAT", "RLAT", "LATERAL", "LATERAL LEFT", "LATERAL RIGHT"})
_CHEST_WORDS = ("CHEST", "THOR", "LUNG", "TORAX", "TORAC", "BRUST")
# Pixel test limits, set loosely (failing it alone only flags the result; core.engine.domain_features refuses a
# film only when a second witness agrees: the model's domain score, or the automatic lung mask's plausibility): a frontal film is roughly as tall as wide, left-right symmetric,
# with the mediastinum brighter than the lung fields on either side, and the abdomen below the lungs not darker than
# them. Measured: phantoms, RG1 and the davidson CR film pass (cropped, bordered, rotated and re-windowed too);
# pydicom's MR, ultrasound, nuclear medicine, extremity and face images each fail at least one.
_ASPECT = (0.5, 1.6)  # height / width: real films are up to 1.75x as wide as high, crops may be taller
_MIN_SPREAD = 0.05
_MIN_SYMMETRY = 0.4
_MIN_MEDIASTINUM = 0.05
_MIN_LOWER_ZONE = -0.1


@dataclass(frozen=True)
class FilmKind:
    """What the header and pixels say the film is; ``refusal`` or ``flags`` say why a model should not see it."""

    modality: str | None = None
    body_part: str | None = None
    view: str | None = None
    frames: int = 1
    colour: bool = False
    looks_like_chest: bool | None = None  # the pixel test's answer; None when the header sufficed
    refusal: str | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "body_part": self.body_part,
            "view": self.view,
            "frames": self.frames,
            "colour": self.colour,
            "looks_like_chest": self.looks_like_chest,
            "refused": self.refusal,
            "flags": list(self.flags),
        }


def check_film(film: Film) -> FilmKind:
    """The film's kind; raises :class:`FilmError` with the refusal for films the method is not for."""
    kind = film_kind(film)
    if kind.refusal:
        raise FilmError(kind.refusal)
    return kind


def film_kind(film: Film) -> FilmKind:
    """Header first (DICOM), then the pixels wherever the header leaves the question open."""
    name = film.source
    modality = _upper(film.info.get("modality"))
    body = _upper(_header(film, "BodyPartExamined"))
    view = _upper(film.view)
    frames = int(film.info.get("frames", 1) or 1)
    colour = _is_colour(film.stored)
    kind = FilmKind(modality=modality, body_part=body, view=view, frames=frames, colour=colour)
    if modality and modality not in RADIOGRAPHS and modality not in UNKNOWN_MODALITIES:
        what = _MODALITY_WORDS.get(modality, f"a {modality} object, not a radiograph")
        return _with(kind, refusal=f"{name} is {what}; counterfactuals are made for chest radiographs only.")
    if view in LATERAL_VIEWS:
        return _with(
            kind,
            refusal=f"{name} is a lateral view ({view}); the method is for frontal (PA or AP) chest films.",
        )
    flags: list[str] = []
    if view and view not in FRONTAL_VIEWS:
        flags.append(f"the view is {view}, not a frontal (PA or AP) view")
    if body and not any(word in body for word in _CHEST_WORDS):
        flags.append(f"the header names the body part {body}, not the chest")
    if frames > 1:
        flags.append(f"the file holds {frames} frames; a chest radiograph is a single image")
    if colour:
        flags.append("the film is in colour; radiographs are grey")
    looks = None
    if not modality or modality in UNKNOWN_MODALITIES or not body or not view:
        looks = pixel_check(_thumbnail(film))
        if not looks:
            flags.append("the pixels do not look like a frontal chest radiograph")
    return _with(kind, looks_like_chest=looks, flags=tuple(flags))


def pixel_check(image: np.ndarray) -> bool:
    """Whether a gray image (any range, dark = air) looks like a frontal chest radiograph; cheap and loose."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 8 or not np.all(np.isfinite(img)):
        return False
    # As it is, or without flat borders (scanner frames, padding), which shift the layout the test looks for.
    return _layout(img) or _layout(_trim(img))


def _layout(img: np.ndarray) -> bool:
    aspect = img.shape[0] / img.shape[1]
    if not _ASPECT[0] <= aspect <= _ASPECT[1]:
        return False
    s = _resize(img, 64)
    lo, hi = np.percentile(s, [2.0, 98.0])
    if hi - lo <= 1e-6:
        return False
    s = np.clip((s - lo) / (hi - lo), 0.0, 1.0)
    if float(s.std()) < _MIN_SPREAD:
        return False
    symmetry = float(np.corrcoef(s.ravel(), s[:, ::-1].ravel())[0, 1])
    middle = s[16:44]  # the lung zone: rows 25-70 %
    columns = middle.mean(axis=0)
    mediastinum = float(columns[28:36].mean() - min(columns[8:22].mean(), columns[42:56].mean()))
    lower_zone = float(s[-12:].mean() - middle.mean())
    return bool(
        symmetry >= _MIN_SYMMETRY and mediastinum >= _MIN_MEDIASTINUM and lower_zone >= _MIN_LOWER_ZONE
    )


def _trim(img: np.ndarray) -> np.ndarray:
    """The picture without flat black or white borders (scanner frames, padding): rows and columns that are
    mostly the darkest or brightest value are cut from the edges."""
    step = max(1, max(img.shape) // 256)
    small = img[::step, ::step]
    lo, hi = float(small.min()), float(small.max())
    if hi - lo <= 1e-6:
        return img
    rel = (small - lo) / (hi - lo)
    content = (rel > 0.03) & (rel < 0.97)
    rows = np.flatnonzero(content.mean(axis=1) > 0.25)
    cols = np.flatnonzero(content.mean(axis=0) > 0.25)
    if rows.size < 4 or cols.size < 4:
        return img
    return img[rows[0] * step : (rows[-1] + 1) * step, cols[0] * step : (cols[-1] + 1) * step]


def _thumbnail(film: Film) -> np.ndarray:
    """The film as displayed (window, MONOCHROME1 flipped), strided to about 256 px first: microseconds."""
    step = max(1, max(film.shape) // 256)
    small = apply_window(film.values[::step, ::step], film.default_window)
    return np.float32(1.0) - small if film.monochrome1 != film.default_window.invert else small


def _resize(img: np.ndarray, n: int) -> np.ndarray:
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((n, n), Image.Resampling.BILINEAR), dtype=np.float32)


def _is_colour(stored: np.ndarray) -> bool:
    """Colour channels that differ (gray stored as RGB is not colour); checked on a strided sample."""
    arr = np.asarray(stored)
    if arr.ndim != 3 or arr.shape[2] < 3:
        return False
    step = max(1, max(arr.shape[:2]) // 256)
    rgb = arr[::step, ::step, :3].astype(np.float32)
    spread = float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())
    scale = float(np.abs(rgb).max()) or 1.0
    return spread / scale > 0.01


def _header(film: Film, keyword: str) -> str | None:
    ds = film.dataset
    if ds is None:
        return None
    try:
        value = ds.get(keyword)
    except Exception:  # a damaged element in a forced read counts as absent
        return None
    return None if value is None else str(value)


def _upper(value: object) -> str | None:
    text = str(value).strip().upper() if value is not None else ""
    return text or None


def _with(kind: FilmKind, **changes: Any) -> FilmKind:
    from dataclasses import replace

    return replace(kind, **changes)
