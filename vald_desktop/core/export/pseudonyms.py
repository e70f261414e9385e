"""Pseudonyms that stay together: a keyed hash of the original value, with a secret kept on this workstation.

Every de-identified export maps an original UID to the same ``2.25.`` UID, and an original Patient ID to the same
pseudonymous ID, whenever it is made: two exports of one study land in one pseudonymous study, and references
between objects stay consistent. Without the key nobody can go back from a pseudonym to the original, nor test a
guess. The key is created on first use in the user's config folder (``$VALD_DEID_KEY`` names another file, for
tests and shared set-ups) and never leaves it: nothing exported contains it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ExportError

KEY_ENV = "VALD_DEID_KEY"
_KEY_BYTES = 32
# Domain separation: a UID, a Patient ID and a file name with the same text get unrelated pseudonyms.
_UID, _PATIENT_ID, _NAME = b"uid\0", b"patient-id\0", b"name\0"


def key_path() -> Path:
    override = os.environ.get(KEY_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("vald-desktop")) / "deidentification.key"


def installation_key() -> bytes:
    """This workstation's secret (created on first use, readable by the user only)."""
    return _load_key(key_path())


@functools.cache
def _load_key(path: Path) -> bytes:
    if not path.exists():
        try:
            # overwrite=False: a key another process created meanwhile is kept, never replaced.
            with atomic.atomic_path(path, overwrite=False) as tmp:
                tmp.write_text(secrets.token_hex(_KEY_BYTES) + "\n", encoding="ascii")
                tmp.chmod(0o600)
        except ExportError:
            if not path.exists():
                raise
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        key = b""
    if len(key) != _KEY_BYTES:
        # Replacing it would silently split every study exported so far: say so instead.
        raise ExportError(
            f"The de-identification key {path} is damaged; restore it from a backup or move it away."
        )
    return key


class Pseudonymizer:
    """Keyed pseudonyms; ``key=None`` uses this workstation's key (loaded on first use)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    def _digest(self, domain: bytes, value: str) -> bytes:
        if self._key is None:
            self._key = installation_key()
        return hmac.new(self._key, domain + value.encode("utf-8"), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """A ``2.25.`` UID: the keyed hash as a version-8 (custom) UUID, as PS3.5 B.2 asks of 2.25 UIDs."""
        n = int.from_bytes(self._digest(_UID, original.strip())[:16], "big")
        n = (n & ~(0xF << 76)) | (0x8 << 76)  # version 8
        n = (n & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
        return f"2.25.{n}"

    def patient_id(self, original: str) -> str:
        code = base64.b32encode(self._digest(_PATIENT_ID, original.strip())[:10]).decode("ascii")
        return f"VALD-{code}"

    def name(self, original: str) -> str:
        """A file or folder name for something whose own name may identify (e.g. a film's file name)."""
        return "film-" + self._digest(_NAME, original).hex()[:12]
