"""Whether the chosen model knows a film: its calibration, the score, the verdict and the words for it.

The score (``core.engine.domain_features`` measures it) is the film's most atypical of a few numbers the model
itself produces, each compared with the same number over the model's own training films:

* the VAE round trip: mean squared error between the film on the model's grid and its decoded latents;
* the denoising error at a few fixed timesteps: the UNet, given the film's latents noised with fixed noise and the
  empty prompt, predicts that noise; the mean squared error over the film's footprint.

Each number's logarithm becomes a z-value against the training films' mean and standard deviation; the score is the
largest |z|. The threshold is a prediction bound for one new training-domain film (Student's t with the calibration
set's degrees of freedom, Bonferroni over the numbers, a 1 % false-alarm budget), so it follows from the training
films alone. The calibration lives in the model folder as ``vald-domain.json`` (covered by its manifest); a model
without one is "domain unknown". What a model was trained on, in words, is the ``domain`` entry of its
``vald-settings.json`` (``trained_on``, and a ``notice`` the app always shows, e.g. for the demo model).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vald_desktop.core.base import atomic
from vald_desktop.core.engine.manifest import read_manifest, verify_manifest, write_manifest
from vald_desktop.core.films.kind import FilmKind

CALIBRATION_NAME = "vald-domain.json"
CALIBRATION_FORMAT = "vald-domain/1"
CARD_NAME = "vald-settings.json"
TIMESTEPS = (50, 300, 500, 900)  # low to high noise: fine texture, structure, layout
NOISE_SEED = 1234
FALSE_ALARM = 0.01  # share of training-domain films a threshold may call unknown
OUT_OF_DOMAIN = "Outside this model's training domain \u2014 the map is not meaningful"
UNKNOWN_DOMAIN = "Domain unknown \u2014 this model cannot say whether it knows this film"


def feature_names(timesteps: tuple[int, ...]) -> tuple[str, ...]:
    return ("vae_roundtrip", *(f"denoise_t{t}" for t in timesteps))


@dataclass(frozen=True)
class Calibration:
    """Per-number mean and standard deviation of the log over training films, and the score's threshold."""

    timesteps: tuple[int, ...]
    noise_seed: int
    mean: dict[str, float]
    std: dict[str, float]
    threshold: float
    films: int
    source: str  # what the films were, in words

    @classmethod
    def fit(
        cls,
        measures: list[dict[str, float]],
        source: str,
        timesteps: tuple[int, ...] = TIMESTEPS,
        noise_seed: int = NOISE_SEED,
    ) -> Calibration:
        """Fit on the measures of ``len(measures)`` (at least 8) training films."""
        from scipy.stats import t as student

        names = feature_names(timesteps)
        n = len(measures)
        if n < 8:
            raise ValueError("a domain calibration needs at least 8 films")
        mean, std = {}, {}
        for name in names:
            logs = [_log(m[name]) for m in measures]
            mu = sum(logs) / n
            mean[name] = mu
            std[name] = max(math.sqrt(sum((v - mu) ** 2 for v in logs) / (n - 1)), 1e-6)
        # A new film's z, with mean and SD estimated from n films, follows t(n-1) scaled by sqrt(1 + 1/n).
        q = 1.0 - FALSE_ALARM / (2 * len(names))
        threshold = float(student.ppf(q, n - 1)) * math.sqrt(1.0 + 1.0 / n)
        return cls(tuple(timesteps), int(noise_seed), mean, std, threshold, n, source)

    def z_values(self, measures: dict[str, float]) -> dict[str, float]:
        return {k: (_log(measures[k]) - self.mean[k]) / self.std[k] for k in self.mean}

    def score(self, measures: dict[str, float]) -> float:
        return max(abs(z) for z in self.z_values(measures).values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "score": "max |z| of the log VAE round-trip error and log denoising errors (empty prompt, fixed noise)",
            "timesteps": list(self.timesteps),
            "noise_seed": self.noise_seed,
            "mean_log": self.mean,
            "std_log": self.std,
            "threshold": self.threshold,
            "false_alarm": FALSE_ALARM,
            "films": self.films,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}")
        timesteps = tuple(int(t) for t in data["timesteps"])
        names = feature_names(timesteps)
        mean = {k: float(data["mean_log"][k]) for k in names}
        std = {k: float(data["std_log"][k]) for k in names}
        threshold = float(data["threshold"])
        if (
            not all(math.isfinite(v) for v in (*mean.values(), *std.values(), threshold))
            or min(std.values()) <= 0
        ):
            raise ValueError("non-finite or zero statistics")
        return cls(
            timesteps, int(data["noise_seed"]), mean, std, threshold, int(data["films"]), str(data["source"])
        )


@dataclass(frozen=True)
class ModelDomain:
    """What a model folder says about its domain: its calibration (or why there is none) and its card."""

    calibration: Calibration | None
    missing: str | None  # why there is no calibration, as a reason sentence
    trained_on: str | None
    notice: str | None  # always shown in the app (the demo model's "not for reading films")


def read_model_domain(folder: str | Path | None) -> ModelDomain:
    """The calibration and card of a model folder; never raises (a broken file is a reason, not a failure)."""
    if folder is None:
        return ModelDomain(
            None, "the model folder is not known, so its training domain is unknown", None, None
        )
    folder = Path(folder)
    card = _read_json(folder / CARD_NAME)
    entry = card.get("domain") if isinstance(card, dict) else None
    entry = entry if isinstance(entry, dict) else {}
    trained_on, notice = _text(entry.get("trained_on")), _text(entry.get("notice"))
    path = folder / CALIBRATION_NAME
    if not path.is_file():
        why = f"the model has no domain calibration ({CALIBRATION_NAME}), so whether it knows this film is unknown"
        return ModelDomain(None, why, trained_on, notice)
    try:
        data = json.loads(path.read_text("utf-8"))
        calibration = Calibration.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        why = f"the model's domain calibration ({CALIBRATION_NAME}) is unreadable, so its domain is unknown"
        return ModelDomain(None, why, trained_on, notice)
    return ModelDomain(calibration, None, trained_on, notice)


def write_calibration(folder: str | Path, calibration: Calibration) -> Path:
    """Write ``vald-domain.json``; a folder with a manifest is checked first, then its manifest covers the file."""
    folder = Path(folder)
    # Verified before rewriting: re-hashing must not bless a file that had changed since the manifest was written.
    had_manifest = verify_manifest(folder)
    text = json.dumps(calibration.to_dict(), indent=2, sort_keys=True) + "\n"
    path = atomic.write_text(folder / CALIBRATION_NAME, text)
    if had_manifest:
        old = read_manifest(folder) or {}
        write_manifest(folder, {k: v for k, v in old.items() if k not in ("files", "format")})
    return path


def verdict(
    model: ModelDomain, measures: dict[str, float] | None, kind: FilmKind | None = None
) -> dict[str, Any]:
    """The run record's ``domain`` entry: ``in_domain`` (True, False or None = unknown), score, threshold, reasons."""
    reasons = list(kind.flags) if kind is not None else []
    cal = model.calibration
    score = threshold = None
    z: dict[str, float] = {}
    if cal is not None and measures is not None:
        z = cal.z_values(measures)
        score, threshold = max(abs(v) for v in z.values()), cal.threshold
        if score > threshold:
            reasons.append(
                f"the film is unlike the films the model was trained on (score {score:.1f}, "
                f"threshold {threshold:.1f})"
            )
            reasons.extend(_measure_reason(k, v) for k, v in z.items() if abs(v) > threshold)
    elif model.missing:
        reasons.append(model.missing)
    if kind is not None and kind.flags:
        in_domain: bool | None = False  # the film itself is not a frontal chest radiograph
    elif score is None or threshold is None:
        in_domain = None
    else:
        in_domain = score <= threshold
    return {
        "in_domain": in_domain,
        "score": None if score is None else round(float(score), 3),
        "threshold": None if threshold is None else round(float(threshold), 3),
        "reasons": reasons,
        "z": {k: round(float(v), 2) for k, v in z.items()},
        "film_kind": kind.to_dict() if kind is not None else None,
        "trained_on": model.trained_on,
    }


def headline(domain: dict[str, Any] | None) -> str | None:
    """The one line every place a result goes shows: None when the film is in the model's domain."""
    if not isinstance(domain, dict):
        return UNKNOWN_DOMAIN
    if domain.get("in_domain") is True:
        return None
    return OUT_OF_DOMAIN if domain.get("in_domain") is False else UNKNOWN_DOMAIN


def sentence(domain: dict[str, Any] | None) -> str | None:
    """The headline with its first reason, as one sentence (warnings, tooltips); None when in domain."""
    head = headline(domain)
    if head is None:
        return None
    reasons = list(domain.get("reasons") or []) if isinstance(domain, dict) else []
    return f"{head}: {reasons[0]}." if reasons else f"{head}."


def caption_line(domain: dict[str, Any] | None) -> str:
    """The verdict in plain ASCII for burned-in captions (the built-in bitmap font has no dashes)."""
    d = domain if isinstance(domain, dict) else {}
    score, threshold = d.get("score"), d.get("threshold")
    numbers = (
        f" (score {score:.1f}, threshold {threshold:.1f})"
        if score is not None and threshold is not None
        else ""
    )
    if d.get("in_domain") is True:
        return f"Domain: within the model's training domain{numbers}"
    if d.get("in_domain") is False:
        return f"OUTSIDE THE MODEL'S TRAINING DOMAIN - the map is not meaningful{numbers}"
    if not d:
        return "Domain: not assessed for this run"
    return "Domain unknown: the model cannot say whether it knows this film (it has no domain calibration)"


def _measure_reason(name: str, z: float) -> str:
    way = "worse" if z > 0 else "better"
    if name == "vae_roundtrip":
        return f"the model's autoencoder reproduces it {way} than its training films (z {z:+.1f})"
    return f"the model denoises it {way} than its training films at noise level {name.removeprefix('denoise_t')} (z {z:+.1f})"


def _log(value: float) -> float:
    return math.log(max(float(value), 1e-12))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _text(value: object) -> str | None:
    return str(value).strip() or None if isinstance(value, str) else None
