"""Training data: the COVID-19 Radiography Database layout or a generic CSV, grouped into classes.

- Layout: ``{Normal,COVID,Lung_Opacity,Viral Pneumonia}/images/*`` (``masks/`` ignored). Class -> prompt from the config.
- CSV: columns ``path`` (or ``image``) and ``prompt``; optional ``class`` (or ``finding``). Paths are relative to the CSV.
  The phantom generator's ``labels.csv`` is read as is. A folder holding ``labels.csv`` / ``train.csv`` counts as CSV.

Unreadable images are skipped and counted, never fatal. Batches are drawn by :class:`Sampler`, whose position is a
pair of counters, so a resumed run sees exactly the data the interrupted run would have seen.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vald_desktop.core.base.errors import DataError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
CSV_NAMES = ("labels.csv", "train.csv", "metadata.csv")
TWIN_CLASS = "normal"  # the phantom generator's class of healthy films
TWIN_PROMPT = "normal chest x-ray"


@dataclass
class Example:
    path: Path
    prompt: str
    klass: str


@dataclass
class Dataset:
    examples: list[Example]
    skipped: int = 0
    by_class: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_class = {}
        for i, ex in enumerate(self.examples):
            self.by_class.setdefault(ex.klass, []).append(i)

    def indices(self, klass: str | None) -> list[int]:
        """Example indices of a class (all examples for None); an empty or missing class is an error."""
        idx = list(range(len(self.examples))) if klass is None else self.by_class.get(klass, [])
        if not idx:
            known = ", ".join(sorted(self.by_class)) or "none"
            raise DataError(
                f"The training data has no readable images of class {klass!r} (classes: {known})."
            )
        return idx


def _readable(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except Exception:  # PIL raises many types for broken files; any of them means "skip it"
        return False


def scan_layout(root: Path, class_prompts: dict[str, str]) -> Dataset:
    examples: list[Example] = []
    skipped = 0
    for klass, prompt in class_prompts.items():
        folder = root / klass / "images"
        if not folder.is_dir():
            folder = root / klass
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if _readable(path):
                examples.append(Example(path, prompt, klass))
            else:
                skipped += 1
    return Dataset(examples, skipped)


def read_csv(csv_path: Path, class_prompts: dict[str, str] | None = None, twins: bool = False) -> Dataset:
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"The data table {csv_path.name} cannot be read ({exc}).") from None
    if not rows:
        raise DataError(f"The data table {csv_path.name} has no rows.")
    cols = set(rows[0])
    path_col = "path" if "path" in cols else "image" if "image" in cols else None
    if path_col is None or "prompt" not in cols:
        raise DataError(f"The data table {csv_path.name} needs 'path' (or 'image') and 'prompt' columns.")
    class_col = "class" if "class" in cols else "finding" if "finding" in cols else None
    prompt_to_class = {p: k for k, p in (class_prompts or {}).items()}
    examples: list[Example] = []
    skipped = 0
    for row in rows:
        path = Path(row[path_col])
        if not path.is_absolute():
            path = csv_path.parent / path
        prompt = (row.get("prompt") or "").strip()
        klass = (row.get(class_col) or "").strip() if class_col else ""
        klass = klass or prompt_to_class.get(prompt, prompt)
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and _readable(path):
            examples.append(Example(path, prompt, klass))
        else:
            skipped += 1
        twin = (row.get("healthy") or "").strip() if twins else ""
        if twin and klass != TWIN_CLASS:
            # A phantom's healthy twin differs from its image only inside the lesion: the sharpest lesson in what
            # the finding's words add (and what "normal" takes away).
            twin_path = Path(twin) if Path(twin).is_absolute() else csv_path.parent / twin
            if twin_path.is_file() and _readable(twin_path):
                examples.append(Example(twin_path, TWIN_PROMPT, TWIN_CLASS))
            else:
                skipped += 1
    return Dataset(examples, skipped)


def load_dataset(data: str | Path, class_prompts: dict[str, str], twins: bool = False) -> Dataset:
    """Read a class-folder layout or a CSV; ``twins`` also reads a phantom table's ``healthy`` column."""
    root = Path(data)
    if not root.exists():
        raise DataError(f"The training data {root} does not exist.")
    if root.is_file():
        ds = read_csv(root, class_prompts, twins)
    elif any((root / k).is_dir() for k in class_prompts):
        ds = scan_layout(root, class_prompts)
    else:
        table = next((root / n for n in CSV_NAMES if (root / n).is_file()), None)
        if table is None:
            raise DataError(
                f"{root} has neither class folders ({', '.join(class_prompts)}) nor a labels.csv."
            )
        ds = read_csv(table, class_prompts, twins)
    if not ds.examples:
        raise DataError(f"No readable training images were found in {root}.")
    if ds.skipped:
        log.warning("skipped %d unreadable image(s) in %s", ds.skipped, root)
    return ds


def load_gray(path: Path, size: int) -> np.ndarray:
    """A film as float32 ``size x size`` in [0, 1]: centre square crop, then resize (8/16-bit, RGB -> luminance)."""
    from PIL import Image

    with Image.open(path) as opened:
        im: Image.Image = opened  # rebound below to converted copies
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float32)
            hi = 65535.0 if arr.max() > 255 else 255.0
            im = Image.fromarray(arr / hi, mode="F")
        elif im.mode != "L":
            im = im.convert("L")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        im = im.resize((size, size), Image.Resampling.BICUBIC)
        arr = np.asarray(im, dtype=np.float32)
    if arr.max() > 1.0:
        arr = arr / 255.0
    return np.clip(arr, 0.0, 1.0)


def to_model_input(gray: np.ndarray) -> np.ndarray:
    """HxW [0,1] -> 3xHxW [-1,1] (grayscale films are replicated to the three channels the VAE expects)."""
    x = gray * 2.0 - 1.0
    return np.repeat(x[None], 3, axis=0).astype(np.float32)


class Sampler:
    """Deterministic batches from an index pool: epoch ``e`` is a permutation seeded by (seed, key, e).

    The position is the number of items taken so far, so saving and restoring it resumes the exact stream.
    """

    def __init__(self, pool: list[int], seed: int, key: int, position: int = 0) -> None:
        self.pool = list(pool)
        self.seed = seed
        self.key = key
        self.position = position
        self._epoch = -1
        self._perm: list[int] = []

    def take(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            epoch, offset = divmod(self.position, len(self.pool))
            if epoch != self._epoch:
                rng = np.random.default_rng([self.seed, self.key, epoch])
                self._perm = [self.pool[i] for i in rng.permutation(len(self.pool))]
                self._epoch = epoch
            out.append(self._perm[offset])
            self.position += 1
        return out
