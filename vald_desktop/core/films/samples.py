"""Where the bundled sample film lives (the one place that knows; the self-test, screenshots and ``make run`` use it)."""

from __future__ import annotations

from pathlib import Path

from vald_desktop.core.base.package_data import data_path

SAMPLE_NAME = "phantom-opacity-left.png"


def samples_dir() -> Path:
    """The packaged ``resources/sample`` folder."""
    return data_path("resources", "sample")


def sample_film_path() -> Path:
    """The bundled synthetic sample film (a phantom with a left lung opacity; its lung mask lies beside it).

    The path may not exist in a damaged installation; callers check.
    """
    return samples_dir() / SAMPLE_NAME
