"""The attribution map M = reference − counterfactual and how it is drawn.

Red marks what the healthy counterfactual removed (M > 0: evidence for the finding), blue what it added (M < 0).
Everything here is numpy/Pillow on the film's own grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.masks.edit import outline
from vald_desktop.core.masks.lung_mask import LungMask

RED = np.array([230, 30, 30], dtype=np.float32)
BLUE = np.array([40, 110, 255], dtype=np.float32)
MODES = ("signed", "abs")
# The edit region's outline: amber, neither the map's red nor its blue.
REGION_COLOUR = np.array([255, 190, 40], dtype=np.uint8)
COMPOSITE_MAX_HEIGHT = 1024  # keeps a composite of a 2k film a sensible size for reports and slides


def _bool_mask(mask: LungMask | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(mask.mask if isinstance(mask, LungMask) else mask).astype(bool)
    if arr.shape != shape:
        raise SettingsError(
            f"The lung mask is {arr.shape[1]}x{arr.shape[0]} but the film is {shape[1]}x{shape[0]}."
        )
    return arr


def film_plus_edit(
    decoded: np.ndarray,
    film: np.ndarray,
    reconstruction: np.ndarray | None,
    transfer: bool,
    *,
    weight: np.ndarray | None = None,
    floor: float = 0.0,
    region: np.ndarray | None = None,
) -> np.ndarray:
    """The counterfactual shown and mapped, from the model's edit = decoded − reconstruction.

    With ``transfer`` (reference "reconstruction") it is the film plus the edit: the VAE's own loss of detail (ribs,
    grain, everything finer than the model's native size) cancels, so the counterfactual keeps the film's full
    resolution and the map holds only what the prompt changed. Without it, the reconstruction plus the edit, which
    is the decoder output itself (the paper's I_n) when nothing below applies.

    ``floor`` soft-thresholds the edit (each value moves ``floor`` towards zero, smaller ones vanish): the
    counterfactual closest to the model's under an L1 penalty on the change, which drops its faint change across
    healthy lung.
    ``weight`` (film-grid, 0..1) scales the edit: the lung mask for mask-confined editing, so outside the lungs the
    counterfactual is exactly the film (or the reconstruction).
    ``region`` (film-grid, 0..1: an edit region's feathered weight) blends the result with the film itself, so
    outside the region the counterfactual is exactly the film whatever the reference.
    """
    if not transfer and weight is None and floor <= 0 and region is None:
        return decoded
    if reconstruction is None:
        raise SettingsError("The film's reconstruction is missing; the edit cannot be measured.")
    edit = decoded - reconstruction
    if floor > 0:
        edit = np.sign(edit) * np.maximum(np.abs(edit) - np.float32(floor), 0.0)
    if weight is not None:
        edit = edit * weight
    base = film if transfer else reconstruction
    counterfactual: np.ndarray = np.clip(base + edit, 0.0, 1.0)
    if region is not None:
        counterfactual = film + region * (counterfactual - film)
    return counterfactual.astype(np.float32)


def signed_map(
    reference: np.ndarray,
    counterfactual: np.ndarray,
    mask: LungMask | np.ndarray | None = None,
    sigma: float = 0.0,
) -> np.ndarray:
    """``reference − counterfactual`` (float32), Gaussian-smoothed by ``sigma`` pixels, zero outside ``mask``."""
    ref = np.asarray(reference, dtype=np.float32)
    cf = np.asarray(counterfactual, dtype=np.float32)
    if ref.shape != cf.shape:
        raise SettingsError("The counterfactual does not have the film's shape.")
    m = ref - cf
    if sigma > 0:
        from scipy.ndimage import gaussian_filter

        m = gaussian_filter(m, sigma=float(sigma), mode="nearest").astype(np.float32)
    if mask is not None:
        m = np.where(_bool_mask(mask, m.shape), m, np.float32(0.0)).astype(np.float32)
    return m


def seed_consensus(
    film: np.ndarray, counterfactuals: list[np.ndarray], mask: LungMask | None, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(mean counterfactual, its map, per-pixel std of the per-seed maps or None for one seed)."""
    if len(counterfactuals) == 1:
        return counterfactuals[0], signed_map(film, counterfactuals[0], mask, sigma), None
    counterfactual = np.mean(counterfactuals, axis=0).astype(np.float32)
    per_seed = np.stack([signed_map(film, cf, mask, sigma) for cf in counterfactuals])
    return (
        counterfactual,
        signed_map(film, counterfactual, mask, sigma),
        per_seed.std(axis=0).astype(np.float32),
    )


@dataclass(frozen=True)
class OverlayStyle:
    mode: str = "signed"  # "signed": red removed / blue added; "abs": red for |M|
    opacity: float = 0.6
    threshold: float = 0.1  # fraction of the normalisation value below which nothing is drawn
    percentile: float = 99.0  # |M| percentile (over non-zero pixels) that maps to full colour

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"Unknown overlay mode {self.mode!r}; choose signed or abs.")
        if not 0.0 <= self.opacity <= 1.0:
            raise SettingsError(f"Overlay opacity must be between 0 and 1 (got {self.opacity}).")
        if not 0.0 <= self.threshold < 1.0:
            raise SettingsError(f"Overlay threshold must be at least 0 and below 1 (got {self.threshold}).")
        if not 0.0 < self.percentile <= 100.0:
            raise SettingsError(
                f"Overlay percentile must be above 0 and at most 100 (got {self.percentile})."
            )


def overlay_scale(m: np.ndarray, percentile: float) -> float:
    """The |M| the overlay draws at full colour: the ``percentile`` of |M| over the pixels where M is not zero."""
    mag = np.abs(np.asarray(m, dtype=np.float32))
    nz = mag[mag > 0]
    return float(np.percentile(nz, percentile)) if nz.size else 0.0


def normalise(m: np.ndarray, style: OverlayStyle) -> np.ndarray:
    """M scaled to [-1, 1] by its |M| percentile (signed mode) or |M| scaled to [0, 1] (abs mode)."""
    m = np.asarray(m, dtype=np.float32)
    scale = overlay_scale(m, style.percentile)
    if scale <= 0:
        return np.zeros_like(m)
    v = np.clip(m / scale, -1.0, 1.0)
    return np.abs(v) if style.mode == "abs" else v


def _blend(base_rgb: np.ndarray, v: np.ndarray, style: OverlayStyle) -> np.ndarray:
    mag = np.abs(v)
    # Ramp from the threshold to full strength so weak changes do not paint the whole lung.
    alpha = style.opacity * np.clip((mag - style.threshold) / max(1e-6, 1.0 - style.threshold), 0.0, 1.0)
    alpha = np.where(mag >= style.threshold, alpha, 0.0)[..., None]
    color = np.where((v >= 0)[..., None], RED, BLUE)
    out = base_rgb * (1.0 - alpha) + color * alpha
    rounded: np.ndarray = np.clip(out + 0.5, 0, 255)
    return rounded.astype(np.uint8)


def _gray_rgb(base: np.ndarray) -> np.ndarray:
    b = np.clip(np.asarray(base, dtype=np.float32), 0.0, 1.0) * 255.0
    return np.repeat(b[..., None], 3, axis=2)


def render_overlay(
    base: np.ndarray, m: np.ndarray, style: OverlayStyle | None = None, edge: np.ndarray | None = None
) -> np.ndarray:
    """The film in gray with the map on top: uint8 HxWx3, red where M > 0 (blue where M < 0 in signed mode);
    ``edge`` (bool HxW, e.g. :func:`region_edge`) is drawn on top in the region's amber."""
    style = style or OverlayStyle()
    if np.shape(base) != np.shape(m):
        raise SettingsError("The map does not have the film's shape.")
    rgb = _blend(_gray_rgb(base), normalise(m, style), style)
    if edge is not None:
        rgb[np.asarray(edge, bool)] = REGION_COLOUR
    return rgb


def region_edge(mask: np.ndarray) -> np.ndarray:
    """The outline of an edit region, about a pixel per 400 of the film's longer side wide (bool HxW)."""
    m = np.asarray(mask, bool)
    return outline(m, max(1, round(max(m.shape) / 400)))


def colorbar(style: OverlayStyle | None, height: int, width: int = 24) -> np.ndarray:
    """A vertical legend (uint8 height x width x 3): top = strongest removed (red), bottom = added (blue) or none."""
    style = style or OverlayStyle()
    top, bottom = (1.0, -1.0) if style.mode == "signed" else (1.0, 0.0)
    v = np.repeat(np.linspace(top, bottom, max(1, height), dtype=np.float32)[:, None], width, axis=1)
    return _blend(_gray_rgb(np.full_like(v, 0.5)), v, style)


def _panel(image: np.ndarray, height: int) -> Image.Image:
    if image.ndim == 2:
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    pil = Image.fromarray(image)
    if pil.height != height:
        pil = pil.resize((max(1, round(pil.width * height / pil.height)), height), Image.Resampling.LANCZOS)
    return pil


def composite(
    original: np.ndarray,
    counterfactual: np.ndarray,
    m: np.ndarray,
    style: OverlayStyle | None,
    caption: str,
    edge: np.ndarray | None = None,
) -> np.ndarray:
    """Original | counterfactual | overlay (with ``edge``, the edit region's outline) + colorbar, with a caption
    strip below (uint8 RGB)."""
    style = style or OverlayStyle()
    height = min(COMPOSITE_MAX_HEIGHT, int(np.shape(original)[0]))
    panels = [
        _panel(np.asarray(original), height),
        _panel(np.asarray(counterfactual), height),
        _panel(render_overlay(original, m, style, edge), height),
        Image.fromarray(colorbar(style, height, width=max(8, height // 32))),
    ]
    gap = max(2, height // 128)
    font = ImageFont.load_default(size=max(10, height // 40))
    lines = caption.splitlines() or [""]
    line_h = int(font.size * 1.3) if hasattr(font, "size") else 14
    width = sum(p.width for p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height + line_h * len(lines) + 2 * gap), (0, 0, 0))
    x = 0
    for p in panels:
        canvas.paste(p.convert("RGB"), (x, 0))
        x += p.width + gap
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((gap, height + gap + i * line_h), line, fill=(235, 235, 235), font=font)
    return np.asarray(canvas, dtype=np.uint8)


def lung_stats(m: np.ndarray, mask: LungMask, style: OverlayStyle) -> dict[str, dict[str, float]]:
    """Per lung (patient left = image right on PA/AP): % of lung with M above the overlay's cut (drawn red; with
    |M| above it, drawn in either colour: ``area_abs_pct``), mean and max of M and of |M|, and the lung's share (%)
    of the |M| summed over both lungs."""
    m = np.asarray(m, dtype=np.float32)
    # The one threshold rule for lung statistics is the cut the overlay draws: style.threshold × the |M| percentile
    # scale (99th by default), not × max|M|, so run.json, export records and the PDF count what the picture shows.
    threshold = style.threshold * overlay_scale(m, style.percentile)
    out: dict[str, dict[str, float]] = {}
    mass: dict[str, float] = {}
    for side, region in (("left", mask.left), ("right", mask.right)):
        sel = _bool_mask(region, m.shape)
        vals = m[sel]
        if vals.size == 0:
            out[side] = {
                "area_pct": 0.0,
                "area_abs_pct": 0.0,
                "mean": 0.0,
                "max": 0.0,
                "mean_abs": 0.0,
                "max_abs": 0.0,
                "pixels": 0.0,
            }
            mass[side] = 0.0
            continue
        mag = np.abs(vals)
        mass[side] = float(mag.sum(dtype=np.float64))
        out[side] = {
            "area_pct": float(100.0 * np.count_nonzero(vals > threshold) / vals.size),
            "area_abs_pct": float(100.0 * np.count_nonzero(mag > threshold) / vals.size),
            "mean": float(vals.mean()),
            "max": float(vals.max()),
            "mean_abs": float(mag.mean()),
            "max_abs": float(mag.max()),
            "pixels": float(vals.size),
        }
    total = sum(mass.values())
    for side in out:
        out[side]["share_pct"] = float(100.0 * mass[side] / total) if total > 0 else 0.0
    return out
