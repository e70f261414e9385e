"""The reading room in the real window: layouts and maximise, flicker, swipe, reading mode, remembered layout,
the colour bar and the per-lung statistics."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.export.exporter import run_lung_stats

pytestmark = pytest.mark.gui

QUICK = RunSettings(steps=4, strength=0.5, mask_mode="edited", preview_every=0)


def _send(vp, kind, pos, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, modifiers))


def _drag(panel, start, end):
    vp, left = panel.viewport(), Qt.MouseButton.LeftButton
    _send(vp, QEvent.Type.MouseButtonPress, start, left, left)
    _send(vp, QEvent.Type.MouseMove, (start + end) / 2, Qt.MouseButton.NoButton, left)
    _send(vp, QEvent.Type.MouseMove, end, Qt.MouseButton.NoButton, left)
    _send(vp, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)


def _shown(w):
    return [i for i, c in enumerate(w.panels.columns) if c.isVisible()]


def _fits(panel, film):
    vp = panel.viewport()
    h, w = film.shape
    return panel.zoom() == pytest.approx(min(vp.width() / w, vp.height() / h), rel=0.03)


@pytest.fixture
def window(open_and_wait, make_window, phantom_png, qtbot, slow_engine):
    from vald_phantoms.phantom import make_phantom

    slow_engine.steps, slow_engine.step_s = 2, 0.005
    w = make_window(engine=slow_engine)
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    qtbot.waitExposed(w)
    w.mask_editor.set_automatic(
        make_phantom(7, "lung_opacity", size=256, laterality="left").lung_mask, "auto"
    )
    return w


def _generate(qtbot, w, settings=QUICK):
    w.controls.set_settings(settings)
    with qtbot.waitSignal(w.controller.finished, timeout=60000):
        w.generate()
    qtbot.waitUntil(
        lambda: w.reading.reader.current is not None and w.reading.reader.current.result is w.result
    )


def test_layouts_show_one_two_or_three_panels_and_the_image_fills_each(window, qtbot):
    w, a = window, window.actions_by_name
    assert _shown(w) == [0, 1, 2] and _fits(w.panels.original, w.film)
    zoom_3 = w.panels.zoom()
    a["layout_1x2"].trigger()
    qtbot.waitUntil(lambda: _shown(w) == [0, 1])
    qtbot.waitUntil(lambda: _fits(w.panels.original, w.film))
    w.reading.layout.choosers[1].activated.emit(2)  # the second place shows the overlay instead
    assert w.reading.layout.shown() == [0, 2] and _shown(w) == [0, 2]
    a["cycle_panel"].trigger()
    assert w.reading.layout.shown() == [0, 1], "V switches the second place back to the counterfactual"
    a["layout_1x1"].trigger()
    qtbot.waitUntil(lambda: _shown(w) == [0] and _fits(w.panels.original, w.film))
    assert w.panels.zoom() > zoom_3 * 1.2, "one panel should fill more of the window than three"
    a["layout_1x3"].trigger()
    qtbot.waitUntil(lambda: _shown(w) == [0, 1, 2])
    assert a["layout_1x3"].isChecked()


def test_double_click_maximises_a_panel_and_a_second_one_brings_the_layout_back(window, qtbot):
    w = window
    vp = w.panels.overlay.viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    left = Qt.MouseButton.LeftButton
    _send(vp, QEvent.Type.MouseButtonDblClick, centre, left, left)
    qtbot.waitUntil(lambda: _shown(w) == [2])
    assert w.reading.layout.maximised and w.reading.layout.name == "1x1"
    qtbot.waitUntil(lambda: _fits(w.panels.overlay, w.film))
    _send(vp, QEvent.Type.MouseButtonDblClick, centre, left, left)
    qtbot.waitUntil(lambda: _shown(w) == [0, 1, 2])
    assert not w.reading.layout.maximised


def test_holding_tab_flickers_to_the_counterfactual_at_the_same_zoom_and_window(window, qtbot):
    w = window
    _generate(qtbot, w)
    w.actions_by_name["layout_1x1"].trigger()
    w.panels.original.zoom_by(2.0)
    zoom = w.panels.original.zoom()
    cmp = w.reading.comparison
    w.activateWindow()
    w.panels.original.setFocus()
    QTest.keyPress(w.panels.original.viewport(), Qt.Key.Key_Tab)
    assert cmp.held and cmp.showing_counterfactual
    shown = cmp._alt.pixmap()  # the counterfactual panel's own pixels: the same window/level
    assert shown.cacheKey() == w.panels.counterfactual.image_item().pixmap().cacheKey()
    assert w.panels.titles[0].text().startswith("Counterfactual")
    assert w.panels.original.zoom() == pytest.approx(zoom)
    QTest.keyRelease(w.panels.original.viewport(), Qt.Key.Key_Tab)
    assert not cmp.held and not cmp.showing_counterfactual
    assert w.panels.titles[0].text() == "Original"
    # the toggle flips at its rate
    cmp.set_rate(4.0)
    w.actions_by_name["flicker"].trigger()
    seen = set()
    qtbot.waitUntil(lambda: seen.add(cmp.showing_counterfactual) or seen == {True, False}, timeout=3000)
    w.actions_by_name["flicker"].trigger()
    assert not cmp.flickering and not cmp.showing_counterfactual


def test_tab_in_a_text_field_still_moves_the_focus(window):
    w = window
    w.activateWindow()
    edit = w.controls.seed
    edit.setFocus()
    QTest.keyPress(edit, Qt.Key.Key_Tab)
    assert not w.reading.comparison.held


def test_swipe_curtain_follows_the_drag_and_the_keys(window, qtbot):
    w = window
    _generate(qtbot, w)
    w.actions_by_name["layout_1x1"].trigger()
    qtbot.waitUntil(lambda: _fits(w.panels.original, w.film))
    cmp = w.reading.comparison
    w.actions_by_name["swipe"].trigger()
    assert cmp.swipe_on and cmp._curtain.isVisible() and "◂" in w.panels.titles[0].text()
    panel = w.panels.original
    width = panel.sceneRect().width()
    start = QPointF(cmp._curtain_x(), panel.viewport().height() / 2)
    target = QPointF(panel.mapFromScene(QPointF(0.25 * width, 10)).x(), start.y())
    _drag(panel, start, target)
    assert cmp.position == pytest.approx(0.25, abs=0.02)
    assert cmp._clip.rect().width() == pytest.approx(cmp.position * width)
    assert cmp._alt.isVisible() and not cmp.showing_counterfactual
    w.actions_by_name["swipe_right"].trigger()
    assert cmp.position == pytest.approx(0.30, abs=0.02)
    w.actions_by_name["swipe"].trigger()
    assert not cmp._curtain.isVisible() and not cmp._clip.isVisible()


def test_swipe_without_a_result_says_to_generate_first(window):
    window.actions_by_name["swipe"].trigger()
    assert not window.reading.comparison.swipe_on
    assert "Generate" in window.statusBar().currentMessage()


def test_reading_mode_hides_docks_and_toolbars_and_brings_them_back(window):
    w = window
    bars = [x for x in w.findChildren(QDockWidget) + w.findChildren(QToolBar) if x.isVisible()]
    assert bars
    w.actions_by_name["reading_mode"].trigger()
    assert not any(x.isVisible() for x in bars) and w.panels.isVisible()
    w.actions_by_name["reading_mode"].trigger()
    assert all(x.isVisible() for x in bars)


def test_layout_swipe_position_and_rate_are_remembered(make_window, qsettings, qtbot):
    w = make_window()
    w.actions_by_name["layout_1x2"].trigger()
    w.reading.layout.set_slot(1, 2)
    w.reading.comparison.set_position(0.3)
    w.reading.comparison.set_rate(3.0)
    w.save_state()
    w2 = make_window()
    assert w2.reading.layout.name == "1x2" and w2.reading.layout.shown() == [0, 2]
    assert w2.reading.comparison.position == pytest.approx(0.3) and w2.reading.comparison.rate == 3.0


def test_colour_bar_and_statistics_follow_the_threshold(window, qtbot):
    w = window
    _generate(qtbot, w)
    bar, reading = w.reading.colour_bar, w.reading.reader.current
    assert bar.isVisible() and reading.scale > 0
    style = {**w.overlay_controls.values()}
    from vald_desktop.core.attribution.maps import OverlayStyle

    assert reading.stats == run_lung_stats(w.result, OverlayStyle(**style)), "not the run writer's numbers"
    text = w.reading.stats.text()
    assert "|M| above threshold" in text and f"{reading.stats['left']['area_abs_pct']:.1f} %" in text
    assert "Share of |M|" in text
    shares = reading.stats["left"]["share_pct"] + reading.stats["right"]["share_pct"]
    assert shares == pytest.approx(100.0)
    w.overlay_controls.threshold.setValue(50)
    qtbot.waitUntil(lambda: w.reading.reader.current.threshold == pytest.approx(0.5))
    higher = w.reading.reader.current
    assert higher.stats["left"]["area_pct"] <= reading.stats["left"]["area_pct"]
    assert higher.cut == pytest.approx(0.5 * higher.scale)
    assert "threshold 50%" in bar.toolTip() or "threshold 50 %" in bar.toolTip() or "50%" in bar.toolTip()
    img = bar.grab().toImage()
    assert not img.isNull() and img.width() > 20


def test_shortcuts_of_the_reading_room_are_listed_under_f1(window):
    from vald_desktop.gui.dialogs import HelpDialog

    dlg = HelpDialog(window)
    keys = {dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())}
    for key in ("Tab (hold)", "F11", "W", "T", "Ctrl+1", "R", "G"):
        assert key in keys, key


class _OutOfDomainEngine:
    """Runs at once; every result carries an out-of-domain verdict (so the domain banner shows)."""

    def load(self):
        from types import SimpleNamespace

        return SimpleNamespace(name="stand-in", device="cpu", dtype="float32", native_size=64)

    def run(self, image, settings, *, mask=None, **_):
        from vald_desktop.core.engine.result import RunResult

        cf = (image * 0.9).astype(image.dtype)
        verdict = {"in_domain": False, "reasons": ["the film is unlike the training films"]}
        return RunResult(settings, image, cf, [cf], image - cf, None, mask, {"domain": verdict})


def test_the_domain_banner_spans_the_result_panels_each_layout_shows(
    make_window, open_and_wait, phantom_png, qtbot
):
    w = make_window(engine=_OutOfDomainEngine())
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    w.controls.set_settings(QUICK.replace(mask_mode="none"))
    with qtbot.waitSignal(w.controller.finished, timeout=60000):
        w.generate()
    banner, p = w.domain_banner, w.panels
    qtbot.waitUntil(banner.isVisible)

    def spans(*panels):
        left = panels[0].mapTo(p, panels[0].rect().topLeft()).x()
        right = panels[-1].mapTo(p, panels[-1].rect().topRight()).x()
        return abs(banner.geometry().left() - left) <= 2 and abs(banner.geometry().right() - right) <= 2

    qtbot.waitUntil(lambda: spans(p.counterfactual, p.overlay))
    w.actions_by_name["layout_1x1"].trigger()  # the original alone: no result panel, no banner
    qtbot.waitUntil(lambda: not banner.isVisible())
    w.reading.layout.set_slot(0, 2)  # the overlay alone: the banner over it
    qtbot.waitUntil(lambda: banner.isVisible() and spans(p.overlay))
