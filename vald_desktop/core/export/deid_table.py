"""PS3.15 Table E.1-1, Basic Profile column: which action the standard prescribes for each attribute.

The table is not kept by hand here. It is read from the ``dicom-anonymizer`` package (BSD licence, pinned in
``pyproject.toml``), which ships the standard's table edition by edition; :data:`TABLE_EDITION` names the one
used. Only its data is read (tag lists per action), none of its de-identification code.

Actions, as the standard writes them: ``D`` dummy value, ``Z`` empty (or dummy) value, ``X`` remove, ``U`` new
UID, and the choices ``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*`` (``U*``: keep the sequence, replace the
instance UIDs inside it). Three rows are tag ranges rather than tags: curves (50xx,xxxx), overlay data
(60xx,3000) and overlay comments (60xx,4000).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from vald_desktop.core.base.errors import ExportError

TABLE_EDITION = "2026c"  # DICOM standard edition of the table
TABLE_PACKAGE = "dicom-anonymizer"
_DATABASE = f"dicomfields_{TABLE_EDITION}"
# dicom-anonymizer's list names -> the standard's action codes.
_CATEGORIES = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z/D",
    "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D",
    "X_Z_D_TAGS": "X/Z/D",
    "X_Z_U_STAR_TAGS": "X/Z/U*",
}
# Editions since 2023 list 650+ rows; far fewer means the package changed shape, not the standard.
_MIN_ROWS = 600


@dataclass(frozen=True)
class ProfileTable:
    """The Basic Profile: exact tags and tag ranges (value, mask) with their prescribed action."""

    edition: str
    exact: dict[int, str]
    ranges: tuple[tuple[int, int, str], ...]  # (tag value, tag mask, action): tag & mask == value

    def action(self, tag: int) -> str | None:
        """The prescribed action for ``tag``, or None when the table does not name it."""
        found = self.exact.get(int(tag))
        if found is not None:
            return found
        for value, mask, action in self.ranges:
            if int(tag) & mask == value:
                return action
        return None

    def __len__(self) -> int:
        return len(self.exact) + len(self.ranges)


@functools.cache
def basic_profile() -> ProfileTable:
    """The table, loaded once (on first use, so that starting the app does not pay for it)."""
    try:
        from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
    except ImportError:
        raise ExportError(
            f"De-identification needs the {TABLE_PACKAGE} package; reinstall VALD-MD Desktop."
        ) from None
    try:
        database = dicom_anonymization_database_selector(_DATABASE)
    except (ValueError, AttributeError):
        raise ExportError(
            f"The installed {TABLE_PACKAGE} has no DICOM {TABLE_EDITION} table; reinstall VALD-MD Desktop."
        ) from None
    exact: dict[int, str] = {}
    ranges: list[tuple[int, int, str]] = []
    for category, action in _CATEGORIES.items():
        for row in database.get(category, []):
            if len(row) == 2:
                exact[(int(row[0]) << 16) | int(row[1])] = action
            elif len(row) == 4:  # (group, element, group mask, element mask)
                group, element, gmask, emask = (int(v) for v in row)
                mask = (gmask << 16) | emask
                ranges.append((((group << 16) | element) & mask, mask, action))
    if len(exact) + len(ranges) < _MIN_ROWS:
        raise ExportError(f"The installed {TABLE_PACKAGE} table looks incomplete; reinstall VALD-MD Desktop.")
    return ProfileTable(TABLE_EDITION, exact, tuple(ranges))
