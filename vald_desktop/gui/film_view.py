"""What the three panels show: the film under the user's window, the counterfactual, and the overlay.

Owns the display state of the current film (window/level, result, preview, overlay style, compare mode) and
re-renders the panels when any of it changes. Window/level applies to all three panels alike, so contrast in the
counterfactual matches the original.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QPixmap

from vald_desktop.core.attribution.viewing import (
    PRESET_NAMES,
    drag_window,
    preset_window,
    toggle_invert,
    value_range,
    window_label,
)
from vald_desktop.gui.film_loader import LoadedFilm
from vald_desktop.gui.image_panels import PANEL_TITLES, ImagePanel, PanelGroup
from vald_desktop.gui.qimage import array_to_pixmap
from vald_desktop.gui.result_drawing import ResultDrawer, relative_pixels

if TYPE_CHECKING:
    from vald_desktop.core.engine.result import RunResult
    from vald_desktop.core.films.film import Film
    from vald_desktop.core.films.windowing import Window


class FilmView(QObject):
    windowChanged = Signal(str)  # "W 400 L 1200" for the status bar
    readout = Signal(str)  # pixel read-out under the cursor
    drawn = Signal()  # the current result (or comparison) is fully on screen
    shown = Signal(list)  # the runs the panels now show ([] for none): the domain banner follows it

    def __init__(self, panels: PanelGroup, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.panels = panels
        self.film: Film | None = None
        self.window: Window | None = None  # the window/level shown
        self.result: RunResult | None = None
        self.preview: np.ndarray | None = None
        self.compare: tuple[RunResult, RunResult] | None = None  # two runs shown side by side
        self.overlay_values: dict[str, Any] = {"mode": "signed", "opacity": 0.6, "threshold": 0.1}
        self.overlay_visible = True
        self._vrange = (0.0, 1.0)
        self._display: np.ndarray | None = None
        self._display_pixmap: QPixmap | None = None
        self._display_key: tuple[Film, Window] | None = None  # (film, window) that ``_display`` shows
        self.drawer = ResultDrawer(self)
        self.drawer.ready.connect(self._redraw_result)
        for p in panels.panels:
            p.windowDragged.connect(self.drag)
            p.hovered.connect(self._hovered)
        for p in panels.panels[1:]:
            p.set_placeholder("Press Generate (Ctrl+Enter)")
        panels.original.set_placeholder("Open a film (Ctrl+O) or drop one here")

    # -- film ------------------------------------------------------------------------------------------------
    def set_film(self, film: Film, prepared: LoadedFilm | None = None) -> None:
        """Show a new film; ``prepared`` carries its display computed off the GUI thread (else done here)."""
        self.film = film
        self.window = film.default_window
        self.result = None
        self.preview = None
        self.compare = None
        h, w = film.shape
        self.panels.set_grid(w, h)
        if prepared is not None and prepared.film is film:
            self._vrange = prepared.value_range
            self._show_display(prepared.display, QPixmap.fromImage(prepared.image), (film, self.window))
        else:
            self._vrange = value_range(film.values)
            self.render()
        self.panels.fit()
        self.shown.emit([])

    def display_for(self, film: Film, window: Window) -> np.ndarray | None:
        """The display array the panels show when it is ``film`` under ``window``; None when they show another."""
        shown = self._display_key
        if self._display is not None and shown is not None and shown[0] is film and shown[1] == window:
            return self._display
        return None

    def drop_preview(self) -> None:
        """A run ended without a result: the counterfactual panel leaves its live preview."""
        self.preview = None
        self.render()

    def clear_result(self) -> None:
        self.result = None
        self.preview = None
        self.compare = None
        self.render()
        self.shown.emit([])

    # -- window / level --------------------------------------------------------------------------------------
    def set_window(self, window: Window) -> None:
        if self.film is None:
            return
        self.window = window
        self.render()

    def drag(self, dx: float, dy: float) -> None:
        if self.window is not None:
            self.set_window(drag_window(self.window, dx, dy, self._vrange))

    def preset(self, index: int) -> str:
        """Apply W/L preset ``index`` (0-based); returns its name."""
        if self.film is None:
            return ""
        from vald_desktop.core.films.windowing import auto_window

        auto = auto_window(self.film.values, function=self.film.default_window.function)
        win = preset_window(index, self.film.values, self.film.default_window, auto)
        if (
            win.invert != self._shown_window(self.film).invert
        ):  # presets change contrast, not the user's inversion
            win = toggle_invert(win)
        self.set_window(win)
        return PRESET_NAMES[index]

    def invert(self) -> None:
        if self.window is not None:
            self.set_window(toggle_invert(self.window))

    def reset(self) -> None:
        if self.film is not None:
            self.window = self.film.default_window
            self.render()
        self.panels.fit()

    # -- results ---------------------------------------------------------------------------------------------
    def set_preview(self, image: np.ndarray) -> None:
        self.preview = image
        self.compare = None
        self.drawer.begin()
        self._render_counterfactual()

    def set_result(self, result: RunResult) -> None:
        self.result = result
        self.preview = None
        self.compare = None
        self.shown.emit([result])
        if self._display is None:
            self.render()
            return
        # The film under the current window has not changed: redraw only what the result feeds.
        self._redraw_result()

    def show_compare(self, a: RunResult, b: RunResult, labels: tuple[str, str]) -> None:
        self.compare = (a, b)
        self.panels.set_title(1, labels[0])
        self.panels.set_title(2, labels[1])
        self.render()
        self.shown.emit([a, b])

    def set_overlay(self, values: dict[str, Any]) -> None:
        old = self.overlay_values
        self.overlay_values = dict(values)
        if {k: v for k, v in old.items() if k != "opacity"} == {
            k: v for k, v in values.items() if k != "opacity"
        }:
            self._apply_opacity()  # opacity alone: Qt blends the cached layer, no pixels recomputed
        elif self._display is not None:
            self._redraw_result()

    def toggle_overlay(self) -> None:
        self.overlay_visible = not self.overlay_visible
        self._apply_opacity()

    @property
    def drawing(self) -> bool:
        """Pixels the panels should show are still being computed off the GUI thread (large films)."""
        return self.drawer.busy

    def overlay_rgb(self, result: RunResult | None = None, max_size: int | None = None) -> np.ndarray | None:
        """The overlay of ``result`` (default: the current one) on the film under the current window, as RGB.

        ``max_size`` renders a small copy (history thumbnails) from strided arrays, which costs next to nothing.
        """
        result = result if result is not None else self.result
        if result is None or self._display is None:
            return None
        from vald_desktop.core.attribution.maps import OverlayStyle, render_overlay

        base, m = self._display, np.asarray(result.map)
        if max_size:
            step = max(int(np.ceil(max(base.shape) / max_size)), 1)
            base, m = base[::step, ::step], m[::step, ::step]
        return render_overlay(base, m, OverlayStyle(**self.overlay_values))

    def _apply_opacity(self) -> None:
        opacity = float(self.overlay_values["opacity"]) if self.overlay_visible else 0.0
        self.panels.overlay.set_layer_opacity(opacity)
        self.panels.counterfactual.set_layer_opacity(opacity if self.compare is not None else 0.0)

    # -- rendering -------------------------------------------------------------------------------------------
    def _shown_window(self, film: Film) -> Window:
        return self.window if self.window is not None else film.window

    def render(self) -> None:
        if self.film is None:
            self._display = None
            self._display_key = None
            for p in self.panels.panels:
                p.set_image(None)
            return
        window = self._shown_window(self.film)
        if self.display_for(self.film, window) is not None:
            self._redraw_result()  # same film, same window (a run ended): only the result's panels change
            return
        display = self.film.display(window)
        self._show_display(display, array_to_pixmap(display), (self.film, window))

    def _show_display(self, display: np.ndarray, pixmap: QPixmap, key: tuple[Film, Window]) -> None:
        """The film under the current window in every panel that shows it (converted once, shared)."""
        self._display = display
        self._display_pixmap = pixmap
        self._display_key = key
        self.panels.original.set_image(self._display, self._display_pixmap)
        self._redraw_result()
        self.windowChanged.emit(window_label(key[1]))

    def _redraw_result(self) -> None:
        """Counterfactual, overlay base and layers; on large films from pixels computed on a pool thread."""
        self.drawer.begin()
        self._render_counterfactual()
        self._render_overlay_base()
        self._render_layers()
        if (self.result is not None or self.compare is not None) and not self.drawer.busy:
            self.drawn.emit()

    def _relative(self, display01: np.ndarray) -> np.ndarray:
        return (
            display01
            if self.film is None
            else relative_pixels(display01, self.film, self._shown_window(self.film))
        )

    def _render_counterfactual(self) -> None:
        panel = self.panels.counterfactual
        if self.compare is not None:
            panel.set_image(self._display, self._display_pixmap)  # run A's overlay: a layer on the film
            return
        self.panels.set_title(1, PANEL_TITLES[1] + (" (preview)" if self.preview is not None else ""))
        image = self.preview
        if image is None and self.result is not None:
            image = self.result.counterfactual
        if image is None or self.film is None:
            panel.set_image(None)
            return
        if np.shape(image)[:2] != tuple(self.film.shape):
            image = np.asarray(image, dtype=np.float32)
            panel.set_image(image)  # a low-resolution preview: shown as is, stretched over the film grid
            panel.set_image_scale(self.film.shape[1] / image.shape[1], self.film.shape[0] / image.shape[0])
            return
        pixels = self.drawer.counterfactual(image, self.film, self.window)
        if pixels is not None:  # else a pool thread is on it; the panel keeps what it shows until then
            panel.set_image(pixels[0], QPixmap.fromImage(pixels[1]))

    def _render_overlay_base(self) -> None:
        if self.compare is None:
            self.panels.set_title(2, PANEL_TITLES[2])
        has = self.compare is not None or self.result is not None
        if has:
            self.panels.overlay.set_image(self._display, self._display_pixmap)
        else:
            self.panels.overlay.set_image(None)

    def _render_layers(self) -> None:
        cf, ov = self.panels.counterfactual, self.panels.overlay
        if self.compare is not None:
            self._show_layer(cf, self.compare[0])
            self._show_layer(ov, self.compare[1])
        else:
            self._show_layer(cf, None)
            self._show_layer(ov, self.result)
        self._apply_opacity()

    def _show_layer(self, panel: ImagePanel, result: RunResult | None) -> None:
        if result is None:
            panel.set_layer_image(None, None)
            return
        v = self.overlay_values
        image = self.drawer.layer(result, str(v["mode"]), float(v["threshold"]))
        if image is not None:
            panel.set_layer_image(image, result)
        elif panel.layer_owner is not result:
            panel.set_layer_image(None, None)  # never another run's overlay while this one's is computed
        # else: the same run at the old threshold stays until the new layer is ready (no flicker on a slider)

    # -- read-out --------------------------------------------------------------------------------------------
    def _hovered(self, x: int, y: int) -> None:
        self.readout.emit(self.describe(x, y))

    def describe(self, x: int, y: int) -> str:
        """One line about film pixel (x, y): raw value, counterfactual, map and which lung."""
        if self.film is None or x < 0 or y < 0:
            return ""
        h, w = self.film.shape
        if not (0 <= x < w and 0 <= y < h):
            return ""
        parts = [f"x {x}  y {y}", f"value {float(self.film.values[y, x]):.6g}"]
        r = self.result
        if r is not None:
            cf = np.asarray(r.counterfactual)
            if cf.shape[:2] == (h, w):
                parts.append(f"counterfactual {float(cf[y, x]):.3f}")
            m = np.asarray(r.map)
            if m.shape[:2] == (h, w):
                parts.append(f"map {float(m[y, x]):+.3f}")
            mask = r.mask
            if mask is not None:
                if np.asarray(mask.left)[y, x]:
                    parts.append("patient left lung")
                elif np.asarray(mask.right)[y, x]:
                    parts.append("patient right lung")
        return "  ·  ".join(parts)
