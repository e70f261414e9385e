"""Checks of the installation itself: library versions, the compute device and its memory, DICOM decoders."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import FilmError, ModelError

if TYPE_CHECKING:
    from vald_desktop.selftest.state import Check, SelfTest

# (distribution, shown as); the first distribution found of a group wins (PySide6 ships under two names).
_LIBRARIES = (
    (("vald-desktop",), "vald-desktop"),
    (("torch",), "torch"),
    (("diffusers",), "diffusers"),
    (("transformers",), "transformers"),
    (("huggingface_hub", "huggingface-hub"), "huggingface_hub"),
    (("pydicom",), "pydicom"),
    (("PySide6-Essentials", "PySide6"), "PySide6"),
)


def _version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_versions(state: SelfTest) -> str:
    found = [f"Python {platform.python_version()}"]
    missing = []
    for names, shown in _LIBRARIES:
        version = _version(names)
        if version is None:
            missing.append(shown)
        else:
            found.append(f"{shown} {version}")
    import diffusers  # noqa: F401  (a broken install fails here, not halfway through a run)
    import torch  # noqa: F401

    if missing:
        raise ModelError(f"Not installed: {', '.join(missing)} (found {', '.join(found)}).")
    return ", ".join(found)


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _ram() -> str:
    try:
        return _gb(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not on every platform (Windows)
        return "unknown"


def check_device(state: SelfTest) -> str:
    import torch

    from vald_desktop.core.engine.models import pick_device

    parts = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            parts.append(f"CUDA {i}: {torch.cuda.get_device_name(i)}, {_gb(free)} free of {_gb(total)}")
    else:
        parts.append(f"CUDA not available (torch built {'with' if torch.version.cuda else 'without'} CUDA)")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        recommended = getattr(getattr(torch, "mps", None), "recommended_max_memory", None)
        parts.append(
            f"MPS available ({_gb(recommended())} usable)" if callable(recommended) else "MPS available"
        )
    else:
        parts.append("MPS not available")
    parts.append(f"{os.cpu_count()} CPU cores, {_ram()} RAM")
    device, dtype = pick_device(state.device)  # raises when the requested device is missing
    return f"runs on {device} ({dtype}); " + "; ".join(parts)


def check_decoders(state: SelfTest) -> str:
    """Every compressed DICOM syntax the app promises (``core.films.codecs``) has a decoder installed."""
    from pydicom.pixels import get_decoder

    from vald_desktop.core.films.codecs import PLUGINS, syntax_name

    plugins: set[str] = set()
    missing: list[str] = []
    for syntax, needs in PLUGINS.items():
        try:
            decoder = get_decoder(syntax)
            available = list(decoder.available_plugins) if decoder.is_available else []
        except (NotImplementedError, ValueError):
            available = []
        if available:
            plugins.update(available)
        else:
            missing.append(f"{syntax_name(syntax)} (install {needs})")
    if missing:
        raise FilmError(f"No decoder for {'; '.join(missing)}.")
    return f"{len(PLUGINS)} compressed DICOM syntaxes decodable with {', '.join(sorted(plugins))}"


CHECKS: list[Check] = [
    ("versions", check_versions),
    ("device", check_device),
    ("decoders", check_decoders),
]
