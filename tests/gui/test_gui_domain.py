"""Domain honesty in the window: a banner over the counterfactual and map panels when the model does not know the
film, a note in its history entry, the demo model's notice always in the status bar, non-radiographs refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.domain import OUT_OF_DOMAIN
from vald_desktop.core.engine.models import demo_model_dir

pytestmark = pytest.mark.gui

FAST = RunSettings(steps=6, strength=0.5, mask_mode="none", preview_every=0)
DEMO_NOTICE = "Demo model trained on synthetic phantoms \u2014 for trying the app, not for reading films"
OUT = {
    "in_domain": False,
    "score": 10.7,
    "threshold": 3.3,
    "reasons": ["the film is unlike the films the model was trained on (score 10.7, threshold 3.3)"],
}


class VerdictEngine:
    """A stand-in engine whose runs carry a given domain verdict (and that names the demo model as its folder)."""

    def __init__(self, domain: dict | None) -> None:
        self.domain = domain
        self.runs = 0
        self.kinds: list = []

    def load(self):
        return SimpleNamespace(
            name="demo-phantom", device="cpu", dtype="float32", native_size=128, path=demo_model_dir()
        )

    def run(self, image, settings, *, mask=None, progress=None, cancel=None, film_kind=None, **_):
        from vald_desktop.core.engine.result import RunResult

        self.runs += 1
        self.kinds.append(film_kind)
        cf = np.clip(image * 0.9, 0, 1).astype(np.float32)
        record = {} if self.domain is None else {"domain": dict(self.domain)}
        return RunResult(settings, image, cf, [cf], image - cf, None, mask, record)


def _generate(qtbot, w, timeout=60000):
    w.controls.set_settings(FAST)
    with qtbot.waitSignals([w.controller.started, w.controller.finished], order="strict", timeout=timeout):
        w.generate()


def test_an_out_of_domain_result_shows_a_banner_over_both_result_panels(
    make_window, open_and_wait, phantom_png, qtbot
):
    engine = VerdictEngine(OUT)
    w = make_window(engine=engine)
    assert open_and_wait(w, phantom_png)
    assert not w.domain_banner.isVisible()
    _generate(qtbot, w)
    banner = w.domain_banner
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    assert banner.text().startswith(OUT_OF_DOMAIN) and "unlike the films" in banner.text()
    # It lies across the tops of the counterfactual and map panels, not over the original.
    cf, ov = w.panels.counterfactual, w.panels.overlay
    left = cf.mapTo(w.panels, cf.rect().topLeft()).x()
    right = ov.mapTo(w.panels, ov.rect().topRight()).x()
    assert banner.geometry().left() == left and abs(banner.geometry().right() - right) <= 1
    assert banner.geometry().top() == cf.mapTo(w.panels, cf.rect().topLeft()).y()
    assert OUT_OF_DOMAIN in w.history.list.item(0).text()
    assert engine.kinds[0] is not None and engine.kinds[0].looks_like_chest  # the film's kind went along
    # Persistent: it stays through window/level changes and goes only with the result.
    w.view.invert()
    assert banner.isVisible()
    w.view.clear_result()
    assert not banner.isVisible()


def test_an_in_domain_result_shows_no_banner_and_unknown_says_so(
    make_window, open_and_wait, phantom_png, qtbot
):
    engine = VerdictEngine({**OUT, "in_domain": True, "score": 1.2, "reasons": []})
    w = make_window(engine=engine)
    assert open_and_wait(w, phantom_png)
    _generate(qtbot, w)
    assert not w.domain_banner.isVisible() and "\u26a0" not in w.history.list.item(0).text()
    engine.domain = {
        "in_domain": None,
        "score": None,
        "threshold": None,
        "reasons": ["the model has no domain calibration"],
    }
    _generate(qtbot, w)
    qtbot.waitUntil(w.domain_banner.isVisible, timeout=5000)
    assert w.domain_banner.text().startswith("Domain unknown")
    w.history.restoreRequested.emit(w.history.entry(1))  # back to the run the model knew
    assert not w.domain_banner.isVisible()


def test_the_demo_model_s_notice_is_always_in_the_status_bar(make_window, qtbot):
    w = make_window(engine=VerdictEngine(None))
    w.start()
    qtbot.waitUntil(w.model_notice.isVisible, timeout=10000)
    assert w.model_notice.text() == DEMO_NOTICE
    assert "phantoms" in w.model_notice.toolTip()
    w.model_notice.show_model(SimpleNamespace(path=Path("/nonexistent")))  # a model without a notice
    assert not w.model_notice.isVisible()


def test_a_ct_slice_is_refused_and_never_run(make_window, open_and_wait, qtbot):
    from pydicom.data import get_testdata_file

    engine = VerdictEngine(OUT)
    w = make_window(engine=engine)
    assert open_and_wait(w, Path(str(get_testdata_file("CT_small.dcm"))))  # the app still shows it
    assert w.domain_banner.isVisible() and "is a CT image" in w.domain_banner.text(), "said on opening"
    w.controls.set_settings(FAST)
    w.generate()
    assert w.last_error is not None and "is a CT image" in w.last_error
    qtbot.wait(200)
    assert engine.runs == 0 and not w.controller.busy and w.result is None


@pytest.mark.slow
def test_a_real_film_with_the_demo_model_gets_the_banner_end_to_end(
    make_window, open_and_wait, rg1_path, qtbot
):
    w = make_window(model_dir=demo_model_dir())
    assert open_and_wait(w, rg1_path)
    _generate(qtbot, w, timeout=120000)
    qtbot.waitUntil(w.domain_banner.isVisible, timeout=5000)
    assert w.result.record["domain"]["in_domain"] is False
    assert w.domain_banner.text().startswith(OUT_OF_DOMAIN)
    assert w.model_notice.isVisible() and w.model_notice.text() == DEMO_NOTICE
