"""Cooperative cancel: the run stops within one UNet step and raises Cancelled; the engine stays usable."""

from __future__ import annotations

import threading

import pytest
from engine_helpers import count_forward

from vald_desktop.core.base.errors import Cancelled
from vald_desktop.core.base.settings import RunSettings


def test_cancel_stops_within_one_step(engine, film):
    cancel = threading.Event()

    def on_progress(p):
        if p.step == 2:
            cancel.set()

    with count_forward(engine.pipe.unet) as calls, pytest.raises(Cancelled):
        engine.run(
            film, RunSettings(steps=20, strength=1.0, preview_every=0), progress=on_progress, cancel=cancel
        )
    assert calls[0] == 3, f"cancel took {calls[0] - 2} extra UNet calls instead of at most one"


def test_cancel_set_before_the_run_does_no_model_work(engine, film):
    cancel = threading.Event()
    cancel.set()
    with count_forward(engine.pipe.unet) as calls, pytest.raises(Cancelled):
        engine.run(film, RunSettings(steps=10, strength=0.5), cancel=cancel)
    assert calls[0] == 0


def test_cancel_from_another_thread_then_run_again(engine, film):
    cancel = threading.Event()
    started = threading.Event()

    def on_progress(p):
        started.set()
        cancel.wait(timeout=5)

    threading.Thread(target=lambda: (started.wait(5), cancel.set()), daemon=True).start()
    with pytest.raises(Cancelled):
        engine.run(
            film, RunSettings(steps=20, strength=1.0, preview_every=0), progress=on_progress, cancel=cancel
        )
    result = engine.run(film, RunSettings(steps=6, strength=0.5, preview_every=0))
    assert result.counterfactual.shape == film.shape
