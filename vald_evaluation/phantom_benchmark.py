"""The attribution benchmark on synthetic phantoms, where every abnormal film has its exact healthy twin.

For each abnormal finding: AUROC and average precision of |M| against the lesion mask inside the lung mask, Dice at the
best threshold, SSIM(counterfactual, twin) - SSIM(input, twin), and the mean change outside the lesion. For induction
prompts ("large lung opacity on the left/right") on healthy phantoms: the share of the induced change that lands in
the named lung (patient side). With a feature function (``fid_features``): FID of the counterfactuals against the
real healthy twins, beside FID of the abnormal inputs against them (all findings pooled). ``run_sweep`` repeats the
benchmark for several settings and tabulates them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_evaluation.localization import auroc, average_precision, best_dice, side_share, split_lungs
from vald_evaluation.metrics_ssim import ssim
from vald_phantoms.phantom import FINDINGS, Phantom, make_phantom, phantom_seed, prompt_for

ABNORMAL = tuple(f for f in FINDINGS if f != "normal")
# Runner: (image, settings, lung mask) -> an object with ``counterfactual`` and ``map`` (reference - counterfactual).
Runner = Callable[[np.ndarray, RunSettings, Any], Any]
# Images -> pool3 features (N, 2048): ``metrics_fid.array_features`` with a loaded FID Inception.
FeatureFn = Callable[[list[np.ndarray]], np.ndarray]
# A held-out seed offset: training phantoms use small seeds, the benchmark draws from another stream.
INDUCTION_SEED_OFFSET = 1_000_003


def phantom_mask(ph: Phantom) -> Any:
    """The phantom's true lung mask as a ``core.masks.LungMask`` (ground truth, like a dataset's own mask)."""
    try:
        from vald_desktop.core.masks.lung_mask import LungMask

        return LungMask.from_mask(ph.lung_mask, "dataset")
    except ImportError:  # an older core without the masks module: split at the midline
        left, right = split_lungs(ph.lung_mask)
        return SimpleNamespace(mask=ph.lung_mask, left=left, right=right, source="dataset")


def engine_runner(engine: Any) -> Runner:
    def run(image: np.ndarray, settings: RunSettings, mask: Any) -> Any:
        return engine.run(image, settings, mask=mask)

    return run


def score_counterfactual(ph: Phantom, counterfactual: np.ndarray, the_map: np.ndarray) -> dict[str, float]:
    """Localization and faithfulness of one counterfactual against the phantom's ground truth."""
    scores = np.abs(np.asarray(the_map, dtype=np.float64))
    lesion, lung = ph.lesion_mask, ph.lung_mask
    dice, _ = best_dice(scores, lesion, lung)
    outside = ~lesion
    change = np.abs(np.asarray(counterfactual, dtype=np.float64) - ph.image)
    return {
        "auroc": auroc(scores, lesion, lung),
        "ap": average_precision(scores, lesion, lung),
        "dice": dice,
        "ssim_gain": ssim(counterfactual, ph.healthy) - ssim(ph.image, ph.healthy),
        "outside_change": float(change[outside].mean()) if outside.any() else math.nan,
    }


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan


def run_benchmark(
    runner: Runner,
    n: int,
    seed: int,
    settings: RunSettings | None = None,
    size: int = 128,
    findings: Sequence[str] = ABNORMAL,
    n_induction: int | None = None,
    progress: Callable[[str], None] | None = None,
    named_negative: bool = False,
    fid_features: FeatureFn | None = None,
) -> dict[str, Any]:
    """Run the benchmark on ``n`` fresh abnormal phantoms (+ induction on healthy ones); returns the summary dict.

    ``named_negative``: each abnormal phantom's own finding prompt (e.g. "pleural effusion on the left") is the
    negative prompt, as when a reader asks for a film without the finding they suspect. It uses the label, so it
    measures removal of a named finding, not the label-free healthy counterfactual.
    """
    settings = settings or RunSettings()
    if n < 1:
        raise SettingsError("The benchmark needs at least one phantom.")
    findings = tuple(findings)
    per_finding: dict[str, list[dict[str, float]]] = {f: [] for f in findings}
    seconds: list[float] = []
    kept: dict[str, list[np.ndarray]] = {"twins": [], "inputs": [], "counterfactuals": []}  # for FID only
    for i in range(n):
        finding = findings[i % len(findings)]
        ph = make_phantom(phantom_seed(seed, i), finding, size)
        used = settings.replace(negative_prompt=ph.prompt) if named_negative else settings
        t0 = time.perf_counter()
        result = runner(ph.image, used, phantom_mask(ph))
        seconds.append(time.perf_counter() - t0)
        per_finding[finding].append(score_counterfactual(ph, result.counterfactual, result.map))
        if fid_features is not None:
            kept["twins"].append(ph.healthy)
            kept["inputs"].append(ph.image)
            kept["counterfactuals"].append(np.asarray(result.counterfactual, dtype=np.float32))
        if progress:
            progress(f"{i + 1}/{n} {finding}")

    n_ind = max(2, n // 3) if n_induction is None else n_induction
    shares: list[float] = []
    for j in range(n_ind):
        side = ("left", "right")[j % 2]
        ph = make_phantom(phantom_seed(seed + INDUCTION_SEED_OFFSET, j), "normal", size)
        induced = runner(
            ph.image, settings.replace(prompt=prompt_for("lung_opacity", side)), phantom_mask(ph)
        )
        left, right = split_lungs(ph.lung_mask)
        shares.append(side_share(induced.map, left, right, side))
        if progress:
            progress(f"induction {j + 1}/{n_ind} {side}")

    summary: dict[str, Any] = {
        "findings": {
            f: {key: _nanmean([c[key] for c in cases]) for key in cases[0]} | {"n": len(cases)}
            for f, cases in per_finding.items()
            if cases
        },
        "induction_laterality": _nanmean(shares),
        "induction_correct": _nanmean([float(s > 0.5) for s in shares if not math.isnan(s)]),
        "seconds_per_image": float(np.median(seconds)) if seconds else math.nan,
        "n": n,
        "n_induction": n_ind,
        "seed": seed,
        "size": size,
        "settings": settings.to_dict(),
        "named_negative": named_negative,
        **_fid_summary(fid_features, kept),
    }
    return summary


def _fid_summary(features: FeatureFn | None, kept: dict[str, list[np.ndarray]]) -> dict[str, float]:
    """FID of the counterfactuals and of the inputs against the healthy twins (NaN without features)."""
    if features is None or len(kept["twins"]) < 2:
        return {"fid": math.nan, "fid_input": math.nan}
    from vald_evaluation.frechet import GaussianStats, fid_from_stats

    twins = GaussianStats.from_features(features(kept["twins"]))
    return {
        key: fid_from_stats(twins, GaussianStats.from_features(features(kept[name])))
        for key, name in (("fid", "counterfactuals"), ("fid_input", "inputs"))
    }


_BOOL_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def parse_override(spec: str) -> dict[str, Any]:
    """``"scheduler=dpmpp,steps=25"`` -> ``{"scheduler": "dpmpp", "steps": 25}`` typed by the RunSettings fields."""
    types = {f.name: str(f.type) for f in dataclasses.fields(RunSettings)}
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in types:
            raise SettingsError(
                f"Cannot read the sweep item {part!r}; use name=value with a run-setting name."
            )
        kind, raw = types[key], raw.strip()
        try:
            if kind == "bool":
                out[key] = _BOOL_WORDS[raw.lower()]
            elif kind == "int":
                out[key] = int(raw)
            elif kind == "float":
                out[key] = float(raw)
            else:
                out[key] = raw
        except (KeyError, ValueError):
            raise SettingsError(f"The sweep value {raw!r} for {key} is not a valid {kind}.") from None
    return out


# Scheduler/steps, the paper's figure settings, the raw map, mask-confined editing, the edit floor, unconfined map,
# K seeds.
DEFAULT_SWEEP = (
    "scheduler=dpmpp,steps=25",
    "strength=0.85,guidance=7.5",
    "reference=input",
    "confine_to_mask=true",
    "edit_floor=0.015",
    "mask_mode=none",
    "seeds=4",
)


def run_sweep(
    runner: Runner,
    n: int,
    seed: int,
    base: RunSettings,
    specs: Sequence[str] = DEFAULT_SWEEP,
    size: int = 128,
    progress: Callable[[str], None] | None = None,
    named_negative: bool = False,
    fid_features: FeatureFn | None = None,
) -> list[dict[str, Any]]:
    """The benchmark for the base settings and each override; one row (label + summary) per setting."""
    rows = []
    for label, settings in [
        ("base", base),
        *((spec, base.replace(**parse_override(spec))) for spec in specs),
    ]:
        summary = run_benchmark(
            runner,
            n,
            seed,
            settings,
            size,
            progress=progress,
            named_negative=named_negative,
            fid_features=fid_features,
        )
        rows.append({"label": label, "summary": summary})
    return rows


def mean_over_findings(summary: dict[str, Any], key: str) -> float:
    return _nanmean([m[key] for m in summary["findings"].values()])


def match_dpm_steps(
    runner: Runner,
    n: int,
    seed: int,
    base: RunSettings,
    candidates: Sequence[int] = (10, 15, 20, 25, 30, 40, 50),
    tolerance: float = 0.01,
    size: int = 128,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The fewest DPM-Solver++ steps whose mean AUROC and SSIM gain come within ``tolerance`` of PNDM with 75 steps.

    Same phantoms, seeds, strength and guidance for every candidate; ``steps`` is None when no candidate matches.
    """
    reference = run_benchmark(runner, n, seed, base.replace(scheduler="pndm", steps=75), size, n_induction=0)
    ref_auroc, ref_gain = mean_over_findings(reference, "auroc"), mean_over_findings(reference, "ssim_gain")
    tried = []
    for steps in sorted(candidates):
        s = run_benchmark(runner, n, seed, base.replace(scheduler="dpmpp", steps=steps), size, n_induction=0)
        auroc_s, gain_s = mean_over_findings(s, "auroc"), mean_over_findings(s, "ssim_gain")
        ok = auroc_s >= ref_auroc - tolerance and gain_s >= ref_gain - tolerance
        tried.append({"steps": steps, "auroc": auroc_s, "ssim_gain": gain_s, "matches": ok})
        if progress:
            progress(f"dpmpp {steps} steps: {'match' if ok else 'no match'}")
        if ok:
            break
    best = next((t["steps"] for t in tried if t["matches"]), None)
    return {"steps": best, "pndm75": {"auroc": ref_auroc, "ssim_gain": ref_gain}, "tried": tried}


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def summary_table(summary: dict[str, Any]) -> str:
    """Markdown: one row per finding, then the induction laterality."""
    lines = [
        "| finding | n | AUROC | AP | Dice | SSIM gain | change outside lesion |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for finding, m in summary["findings"].items():
        lines.append(
            f"| {finding} | {m['n']} | {_fmt(m['auroc'])} | {_fmt(m['ap'])} | {_fmt(m['dice'])} | "
            f"{_fmt(m['ssim_gain'], 4)} | {_fmt(m['outside_change'], 4)} |"
        )
    lines.append(
        f"\nInduction laterality (share of induced change in the named lung, {summary['n_induction']} films): "
        f"{_fmt(summary['induction_laterality'])}; named lung dominant in {_fmt(summary['induction_correct'])} of them."
    )
    if not math.isnan(summary.get("fid", math.nan)):
        lines.append(
            f"FID against the real healthy twins ({summary['n']} films, lower is closer to healthy): "
            f"counterfactuals {_fmt(summary['fid'], 2)}, abnormal inputs {_fmt(summary['fid_input'], 2)}."
        )
    return "\n".join(lines)


def sweep_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per setting with means over findings, laterality, FID (when made) and seconds per image."""
    with_fid = any(not math.isnan(row["summary"].get("fid", math.nan)) for row in rows)
    lines = [
        "| setting | AUROC | AP | Dice | SSIM gain | outside change | laterality |"
        + (" FID |" if with_fid else "")
        + " s/image |",
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if with_fid else "") + "---:|",
    ]
    for row in rows:
        s = row["summary"]
        per = list(s["findings"].values())
        mean = {
            k: _nanmean([m[k] for m in per]) for k in ("auroc", "ap", "dice", "ssim_gain", "outside_change")
        }
        lines.append(
            f"| {row['label']} | {_fmt(mean['auroc'])} | {_fmt(mean['ap'])} | {_fmt(mean['dice'])} | "
            f"{_fmt(mean['ssim_gain'], 4)} | {_fmt(mean['outside_change'], 4)} | "
            f"{_fmt(s['induction_laterality'])} |"
            + (f" {_fmt(s.get('fid', math.nan), 2)} |" if with_fid else "")
            + f" {_fmt(s['seconds_per_image'], 2)} |"
        )
    return "\n".join(lines)


def json_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` shape: findings with auroc/ap/dice/ssim_gain (+ extras) and induction_laterality."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    cleaned: dict[str, Any] = clean(summary)
    return cleaned
