"""The PyInstaller desktop bundle, copied outside the checkout, passes its own self-test on a display.

Runs only where the bundle is built (``make bundle-test`` builds it first; ``$VALD_BUNDLE`` names another folder)
and never in ``make test``. The copy runs with a clean environment from a temporary folder, so nothing of the
checkout or its venv can stand in for what the bundle lacks; the self-test opens the packaged sample film, runs the
packaged demo model, writes a report, shows the main window (on Xvfb when there is one, else offscreen) and spawns
the film helper process by re-running the bundle's executable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("VALD_BUNDLE") or REPO / "dist" / "vald-desktop")
EXE = "vald-desktop.exe" if os.name == "nt" else "vald-desktop"
CHECKS = ["versions", "device", "decoders", "sample film", "lung mask", "model folder", "counterfactual", "overlay",
          "export", "window", "helper process"]  # fmt: skip

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (BUNDLE if BUNDLE.is_absolute() else REPO / BUNDLE).joinpath(EXE).is_file(),
        reason=f"no desktop bundle at {BUNDLE} (make bundle-test builds it)",
    ),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle in a temporary folder outside the checkout."""
    source = BUNDLE if BUNDLE.is_absolute() else REPO / BUNDLE
    copy = tmp_path_factory.mktemp("bundle") / "vald-desktop"
    shutil.copytree(source, copy, symlinks=True)
    assert not copy.resolve().is_relative_to(REPO)
    return copy


def _run(bundle: Path, args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the bundle; also says on which Qt platform (xcb on Xvfb or a display, else offscreen)."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(cwd), VALD_MODELS_DIR=str(cwd / "models"), OMP_NUM_THREADS="2")
    cmd = [str(bundle / EXE), *args]
    platform = "xcb"  # a real X server: the bundle's xcb plugin and the libraries it needs
    if not env.get("DISPLAY") and shutil.which("xvfb-run"):
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *cmd]
    elif not env.get("DISPLAY"):
        platform = "offscreen"
    env["QT_QPA_PLATFORM"] = platform
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return done, platform


def _report(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        m = re.match(r"(ok|FAILED)\s+(\S+(?: \S+)?)\s{2,}", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def test_the_bundle_passes_its_self_test_outside_the_checkout(bundle: Path, tmp_path: Path) -> None:
    done, platform = _run(bundle, ["--selftest"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _report(done.stdout) == dict.fromkeys(CHECKS, "ok"), done.stdout
    assert f"All {len(CHECKS)} checks passed" in done.stdout
    # The packaged demo model and code ran, nothing of the checkout.
    model_line = next(line for line in done.stdout.splitlines() if "model folder" in line)
    assert str(bundle) in model_line and "demo-phantom" in model_line
    assert str(REPO) not in done.stdout
    helper = next(line for line in done.stdout.splitlines() if "helper process" in line)
    assert "spawn start of the bundle's executable" in helper
    assert f"on the {platform} platform" in done.stdout


def test_the_bundle_shows_its_window_and_quits(bundle: Path, tmp_path: Path) -> None:
    done, _ = _run(bundle, ["--quit-after-show"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "window shown and closed" in done.stdout
    assert not list(tmp_path.glob(".config/**/*.conf")), "--quit-after-show must not save settings"
