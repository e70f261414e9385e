"""The edit region in the window (paint with the mouse → run → a result changed only inside it, undo, clear,
PNG load / save) and the ruler / ROI read-outs in mm, estimated mm or pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.films.film import film_from_array

pytestmark = pytest.mark.gui


def _send(vp, kind, pos, button, buttons):
    QApplication.sendEvent(
        vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    )


def _drag_film(panel, points):
    """Drag the left button through film pixel coordinates on ``panel``."""
    vp, left = panel.viewport(), Qt.MouseButton.LeftButton
    pts = [QPointF(panel.mapFromScene(QPointF(x, y))) for x, y in points]
    _send(vp, QEvent.Type.MouseButtonPress, pts[0], left, left)
    for p in pts[1:]:
        _send(vp, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    _send(vp, QEvent.Type.MouseButtonRelease, pts[-1], left, Qt.MouseButton.NoButton)


@pytest.fixture
def window(open_and_wait, make_window, phantom_png, qtbot, tiny_model_dir):
    w = make_window(model_dir=tiny_model_dir)
    w.resize(1400, 800)
    assert open_and_wait(w, phantom_png)
    qtbot.waitExposed(w)
    return w


def test_painted_region_confines_the_run_and_its_export_outlines_it(window, qtbot, tmp_path):
    w, region = window, window.reading.region
    assert region.region() is None and "whole film" in region.label.text()
    w.actions_by_name["region_brush"].trigger()
    assert region.brush.isChecked() and w.panels.original.paint_mode
    _drag_film(w.panels.original, [(170, 120), (180, 125), (190, 130)])
    painted = region.region()
    assert painted is not None and painted.mask[125, 180] and not painted.mask[40, 40]
    assert "% of film" in region.label.text()
    w.actions_by_name["region_brush"].trigger()
    assert not w.panels.original.paint_mode, "left-drag pans again once the brush is off"
    w.controls.set_settings(
        RunSettings(steps=6, strength=0.9, guidance=7.5, mask_mode="none", preview_every=0)
    )
    with qtbot.waitSignal(w.controller.finished, timeout=120000):
        w.generate()
    r = w.result
    assert r.region is not None and r.region.sha256 == painted.sha256
    outside = ~painted.mask
    np.testing.assert_array_equal(r.counterfactual[outside], r.original[outside])
    assert np.all(r.map[outside] == 0) and np.abs(r.map[painted.mask]).max() > 0
    assert r.record["region"]["sha256"] == painted.sha256
    files = w.export_to("png", tmp_path / "overlay.png", accept_burned_in_risk=True)
    from PIL import Image

    from vald_desktop.core.attribution.maps import REGION_COLOUR

    with Image.open(files[0]) as im:
        assert np.all(np.asarray(im.convert("RGB")) == REGION_COLOUR, axis=-1).any(), "no outline"


def test_region_undo_clear_save_and_load(window, tmp_path):
    w, region = window, window.reading.region
    w.actions_by_name["region_brush"].trigger()
    _drag_film(w.panels.original, [(60, 60), (70, 70)])
    first = region.region().mask.copy()
    _drag_film(w.panels.original, [(200, 200), (210, 210)])
    assert region.region().mask.sum() > first.sum()
    w.actions_by_name["region_undo"].trigger()
    np.testing.assert_array_equal(region.region().mask, first)
    saved = region.save_to(tmp_path / "r.png")
    w.actions_by_name["region_clear"].trigger()
    assert region.region() is None
    region.load_from(saved)
    np.testing.assert_array_equal(region.region().mask, first)
    assert region.region().source == "file"
    # the lung brush and the region brush exclude each other
    w.mask_editor.set_automatic(np.ones(w.film.shape, bool), "auto")
    w.actions_by_name["region_brush"].trigger()
    w.actions_by_name["brush"].trigger()
    assert w.mask_editor.brush.isChecked() and not region.painting and w.panels.original.paint_mode
    w.actions_by_name["region_eraser"].trigger()
    assert region.eraser.isChecked() and not w.mask_editor.painting and w.panels.original.paint_mode


def test_ruler_and_roi_read_millimetres_from_pixel_spacing(window, qtbot):
    import pydicom

    w = window
    values = np.arange(100 * 80, dtype=np.float32).reshape(100, 80)
    film = film_from_array(values, "spaced.png")
    film.dataset = pydicom.Dataset()
    film.dataset.PixelSpacing = [0.5, 0.25]  # rows 0.5 mm apart, columns 0.25 mm
    w.set_film(film)
    tools = w.reading.measure
    text = tools.measure("ruler", (10.0, 10.0), (10.0, 50.0))
    assert (
        tools.last_values["length"] == pytest.approx(20.0) and "20.0 mm" in text and "estimated" not in text
    )
    w.actions_by_name["roi_rectangle"].trigger()
    assert tools.mode == "rectangle"
    vp = w.panels.original
    _drag_film(vp, [(20.0, 30.0), (40.0, 50.0)])
    v = tools.last_values
    assert v["width"] == pytest.approx(5.0, abs=0.3) and v["height"] == pytest.approx(10.0, abs=0.6)
    assert v["map_mean"] is None and "no map" in w.reading.measure_label.text()
    inside = values[30:50, 20:40]
    assert v["film_mean"] == pytest.approx(inside.mean(), rel=0.02)
    assert "mm²" in w.reading.measure_label.text()


def test_imager_spacing_is_estimated_and_a_png_is_measured_in_pixels(window, qtbot):
    import pydicom

    w = window
    tools = w.reading.measure
    text = tools.measure("ruler", (0.0, 0.0), (30.0, 40.0))
    assert "50.0 px" in text and "pixels" in text, "a PNG carries no spacing"
    film = film_from_array(np.ones((60, 60), np.float32), "imager.png")
    film.dataset = pydicom.Dataset()
    film.dataset.ImagerPixelSpacing = [0.2, 0.2]
    film.dataset.EstimatedRadiographicMagnificationFactor = 1.25
    w.set_film(film)
    text = tools.measure("ruler", (0.0, 0.0), (0.0, 50.0))
    assert tools.last_values["length"] == pytest.approx(8.0) and "estimated" in text


def test_roi_reads_the_map_mean_of_a_result(make_window, open_and_wait, phantom_png, slow_engine, qtbot):
    slow_engine.steps, slow_engine.step_s = 2, 0.005
    w = make_window(engine=slow_engine)
    assert open_and_wait(w, phantom_png)
    w.controls.set_settings(RunSettings(steps=4, strength=0.5, mask_mode="none", preview_every=0))
    with qtbot.waitSignal(w.controller.finished, timeout=60000):
        w.generate()
    tools = w.reading.measure
    tools.measure("ellipse", (100.0, 100.0), (140.0, 160.0))
    v = tools.last_values
    from vald_desktop.core.attribution.measure import roi_mask

    inside = roi_mask("ellipse", (100.0, 100.0, 140.0, 160.0), w.film.shape)
    assert v["map_mean"] == pytest.approx(float(w.result.map[inside].mean()), rel=1e-6)
    assert v["pixels"] == int(inside.sum()) and v["area"] == pytest.approx(np.pi * 20 * 30, rel=1e-6)
