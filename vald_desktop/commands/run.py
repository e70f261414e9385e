"""``vald run``: healthy counterfactual + attribution map for one film, a folder of films or a list file.

Outputs per film, written by the one run writer (``core.export.exporter``; atomically, ``run.json`` last so a
folder with ``run.json`` is complete): ``counterfactual.png``, ``map.npy`` (signed float32, film's shape),
``overlay.png``, ``composite.png`` (run record in its PNG text chunk) and ``run.json``. Batch mode writes one folder
per film, skips finished ones, and splits the films between processes by the ``RANK``/``WORLD_SIZE`` environment
variables (``accelerate launch``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vald_desktop.core.base.errors import BurnedInTextError, ExportError, FilmError, MaskError, SettingsError
from vald_desktop.core.base.settings import HEALTHY_PROMPT, NOISES, REFERENCES, SCHEDULERS, RunSettings

if TYPE_CHECKING:
    from vald_desktop.core.attribution.maps import OverlayStyle
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.engine.sampler import Engine, Progress
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = RunSettings()
    p = subparsers.add_parser(
        "run",
        help="healthy counterfactual and attribution map for a film (or a folder / list of films)",
        description="Writes counterfactual.png, map.npy, overlay.png, composite.png and run.json into --out "
        "(batch mode: one folder per film).",
    )
    p.add_argument("film", help="a film (DICOM/PNG/JPEG/TIFF), a folder of films, or a .txt list of paths")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--prompt", default=d.prompt, help=f"text prompt (default {HEALTHY_PROMPT!r})")
    p.add_argument("--negative-prompt", default=d.negative_prompt, help="negative prompt (default empty)")
    p.add_argument(
        "--strength", type=float, default=d.strength, help=f"SDEdit strength 0..1 (default {d.strength})"
    )
    p.add_argument(
        "--guidance", type=float, default=d.guidance, help=f"guidance scale (default {d.guidance})"
    )
    p.add_argument(
        "--guidance-until",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of the denoising steps that use guidance, 0..1; the rest follow the prompt alone "
        f"(default: the model's vald-settings.json, else {d.guidance_until:g})",
    )
    p.add_argument("--steps", type=int, default=d.steps, help=f"scheduler steps (default {d.steps})")
    p.add_argument("--scheduler", choices=SCHEDULERS, default=d.scheduler, help=f"(default {d.scheduler})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"first seed (default {d.seed})")
    p.add_argument("--seeds", type=int, default=d.seeds, help="seeds for the consensus map (default 1)")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--mask", default=None, help="lung mask image (white = lung), the film's size")
    m.add_argument("--auto-mask", action="store_true", help="segment the lungs automatically (default)")
    m.add_argument("--no-mask", action="store_true", help="do not restrict the map to the lungs")
    p.add_argument(
        "--region", metavar="R.png", help="edit region PNG (255 = editable): nothing outside it changes"
    )
    p.add_argument(
        "--confine",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mask-confined editing: nothing outside the lungs changes (default: the model's "
        "vald-settings.json, else off)",
    )
    p.add_argument(
        "--reference", choices=REFERENCES, default=d.reference, help=f"map reference (default {d.reference})"
    )
    p.add_argument(
        "--noise",
        choices=NOISES,
        default=None,
        help=f"start noise: random (SDEdit, the paper) or inverted (DDIM inversion of the film, keeps its "
        f"anatomy; one seed) (default: the model's vald-settings.json, else {d.noise})",
    )
    p.add_argument(
        "--edit-floor",
        type=float,
        default=None,
        metavar="LEVEL",
        help="soft threshold on the edit (film intensity 0..1): smaller changes are dropped, larger ones shrink "
        f"by it (default: the model's vald-settings.json, else {d.edit_floor:g} = off)",
    )
    p.add_argument("--smooth", type=float, default=d.smooth_sigma, help="map smoothing sigma (model pixels)")
    p.add_argument(
        "--overlay", choices=("signed", "abs"), default="signed", help="overlay colours (default signed)"
    )
    p.add_argument("--opacity", type=float, default=0.6, help="overlay opacity (default 0.6)")
    p.add_argument(
        "--threshold", type=float, default=0.1, help="overlay threshold, fraction of scale (default 0.1)"
    )
    p.add_argument("--model", default=None, help="model folder (default $VALD_MODEL, then the demo model)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--overwrite", action="store_true", help="batch mode: redo films that already have outputs"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from vald_desktop.commands.export_flags import (
        add_export_arguments,  # --report, --dicom, --deidentify, --send, --force
    )

    add_export_arguments(p)
    p.set_defaults(func=run)


def _recommended(args: argparse.Namespace, mask_mode: str) -> dict[str, Any]:
    """The model's recommended noise / confinement / guided share, unless the user's own choices rule them out."""
    from vald_desktop.core.engine.models import recommended_settings, resolve_model_dir

    rec = {
        k: v
        for k, v in recommended_settings(resolve_model_dir(args.model)).items()
        if k in ("noise", "confine_to_mask", "guidance_until", "edit_floor")
    }
    if mask_mode == "none":
        rec.pop("confine_to_mask", None)  # nothing to confine to
    if args.seeds > 1:
        rec.pop("noise", None)  # an inverted start is one deterministic path: several seeds need random noise
    return rec


def run(args: argparse.Namespace) -> int:
    from vald_desktop.commands.export_flags import overlay_style
    from vald_desktop.core.engine.sampler import Engine
    from vald_desktop.core.export.exporter import RUN_RECORD

    mask_mode = "none" if args.no_mask else "file" if args.mask else "auto"
    settings = (
        RunSettings()
        .replace(**_recommended(args, mask_mode))
        .replace(
            prompt=args.prompt,
            negative_prompt=args.negative_prompt,
            strength=args.strength,
            guidance=args.guidance,
            steps=args.steps,
            scheduler=args.scheduler,
            seed=args.seed,
            seeds=args.seeds,
            mask_mode=mask_mode,
            reference=args.reference,
            smooth_sigma=args.smooth,
            **{
                k: v
                for k, v in (
                    ("confine_to_mask", args.confine),
                    ("noise", args.noise),
                    ("guidance_until", args.guidance_until),
                    ("edit_floor", args.edit_floor),
                )
                if v is not None
            },
        )
    )
    style = overlay_style(args)
    films, batch = collect_films(Path(args.film))
    out_root = Path(args.out)
    engine = Engine(args.model, args.device)
    done = skipped = 0
    with cancel_on_sigint() as cancel:
        for film_path, out_dir in plan_outputs(
            films, out_root, batch, pseudonymous=bool(getattr(args, "deidentify", False))
        ):
            if batch and not args.overwrite and (out_dir / RUN_RECORD).is_file():
                skipped += 1
                continue
            try:
                run_one(
                    engine,
                    film_path,
                    out_dir,
                    settings,
                    style,
                    cancel,
                    quiet=args.quiet,
                    mask_file=args.mask,
                    export_args=args,
                    region_file=args.region,
                )
            except (FilmError, MaskError, BurnedInTextError) as exc:
                if not batch:
                    raise
                print(
                    f"skipped {film_path.name}: {exc}", file=sys.stderr
                )  # one bad film must not stop a batch
                continue
            done += 1
    if batch:
        print(json.dumps({"done": done, "skipped_existing": skipped, "films": len(films)}))
    return 0


def collect_films(source: Path) -> tuple[list[Path], bool]:
    """The films to process and whether this is batch mode; batch lists are split by RANK/WORLD_SIZE."""
    from vald_desktop.core.films.filelist import list_films

    if source.is_dir():
        films = list_films(source)
        if not films:
            raise FilmError(f"The folder {source} holds no films.")
    elif source.suffix.lower() == ".txt" and source.is_file():
        base = source.parent
        lines = [ln.strip() for ln in source.read_text("utf-8").splitlines()]
        films = [
            (base / ln) if not Path(ln).is_absolute() else Path(ln)
            for ln in lines
            if ln and not ln.startswith("#")
        ]
        if not films:
            raise FilmError(f"The list {source.name} names no films.")
    elif source.exists():
        return [source], False
    else:
        raise FilmError(f"{source} does not exist.")
    rank, world = shard()
    return films[rank::world], True


def shard() -> tuple[int, int]:
    try:
        world = max(1, int(os.environ.get("WORLD_SIZE", "1")))
        rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    except ValueError:
        raise SettingsError("RANK and WORLD_SIZE must be whole numbers.") from None
    if not 0 <= rank < world:
        raise SettingsError(f"RANK {rank} is outside WORLD_SIZE {world}.")
    return rank, world


def plan_outputs(
    films: list[Path], out_root: Path, batch: bool, *, pseudonymous: bool = False
) -> Iterator[tuple[Path, Path]]:
    """One output folder per film, named after the file (with its parent's name when two files share a stem);
    ``pseudonymous`` (de-identified runs): named by a keyed hash of the film's path, the same on every run."""
    if not batch:
        yield films[0], out_root
        return
    if pseudonymous:
        from vald_desktop.core.export.pseudonyms import Pseudonymizer

        names = Pseudonymizer()
        for film in films:
            yield film, out_root / names.name(str(film.resolve()))
        return
    stems = [f.stem or f.name for f in films]
    for film, stem in zip(films, stems, strict=True):
        name = stem if stems.count(stem) == 1 else f"{film.parent.name}-{stem}"
        yield film, out_root / name


def resolve_lung_mask(film: Film, film_path: Path, mode: str, mask_file: str | None) -> LungMask | None:
    """The LungMask for this run (mask file, dataset sibling mask, or automatic), or None for --no-mask.

    Warnings about implausible automatic masks are printed as one ``warning:`` line each, then the run goes on.
    """
    if mode == "none":
        return None
    import warnings

    from vald_desktop.core.masks.resolve import resolve_mask

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mode == "file" and mask_file:
            lung = resolve_mask(film, mask_file=mask_file)
        else:
            lung = resolve_mask(film, film_path=film_path)
    for w in caught:
        if str(w.message) not in lung.reasons:  # the verdict's own reasons are said once the run is done
            print(f"warning: {film_path.name}: {w.message}", file=sys.stderr)
    return lung


def run_one(
    engine: Engine,
    film_path: Path,
    out_dir: Path,
    settings: RunSettings,
    style: OverlayStyle,
    cancel: threading.Event,
    *,
    quiet: bool = False,
    mask_file: str | None = None,
    export_args: argparse.Namespace | None = None,
    region_file: str | None = None,
) -> dict[str, Path]:
    from vald_desktop.commands.export_flags import (
        apply_export_arguments,
        check_export_arguments,
        check_film_before_run,
        deidentify_run_record,
    )
    from vald_desktop.core.engine.domain import sentence as domain_sentence
    from vald_desktop.core.films.kind import check_film
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks.region import load_region
    from vald_desktop.core.masks.verdict_words import sentence as mask_sentence

    if export_args is not None:
        check_export_arguments(export_args)  # existing report/DICOM or bad flags: fail before the slow run
    engine.load()  # a bad model folder fails before any film or mask work (free once loaded)
    film = load_film(film_path)
    kind = check_film(film)  # CT, MR, ultrasound, lateral views …: refused before any model work
    if export_args is not None and getattr(export_args, "dicom", None) and film.dataset is None:
        raise ExportError("--dicom needs a DICOM film as the source; this film is not DICOM.")
    if export_args is not None:
        check_film_before_run(export_args, film)  # burned-in text: refused before anything is written
    lung = resolve_lung_mask(film, film_path, settings.mask_mode, mask_file)
    region = load_region(region_file, film.shape) if region_file else None  # 255 = the film may change there
    if lung is None and settings.mask_mode != "none":
        settings = settings.replace(mask_mode="none")  # the record must say the map is not restricted
    with progress_bar(film_path.name, quiet) as on_step:
        result = engine.run(
            film.display(),
            settings,
            mask=lung,
            progress=on_step,
            cancel=cancel,
            film_sha256=film.sha256,
            film_kind=kind,
            region=region,
        )
    result.record["film"] = film_path.name
    if (note := domain_sentence(result.record.get("domain"))) is not None:
        print(f"warning: {film_path.name}: {note}", file=sys.stderr)  # the map may mean nothing: say so
    if result.mask is not None and (note := mask_sentence(result.mask.verdict())) is not None:
        print(f"warning: {film_path.name}: {note}", file=sys.stderr)  # the map is confined to a doubtful mask
    if export_args is not None:
        deidentify_run_record(export_args, result, film)  # --deidentify: no name, hash or path in run.json
    paths = write_outputs(out_dir, result, style)
    if export_args is not None:
        paths.update(apply_export_arguments(export_args, result, film, out_dir))
    return paths


def write_outputs(out_dir: Path, result: RunResult, style: OverlayStyle) -> dict[str, Path]:
    """The run folder, through the writer the app's exports use too (one overlay, one lung-statistics rule)."""
    from vald_desktop.core.export.exporter import ExportOptions, RunExporter

    return RunExporter(result, options=ExportOptions(style=style)).write_run(out_dir)


@contextmanager
def progress_bar(name: str, quiet: bool) -> Iterator[Callable[[Progress], None] | None]:
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(desc=name, unit="step", leave=False, file=sys.stderr)

    def on_step(p: Progress) -> None:
        bar.total = p.total
        bar.n = p.step
        bar.refresh()

    try:
        yield on_step
    finally:
        bar.close()


@contextmanager
def cancel_on_sigint() -> Iterator[threading.Event]:
    """First Ctrl-C asks the engine to stop after the current step; a second one interrupts at once."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\ncancelling after the current step (Ctrl-C again to stop now)...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
