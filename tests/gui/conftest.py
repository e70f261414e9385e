"""Fixtures for the desktop-app tests: a private QSettings file, a phantom film, the main window."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def qsettings(tmp_path: Path):
    """Settings in a temporary INI file, so tests never touch the user's own settings."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "vald-desktop-test.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def phantom_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256x256 phantom chest film with a large opacity in the patient's left lung."""
    from vald_phantoms.phantom import make_phantom

    ph = make_phantom(7, "lung_opacity", size=256, laterality="left")
    path = tmp_path_factory.mktemp("films") / "phantom-opacity-left.png"
    Image.fromarray((np.clip(ph.image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


class SlowEngine:
    """A stand-in engine with controllable step time, for cancel and stall tests that need a long run."""

    def __init__(self, steps: int = 40, step_s: float = 0.05) -> None:
        self.steps, self.step_s = steps, step_s
        self.runs = 0

    def load(self):
        return type(
            "Info", (), {"name": "slow-fake", "device": "cpu", "dtype": "float32", "native_size": 64}
        )()

    def run(self, image, settings, *, mask=None, progress=None, cancel=None, **_):
        from vald_desktop.core.base.errors import Cancelled
        from vald_desktop.core.engine.sampler import Progress, RunResult

        self.runs += 1
        t0 = time.monotonic()
        for i in range(1, self.steps + 1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            time.sleep(self.step_s)
            if progress is not None:
                el = time.monotonic() - t0
                progress(Progress(i, self.steps, el, el / i * (self.steps - i), None))
        cf = np.clip(image * 0.9, 0, 1).astype(np.float32)
        return RunResult(
            settings=settings, original=image, counterfactual=cf, counterfactuals=[cf], map=image - cf,
            map_std=None, mask=mask,
        )  # fmt: skip


@pytest.fixture
def slow_engine() -> SlowEngine:
    return SlowEngine()


@pytest.fixture
def make_window(qtbot, qsettings):
    """Build a MainWindow (with the given engine / model) shown on the offscreen platform; closed afterwards."""
    from vald_desktop.gui.main_window import MainWindow

    made = []

    def _make(**kwargs):
        kwargs.setdefault("qsettings", qsettings)
        w = MainWindow(**kwargs)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield _make
    for w in made:
        w.controller.shutdown()


@pytest.fixture
def no_threads_left():
    before = threading.active_count()
    yield
    assert threading.active_count() <= before + 1


@pytest.fixture
def open_and_wait(qtbot):
    """``open_and_wait(window, path)``: open a film or folder and wait until it is shown (True) or refused (False).

    Films are decoded off the GUI thread, so ``window.open_path`` returns before the film is on screen. Pass a
    callable instead of a path to wait for an open it starts (a drop, PgDown).
    """

    def _open(window, what, timeout_ms: int = 30000) -> bool:
        outcome: list[bool] = []
        loader = window.film_loader

        def loaded(_film) -> None:
            outcome.append(True)

        def failed(_sentence: str) -> None:
            outcome.append(False)

        # Connected after the window's own handlers: when these run, the window has already applied the film.
        loader.loaded.connect(loaded)
        loader.failed.connect(failed)
        try:
            if callable(what):
                what()
            elif not window.open_path(what):
                return False
            qtbot.waitUntil(lambda: bool(outcome), timeout=timeout_ms)
        finally:
            loader.loaded.disconnect(loaded)
            loader.failed.disconnect(failed)
        return outcome[-1]

    return _open
