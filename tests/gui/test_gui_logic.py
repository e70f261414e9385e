"""Qt-free logic behind the window: window/level arithmetic, overlay layer, mask editing, file lists."""

from __future__ import annotations

import numpy as np
import pytest

from vald_desktop.core.attribution.maps import OverlayStyle, normalise, render_overlay
from vald_desktop.core.attribution.viewing import (
    drag_window,
    overlay_layer,
    preset_window,
    relative_display,
    toggle_invert,
    value_range,
)
from vald_desktop.core.films.filelist import list_films, update_recent
from vald_desktop.core.films.film import film_from_array
from vald_desktop.core.films.windowing import auto_window
from vald_desktop.core.masks.edit import MaskEdit, outline


@pytest.fixture
def film():
    rng = np.random.default_rng(0)
    return film_from_array((rng.random((40, 50)) * 4000).astype(np.uint16))


def test_right_drag_right_widens_and_drag_down_raises_level(film):
    w0 = film.default_window
    wider = drag_window(w0, 60, 0, value_range(film.values))
    assert wider.width > w0.width and wider.center == pytest.approx(w0.center)
    lower = drag_window(w0, 0, -30, value_range(film.values))
    assert lower.center > w0.center and lower.width == pytest.approx(w0.width)


def test_window_cannot_be_dragged_to_zero_width(film):
    w = drag_window(film.default_window, -1e6, 0, value_range(film.values))
    assert w.width > 0


def test_counterfactual_follows_the_users_window_like_the_original(film):
    """The counterfactual panel must show the same contrast change as the original panel."""
    d0 = film.display(film.default_window)
    for win in (
        drag_window(film.default_window, 80, 25, value_range(film.values)),
        toggle_invert(film.default_window),
    ):
        assert np.abs(relative_display(d0, film.default_window, win) - film.display(win)).max() < 1e-4


def test_presets_give_distinct_windows_and_keep_default_first(film):
    auto = auto_window(film.values)
    wins = [preset_window(i, film.values, film.default_window, auto) for i in range(5)]
    assert wins[0] == film.default_window
    assert len({(round(w.center, 3), round(w.width, 3)) for w in wins[2:]}) == 3
    with pytest.raises(IndexError):
        preset_window(5, film.values, film.default_window, auto)


def test_overlay_layer_blends_exactly_like_the_exported_overlay():
    """GUI overlay (RGBA layer at opacity o) and exported overlay (render_overlay) must look the same."""
    rng = np.random.default_rng(1)
    m = (rng.normal(size=(64, 64)) * 0.1).astype(np.float32)
    m[:20] = 0
    base = rng.random((64, 64)).astype(np.float32)
    for mode in ("signed", "abs"):
        style = OverlayStyle(mode=mode, opacity=0.7, threshold=0.25)
        layer = overlay_layer(normalise(m, OverlayStyle(mode="signed")), mode, 0.25)
        a = layer[..., 3:4] / 255.0 * style.opacity
        ours = base[..., None] * 255.0 * (1 - a) + layer[..., :3] * a
        assert np.abs(ours - render_overlay(base, m, style)).max() <= 1.5


def test_brush_stroke_is_undone_in_one_step_and_reset_restores_automatic():
    auto = np.zeros((50, 50), bool)
    auto[10:40, 5:20] = True
    ed = MaskEdit(auto)
    ed.begin_stroke()
    ed.line(30, 10, 45, 40, radius=3, value=True)
    ed.end_stroke()
    assert ed.mask[25, 37] and ed.edited
    ed.paint(10, 20, 4, value=False)
    assert not ed.mask[20, 10]
    assert ed.undo() and ed.mask[20, 10]
    assert ed.undo() and np.array_equal(ed.mask, auto)
    assert not ed.undo()
    ed.paint(30, 30, 5)
    ed.reset()
    assert np.array_equal(ed.mask, auto) and not ed.edited


def test_outline_is_a_thin_closed_ring():
    m = np.zeros((30, 30), bool)
    m[5:25, 5:25] = True
    ring = outline(m)
    assert ring[5, 10] and ring[24, 10] and ring[10, 5] and ring[10, 24]
    assert not ring[15, 15] and not ring[0, 0]
    assert ring.sum() == 4 * 20 - 4


def test_folder_listing_and_recent_files(tmp_path):
    for name in ("b.png", "a.dcm", "notes.txt", ".hidden.png", "IM0001"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_films(tmp_path)] == ["a.dcm", "b.png", "IM0001"]
    recent = update_recent(["/x", "/y"], "/y")
    assert recent[0].endswith("y") and len(recent) == 2
    assert len(update_recent([f"/f{i}" for i in range(20)], "/new")) == 10
