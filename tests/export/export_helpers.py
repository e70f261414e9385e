"""Helpers for the export tests (a uniquely named module, so tests can import it without clashing conftests)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from orthanc_server import free_port  # noqa: F401 - the export tests import it from here


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """Make ``folder`` unwritable for real: chmod for ordinary users, the immutable flag for root (who ignores modes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield folder
        finally:
            folder.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], capture_output=True, check=False)


@contextlib.contextmanager
def tiny_disk(folder: Path, size_kib: int = 64) -> Iterator[Path]:
    """A real, nearly full disk: a small tmpfs mounted on ``folder`` (needs root; skipped elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if os.geteuid() != 0 or mount is None or umount is None:
        pytest.skip("mounting a small disk needs root")
    cmd = [mount, "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)]
    if subprocess.run(cmd, capture_output=True, timeout=10).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run([umount, str(folder)], capture_output=True, timeout=10, check=False)


def dciodvfy_errors(path: Path, iod: str) -> list[str]:
    """dciodvfy's error lines for ``path``, after checking that it validated against ``iod`` (e.g. "Segmentation")."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any(line.strip() == iod for line in lines), lines  # it really checked against that IOD
    return [line for line in lines if line.startswith("Error")]
