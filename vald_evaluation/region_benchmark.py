"""Region-confined editing on phantoms: does a run change the film only where the reader painted?

Two tests, each on fresh phantoms (seeds not used in training) with the true lung mask:

* **Induction in a painted disc.** A healthy phantom, a disc painted deep inside one lung, the prompt "large lung
  opacity on the <that side>". Numbers: the share of the map's |M| mass inside the disc (target ≥ 0.90), the largest
  |M| outside it (target: at most the run's edit floor), the mean |M| inside it (that something was induced), and,
  for comparison, the share and mean inside the disc of the same run without the region (``*_free``).
* **Removal of one lesion of two.** A phantom with a lung opacity in each lung (the two single-lesion phantoms of
  one seed share anatomy, exposure and noise, so the two-lesion film is exact), the region painted over one of
  them (its lesion mask grown by a margin), the healthy prompt. Numbers: AUROC of |M| against the *unpainted*
  lesion over the lung outside the painted region (target ≈ 0.5: the map does not find it), the same over the
  whole lung, the share of each lesion's contrast the counterfactual removed, and the AUROC of |M| against the
  painted lesion inside the lungs; and the same run without the region (``*_free``): how much of each lesion the
  healthy prompt removes when nothing holds it back.

``region_benchmark`` returns a JSON-ready summary; ``vald evaluate region`` prints it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.ndimage import binary_dilation, distance_transform_edt

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import HEALTHY_PROMPT, RunSettings
from vald_desktop.core.masks.region import EditRegion, disc_region
from vald_evaluation.localization import auroc
from vald_evaluation.phantom_benchmark import INDUCTION_SEED_OFFSET, phantom_mask
from vald_phantoms.phantom import Phantom, make_phantom, phantom_seed, prompt_for

# (image, settings, lung mask, edit region or None) -> an object with ``counterfactual`` and ``map``.
RegionRunner = Callable[[np.ndarray, RunSettings, Any, EditRegion | None], Any]
REMOVAL_SEED_OFFSET = 2_000_029  # another held-out stream than the attribution benchmark's
DISC_SHARE = 0.09  # the painted disc's radius as a share of the film side (at most 60 % of the lung's depth)
LESION_MARGIN_SHARE = (
    0.03  # the painted region around a lesion: its mask grown by this share of the film side
)
MASS_TARGET = 0.90


def engine_region_runner(engine: Any) -> RegionRunner:
    def run(image: np.ndarray, settings: RunSettings, mask: Any, region: EditRegion | None) -> Any:
        return engine.run(image, settings, mask=mask, region=region)

    return run


def lung_disc(lung: np.ndarray, share: float = DISC_SHARE) -> EditRegion:
    """A disc around the deepest point of ``lung`` (bool HxW, one lung), radius ``share`` of the film side and
    at most 60 % of the distance from that point to the lung's edge."""
    depth = distance_transform_edt(np.asarray(lung, bool))
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    radius = max(2.0, min(share * max(depth.shape), 0.6 * float(depth[y, x])))
    return disc_region(depth.shape, (float(x), float(y)), radius)


def two_lesion_phantom(
    seed: int, size: int, finding: str = "lung_opacity"
) -> tuple[Phantom, np.ndarray, np.ndarray]:
    """One anatomy with ``finding`` in both lungs: (phantom with both, patient-left lesion, patient-right lesion).

    The single-lesion phantoms of one seed differ from their shared healthy twin only inside their lesion masks,
    so copying each lesion's pixels onto the twin gives the two-lesion film exactly."""
    left = make_phantom(seed, finding, size, laterality="left")
    right = make_phantom(seed, finding, size, laterality="right")
    image = left.healthy.copy()
    only_right = right.lesion_mask & ~left.lesion_mask
    image[left.lesion_mask] = left.image[left.lesion_mask]
    image[only_right] = right.image[only_right]
    both = Phantom(
        image=image,
        healthy=left.healthy,
        lesion_mask=left.lesion_mask | only_right,
        lung_mask=left.lung_mask,
        finding=finding,
        laterality="bilateral",
        prompt=HEALTHY_PROMPT,
        seed=seed,
        shape_id=left.shape_id,
    )
    return both, left.lesion_mask, only_right


def _share_inside(change: np.ndarray, inside: np.ndarray) -> float:
    total = float(change.sum())
    return float(change[inside].sum()) / total if total > 0 else math.nan


def _removed(ph: Phantom, m: np.ndarray, lesion: np.ndarray) -> float:
    """Share of the lesion's contrast against the healthy twin that the map holds (1 = removed, 0 = kept)."""
    contrast = float((ph.image - ph.healthy)[lesion].sum())
    return float(m[lesion].sum()) / contrast if abs(contrast) > 1e-9 else math.nan


def induction_case(runner: RegionRunner, ph: Phantom, side: str, settings: RunSettings) -> dict[str, float]:
    lung = phantom_mask(ph)
    region = lung_disc(lung.left if side == "left" else lung.right)
    used = settings.replace(prompt=prompt_for("lung_opacity", side))
    mag = np.abs(np.asarray(runner(ph.image, used, lung, region).map, np.float64))
    free = np.abs(np.asarray(runner(ph.image, used, lung, None).map, np.float64))
    inside = region.mask
    return {
        "mass_inside": _share_inside(mag, inside),
        "max_outside": float(mag[~inside].max()) if (~inside).any() else 0.0,
        "mean_inside": float(mag[inside].mean()),
        "mass_inside_free": _share_inside(free, inside),
        "mean_inside_free": float(free[inside].mean()),
        "area_pct": region.area_pct,
    }


def removal_case(
    runner: RegionRunner, seed: int, size: int, paint: str, settings: RunSettings
) -> dict[str, float]:
    ph, left, right = two_lesion_phantom(seed, size)
    painted, other = (left, right) if paint == "left" else (right, left)
    grow = max(1, round(LESION_MARGIN_SHARE * size))
    region = EditRegion(binary_dilation(painted, iterations=grow))
    lung = phantom_mask(ph)
    m = np.asarray(runner(ph.image, settings, lung, region).map, np.float64)
    free = np.asarray(runner(ph.image, settings, lung, None).map, np.float64)
    mag, lung_px = np.abs(m), ph.lung_mask
    return {
        "auroc_unpainted_outside_region": auroc(mag, other, lung_px & ~region.mask),
        "auroc_unpainted_whole_lung": auroc(mag, other, lung_px),
        "auroc_painted": auroc(mag, painted, lung_px),
        "removed_painted": _removed(ph, m, painted),
        "removed_unpainted": _removed(ph, m, other),
        "max_outside": float(mag[~region.mask].max()),
        "auroc_unpainted_free": auroc(np.abs(free), other, lung_px & ~region.mask),
        "removed_painted_free": _removed(ph, free, painted),
        "removed_unpainted_free": _removed(ph, free, other),
        "area_pct": region.area_pct,
    }


def _mean(rows: list[dict[str, float]], key: str) -> float:
    vals = [r[key] for r in rows if not math.isnan(r[key])]
    return float(np.mean(vals)) if vals else math.nan


def region_benchmark(
    runner: RegionRunner,
    n: int,
    seed: int,
    settings: RunSettings,
    size: int = 128,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """``n`` induction films and ``n`` two-lesion removal films; means, minima / maxima and the targets."""
    if n < 1:
        raise SettingsError("The region benchmark needs at least one phantom.")
    t0 = time.perf_counter()
    induced: list[dict[str, float]] = []
    for j in range(n):
        side = ("left", "right")[j % 2]
        ph = make_phantom(phantom_seed(seed + INDUCTION_SEED_OFFSET, j), "normal", size)
        induced.append(induction_case(runner, ph, side, settings))
        if progress:
            progress(f"induction {j + 1}/{n} {side}")
    removed: list[dict[str, float]] = []
    for j in range(n):
        paint = ("left", "right")[j % 2]
        removed.append(
            removal_case(runner, phantom_seed(seed + REMOVAL_SEED_OFFSET, j), size, paint, settings)
        )
        if progress:
            progress(f"removal {j + 1}/{n} paint {paint}")
    floor = float(settings.edit_floor)
    mass_min = min(r["mass_inside"] for r in induced)
    out_max = max(r["max_outside"] for r in induced)
    return {
        "n": n,
        "seed": seed,
        "size": size,
        "settings": settings.to_dict(),
        "induction": {key: _mean(induced, key) for key in induced[0]}
        | {"mass_inside_min": mass_min, "max_outside_max": out_max},
        "removal": {key: _mean(removed, key) for key in removed[0]}
        | {"max_outside_max": max(r["max_outside"] for r in removed)},
        "targets": {
            "induced_mass_inside_at_least_0.90": bool(mass_min >= MASS_TARGET),
            "outside_at_or_below_edit_floor": bool(out_max <= floor),
            "unpainted_lesion_auroc_near_0.5": bool(
                abs(_mean(removed, "auroc_unpainted_outside_region") - 0.5) <= 0.05
            ),
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
