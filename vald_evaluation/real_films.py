"""The real chest films the project can reach offline, and the check every automatic mask on them must pass.

Films: pydicom-data's RG1 chest CR in its uncompressed and JPEG 2000 forms, and the adult MONOCHROME1 chest CR from
the rsna-anonymizer sdist's test assets (``make setup`` unpacks it into ``.cache/films``). Nothing here is tuned per
film: the check is ``masks.quality.plausibility`` plus "the patient's left lung lies on the image right" for
films shown the usual way.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.quality import plausibility

_REPO = Path(__file__).resolve().parents[1]
RG1_NAMES = ("RG1_UNCI.dcm", "RG1_J2KI.dcm", "RG1_J2KR.dcm", "RG1_UNCR.dcm")


def pydicom_data_films() -> list[Path]:
    try:
        import data_store  # type: ignore[import-untyped]
    except ImportError:
        return []
    folder = Path(data_store.__file__).parent / "data"
    return [folder / n for n in RG1_NAMES if (folder / n).is_file()]


def davidson_film() -> Path | None:
    hits = sorted(glob.glob(str(_REPO / ".cache" / "films" / "**" / "davidson*.dcm"), recursive=True))
    return Path(hits[0]) if hits else None


def real_chest_films() -> list[Path]:
    """Every real chest film found here (RG1 forms first); empty when none is installed."""
    films = pydicom_data_films()
    d = davidson_film()
    return films + ([d] if d is not None else [])


def real_film_problems(display: np.ndarray, mask: LungMask, usual_display: bool = True) -> list[str]:
    """What is wrong with an automatic mask on a real frontal film; empty when it is plausible and sided right."""
    problems = plausibility(display, mask.left, mask.right)
    if usual_display and mask.left.any() and mask.right.any():
        xs = np.arange(mask.shape[1])
        if xs[mask.left.any(axis=0)].mean() <= xs[mask.right.any(axis=0)].mean():
            problems.append("The patient's left lung is not on the image right.")
    return problems
