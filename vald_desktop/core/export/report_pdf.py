"""One-page PDF report (A4 or Letter) with reportlab.

Whether the model knows the film (its domain verdict) and whether its lung mask is trusted (ok or uncertain), three
panels (original, healthy counterfactual, difference map over the original) with a colorbar, per-lung statistics,
the run settings and model, the film identity the user chose (de-identified by default) and the "research use only"
notice. It takes plain arrays and dicts;
``core.export.exporter`` fills them from a run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vald_desktop.core.base.atomic import write_bytes
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.engine.domain import caption_line, headline
from vald_desktop.core.masks import verdict_words

DISCLAIMER = "Research use only \u2014 not for diagnosis."
PAGE_SIZES = ("A4", "Letter")
_PANEL_PX = 700  # images are downscaled to this height: sharp in print, small files
_SETTINGS_ORDER = (
    "prompt",
    "negative_prompt",
    "strength",
    "guidance",
    "guidance_until",
    "steps",
    "scheduler",
    "seed",
    "seeds",
    "mask_mode",
    "confine_to_mask",
    "reference",
    "edit_floor",
    "smooth_sigma",
)


@dataclass(frozen=True)
class ReportContent:
    original: np.ndarray  # float HxW in [0, 1] (or uint8 gray/RGB)
    counterfactual: np.ndarray  # same
    overlay: np.ndarray  # uint8 HxWx3: the map over the original
    colorbar: np.ndarray | None  # uint8 vertical legend, top = strongest removed
    stats: dict[str, dict[str, float]]  # lung_stats(): {"left": {...}, "right": {...}}
    record: dict[str, Any]  # the run record (settings, model, versions, created)
    identity: Sequence[tuple[str, str]] = field(default_factory=tuple)  # empty: de-identified
    title: str = "VALD-MD counterfactual attribution"
    page_size: str = "A4"
    signed: bool = True  # colorbar: red removed / blue added (signed) or red only (abs)


def write_report(target: str | os.PathLike[str], content: ReportContent, *, overwrite: bool = False) -> Path:
    """Render the report and write it atomically to ``target``."""
    return write_bytes(target, render_report(content), overwrite=overwrite)


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes (one page)."""
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.pdfgen.canvas import Canvas

    if content.page_size not in PAGE_SIZES:
        raise ExportError(f"Unknown page size {content.page_size!r}; choose A4 or Letter.")
    page = A4 if content.page_size == "A4" else LETTER
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=page, pageCompression=1)
    c.setTitle(_latin1(content.title))
    c.setAuthor("VALD-MD Desktop")
    c.setSubject(DISCLAIMER)
    _Layout(c, page, content).draw()
    c.showPage()
    c.save()
    return buf.getvalue()


class _Layout:
    margin = 36.0

    def __init__(self, canvas: Any, page: tuple[float, float], content: ReportContent) -> None:
        self.c = canvas
        self.width, self.height = page
        self.content = content
        self.y = self.height - self.margin

    def draw(self) -> None:
        self._header()
        self._domain()
        self._mask()
        self._panels()
        self._stats()
        self._settings_and_model()
        self._footer()

    def _header(self) -> None:
        c, m = self.c, self.margin
        c.setFont("Helvetica-Bold", 15)
        c.drawString(m, self.y - 14, _latin1(self.content.title))
        c.setFont("Helvetica-Bold", 10)
        c.setFillColorRGB(0.75, 0.0, 0.0)
        c.drawRightString(self.width - m, self.y - 12, _latin1(DISCLAIMER))
        c.setFillColorRGB(0, 0, 0)
        self.y -= 30
        ident = list(self.content.identity) or [("Patient", "de-identified")]
        c.setFont("Helvetica", 9)
        created = str(self.content.record.get("created", ""))
        if created:
            ident = [*ident, ("Report of run", created)]
        for label, value in ident:
            c.setFont("Helvetica-Bold", 9)
            c.drawString(m, self.y, _latin1(f"{label}:"))
            c.setFont("Helvetica", 9)
            c.drawString(m + 95, self.y, _latin1(value))
            self.y -= 12
        self.y -= 6

    def _domain(self) -> None:
        """Whether the model knows this film, above the pictures: red when it does not, so no map is read alone."""
        c, m = self.c, self.margin
        domain = self.content.record.get("domain")
        head = headline(domain) if isinstance(domain, dict) else None  # no verdict: "not assessed"
        reasons = list(domain.get("reasons") or []) if isinstance(domain, dict) else []
        trained_on = domain.get("trained_on") if isinstance(domain, dict) else None
        lines = [
            caption_line(domain) if head is None else head,
            *(r[:1].upper() + r[1:] for r in reasons[:2]),
        ]
        if trained_on:
            lines.append(f"Model trained on: {trained_on}")
        out = isinstance(domain, dict) and domain.get("in_domain") is False
        c.setFillColorRGB(*((0.75, 0.0, 0.0) if out else (0.25, 0.25, 0.25)))
        for i, line in enumerate(lines):
            c.setFont("Helvetica-Bold" if i == 0 else "Helvetica", 9 if i == 0 else 8)
            c.drawString(m, self.y, _latin1(_short(line, 120)))
            self.y -= 11
        c.setFillColorRGB(0, 0, 0)
        self.y -= 4

    def _mask(self) -> None:
        """The lung mask the map is confined to and its verdict, beside the domain's: amber when uncertain."""
        c, m = self.c, self.margin
        block = self.content.record.get("mask")
        if not isinstance(block, dict):
            return  # no mask: the panels' legend says the map covers the whole film
        uncertain = verdict_words.is_uncertain(block)
        head = verdict_words.summary(block)
        lines = [head, *(r[:1].upper() + r[1:] for r in verdict_words.reasons(block)[:2])]
        if uncertain:
            lines.insert(0, f"{verdict_words.UNCERTAIN_MASK}: check the lung outline before reading the map")
        c.setFillColorRGB(*((0.7, 0.38, 0.0) if uncertain else (0.25, 0.25, 0.25)))
        for i, line in enumerate(lines):
            c.setFont("Helvetica-Bold" if i == 0 else "Helvetica", 9 if i == 0 else 8)
            c.drawString(m, self.y, _latin1(_short(line, 120)))
            self.y -= 11
        c.setFillColorRGB(0, 0, 0)
        self.y -= 4

    def _panels(self) -> None:
        c, m = self.c, self.margin
        content = self.content
        bar_w, gap = 12.0, 8.0
        images = [_pil(content.original), _pil(content.counterfactual), _pil(content.overlay)]
        labels = ["Original film", "Healthy counterfactual", "Difference map on the original"]
        panel_w = (self.width - 2 * m - bar_w - 3 * gap - 24) / 3
        aspect = images[0].height / max(1, images[0].width)
        panel_h = min(panel_w * aspect, 330.0)
        panel_w_eff = panel_h / aspect
        top = self.y - 12
        x = m
        from reportlab.lib.utils import ImageReader

        for img, label in zip(images, labels, strict=True):
            c.setFont("Helvetica-Bold", 9)
            c.drawString(x, top + 2, label)
            c.drawImage(ImageReader(img), x, top - panel_h, width=panel_w_eff, height=panel_h)
            x += panel_w_eff + gap
        if content.colorbar is not None:
            c.drawImage(ImageReader(_pil(content.colorbar)), x, top - panel_h, width=bar_w, height=panel_h)
            c.setFont("Helvetica", 7)
            c.drawString(x + bar_w + 2, top - 7, "removed")
            c.drawString(x + bar_w + 2, top - panel_h, "added" if content.signed else "none")
        self.y = top - panel_h - 10
        c.setFont("Helvetica", 8)
        where = "inside the lung mask" if content.stats else "over the whole film (no lung mask)"
        c.drawString(
            m, self.y, f"Red: what the counterfactual removed (M = reference - counterfactual > 0), {where}."
        )
        self.y -= 18

    def _stats(self) -> None:
        c, m = self.c, self.margin
        c.setFont("Helvetica-Bold", 11)
        c.drawString(m, self.y, "Per-lung statistics")
        self.y -= 14
        cols = [m, m + 150, m + 270, m + 360, m + 450]
        c.setFont("Helvetica-Bold", 9)
        for x, head in zip(
            cols, ["Lung", "Above threshold: |M| / red", "Mean M", "Max M", "Pixels"], strict=True
        ):
            c.drawString(x, self.y, head)
        self.y -= 12
        c.setFont("Helvetica", 9)
        names = {
            "right": "Patient's right lung",
            "left": "Patient's left lung",
        }  # sided by header and anatomy
        rows = [s for s in ("right", "left") if s in self.content.stats]
        if not rows:
            c.drawString(m, self.y, "No lung mask: statistics not available.")
            self.y -= 12
        for side in rows:
            s = self.content.stats[side]
            values = [
                names[side],
                f"{s.get('area_abs_pct', s.get('area_pct', 0.0)):.1f} % / {s.get('area_pct', 0.0):.1f} %",
                f"{s.get('mean', 0.0):+.4f}",
                f"{s.get('max', 0.0):+.4f}",
                f"{int(s.get('pixels', 0))}",
            ]
            for x, v in zip(cols, values, strict=True):
                c.drawString(x, self.y, v)
            self.y -= 12
        self.y -= 10

    def _settings_and_model(self) -> None:
        c, m = self.c, self.margin
        record = self.content.record
        settings = dict(record.get("settings", {}))
        left = [(k, settings[k]) for k in _SETTINGS_ORDER if k in settings]
        left += [(k, v) for k, v in settings.items() if k not in _SETTINGS_ORDER and k != "preview_every"]
        model = dict(record.get("model", {}))
        right: list[tuple[str, Any]] = [
            (k, model[k]) for k in ("name", "manifest_hash", "text_encoder", "native_size") if k in model
        ]
        for key in ("device", "dtype"):
            if key in record:
                right.append((key, record[key]))
        versions = dict(record.get("versions", {}))
        right += [(f"{k} version", v) for k, v in versions.items()]
        timings = dict(record.get("timings", {}))
        if "total" in timings:
            right.append(("run time", f"{float(timings['total']):.1f} s"))
        col2 = m + (self.width - 2 * m) / 2 + 6
        top = self.y
        for x, heading, items in ((m, "Settings", left), (col2, "Model and software", right)):
            y = top
            c.setFont("Helvetica-Bold", 11)
            c.drawString(x, y, heading)
            y -= 14
            for key, value in items:
                if y < self.margin + 40:
                    break  # one page, always: the JSON record beside the report holds everything
                c.setFont("Helvetica-Bold", 8)
                c.drawString(x, y, _latin1(str(key).replace("_", " ")))
                c.setFont("Helvetica", 8)
                c.drawString(x + 85, y, _latin1(_short(value)))
                y -= 11
            self.y = min(self.y, y)

    def _footer(self) -> None:
        c, m = self.c, self.margin
        c.setFont("Helvetica-Bold", 9)
        c.setFillColorRGB(0.75, 0.0, 0.0)
        c.drawString(
            m, m, _latin1(f"{DISCLAIMER} The map shows what a generative model changed, not a finding.")
        )
        c.setFillColorRGB(0, 0, 0)
        c.setFont("Helvetica", 7)
        c.drawRightString(self.width - m, m, "VALD-MD Desktop")


def _pil(image: np.ndarray) -> Image.Image:
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    pil = Image.fromarray(arr).convert("RGB")
    if pil.height > _PANEL_PX:
        pil = pil.resize(
            (max(1, round(pil.width * _PANEL_PX / pil.height)), _PANEL_PX), Image.Resampling.LANCZOS
        )
    return pil


def _short(value: Any, limit: int = 48) -> str:
    text = str(value)
    if isinstance(value, float):
        text = f"{value:g}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _latin1(text: str) -> str:
    # The built-in PDF fonts cover Windows-1252 only; anything else is shown as "?" rather than a blank box.
    return text.encode("cp1252", errors="replace").decode("cp1252")
