"""The demo model's recipe (training/demo-phantom.sh + training/configs/demo-phantom*.yaml) hangs together: every
command parses, every config loads, and each stage reads the phantom set and the model the step before it writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from vald_desktop.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "training" / "demo-phantom.sh"


def _commands() -> list[list[str]]:
    """`vald ...` argument lists of the script, continuation lines joined; the script's train() is `vald train`."""
    text = SCRIPT.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words or "$@" in words:  # the body of the script's train() function
            continue
        if '"$BIN/vald"' in line or "$BIN/vald" in words[0]:
            start = next(i for i, w in enumerate(words) if w.endswith("/vald"))
            out.append(words[start + 1 :])
        elif words[0] == "train" and "--config" in words:
            out.append(words)
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "training" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_config_loads(path: Path) -> None:
    from vald_training.config import load_config

    load_config(path, {}).validate()


def test_demo_recipe_commands_parse_and_chain() -> None:
    from vald_training.config import load_config

    commands = _commands()
    parser = build_parser()
    written: set[str] = set()
    trained = []
    for argv in commands:
        args = parser.parse_args(argv)
        if argv[0] == "phantoms":
            written.add(str(Path(args.out) / "labels.csv"))
        elif argv[0] == "train" and "--base-only" not in argv:
            overrides = {"out": args.out} if args.out else {}
            trained.append(load_config(ROOT / args.config, overrides))
    assert [Path(c.data).parent.name for c in trained] == [
        "demo-phantoms",
        "demo-phantoms-sided",
        "demo-phantoms-paired",
    ], "each stage must read the phantom set the script writes for it"
    assert all(c.data in written for c in trained), "a stage reads a phantom set the script never writes"
    assert trained[0].build_base, "stage 1 must carry the build_base section that --base-only builds"
    for before, after in zip(trained, trained[1:], strict=False):
        assert after.base == before.out, f"{after.name} does not continue from {before.out}"
    assert all(c.train_batch_size * 2 == 32 for c in trained), (
        "two processes must make the global batch of 32"
    )
