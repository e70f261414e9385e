"""What the run writer says in words: the patient lines a caption or report may show, the composite's caption, and
the JSON record written beside each export (redacted when de-identifying)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from vald_desktop.core.base.settings import guidance_label
from vald_desktop.core.engine.domain import caption_line
from vald_desktop.core.export.deid_record import REDACTED_KEYS, redact_record
from vald_desktop.core.export.report_pdf import DISCLAIMER
from vald_desktop.core.masks.verdict_words import caption_line as mask_caption_line

__all__ = ["REDACTED_KEYS", "caption_text", "export_record", "identity_lines", "sha256_of"]


def identity_lines(dataset: Dataset | None, *, show: bool, pseudonym: str = "") -> list[tuple[str, str]]:
    """What the caption and the PDF show about the patient: nothing (or a pseudonym) unless identity is chosen."""
    if not show or dataset is None:
        return [("Subject", pseudonym)] if pseudonym else []
    lines = []
    for label, keyword in (
        ("Patient", "PatientName"),
        ("Patient ID", "PatientID"),
        ("Birth date", "PatientBirthDate"),
        ("Study date", "StudyDate"),
        ("Accession", "AccessionNumber"),
    ):
        value = str(dataset.get(keyword, "") or "").strip()
        if value:
            lines.append((label, value.replace("^", " ").strip()))
    return lines


def caption_text(record: dict[str, Any], identity: list[tuple[str, str]]) -> str:
    """The caption burned into the composite. It carries identity only when ``identity`` does."""
    s = dict(record.get("settings", {}))
    model = dict(record.get("model", {})).get("name", "unknown model")
    guidance = guidance_label(s.get("guidance", ""), s.get("guidance_until", 1.0))
    seeds = s.get("seeds", 1)
    seed = s.get("seed", "")
    if isinstance(seeds, int) and isinstance(seed, int) and seeds > 1:
        seed_text = f"seeds {seed}..{seed + seeds - 1}"  # a consensus over several seeds
    else:
        seed_text = f"seed {seed}"
    run = (
        f"VALD-MD | prompt: {s.get('prompt', '')!s} | strength {s.get('strength', '')} | "
        f"guidance {guidance} | steps {s.get('steps', '')} | {seed_text} | model {model}"
    )
    lines = ["   ".join(f"{k}: {v}" for k, v in identity)] if identity else []
    # Pillow's built-in font has no em dash: the caption uses plain ASCII.
    domain = caption_line(record.get("domain"))  # whether the model knows this film: on every picture
    # The lung mask the map is confined to, and whether it is trusted (a run without a mask says so).
    mask = record.get("mask")
    masked = [mask_caption_line(mask)] if isinstance(mask, dict) or s.get("mask_mode") == "none" else []
    return "\n".join([*lines, run, domain, *masked, DISCLAIMER.replace(" \u2014 ", " - ")])


def export_record(
    record: dict[str, Any],
    *,
    deidentified: bool,
    files: dict[str, Path] | None = None,
    deidentification: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record written beside an export: the run record, redacted when de-identifying (``deid_record``), plus
    what was written and, when de-identifying, how (``deidentification``)."""
    out: dict[str, Any] = json.loads(json.dumps(record, default=str))
    if deidentified:
        out = redact_record(out)
    out["export"] = {
        "deidentified": deidentified,
        "files": {kind: {"name": p.name, "sha256": sha256_of(p)} for kind, p in (files or {}).items()},
    }
    if deidentified and deidentification:
        out["export"]["deidentification"] = deidentification
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
