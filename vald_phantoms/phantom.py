"""Synthetic PA chest phantoms with an exact healthy twin, a lesion mask and a lung mask.

``make_phantom(seed, finding)`` renders one anatomy (``phantom_anatomy``) and, for an abnormal finding, adds a
compact density field (``phantom_lesions``). Exposure and noise are applied afterwards *pointwise and with the
same random field* to both images, so the abnormal image equals its twin exactly outside ``lesion_mask``.

Randomness is split by purpose: the anatomy and the noise depend on ``seed`` only, the lesion on
``(seed, finding)``. Hence ``make_phantom(s, f).healthy == make_phantom(s, "normal").image`` for every finding.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vald_desktop.core.base.atomic import write_bytes, write_text
from vald_desktop.core.base.errors import DataError
from vald_desktop.core.base.graypng import encode_gray_png
from vald_desktop.core.masks.shapes import load_shapes
from vald_phantoms import lesions as lesions
from vald_phantoms.anatomy import Anatomy, render_anatomy
from vald_phantoms.fields import noise_field

FINDINGS = ("normal", "lung_opacity", "nodule", "cardiomegaly", "viral_pneumonia", "covid19", "effusion")
LAYOUTS = ("flat", "covid19-radiography")
LATERALITIES = ("left", "right", "bilateral", "none")
# Folder names of the COVID-19 Radiography Database; the findings it lacks get folders of their own.
DATASET_CLASS = {
    "normal": "Normal",
    "lung_opacity": "Lung_Opacity",
    "covid19": "COVID",
    "viral_pneumonia": "Viral Pneumonia",
    "nodule": "Nodule",
    "cardiomegaly": "Cardiomegaly",
    "effusion": "Effusion",
}
LABEL_COLUMNS = ("id", "finding", "laterality", "prompt", "image", "healthy", "lesion_mask", "lung_mask")
_SIDED = ("lung_opacity", "nodule", "effusion")
_PROMPT_SIDED = ("lung_opacity", "effusion")  # findings whose prompt names the side


@dataclass
class Phantom:
    image: np.ndarray  # float32 HxW in [0, 1], bone bright
    healthy: np.ndarray  # the same anatomy, exposure and noise without the finding
    lesion_mask: np.ndarray  # bool HxW: where image differs from healthy (empty for "normal")
    lung_mask: np.ndarray  # bool HxW: the lung fields (same for both twins)
    finding: str
    laterality: str  # PATIENT side: "left" | "right" | "bilateral" | "none"
    prompt: str
    seed: int
    shape_id: int = -1  # index of the real lung shape used (see lungshapes.load_shapes)


def prompt_for(finding: str, laterality: str) -> str:
    """The training / induction prompt of a finding, with the patient side in words where it matters."""
    if finding == "normal":
        return "normal chest x-ray"
    if finding == "lung_opacity":
        return f"large lung opacity on the {laterality}"
    if finding == "effusion":
        return f"pleural effusion on the {laterality}"
    return {
        "nodule": "carcinoma",
        "cardiomegaly": "cardiomegaly",
        "viral_pneumonia": "viral pneumonia",
        "covid19": "COVID 19",
    }[finding]


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _check(seed: int, finding: str, size: int, laterality: str | None) -> None:
    if finding not in FINDINGS:
        raise DataError(f"Unknown finding '{finding}'; choose one of {', '.join(FINDINGS)}.")
    if not 32 <= size <= 2048:
        raise DataError("Phantom size must be between 32 and 2048 pixels.")
    if seed < 0:
        raise DataError("The phantom seed must be zero or positive.")
    if laterality is not None and finding in _SIDED and laterality not in ("left", "right"):
        raise DataError(f"A {finding.replace('_', ' ')} phantom is on the patient's left or right.")


def _laterality(finding: str, seed: int, laterality: str | None) -> str:
    if finding in _SIDED:
        if laterality is not None:
            return laterality
        return ("left", "right")[int(_rng(seed, 3, FINDINGS.index(finding)).integers(2))]
    return {"normal": "none", "cardiomegaly": "none"}.get(finding, "bilateral")


def _lesion(finding: str, rng: np.random.Generator, anat: Anatomy, side: str) -> lesions.Field:
    if finding == "lung_opacity":
        return lesions.lung_opacity(rng, anat, side)
    if finding == "nodule":
        return lesions.nodule(rng, anat, side)
    if finding == "effusion":
        return lesions.effusion(rng, anat, side)
    if finding == "cardiomegaly":
        return lesions.cardiomegaly(rng, anat)
    if finding == "viral_pneumonia":
        return lesions.viral_pneumonia(rng, anat)
    return lesions.covid19(rng, anat)


def _expose(dens: np.ndarray, look: dict[str, float], noise: np.ndarray) -> np.ndarray:
    """Detector response: gamma and window (pointwise), then the shared noise, then clip.

    ``noise`` (float64) is used up: the sum is formed in its memory (one large temporary fewer).
    """
    img = np.clip(dens, 0, 1.2)
    img **= look["gamma"]
    img *= look["hi"] - look["lo"]
    img += look["lo"]
    out: np.ndarray = np.add(noise, img, out=noise)
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32)


def make_phantom(
    seed: int, finding: str = "normal", size: int = 256, laterality: str | None = None
) -> Phantom:
    """One phantom and its exact healthy twin; deterministic for (seed, finding, size, laterality)."""
    _check(seed, finding, size, laterality)
    side = _laterality(finding, seed, laterality)
    anat = render_anatomy(_rng(seed, 0), size, load_shapes())
    lesion_mask = np.zeros((size, size), bool)
    if finding != "normal":
        # The lesion has its own random stream, so drawing it before the noise changes nothing.
        field, win = _lesion(finding, _rng(seed, 1, FINDINGS.index(finding)), anat, side)
        field, lesion_mask[win] = lesions.finalize(field)

    look_rng = _rng(seed, 2)
    look = {
        "gamma": float(look_rng.uniform(0.85, 1.25)),
        "lo": float(look_rng.uniform(0.0, 0.06)),
        "hi": float(look_rng.uniform(0.88, 1.0)),
    }
    sigma = look_rng.uniform(0.006, 0.02)
    # Triangular (sum of two uniforms) rather than Gaussian noise: looks the same and costs a tenth.
    uni = look_rng.random((2, size, size), dtype=np.float32)
    tri = np.add(uni[0], uni[1], out=uni[0])
    tri -= 1.0
    noise = (sigma * np.sqrt(6.0)) * tri  # a float64 scalar: the noise is float64
    grain = noise_field(look_rng, size // 4, size, size)  # film grain with a little correlation
    grain *= 0.3 * sigma
    noise += grain

    if finding == "normal":
        healthy = _expose(anat.density, look, noise)
        image = healthy.copy()
    else:
        # field is exactly 0 outside lesion_mask (and outside its window) and _expose is pointwise, so the twins
        # agree bit for bit there: only the window is exposed again.
        near = _expose(anat.density[win] + field, look, noise[win].copy())
        healthy = _expose(anat.density, look, noise)
        image = healthy.copy()
        image[win] = near
    return Phantom(
        image=image,
        healthy=healthy,
        lesion_mask=lesion_mask,
        lung_mask=anat.lung_mask,
        finding=finding,
        laterality=side,
        prompt=prompt_for(finding, side),
        seed=int(seed),
        shape_id=anat.shape_id,
    )


def phantom_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th phantom of a set made with ``seed`` (stable, independent per index)."""
    return int(np.random.SeedSequence([int(seed), int(index), 7]).generate_state(1)[0])


def _paths(layout: str, finding: str, index: int, side: str | None = None) -> dict[str, str]:
    tail = f"-{side}" if side else ""
    if layout == "flat":
        name = f"{index:06d}-{finding}{tail}.png"
        return {
            "image": f"images/{name}",
            "healthy": f"healthy/{name}",
            "lesion_mask": f"lesions/{name}",
            "lung_mask": f"masks/{name}",
        }
    cls = DATASET_CLASS[finding]
    name = f"{cls}-{index + 1}{tail}.png"
    return {
        "image": f"{cls}/images/{name}",
        "healthy": f"{cls}/healthy/{name}",
        "lesion_mask": f"{cls}/lesions/{name}",
        "lung_mask": f"{cls}/masks/{name}",
    }


# A set is written by several processes only when each gets at least this many phantoms (start-up costs ~0.5 s).
_PER_WORKER = 16


def _write_one(
    out: Path, layout: str, size: int, seed: int, finding: str, index: int, side: str | None = None
) -> dict[str, str]:
    ph = make_phantom(phantom_seed(seed, index), finding, size, side)
    paths = _paths(layout, finding, index, side)
    for key, arr in (
        ("image", ph.image),
        ("healthy", ph.healthy),
        ("lesion_mask", ph.lesion_mask),
        ("lung_mask", ph.lung_mask),
    ):
        write_bytes(out / paths[key], encode_gray_png(arr), durable=False)
    return {
        "id": f"{index:06d}-{side}" if side else f"{index:06d}",
        "finding": finding,
        "laterality": ph.laterality,
        "prompt": ph.prompt,
        **paths,
    }


def _write_chunk(
    out: Path,
    layout: str,
    size: int,
    seed: int,
    findings: tuple[str, ...],
    indices: range,
    both_sides: bool = False,
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for i in indices:
        finding = findings[i % len(findings)]
        # Both sides on one anatomy: the only difference between the two films is the side named in the prompt.
        sides: tuple[str | None, ...] = (
            ("left", "right") if both_sides and finding in _PROMPT_SIDED else (None,)
        )
        rows.extend(_write_one(out, layout, size, seed, finding, i, side) for side in sides)
    return rows


def default_workers() -> int:
    """Processes for a phantom set by default: one per CPU core (in-process in a frozen desktop bundle)."""
    if getattr(sys, "frozen", False):
        return 1  # a bundle would re-run its own executable to start a process
    return max(1, os.cpu_count() or 1)


def worker_count(n: int, workers: int | None = None) -> int:
    """How many processes ``write_phantoms`` uses for ``n`` phantoms when asked for ``workers``."""
    return max(1, min(default_workers() if workers is None else workers, n // _PER_WORKER))


def write_phantoms(
    out_dir: str | os.PathLike[str],
    n: int,
    seed: int,
    layout: str = "flat",
    size: int = 256,
    findings: Sequence[str] = FINDINGS,
    workers: int | None = None,
    both_sides: bool = False,
) -> Path:
    """Write ``n`` phantoms (findings in turn) as 8-bit PNGs plus ``labels.csv``; returns the CSV path.

    ``flat``: ``images/ healthy/ lesions/ masks/``. ``covid19-radiography``: ``<Class>/{images,masks}`` like the
    COVID-19 Radiography Database (plus ``healthy/`` and ``lesions/`` beside them). Paths in the CSV are
    relative to ``out_dir``.

    ``workers``: processes to draw with (default one per CPU core, at most one per 16 phantoms; 1 = in this
    process). Every phantom is seeded by its index, so the files are the same for any number of workers.

    ``both_sides``: each finding whose prompt names the side (lung opacity, effusion) is written twice on the same anatomy, once on the
    patient's left and once on the right (ids ``000001-left`` / ``000001-right``), so a model trained on the set
    can only tell the two apart by the side named in the prompt.
    """
    if layout not in LAYOUTS:
        raise DataError(f"Unknown layout '{layout}'; choose one of {', '.join(LAYOUTS)}.")
    if n < 1:
        raise DataError("Ask for at least one phantom.")
    if workers is not None and workers < 1:
        raise DataError("Use at least one worker process.")
    findings = tuple(findings)
    if not findings:
        raise DataError("Name at least one finding.")
    for f in findings:
        _check(0, f, size, None)
    out = Path(out_dir)
    procs = worker_count(n, workers)
    if procs == 1:
        rows = _write_chunk(out, layout, size, seed, findings, range(n), both_sides)
    else:
        rows = _write_parallel(out, layout, size, seed, findings, n, procs, both_sides)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LABEL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(out / "labels.csv", buf.getvalue())


def _write_parallel(
    out: Path,
    layout: str,
    size: int,
    seed: int,
    findings: tuple[str, ...],
    n: int,
    procs: int,
    both_sides: bool = False,
) -> list[dict[str, str]]:
    """Phantoms in contiguous chunks over ``procs`` processes; rows come back in index order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A few chunks per process even out the load; "spawn" keeps the workers clear of the caller's threads.
    step = max(1, -(-n // (procs * 4)))
    chunks = [range(i, min(i + step, n)) for i in range(0, n, step)]
    pool = ProcessPoolExecutor(max_workers=procs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [
            pool.submit(_write_chunk, out, layout, size, seed, findings, c, both_sides) for c in chunks
        ]
        rows = [row for fut in futures for row in fut.result()]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return rows


def write_sample(
    out_dir: str | os.PathLike[str],
    name: str,
    seed: int,
    finding: str,
    laterality: str | None = None,
    size: int = 256,
) -> dict[str, Path]:
    """One phantom as ``<name>.png`` plus ``<name>-healthy.png``, ``<name>-lesion.png``, ``<name>-lungmask.png``.

    Used for the bundled sample film (``resources/sample``); ``seed`` is the phantom's own seed.
    """
    ph = make_phantom(seed, finding, size, laterality)
    out = Path(out_dir)
    paths = {
        "image": out / f"{name}.png",
        "healthy": out / f"{name}-healthy.png",
        "lesion_mask": out / f"{name}-lesion.png",
        "lung_mask": out / f"{name}-lungmask.png",
    }
    for key, path in paths.items():
        write_bytes(path, encode_gray_png(getattr(ph, key)))
    return paths
