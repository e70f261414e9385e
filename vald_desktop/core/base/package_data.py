"""Files shipped inside the ``vald_desktop`` package (sample film, lung atlas, prompt presets, the demo model).

Found through ``importlib.resources``, so the same lookup works in a source checkout, an installed wheel and a frozen
bundle; nothing is located relative to a source tree.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """The path of a packaged file or folder, e.g. ``data_path("resources", "prompts.json")``.

    The package is always installed as plain files (wheels unpack; bundles collect it as data), so the
    traversable is a real path. It may not exist in a damaged installation: callers check and say so.
    """
    return Path(str(resources.files("vald_desktop").joinpath(*parts)))
