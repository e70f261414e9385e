"""An uncertain lung mask in the window: an amber outline, a banner over the original panel with a button to the
brush, the run still allowed and its history entry marked; a trusted mask shows none of it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.masks import resolve
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.gui import lung_finding

pytestmark = pytest.mark.gui

REASON = "The lung outline leaves the chest wall on the image right."
FAST = RunSettings(steps=3, strength=0.5, mask_mode="auto", preview_every=0)


def _two_lungs(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    m = np.zeros((h, w), bool)
    m[h // 5 : 4 * h // 5, w // 8 : 3 * w // 8] = True  # image left = patient right
    m[h // 5 : 4 * h // 5, 5 * w // 8 : 7 * w // 8] = True  # image right = patient left
    return m


@pytest.fixture
def segmenter_says(monkeypatch):
    """``segmenter_says(quality)``: the film's automatic mask (found in-process) comes with that verdict."""

    def _use(quality: str) -> None:
        def found(film, *_a, **_k) -> LungMask:
            mask = LungMask.from_mask(_two_lungs(film.shape), "segmenter")
            return mask.with_verdict(
                quality, 0.35 if quality == "uncertain" else 0.95, (REASON,) * (quality != "ok")
            )

        monkeypatch.setattr(resolve, "resolve_mask", found)
        monkeypatch.setattr(lung_finding, "use_process", lambda: False)

    return _use


def _outline_colours(panel) -> tuple[int, int]:
    """(amber, green) pixel counts of what the original panel shows: the grey film plus the mask's outline."""
    img = panel.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())
    rgb = rows[:, : w * 3].reshape(h, w, 3).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    amber = (r - b > 120) & (g - b > 60) & (r > g)
    green = (g - r > 80) & (g - b > 40)
    return int(amber.sum()), int(green.sum())


def _opened(make_window, open_and_wait, phantom_png, qtbot, **kwargs):
    w = make_window(**kwargs)
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    qtbot.waitUntil(lambda: w.auto_mask is not None, timeout=30000)
    qtbot.waitExposed(w)
    return w


def test_an_uncertain_mask_shows_a_banner_and_an_amber_outline_and_still_runs(
    make_window, open_and_wait, phantom_png, qtbot, segmenter_says, slow_engine
):
    segmenter_says("uncertain")
    slow_engine.steps, slow_engine.step_s = 3, 0.01
    w = _opened(make_window, open_and_wait, phantom_png, qtbot, engine=slow_engine)
    banner = w.mask_banner
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    assert banner.label.text() == (
        "Lung mask uncertain: the lung outline leaves the chest wall on the image right"
        " \u2014 check it or paint it with the brush (B)"
    )
    assert "confidence 0.35" in banner.toolTip()
    original = (
        w.panels.original
    )  # it lies across the top of the original panel, beside the domain banner's place
    top_left = original.mapTo(w.panels, original.rect().topLeft())
    assert banner.geometry().topLeft() == top_left and banner.width() == original.width()
    amber, green = _outline_colours(original)
    assert amber > 50 and green == 0, "the uncertain mask is not outlined in amber"
    # The run is still allowed, and its history entry says the mask was uncertain.
    w.controls.set_settings(FAST)
    with qtbot.waitSignals([w.controller.started, w.controller.finished], order="strict", timeout=30000):
        w.generate()
    assert w.result is not None and w.result.mask is not None and w.result.mask.is_uncertain
    assert "Lung mask uncertain" in w.history.list.item(0).text()
    # The button turns the brush on; a stroke makes the mask the reader's own: no banner, the normal outline.
    qtbot.mouseClick(banner.button, Qt.MouseButton.LeftButton)
    assert w.mask_editor.brush.isChecked() and w.panels.original.paint_mode
    w.mask_editor.stroke_start(128.0, 20.0)
    w.mask_editor.stroke_end()
    assert not banner.isVisible()
    w.mask_editor.brush.setChecked(False)
    qtbot.wait(50)
    amber, green = _outline_colours(original)
    assert green > 50 and amber == 0, "the edited mask is still outlined as uncertain"


def test_a_trusted_mask_shows_no_banner_and_the_normal_outline(
    make_window, open_and_wait, phantom_png, qtbot, segmenter_says
):
    segmenter_says("ok")
    w = _opened(make_window, open_and_wait, phantom_png, qtbot)
    qtbot.wait(50)
    assert not w.mask_banner.isVisible()
    amber, green = _outline_colours(w.panels.original)
    assert green > 50 and amber == 0


def test_the_helper_process_s_answer_keeps_the_mask_s_verdict(segmenter_says, phantom_png):
    from vald_desktop.core.films.load import load_film

    segmenter_says("uncertain")
    film = load_film(phantom_png)
    answer = pickle.loads(pickle.dumps(lung_finding._find(film, None)))  # what travels between processes
    found = lung_finding._unpack(answer)
    assert found.mask.quality == "uncertain" and found.mask.confidence == 0.35
    assert found.mask.reasons == (REASON,) and found.mask.source == "segmenter"
    assert (
        found.mask.left[:, : film.shape[1] // 2].sum() == 0
    )  # the patient's left lung stays on the image right


def test_the_mask_banner_follows_the_layout_to_the_panel_on_screen(
    make_window, open_and_wait, phantom_png, qtbot, segmenter_says
):
    segmenter_says("uncertain")
    w = _opened(make_window, open_and_wait, phantom_png, qtbot)
    banner = w.mask_banner
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    w.actions_by_name["layout_1x1"].trigger()
    w.reading.layout.choosers[0].activated.emit(1)  # the one place shows the counterfactual
    cf = w.panels.counterfactual
    qtbot.waitUntil(lambda: cf.isVisibleTo(w.panels) and not w.panels.original.isVisibleTo(w.panels))
    qtbot.waitUntil(banner.isVisible, timeout=3000)
    top_left = cf.mapTo(w.panels, cf.rect().topLeft())
    g = banner.geometry()
    assert g.left() == top_left.x() and g.width() == cf.width(), "the banner must sit on the panel on screen"
    assert g.bottom() == top_left.y() + cf.height() - 1, (
        "below the domain banner's place, at the panel's foot"
    )
