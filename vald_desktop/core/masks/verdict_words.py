"""The lung mask's verdict in words, for every place a result goes (Qt-free, no arrays).

Each function takes the mask's JSON block (``LungMask.verdict()``, run.json ``mask``) or None for a run without a
mask, so the CLI, the run writer, the PDF, the caption and the app say the same thing from the same record.
"""

from __future__ import annotations

from typing import Any

UNCERTAIN_MASK = "Lung mask uncertain"


def is_uncertain(block: dict[str, Any] | None) -> bool:
    return isinstance(block, dict) and block.get("quality", "ok") != "ok"


def reasons(block: dict[str, Any] | None) -> list[str]:
    return [str(r) for r in block.get("reasons") or []] if isinstance(block, dict) else []


def confidence_text(block: dict[str, Any] | None) -> str:
    value = block.get("confidence") if isinstance(block, dict) else None
    return f"confidence {float(value):.2f}" if isinstance(value, int | float) else "confidence unknown"


def sentence(block: dict[str, Any] | None) -> str | None:
    """``Lung mask uncertain (confidence 0.41): <first reason>.`` for warnings; None when the mask is ok."""
    if not is_uncertain(block):
        return None
    why = reasons(block)
    head = f"{UNCERTAIN_MASK} ({confidence_text(block)})"
    return f"{head}: {_sentence(why[0])}" if why else f"{head}; check it before reading the map."


def summary(block: dict[str, Any] | None) -> str:
    """One line naming the source and the verdict: ``Lung mask: segmenter, ok (confidence 0.93)``."""
    if not isinstance(block, dict):
        return "Lung mask: none (the map is not confined to the lungs)"
    quality = "UNCERTAIN" if is_uncertain(block) else "ok"
    return f"Lung mask: {block.get('source', 'unknown')}, {quality} ({confidence_text(block)})"


def caption_line(block: dict[str, Any] | None) -> str:
    """The verdict in plain ASCII for burned-in captions (the built-in bitmap font has no dashes)."""
    line = summary(block)
    why = reasons(block)
    if is_uncertain(block) and why:
        line += f" - {why[0].rstrip('.')}"
    return line.encode("ascii", errors="replace").decode("ascii")


def lung_lines(block: dict[str, Any] | None) -> list[str]:
    """Each lung's share of the film, named by the patient's side (usually the left lung is on the image right;
    a film shown mirrored has it on the image left, and its mask says so)."""
    lungs = block.get("lungs") if isinstance(block, dict) else None
    if not isinstance(lungs, dict):
        return []
    out = []
    for side in ("left", "right"):
        lung = lungs.get(side)
        if isinstance(lung, dict):
            out.append(f"patient's {side} lung: {float(lung.get('area_pct', 0.0)):.1f}% of the film")
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."
