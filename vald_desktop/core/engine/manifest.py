"""Model-folder manifests: ``vald-manifest.json`` maps each file (relative path) to its SHA-256.

Verified before a model is loaded, so a truncated download or an edited weight file is caught with a clear
message instead of a confusing tensor-shape error deep inside diffusers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ManifestError, ModelError

MANIFEST_NAME = "vald-manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_files(folder: Path) -> list[Path]:
    """Files a manifest covers: everything except the manifest itself and hidden files."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != MANIFEST_NAME
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def build_manifest(folder: str | Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in model_files(folder)}
    manifest: dict[str, Any] = {"format": "vald-manifest/1", "files": files}
    if extra:
        manifest.update(extra)
    return manifest


def write_manifest(folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
    folder = Path(folder)
    manifest = build_manifest(folder, extra)
    return atomic.write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("no files table")
    except (OSError, ValueError) as exc:
        raise ManifestError(
            f"The model manifest {path.name} in {Path(folder).name} is unreadable ({exc})."
        ) from None
    return data


def manifest_hash(folder: str | Path) -> str | None:
    """SHA-256 of the manifest file itself: one short identity for the whole model (None without a manifest)."""
    path = Path(folder) / MANIFEST_NAME
    return sha256_file(path) if path.exists() else None


def verify_manifest(folder: str | Path) -> bool:
    """Check every listed file. Returns False when there is no manifest; raises :class:`ManifestError` on mismatch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"The model folder {folder} does not exist.")
    data = read_manifest(folder)
    if data is None:
        return False
    for rel, expected in sorted(data["files"].items()):
        path = folder / rel
        if not path.is_file():
            raise ManifestError(f"The model in {folder.name} is incomplete: {rel} is missing.")
        if sha256_file(path) != expected:
            raise ManifestError(
                f"The model in {folder.name} does not match its manifest: {rel} has changed or is corrupt."
            )
    return True
