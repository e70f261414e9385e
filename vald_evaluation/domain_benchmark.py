"""How well the domain score (``core.engine.domain``) tells a model's own kind of film from others.

Against held-out training-domain phantoms (a seed the model never saw, every finding in turn) it scores:

* deliberately shifted phantoms: rendered at another pixel size, with other contrast, with more noise, with the
  anatomy smaller or larger in the frame, and all of size, contrast and noise at once;
* films given by path (real radiographs; other modalities too, though runs refuse those by their header).

For each set it reports the AUROC of the score (held-out phantoms negative, the set positive) and the share the
model's own threshold calls out of domain; for the held-out phantoms, the share it calls in domain. The threshold
comes from the model's calibration, never from these sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import FilmError, ModelError
from vald_desktop.core.engine.domain import read_model_domain
from vald_desktop.core.films.kind import FilmKind
from vald_evaluation.localization import auroc
from vald_phantoms.phantom import FINDINGS, make_phantom, phantom_seed

Shift = Callable[[np.ndarray, np.random.Generator], np.ndarray]
HELD_OUT_SEED = 2024  # the demo model trained on seeds 1, 2 and 4


def _contrast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gamma = 0.6 if rng.random() < 0.5 else 1.6
    return np.asarray(0.25 + 0.5 * img**gamma, np.float32)  # another exposure curve, half the range


def _noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img + rng.normal(0.0, 0.05, img.shape), 0.0, 1.0).astype(np.float32)


def _scale(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The chest 0.7 x or 1.4 x as large in the frame (edges repeated, or the centre cropped)."""
    from PIL import Image

    n = img.shape[0]
    zoom = 0.7 if rng.random() < 0.5 else 1.4
    m = max(8, round(n * zoom))
    resized = np.asarray(Image.fromarray(img, mode="F").resize((m, m), Image.Resampling.BICUBIC), np.float32)
    if m < n:
        lo = (n - m) // 2
        return np.pad(resized, ((lo, n - m - lo), (lo, n - m - lo)), mode="edge")
    lo = (m - n) // 2
    return resized[lo : lo + n, lo : lo + n]


# name -> (phantom size in pixels, pixel transform)
SHIFTS: dict[str, tuple[int, Shift | None]] = {
    "pixel size (512 px)": (512, None),
    "contrast": (128, _contrast),
    "noise": (128, _noise),
    "anatomy scale": (128, _scale),
    "size + contrast + noise": (384, lambda im, rng: _noise(_contrast(im, rng), rng)),
}


def phantoms(seed: int, n: int, size: int = 128, shift: Shift | None = None) -> Iterator[np.ndarray]:
    for i in range(n):
        ph = make_phantom(phantom_seed(seed, i), FINDINGS[i % len(FINDINGS)], size)
        img = ph.image if shift is None else shift(ph.image, np.random.default_rng([seed, i, 99]))
        yield np.clip(img, 0.0, 1.0).astype(np.float32)


def domain_benchmark(
    model: str | Path | None,
    n: int = 200,
    seed: int = HELD_OUT_SEED,
    films: Sequence[Path] = (),
    device: str | None = None,
    n_shift: int | None = None,
) -> dict[str, Any]:
    """Scores, AUROCs and in-domain shares (JSON-ready); needs a model folder with a domain calibration."""
    from vald_desktop.core.engine.domain_features import measure_image
    from vald_desktop.core.engine.sampler import Engine
    from vald_desktop.core.films.kind import film_kind
    from vald_desktop.core.films.load import load_film

    engine = Engine(model, device)
    info = engine.load()
    cal = read_model_domain(info.path).calibration
    if cal is None:
        raise ModelError(
            f"The model {info.name} has no domain calibration; run 'vald models calibrate' first."
        )

    def score(images: Iterator[np.ndarray]) -> np.ndarray:
        return np.array(
            [cal.score(measure_image(engine, im, cal.timesteps, cal.noise_seed)) for im in images]
        )

    held = score(phantoms(seed, n))
    report: dict[str, Any] = {
        "model": info.name,
        "calibration": {"films": cal.films, "source": cal.source, "threshold": round(cal.threshold, 3)},
        "held_out": {"n": n, "seed": seed, "in_domain": _share(held <= cal.threshold), **_quantiles(held)},
        "shifts": {},
        "films": {},
    }
    for k, (name, (size, shift)) in enumerate(SHIFTS.items()):
        shifted = score(phantoms(seed + 1 + k, n_shift or n, size, shift))
        report["shifts"][name] = _against(held, shifted, cal.threshold)
    radiographs: list[float] = []
    cost_films: list[tuple[str, np.ndarray, FilmKind | None]] = []
    for path in films:
        try:
            film = load_film(path)
        except FilmError as exc:
            report["films"][Path(path).name] = {"error": str(exc)}
            continue
        s = float(score(iter([film.display()]))[0])
        kind = film_kind(film)
        report["films"][Path(path).name] = {
            "score": round(s, 2),
            "in_domain": s <= cal.threshold,
            "modality": kind.modality,
            "refused_by_header": kind.refusal is not None,
        }
        if kind.refusal is None:
            radiographs.append(s)
            cost_films.append((Path(path).name, film.display(), kind))
    if radiographs:
        report["radiographs"] = _against(held, np.array(radiographs), cal.threshold)
    report["cost"] = run_cost(engine, [("phantom", next(phantoms(seed + 99, 1)), None), *cost_films])
    return report


def run_cost(engine: Any, films: Sequence[tuple[str, np.ndarray, FilmKind | None]]) -> dict[str, Any]:
    """The domain step's share of a default ``vald run`` (the model's recommended settings), per film.

    Each film is run once cold (its latents and domain measures are not cached yet), after one warm-up run.
    """
    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.models import recommended_settings

    settings = RunSettings().replace(**recommended_settings(engine.info.path)).replace(mask_mode="none")
    settings = settings.replace(confine_to_mask=False)  # no mask here; the rest is what `vald run` does
    engine.run(next(phantoms(HELD_OUT_SEED + 98, 1)), settings)  # warm-up: first calls pay for lazy imports
    out: dict[str, Any] = {}
    for name, image, kind in films:
        timings = engine.run(image, settings, film_kind=kind).record["timings"]
        out[name] = {
            "domain_s": round(timings["domain"], 3),
            "run_s": round(timings["total"], 3),
            "share": round(timings["domain"] / timings["total"], 3),
        }
    return out


def _against(held: np.ndarray, other: np.ndarray, threshold: float) -> dict[str, Any]:
    labels = np.r_[np.zeros(held.size, bool), np.ones(other.size, bool)]
    return {
        "n": int(other.size),
        "auroc": round(auroc(np.r_[held, other], labels), 3),
        "out_of_domain": _share(other > threshold),
        **_quantiles(other),
    }


def _share(flags: np.ndarray) -> float:
    return round(float(np.mean(flags)), 3) if flags.size else float("nan")


def _quantiles(scores: np.ndarray) -> dict[str, float]:
    q = np.quantile(scores, [0.5, 0.95]) if scores.size else [float("nan")] * 2
    return {
        "median": round(float(q[0]), 2),
        "q95": round(float(q[1]), 2),
        "max": round(float(np.max(scores)), 2),
    }
