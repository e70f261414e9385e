"""The self-test's types (a leaf): one check's result, and the state the checks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    sentence: str
    seconds: float


@dataclass
class SelfTest:
    """What the checks share: each uses what an earlier one produced, or a stand-in when that one failed."""

    model: str | None = None
    device: str | None = None
    film: Film | None = None
    film_path: Path | None = None
    lung: LungMask | None = None
    model_dir: Path | None = None
    result: RunResult | None = None
    stand_ins: list[str] = field(default_factory=list)  # what later checks had to stand in for


Check = tuple[str, Callable[[SelfTest], str]]  # (name, check): the check returns its sentence or raises
