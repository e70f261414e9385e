"""Atomic writes never leave partial files; manifests catch changed or missing model files."""

from __future__ import annotations

import errno

import pytest

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ExportError, ManifestError, ModelError
from vald_desktop.core.engine.manifest import MANIFEST_NAME, manifest_hash, verify_manifest, write_manifest


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path) -> None:
    target = tmp_path / "out.json"
    atomic.write_text(target, "one")
    atomic.write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_written_files_get_normal_permissions(tmp_path) -> None:
    target = atomic.write_text(tmp_path / "record.json", "{}")
    assert target.stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK


def test_failed_writer_keeps_the_old_file_and_no_partial(tmp_path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")

    def broken(fh):
        fh.write(b"half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_refuses_to_overwrite_when_asked_not_to(tmp_path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"x")
    with pytest.raises(ExportError, match="already exists"):
        atomic.write_bytes(target, b"y", overwrite=False)
    assert target.read_bytes() == b"x"


def test_read_only_folder_gives_a_clear_error(tmp_path, monkeypatch) -> None:
    # Simulated: tests may run as root, which ignores folder permissions.
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(ExportError, match="read-only"):
        atomic.write_bytes(tmp_path / "x.png", b"data")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_gives_a_clear_error_and_no_partial_file(tmp_path) -> None:
    def fill(fh):
        fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match="full"):
        atomic.write_with(tmp_path / "big.dcm", fill)
    assert list(tmp_path.iterdir()) == []


def test_manifest_detects_changed_and_missing_files(tmp_path) -> None:
    (tmp_path / "unet").mkdir()
    weights = tmp_path / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"\x00" * 64)
    (tmp_path / "model_index.json").write_text("{}")
    write_manifest(tmp_path)
    assert verify_manifest(tmp_path) is True
    first = manifest_hash(tmp_path)
    assert first and len(first) == 64

    weights.write_bytes(b"\x01" * 64)
    with pytest.raises(ManifestError, match="unet/diffusion_pytorch_model.safetensors"):
        verify_manifest(tmp_path)
    weights.unlink()
    with pytest.raises(ManifestError, match="missing"):
        verify_manifest(tmp_path)


def test_folder_without_manifest_is_reported_not_failed(tmp_path) -> None:
    assert verify_manifest(tmp_path) is False
    with pytest.raises(ModelError):
        verify_manifest(tmp_path / "nope")
    (tmp_path / MANIFEST_NAME).write_text("not json")
    with pytest.raises(ManifestError, match="unreadable"):
        verify_manifest(tmp_path)
