"""Fetch and install the real base model (SD v1.4 + RadBERT): what ``vald models fetch`` and the app's
Model ▸ Get base weights both do, in the same steps.

:func:`plan_base` lists both pinned repositories (refusing pickle-only revisions before any download);
:func:`install_base` checks the disk, downloads into ``<models>/.downloads`` (resumable ``.part`` files, each file
checked against the Hub's checksums), assembles into ``<models>/.staging/<name>``, verifies it and only then moves it
to ``<models>/<name>``. A cancelled or failed run never leaves a model folder, staged or final; only the downloads
stay, for the next run to resume. The licence is the caller's to show and have accepted first
(``base_weights.LICENCE_NOTICE``).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from vald_desktop.core.base.errors import Cancelled, ModelError
from vald_desktop.core.engine import base_weights as bw
from vald_desktop.core.engine.hub import RepoPlan, download_plan, plan_repo
from vald_desktop.core.engine.model_home import models_home
from vald_desktop.core.engine.models import check_model_dir

DOWNLOADS = ".downloads"
STAGING = ".staging"
ASSEMBLING = "assembling and verifying the model"  # the progress label once every file is in
ProgressFn = Callable[[int, int, str], None]  # (bytes done, bytes in all, "<repo> <file>" or ASSEMBLING)


def check_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ModelError(f"{name!r} is not a plain folder name; choose one like {bw.MODEL_NAME}.")
    return name


def installed(name: str = bw.MODEL_NAME, home: Path | None = None) -> Path | None:
    """The installed model folder of that name, or None; a folder there that is unusable is an error."""
    target = (home or models_home()) / check_name(name)
    if not target.exists():
        return None
    try:
        check_model_dir(target)
    except ModelError as exc:
        raise ModelError(f"{target} exists but is unusable: {exc}") from None
    return target


def plan_base(
    sd_revision: str = bw.SD_REVISION, radbert_revision: str = bw.RADBERT_REVISION
) -> list[RepoPlan]:
    """What to download (one listing call per repository; nothing is downloaded)."""
    return [
        plan_repo(bw.SD_REPO, sd_revision, bw.SD_FILES),
        plan_repo(bw.RADBERT_REPO, radbert_revision, bw.RADBERT_FILES),
    ]


def install_base(
    plans: list[RepoPlan],
    name: str = bw.MODEL_NAME,
    *,
    home: Path | None = None,
    overwrite: bool = False,
    keep_downloads: bool = False,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download, assemble, verify and install; returns the model folder. Raises :class:`Cancelled` on cancel."""
    home = home or models_home()
    target = home / check_name(name)
    if target.exists() and not overwrite:
        raise ModelError(f"{target} already exists; choose another name or replace it.")
    downloads = home / DOWNLOADS
    check_space(home, downloads, plans)
    total = sum(p.total for p in plans)
    done = 0
    folders = []
    for plan in plans:
        folder = downloads / plan.folder_name

        def report(d: int, t: int, file: str, repo: str = plan.repo) -> None:
            if progress is not None:
                progress(d, t, f"{repo} {file}")

        download_plan(plan, folder, progress=report, cancel=cancel, done_before=done, total=total)
        folders.append(folder)
        done += plan.total
    _stop_if_cancelled(cancel)
    if progress is not None:
        progress(total, total, ASSEMBLING)
    _assemble_and_install(folders[0], folders[1], target, overwrite=overwrite, cancel=cancel)
    if not keep_downloads:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return target


def _stop_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Download cancelled; fetch again to resume.")


def check_space(home: Path, downloads: Path, plans: list[RepoPlan]) -> None:
    """Refuse before downloading when the disk cannot hold what is left to fetch plus the assembled copy."""
    with _unwritable(home):
        home.mkdir(parents=True, exist_ok=True)
    left = 0
    for plan in plans:
        for remote in plan.files:
            final = downloads / plan.folder_name / remote.path
            part = final.with_name(final.name + ".part")
            have = final.stat().st_size if final.is_file() else part.stat().st_size if part.is_file() else 0
            left += max(remote.size - have, 0)
    need = left + sum(p.total for p in plans)
    free = shutil.disk_usage(home).free
    if free < need:
        raise ModelError(
            f"The disk holding {home} has {free / 1e9:.1f} GB free but the base model needs {need / 1e9:.1f} GB; "
            f"free some space or set VALD_MODELS_DIR to a bigger disk."
        )


@contextlib.contextmanager
def _unwritable(home: Path) -> Iterator[None]:
    try:
        yield
    except PermissionError:
        raise ModelError(
            f"Cannot create the models folder {home}: the place is read-only or not yours."
        ) from None


def _assemble_and_install(
    sd_dir: Path, text_dir: Path, target: Path, *, overwrite: bool, cancel: threading.Event | None
) -> Path:
    """Assemble into a hidden staging folder, verify it, then move it into place (never a half model)."""
    from vald_desktop.core.engine.assemble import assemble_model

    home = target.parent
    staging = (
        home / STAGING / target.name
    )  # named as the model: assembly writes the folder name into the manifest
    old = home / STAGING / f"{target.name}.old"
    for stale in (staging, old):
        shutil.rmtree(stale, ignore_errors=True)
    try:
        with _quiet_libraries():
            assemble_model(sd_dir, text_dir, staging)
        check_model_dir(staging)
        _stop_if_cancelled(cancel)  # assembly cannot stop halfway; its result is dropped instead
        if target.exists() and overwrite:
            target.rename(old)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """No import-time notes or per-component progress bars from transformers / diffusers during assembly."""
    from transformers.utils import logging as tlogging

    level = tlogging.get_verbosity()
    tlogging.set_verbosity_error()
    tlogging.disable_progress_bar()
    from diffusers.utils import logging as dlogging

    dlevel = dlogging.get_verbosity()
    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    try:
        yield
    finally:
        tlogging.set_verbosity(level)
        dlogging.set_verbosity(dlevel)
        tlogging.enable_progress_bar()
        dlogging.enable_progress_bar()
