"""The data path once, on the bundled sample film with the default model: film, mask, model, run, overlay, export.

Each check leaves what it made in the shared state. When one fails, the checks after it go on with a stand-in
(a drawn film, the film itself as its own counterfactual) and say so, so one failure never hides another.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vald_desktop.core.base.errors import ExportError, FilmError, ModelError, ValdError

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.selftest.state import Check, SelfTest

SELFTEST_STEPS = 4  # with the default strength 0.55: two denoising steps, enough to exercise every stage


def _stand_in_film() -> Film:
    """A crude chest-like film (two dark lungs in a bright body) for when the sample film is unusable."""
    from vald_desktop.core.films.film import film_from_array

    yy, xx = np.mgrid[0:256, 0:256] / 256.0
    img = np.full((256, 256), 0.75, np.float32)
    for cx in (0.3, 0.7):
        img[((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2 < 1] = 0.3
    return film_from_array(img, source="self-test stand-in")


def _film(state: SelfTest) -> Film:
    if state.film is None:
        state.film = _stand_in_film()
        state.stand_ins.append("film")
    return state.film


def _note(state: SelfTest, what: str) -> str:
    return f" (on a stand-in {what}: the {what} check failed)" if what in state.stand_ins else ""


def check_sample_film(state: SelfTest) -> str:
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.films.samples import sample_film_path

    path = sample_film_path()
    if not path.is_file():
        raise FilmError(f"The bundled sample film {path} is missing; reinstall the application.")
    film = load_film(path)
    state.film, state.film_path = film, path
    h, w = film.shape
    return f"{path.name} opened, {w} x {h}"


def check_lung_mask(state: SelfTest) -> str:
    from vald_desktop.core.masks.resolve import resolve_mask

    film = _film(state)
    lung = resolve_mask(film, film_path=state.film_path)
    if lung.is_empty:
        raise FilmError("No lungs were found on the sample film.")
    state.lung = lung
    how = "its mask file" if lung.source in ("dataset", "file") else f"the {lung.source} mask"
    return f"found ({how}), {100 * lung.area_fraction:.0f}% of the film" + _note(state, "film")


def check_model_folder(state: SelfTest) -> str:
    from vald_desktop.core.engine.manifest import manifest_hash, read_manifest
    from vald_desktop.core.engine.models import check_model_dir, native_size, resolve_model_dir

    folder = resolve_model_dir(state.model)
    check_model_dir(folder)  # structure, safetensors only, every file against its manifest, widths
    state.model_dir = folder
    manifest = read_manifest(folder)
    checked = f"{len(manifest['files'])} files match the manifest" if manifest else "no manifest to check"
    digest = (manifest_hash(folder) or "")[:12]
    return f"{folder.name} ({folder}) verified: safetensors only, {checked} ({digest}), {native_size(folder)} px native"


def check_counterfactual(state: SelfTest) -> str:
    import time

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.models import recommended_settings
    from vald_desktop.core.engine.sampler import Engine

    if state.model_dir is None:
        raise ModelError("Not run: the model folder failed its check.")
    film = _film(state)
    settings = RunSettings().replace(**recommended_settings(state.model_dir))
    settings = settings.replace(
        steps=SELFTEST_STEPS,
        seed=0,
        seeds=1,
        preview_every=0,
        mask_mode="auto" if state.lung is not None else "none",
        confine_to_mask=settings.confine_to_mask and state.lung is not None,
    )
    engine = Engine(state.model_dir, state.device)
    t0 = time.perf_counter()
    info = engine.load()
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = engine.run(film.display(), settings, mask=state.lung, film_sha256=film.sha256)
    ran = time.perf_counter() - t0
    if not (np.isfinite(result.counterfactual).all() and np.isfinite(result.map).all()):
        raise ModelError(
            f"The model {info.name} produced NaN or infinite values on {info.device} ({info.dtype})."
        )
    state.result = result
    changed = float(np.abs(result.map).max())
    return (
        f"{info.name} on {info.device} ({info.dtype}): loaded in {loaded:.1f} s, {SELFTEST_STEPS} steps "
        f"at strength {settings.strength:g} in {ran:.1f} s, largest change {changed:.3f}"
        + _note(state, "film")
    )


def _result(state: SelfTest) -> RunResult:
    """The run's result, or the film as its own counterfactual (a zero map) when the run failed."""
    if state.result is None:
        from vald_desktop.core.base.settings import RunSettings
        from vald_desktop.core.engine.provenance import build_record
        from vald_desktop.core.engine.result import RunResult

        img = _film(state).display().astype(np.float32)
        settings = RunSettings(mask_mode="auto" if state.lung is not None else "none")
        state.result = RunResult(
            settings=settings, original=img, counterfactual=img, counterfactuals=[img], map=np.zeros_like(img),
            map_std=None, mask=state.lung, record=build_record(settings, film_shape=img.shape),
        )  # fmt: skip
        state.stand_ins.append("counterfactual")
    return state.result


def check_overlay(state: SelfTest) -> str:
    from vald_desktop.core.attribution.maps import OverlayStyle, render_overlay

    result = _result(state)
    rgb = render_overlay(result.original, result.map, OverlayStyle())
    h, w = result.map.shape
    if rgb.shape[:2] != (h, w) or rgb.ndim != 3:
        raise ValdError(f"The overlay came out {rgb.shape}, not {h} x {w} colour.")
    drawn = float(np.mean(np.any(rgb != np.stack([rgb[..., 0]] * 3, axis=-1), axis=-1)))
    return f"rendered {w} x {h}, {100 * drawn:.1f}% of the pixels coloured" + _note(state, "counterfactual")


def check_export(state: SelfTest) -> str:
    from vald_desktop.core.export.exporter import ExportOptions, RunExporter

    result = _result(state)
    # Not de-identified: the sample is a phantom with no identity, and the run folder is the working record.
    exporter = RunExporter(result, options=ExportOptions(deidentify=False))
    with tempfile.TemporaryDirectory(prefix="vald-selftest-") as tmp:
        paths = list(exporter.write_run(Path(tmp) / "run").values())
        paths += exporter.write_pdf(Path(tmp) / "report.pdf")
        empty = [p.name for p in paths if not p.is_file() or p.stat().st_size == 0]
        if empty:
            raise ExportError(f"The export wrote empty or no files: {', '.join(empty)}.")
        size = sum(p.stat().st_size for p in paths)
    names = ", ".join(sorted(p.name for p in paths))
    return (
        f"{len(paths)} files ({size / 1e6:.1f} MB: {names}) written to a temporary folder and removed"
        + _note(state, "counterfactual")
    )


CHECKS: list[Check] = [
    ("sample film", check_sample_film),
    ("lung mask", check_lung_mask),
    ("model folder", check_model_folder),
    ("counterfactual", check_counterfactual),
    ("overlay", check_overlay),
    ("export", check_export),
]
