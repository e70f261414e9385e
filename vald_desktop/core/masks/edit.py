"""Editable lung mask: brush / eraser strokes with undo, reset to the automatic mask, outline for display.

Qt-free: the GUI's mask editor is a thin widget over :class:`MaskEdit`. Pixel coordinates are (x = column,
y = row) on the film grid.
"""

from __future__ import annotations

import numpy as np

MAX_UNDO = 30


class MaskEdit:
    """A boolean lung mask being edited, with the automatic mask kept for "reset"."""

    def __init__(self, automatic: np.ndarray, source: str = "auto") -> None:
        self._automatic = np.asarray(automatic, dtype=bool).copy()
        self.mask = self._automatic.copy()
        self.source = source
        self._auto_source = source
        self.edited = False
        self._undo: list[np.ndarray] = []
        self._in_stroke = False
        self._last: tuple[float, float] | None = None  # the stroke's last point (for stroke_to)

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def begin_stroke(self) -> None:
        """Start one brush stroke: everything painted until :meth:`end_stroke` is undone in one step."""
        self._push_undo()
        self._in_stroke = True

    def end_stroke(self) -> bool:
        """End the stroke; false when none was in progress."""
        was, self._in_stroke, self._last = self._in_stroke, False, None
        return was

    def stroke_to(self, x: float, y: float, radius: float, value: bool = True) -> bool:
        """Continue the stroke in progress with a line from its last point (a brush's mouse move); false when
        there is no stroke. The first point of a stroke is :meth:`stroke_start`."""
        if not self._in_stroke or self._last is None:
            return False
        self.line(*self._last, x, y, radius, value)
        self._last = (x, y)
        return True

    def stroke_start(self, x: float, y: float, radius: float, value: bool = True) -> None:
        """Begin a stroke with a disc at (x, y) (a brush's mouse press)."""
        self.begin_stroke()
        self.paint(x, y, radius, value)
        self._last = (x, y)

    def paint(self, x: float, y: float, radius: float, value: bool = True) -> None:
        """Paint (``value`` true: brush) or erase a disc at (x, y)."""
        if not self._in_stroke:
            self._push_undo()
        h, w = self.mask.shape
        r = max(float(radius), 0.5)
        x0, x1 = max(int(np.floor(x - r)), 0), min(int(np.ceil(x + r)) + 1, w)
        y0, y1 = max(int(np.floor(y - r)), 0), min(int(np.ceil(y + r)) + 1, h)
        if x0 >= x1 or y0 >= y1:
            return
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
        self.mask[y0:y1, x0:x1][disc] = bool(value)
        self.edited = True

    def line(self, x0: float, y0: float, x1: float, y1: float, radius: float, value: bool = True) -> None:
        """Paint discs along a segment so fast mouse moves leave no gaps."""
        dist = float(np.hypot(x1 - x0, y1 - y0))
        n = max(int(dist / max(radius * 0.5, 0.5)), 1)
        own_stroke = not self._in_stroke
        if own_stroke:
            self.begin_stroke()
        for t in np.linspace(0.0, 1.0, n + 1):
            self.paint(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, radius, value)
        if own_stroke:
            self.end_stroke()

    def undo(self) -> bool:
        """Revert the last stroke; false when there is nothing to undo."""
        if not self._undo:
            return False
        self.mask = self._undo.pop()
        self.edited = True
        return True

    def reset(self) -> None:
        """Back to the automatic mask (undoable)."""
        self._push_undo()
        self.mask = self._automatic.copy()
        self.source = self._auto_source
        self.edited = False

    def replace(self, mask: np.ndarray, source: str) -> None:
        """Load another mask (e.g. from a PNG); the automatic one stays available for reset."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask shape {mask.shape} differs from the film {self.mask.shape}")
        self._push_undo()
        self.mask = mask.copy()
        self.source = source
        self.edited = False

    def _push_undo(self) -> None:
        if self._in_stroke:
            return
        self._undo.append(self.mask.copy())
        if len(self._undo) > MAX_UNDO:
            del self._undo[0]


def outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """Boundary pixels of a boolean mask (inside pixels with an outside 4-neighbour), ``thickness`` pixels wide."""
    m = np.asarray(mask, dtype=bool)
    inner = m.copy()
    for _ in range(max(int(thickness), 1)):
        shrunk = inner.copy()
        shrunk[1:, :] &= inner[:-1, :]
        shrunk[:-1, :] &= inner[1:, :]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        # Pixels on the image border count as boundary so a lung touching the edge still gets a closed outline.
        shrunk[0, :] = shrunk[-1, :] = False
        shrunk[:, 0] = shrunk[:, -1] = False
        inner = shrunk
    edge: np.ndarray = m & ~inner
    return edge
