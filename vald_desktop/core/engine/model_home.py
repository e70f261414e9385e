"""The user's models folder: where ``vald models fetch`` installs base models (a leaf: imports nothing of ours).

``$VALD_MODELS_DIR`` moves it (tests, shared workstations); otherwise it is the platform's user data folder
(``~/.local/share/vald-desktop/models`` on Linux). A model installed there is found by its folder name:
``--model sd-v1-4-radbert`` or ``VALD_MODEL=sd-v1-4-radbert``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_MODELS_DIR = "VALD_MODELS_DIR"


def models_home() -> Path:
    env = os.environ.get(ENV_MODELS_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("vald-desktop")) / "models"


def installed_model(name: str | os.PathLike[str]) -> Path | None:
    """``models_home() / name`` when ``name`` is a bare folder name installed there, else None."""
    text = os.fspath(name).strip()
    if not text or text.startswith((".", "~")) or "/" in text or os.sep in text:
        return None
    path = models_home() / text
    return path if path.is_dir() else None
