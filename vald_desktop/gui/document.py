"""The film on screen and what belongs to it (its run result, its automatic lung mask), shared by the controllers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.masks.lung_mask import LungMask


class CurrentFilm:
    """One window's film. ``key`` tells replies for this film from replies for one opened before it."""

    def __init__(self) -> None:
        self.film: Film | None = None
        self.path: Path | None = None  # where it was opened from (None for a film made in memory)
        self.key: str | None = None
        self.result: RunResult | None = None  # the run shown (the last one, or one restored from the history)
        self.auto_mask: LungMask | None = None

    def replace(self, film: Film, path: Path | None) -> str:
        """Make ``film`` the current one; what belonged to the previous film is dropped. Returns its key."""
        self.film = film
        self.path = path
        self.key = film.sha256 or f"{film.source}:{id(film)}"
        self.auto_mask = None
        self.result = None
        return self.key
