"""The run record as a de-identified output may carry it (run.json, PNG text chunks, export records, the PDF).

Removed: the film's file name and its SHA-256 (a hash of the identified file links the output back to it), the
model's local path (the model stays named by name and manifest hash), and, wherever else they turn up, strings
that are absolute paths or contain the film's file name. Added: how the output was de-identified.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from typing import Any

from pydicom.dataset import Dataset

from vald_desktop.core.export.burned_in import burned_in_note, burned_in_status
from vald_desktop.core.export.deid import DEID_METHOD
from vald_desktop.core.export.deid_table import TABLE_EDITION, TABLE_PACKAGE

# Record keys that link an output back to the patient's file or the user's disk.
REDACTED_KEYS = ("film", "film_sha256", "film_source", "film_path", "source", "source_path")
_ABSOLUTE_PATH = re.compile(r"^(/|~|[A-Za-z]:[\\/]|\\\\)")
_MIN_STEM = 6  # shorter stems ("a", "film") are ordinary words; the full file name is always matched


def redact_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` without anything that names the film's file, its hash or a path on this computer."""
    out: dict[str, Any] = json.loads(json.dumps(record, default=str))
    names = {str(out[k]).strip() for k in REDACTED_KEYS if isinstance(out.get(k), str) and out[k].strip()}
    for name in list(names):
        stem = name.rsplit(".", 1)[0]
        if len(stem) >= _MIN_STEM:
            names.add(stem)
    for key in REDACTED_KEYS:
        out.pop(key, None)
    if isinstance(out.get("model"), dict):
        out["model"].pop("path", None)
    cleaned = _scrub(out, names)
    return cleaned if isinstance(cleaned, dict) else {}


def deidentification_summary(dataset: Dataset | None, *, pseudonym: bool, keep_uids: bool) -> dict[str, Any]:
    """How a de-identified export was made, for its record: method, table, options, burned-in text."""
    try:
        table = f"PS3.15 Table E.1-1, DICOM {TABLE_EDITION}, from {TABLE_PACKAGE} {metadata.version(TABLE_PACKAGE)}"
    except metadata.PackageNotFoundError:
        table = f"PS3.15 Table E.1-1, DICOM {TABLE_EDITION}"
    return {
        "method": DEID_METHOD,
        "table": table,
        "uids": "kept from the source" if keep_uids else "keyed hash (2.25)",
        "patient": "pseudonym given by the user" if pseudonym else "keyed-hash Patient ID, no name",
        "burned_in_text": burned_in_note(burned_in_status(dataset)),
    }


def _scrub(value: Any, names: set[str]) -> Any:
    if isinstance(value, dict):
        kept = {k: _scrub(v, names) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not _DROP}
    if isinstance(value, list):
        return [v for v in (_scrub(v, names) for v in value) if v is not _DROP]
    if isinstance(value, str) and (_ABSOLUTE_PATH.match(value.strip()) or any(n in value for n in names)):
        return _DROP
    return value


_DROP = object()
