"""The wheel is the app: built from the checkout, installed outside it, it runs the CLI and the self-test.

The wheel goes into a fresh venv with ``--no-deps``; the venv sees the test venv's third-party packages through a
``.pth`` line (not its editable install of this project), so what runs is the wheel's own code and data.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MAX_WHEEL_MB = 60  # PyPI's default upload limit is 100 MB; the demo model is most of the wheel
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", ".cache", "out", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy: setuptools writes build/ and egg-info into the source tree it is given.
    src = tmp_path_factory.mktemp("src") / "vald-desktop"
    shutil.copytree(REPO, src, ignore=_SKIP)
    dist = tmp_path_factory.mktemp("dist")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(dist),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (built,) = dist.glob("vald_desktop-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("venv") / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    purelib = next(env.glob("lib/python*/site-packages"))
    # The test venv's third-party packages, without processing its .pth files (which hold the editable install).
    (purelib / "test-venv-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(purelib), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env


def _run(env: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VALD_") and k != "PYTHONPATH"}
    clean["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(
        [str(env / "bin" / "python"), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_carries_the_demo_model_the_atlas_and_the_sample_film(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "vald_desktop/models/demo-phantom/vald-manifest.json",
        "vald_desktop/models/demo-phantom/unet/diffusion_pytorch_model.safetensors",
        "vald_desktop/resources/lung_atlas.npz",
        "vald_desktop/resources/prompts.json",
        "vald_desktop/resources/sample/phantom-opacity-left.png",
        "vald_training/trainer.py",
        "vald_evaluation/frechet.py",
        "vald_phantoms/phantom.py",
    ):
        assert needed in names, f"a pip-installed app would miss {needed}"
    assert wheel.stat().st_size < MAX_WHEEL_MB * 2**20, f"the wheel is {wheel.stat().st_size / 2**20:.0f} MB"


def test_the_installed_wheel_runs_the_demo_model_on_its_sample_film(venv: Path, tmp_path: Path) -> None:
    where = _run(venv, ["-c", "import vald_desktop; print(vald_desktop.__file__)"], tmp_path)
    assert where.returncode == 0, where.stderr
    assert str(venv) in where.stdout and str(REPO) not in where.stdout, (
        "the checkout, not the wheel, was imported"
    )
    sample = _run(
        venv,
        ["-c", "from vald_desktop.core.films.samples import sample_film_path as s; print(s())"],
        tmp_path,
    )
    film = Path(sample.stdout.strip())
    assert film.is_file() and str(venv) in str(film)
    cli = ["-m", "vald_desktop.cli", "run", str(film), "--out", "out", "--steps", "4", "--quiet"]
    run = _run(venv, cli, tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "run.json").is_file() and (tmp_path / "out" / "overlay.png").is_file()


def test_the_installed_wheel_passes_its_self_test(venv: Path, tmp_path: Path) -> None:
    doctor = _run(venv, ["-m", "vald_desktop.cli", "doctor"], tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    app = _run(venv, ["-m", "vald_desktop.gui.app", "--selftest"], tmp_path)
    assert app.returncode == 0, app.stdout + app.stderr
