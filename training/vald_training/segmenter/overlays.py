"""What lies on top of a real film's anatomy: collimation borders, burned-in text and markers, lines and tubes."""

from __future__ import annotations

import numpy as np

WORDS = (
    "R",
    "L",
    "AP",
    "PA",
    "PORTABLE",
    "SUPINE",
    "ERECT",
    "SEMI-ERECT",
    "CHEST",
    "12:41",
    "L\u2191",
    "x-ray",
)


def collimate(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Straight unexposed (white) or shuttered (black) borders on some sides."""
    if rng.random() > 0.35:
        return img
    out = img.copy()
    h, w = out.shape
    value = 1.0 if rng.random() < 0.6 else 0.0
    for side in range(4):
        if rng.random() < 0.5:
            continue
        frac = rng.uniform(0.01, 0.12)
        if side == 0:
            out[: round(frac * h)] = value
        elif side == 1:
            out[h - round(frac * h) :] = value
        elif side == 2:
            out[:, : round(frac * w)] = value
        else:
            out[:, w - round(frac * w) :] = value
    return out


def burn_text(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Letters, side markers and timestamps burned into the pixels, mostly near the corners."""
    from PIL import Image, ImageDraw, ImageFont

    if rng.random() > 0.6:
        return img
    h, w = img.shape
    pic = Image.fromarray((img * 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(pic)
    for _ in range(int(rng.integers(1, 5))):
        size = int(rng.uniform(0.03, 0.09) * h)
        try:
            font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.load_default(size=max(8, size))
        except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
            font = ImageFont.load_default()
        word = str(WORDS[int(rng.integers(len(WORDS)))])
        corner_y = rng.uniform(0.0, 0.15) if rng.random() < 0.5 else rng.uniform(0.75, 0.92)
        corner_x = rng.uniform(0.0, 0.25) if rng.random() < 0.5 else rng.uniform(0.6, 0.85)
        if rng.random() < 0.25:  # a marker placed on the body, e.g. beside a shoulder
            corner_y, corner_x = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.9)
        fill = 255 if rng.random() < 0.8 else 0
        xy = (int(corner_x * w), int(corner_y * h))
        if rng.random() < 0.3:  # lead markers sit in a box
            box = draw.textbbox(xy, word, font=font)
            draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), outline=fill, width=2)
        draw.text(xy, word, fill=fill, font=font)
    return np.asarray(pic, np.float32) / 255.0


def _curve(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth random path (quadratic Bézier) entering from the top or a side."""
    start = np.array([rng.uniform(0, 0.25) * h, rng.uniform(0.2, 0.8) * w])
    mid = np.array([rng.uniform(0.2, 0.6) * h, rng.uniform(0.25, 0.75) * w])
    end = np.array([rng.uniform(0.4, 0.9) * h, rng.uniform(0.2, 0.8) * w])
    t = np.linspace(0, 1, 60)[:, None]
    return np.asarray((1 - t) ** 2 * start + 2 * (1 - t) * t * mid + t**2 * end, float)


def draw_lines(rng: np.random.Generator, img: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """Tubes, catheters and ECG leads: thin bright curves and small electrode discs (also over the lungs)."""
    from PIL import Image, ImageDraw

    if rng.random() > 0.45:
        return img
    h, w = img.shape
    pic = Image.fromarray((img * 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(pic)
    for _ in range(int(rng.integers(1, 5))):
        pts = _curve(rng, h, w)
        width = int(rng.integers(1, max(2, round(0.012 * w))))
        fill = int(rng.uniform(190, 255))
        draw.line([(float(x), float(y)) for y, x in pts], fill=fill, width=width)
    for _ in range(int(rng.integers(0, 5))):
        r = rng.uniform(0.008, 0.02) * w
        cy, cx = rng.uniform(0.1, 0.8) * h, rng.uniform(0.1, 0.9) * w
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=max(1, round(r / 3)))
    return np.asarray(pic, np.float32) / 255.0
