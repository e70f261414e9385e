"""The core must work on a machine without Qt: import every core module and run the film tests with PySide6 blocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Installed before anything else in the child interpreter: any attempt to import Qt fails like a missing install.
BLOCK_QT = """
import importlib.abc, sys
BLOCKED = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "vald_desktop.gui")
class _NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED or name.startswith("vald_desktop.gui"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: the core must not need Qt)", name=name)
        return None
sys.meta_path.insert(0, _NoQt())
"""

IMPORT_ALL_CORE = (
    BLOCK_QT
    + """
import importlib, pkgutil
import vald_desktop.core as core
names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, prefix="vald_desktop.core."))
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
print(f"imported {len(names) - len(failed)} of {len(names)} core modules")
for line in failed + [f"Qt leaked into sys.modules: {m}" for m in leaked]:
    print(line)
sys.exit(1 if failed or leaked else 0)
"""
)

RUN_FILM_TESTS = (
    BLOCK_QT
    + """
import pytest
rc = pytest.main(sys.argv[1:])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pytestqt"))
if leaked:
    print("Qt was imported during the film tests:", leaked)
    rc = rc or 3
sys.exit(int(rc))
"""
)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def test_every_core_module_imports_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_CORE],
        cwd=REPO,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"a core module needs Qt or fails to import:\n{result.stdout}{result.stderr}"
    )
    assert "imported" in result.stdout


def test_blocker_really_blocks_pyside6() -> None:
    # Guards the two tests around it: if the blocker were inert they would pass for the wrong reason.
    probe = (
        BLOCK_QT + "\ntry:\n    import PySide6\nexcept ModuleNotFoundError:\n    sys.exit(0)\nsys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=_child_env(), timeout=60)
    assert result.returncode == 0


@pytest.mark.slow
def test_film_tests_pass_without_qt() -> None:
    args = [
        "tests/films",
        "-q",
        "-x",
        "-p",
        "no:pytest-qt",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--ignore",
        str(Path(__file__).relative_to(REPO)),
    ]
    result = subprocess.run(
        [sys.executable, "-c", RUN_FILM_TESTS, *args],
        cwd=REPO,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, f"film tests fail when Qt is not importable:\n{tail}"
    assert " passed" in result.stdout
