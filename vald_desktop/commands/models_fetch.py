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
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import ModelError

if TYPE_CHECKING:
    from vald_desktop.core.engine.hub import RepoPlan


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
    from vald_desktop.core.engine.base_install import check_name, install_base, installed, plan_base

    name = check_name(str(args.name))
    if not args.overwrite:
        try:
            found = installed(name)
        except ModelError as exc:
            raise ModelError(f"{exc} Pass --overwrite to fetch it again.") from None
        if found is not None:
            _report(found, already=True)
            return 0
    _accept_licence(args.accept_licence, bw.LICENCE_NOTICE)
    plans = plan_base(args.sd_revision, args.radbert_revision)
    with _Progress(args.quiet, sum(p.total for p in plans)) as bar:
        model = install_base(
            plans, name, overwrite=args.overwrite, keep_downloads=args.keep_downloads, progress=bar.update
        )
    _report(model, already=False, plans=plans)
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

    def __enter__(self) -> _Progress:
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="B", unit_scale=True, file=sys.stderr, desc="fetching")
        return self

    def update(self, done: int, total: int, name: str) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        from vald_desktop.core.engine.base_install import ASSEMBLING

        if isinstance(self.bar, tqdm):
            self.bar.n = done
            self.bar.set_postfix_str(name, refresh=True)
        elif name != self.file:
            print(name if name == ASSEMBLING else f"fetching {name}", file=sys.stderr, flush=True)
        self.file = name

    def __exit__(self, *exc: object) -> None:
        from tqdm import tqdm

        if isinstance(self.bar, tqdm):
            self.bar.close()
