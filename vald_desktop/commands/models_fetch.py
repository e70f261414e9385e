"""``vald models fetch``: the real base model in one step (the only command that goes online).

Shows Stable Diffusion's licence and needs it accepted (``--accept-licence`` or typing "yes"), lists both pinned
repositories on the Hugging Face Hub (refusing pickle-only revisions before any download), downloads the few
files assembly needs (resumable: run it again after a dropped connection or Ctrl-C), checks each against the Hub's
checksums, assembles SD v1.4 + RadBERT with ``vald models assemble``'s code, verifies the result and only then
moves it into the user's models folder (``$VALD_MODELS_DIR`` or the platform's user data folder). Use it with
``--model sd-v1-4-radbert`` or ``VALD_MODEL=sd-v1-4-radbert``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import ModelError

if TYPE_CHECKING:
    from vald_desktop.core.engine.hub import RepoPlan

DOWNLOADS = ".downloads"
STAGING = ".staging"


def add_fetch_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from vald_desktop.core.engine import base_weights as bw

    f = sub.add_parser(
        "fetch",
        help="download SD v1.4 + RadBERT from the Hugging Face Hub and assemble the base model",
        description=f"Downloads {bw.SD_REPO} and {bw.RADBERT_REPO} (pinned commits, safetensors only, "
        f"resumable; HF_TOKEN and HF_ENDPOINT are honoured), assembles them and installs the result as "
        f"{bw.MODEL_NAME} in the user's models folder ($VALD_MODELS_DIR overrides it).",
    )
    f.add_argument(
        "--accept-licence",
        action="store_true",
        help="accept Stable Diffusion's CreativeML OpenRAIL-M licence (shown first) without being asked",
    )
    f.add_argument("--sd-revision", default=bw.SD_REVISION, help="commit of the SD repository (pinned)")
    f.add_argument(
        "--radbert-revision", default=bw.RADBERT_REVISION, help="commit of the RadBERT repository (pinned)"
    )
    f.add_argument("--name", default=bw.MODEL_NAME, help=f"model folder name (default {bw.MODEL_NAME})")
    f.add_argument("--overwrite", action="store_true", help="replace an installed model of that name")
    f.add_argument("--keep-downloads", action="store_true", help="keep the downloaded files after assembly")
    f.add_argument("--quiet", action="store_true", help="no progress output")
    f.set_defaults(func=fetch)


def fetch(args: argparse.Namespace) -> int:
    from vald_desktop.core.engine import base_weights as bw
    from vald_desktop.core.engine.hub import download_plan, plan_repo
    from vald_desktop.core.engine.model_home import models_home
    from vald_desktop.core.engine.models import check_model_dir

    name = str(args.name)
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ModelError(f"{name!r} is not a plain folder name; choose one like {bw.MODEL_NAME}.")
    home = models_home()
    target = home / name
    if target.exists() and not args.overwrite:
        try:
            check_model_dir(target)
        except ModelError as exc:
            raise ModelError(
                f"{target} exists but is unusable: {exc} Pass --overwrite to fetch it again."
            ) from None
        _report(target, already=True)
        return 0
    _accept_licence(args.accept_licence, bw.LICENCE_NOTICE)
    plans = [
        plan_repo(bw.SD_REPO, args.sd_revision, bw.SD_FILES),
        plan_repo(bw.RADBERT_REPO, args.radbert_revision, bw.RADBERT_FILES),
    ]
    downloads = home / DOWNLOADS
    _check_space(home, downloads, plans)
    total = sum(p.total for p in plans)
    done = 0
    folders = []
    with _Progress(args.quiet, total) as bar:
        for plan in plans:
            folder = downloads / plan.folder_name
            bar.repo = plan.repo
            download_plan(plan, folder, progress=bar.update, done_before=done, total=total)
            folders.append(folder)
            done += plan.total
    installed = _assemble_and_install(folders[0], folders[1], home, name, overwrite=args.overwrite)
    if not args.keep_downloads:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    _report(installed, already=False, plans=plans)
    return 0


def _accept_licence(accepted: bool, notice: str) -> None:
    print(notice, flush=True)
    if accepted:
        return
    if not sys.stdin.isatty():
        raise ModelError(
            "Stable Diffusion's licence has to be accepted first: read it above and pass --accept-licence."
        )
    answer = input("Type yes to accept the licence and download: ").strip().lower()
    if answer not in ("yes", "y"):
        raise ModelError("The licence was not accepted; nothing was downloaded.")


def _check_space(home: Path, downloads: Path, plans: list[RepoPlan]) -> None:
    """Refuse before downloading when the disk cannot hold what is left to fetch plus the assembled copy."""
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


def _assemble_and_install(sd_dir: Path, text_dir: Path, home: Path, name: str, *, overwrite: bool) -> Path:
    """Assemble into a hidden staging folder, verify it, then move it into place (never a half model)."""
    from vald_desktop.core.engine.models import check_model_dir

    try:
        from vald_training.assemble import assemble_model
    except ImportError:
        raise ModelError(
            "Model assembly needs the training package (vald_training), which is not installed."
        ) from None
    staging = home / STAGING / name  # named as the model: assembly writes the folder name into the manifest
    old = home / STAGING / f"{name}.old"
    for stale in (staging, old):
        shutil.rmtree(stale, ignore_errors=True)
    target = home / name
    try:
        with _quiet_libraries():
            assemble_model(sd_dir, text_dir, staging)
        check_model_dir(staging)
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


def _report(path: Path, *, already: bool, plans: list[RepoPlan] | None = None) -> None:
    from vald_desktop.core.engine.manifest import manifest_hash

    doc: dict[str, object] = {
        "model": str(path),
        "already_installed": already,
        "manifest_hash": manifest_hash(path),
    }
    if plans:
        doc["sources"] = {p.repo: p.commit for p in plans}
    print(json.dumps(doc))
    print(f"Use it with --model {path.name} or VALD_MODEL={path.name} (or --model {path}).", file=sys.stderr)


class _Progress:
    """A byte bar on stderr (a terminal), one line per file otherwise, nothing with --quiet."""

    def __init__(self, quiet: bool, total: int) -> None:
        self.quiet, self.total = quiet, total
        self.bar: object | None = None
        self.file = ""
        self.repo = ""

    def __enter__(self) -> _Progress:
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="B", unit_scale=True, file=sys.stderr, desc="fetching")
        return self

    def update(self, done: int, total: int, name: str) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        name = f"{self.repo} {name}"
        if isinstance(self.bar, tqdm):
            self.bar.n = done
            self.bar.set_postfix_str(name, refresh=True)
        elif name != self.file:
            print(f"fetching {name}", file=sys.stderr, flush=True)
        self.file = name

    def __exit__(self, *exc: object) -> None:
        from tqdm import tqdm

        if isinstance(self.bar, tqdm):
            self.bar.close()
