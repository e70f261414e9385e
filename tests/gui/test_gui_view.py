"""Panels: synchronized zoom and pan, fit / 1:1, window/level by right-drag and keys, pixel read-out."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


def _mouse(widget, kind, pos, button, buttons):
    ev = QMouseEvent(
        kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, ev)


def _drag(panel, start, end, button):
    vp = panel.viewport()
    _mouse(vp, QEvent.Type.MouseButtonPress, start, button, button)
    _mouse(vp, QEvent.Type.MouseMove, (start + end) / 2, Qt.MouseButton.NoButton, button)
    _mouse(vp, QEvent.Type.MouseMove, end, Qt.MouseButton.NoButton, button)
    _mouse(vp, QEvent.Type.MouseButtonRelease, end, button, Qt.MouseButton.NoButton)


def _wheel(panel, pos, steps):
    vp = panel.viewport()
    ev = QWheelEvent(
        QPointF(pos), vp.mapToGlobal(QPointF(pos)), QPoint(), QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(vp, ev)


@pytest.fixture
def window(open_and_wait, make_window, phantom_png, qtbot):
    w = make_window()
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    qtbot.waitExposed(w)
    return w


def test_wheel_zoom_in_one_panel_zooms_all_panels_at_the_same_spot(window):
    panels = window.panels.panels
    before = panels[0].zoom()
    vp = panels[1].viewport()
    _wheel(panels[1], QPointF(vp.width() * 0.3, vp.height() * 0.4), 3)
    assert panels[1].zoom() == pytest.approx(before * 1.25**3, rel=1e-3)
    centre = [p.mapToScene(p.viewport().rect().center()) for p in panels]
    for p, c in zip(panels, centre, strict=True):
        assert p.zoom() == pytest.approx(panels[1].zoom())
        assert (c - centre[1]).manhattanLength() < 2.0, "panels show different anatomy after zoom"
    assert not window.panels.fit_mode


def test_pan_in_one_panel_pans_the_others(window):
    panels = window.panels.panels
    _wheel(panels[0], QPointF(50, 50), 6)
    h0 = [p.horizontalScrollBar().value() for p in panels]
    _drag(panels[2], QPointF(200, 200), QPointF(120, 150), Qt.MouseButton.LeftButton)
    h1 = [p.horizontalScrollBar().value() for p in panels]
    assert h1[2] != h0[2], "left-drag did not pan"
    assert len(set(h1)) == 1 and len({p.verticalScrollBar().value() for p in panels}) == 1


def test_fit_and_actual_size(window):
    p = window.panels.original
    window.actions_by_name["actual_size"].trigger()
    assert p.zoom() == pytest.approx(1.0)
    window.actions_by_name["fit"].trigger()
    vp = p.viewport()
    h, w = window.film.shape
    assert p.zoom() == pytest.approx(min(vp.width() / w, vp.height() / h), rel=0.03)


def test_right_drag_changes_window_level_in_every_panel_and_space_resets(window):
    before_label = window.window_label.text()
    before = window.panels.original.image_array.copy()
    _drag(window.panels.counterfactual, QPointF(100, 100), QPointF(40, 160), Qt.MouseButton.RightButton)
    assert window.view.window != window.film.default_window
    assert window.view.window.width < window.film.default_window.width
    assert window.window_label.text() != before_label
    assert not np.array_equal(window.panels.original.image_array, before)
    window.actions_by_name["reset_view"].trigger()
    assert window.view.window == window.film.default_window
    assert np.array_equal(window.panels.original.image_array, before)


def test_invert_key_and_presets(window, qtbot):
    before = window.panels.original.image_array.copy()
    window.activateWindow()  # window shortcuts only fire in the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert window.view.window.invert
    assert np.allclose(window.panels.original.image_array, 1.0 - before, atol=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_4)
    assert window.view.window.invert, "a preset must not undo the user's inversion"
    assert window.view.window.width < window.film.default_window.width
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert window.view.window.width == window.film.default_window.width


def test_pixel_readout_names_position_and_value(window):
    text = window.view.describe(10, 20)
    assert text.startswith("x 10  y 20") and f"{float(window.film.values[20, 10]):.6g}" in text
    assert window.view.describe(-1, -1) == ""
    vp = window.panels.original.viewport()
    _mouse(vp, QEvent.Type.MouseMove, QPointF(vp.width() / 2, vp.height() / 2), Qt.MouseButton.NoButton,
           Qt.MouseButton.NoButton)  # fmt: skip
    assert window.readout_label.text().startswith("x ")


def test_metadata_panel_is_hidden_by_default_and_toggles(window):
    assert not window.metadata_dock.isVisible()
    window.actions_by_name["toggle_metadata"].trigger()
    assert window.metadata_dock.isVisible()
