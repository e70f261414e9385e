"""The code's shape: small files, and every package saying what it owns (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    ROOT / "vald_desktop",
    ROOT / "training" / "vald_training",
    ROOT / "vald_evaluation",
    ROOT / "vald_phantoms",
]
MAX_LINES = 400


def _python_files() -> list[Path]:
    return sorted(p for pkg in [*PACKAGES, ROOT / "tests"] for p in pkg.rglob("*.py"))


def test_no_source_or_test_file_grows_past_400_lines() -> None:
    files = _python_files()
    assert len(files) > 100, "the packages were not found"
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in files
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these files by what they hold: {too_long}"


def test_every_package_says_what_it_owns() -> None:
    silent = [
        str(init.relative_to(ROOT))
        for pkg in PACKAGES
        for init in pkg.rglob("__init__.py")
        if not ast.get_docstring(ast.parse(init.read_text("utf-8")))
    ]
    assert not silent, f"these packages have no docstring saying what they own: {silent}"
