"""Event-loop stall meter: how long the GUI thread is ever blocked while a run is in progress.

A precise timer ticks every ``interval_ms`` on the GUI thread during a real Generate in the real window; the
worst stall is the longest gap between ticks minus the interval. A responsive app stays well under 50 ms.

``measure_stall(...)`` returns a dict (what ``vald bench`` records); ``python -m vald_desktop.gui.stall`` prints
it as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class _TickRecorder:
    def __init__(self) -> None:
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(time.perf_counter())

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000.0 for a, b in zip(self.times, self.times[1:], strict=False)]


def _events_class() -> type:
    from PySide6.QtCore import QObject

    class Events(QObject):
        """Receives the worker's signals on the GUI thread (queued), like the window does."""

        def __init__(self) -> None:
            super().__init__()
            self.done: dict[str, Any] = {}
            self.steps: list[int] = []

        def model(self, info: Any) -> None:
            self.done.setdefault("model", info)

        def progress(self, step: int, total: int, eta: float) -> None:
            self.steps.append(step)

        def finished(self, result: Any) -> None:
            self.done.setdefault("outcome", ("finished", (result,)))

        def failed(self, sentence: str) -> None:
            self.done.setdefault("outcome", ("failed", (sentence,)))

        def cancelled(self) -> None:
            self.done.setdefault("outcome", ("cancelled", ()))

    return Events


def _Events() -> Any:  # noqa: N802 - a factory so PySide6 is imported only when measuring
    return _events_class()()


def _ensure_app() -> Any:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["vald-stall"])


def _sample_film(folder: Path) -> Path:
    """A phantom film when the caller gives none (no patient data needed to measure responsiveness)."""
    from PIL import Image

    from ..core.phantoms import make_phantom

    ph = make_phantom(7, "lung_opacity", size=256, laterality="left")
    path = folder / "stall-phantom.png"
    Image.fromarray((ph.image.clip(0, 1) * 255 + 0.5).astype("uint8")).save(path)
    return path


def _wait(app: Any, done: dict[str, Any], key: str, timeout_s: float) -> bool:
    """Run a real event loop (as ``app.exec`` would) until ``key`` appears in ``done`` or the time is up."""
    from PySide6.QtCore import QEventLoop, QTimer

    if key in done:
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(lambda: (key in done or time.monotonic() > deadline) and loop.quit())
    poll.start()
    loop.exec()
    poll.stop()
    return key in done


def measure_stall(
    film: str | Path | None = None,
    model_dir: str | Path | None = None,
    *,
    settings: Any = None,
    engine: Any = None,
    interval_ms: int = 5,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Run one Generate in the main window and report the worst GUI-thread stall (ms) during it.

    ``settings`` (a ``RunSettings``) defaults to a short run without a mask; ``engine`` may replace the real one.
    """
    app = _ensure_app()
    from PySide6.QtCore import QSettings, Qt, QTimer

    from ..core.settings import RunSettings
    from .main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="vald-stall-") as tmp:
        qs = QSettings(str(Path(tmp) / "stall.ini"), QSettings.Format.IniFormat)
        window = MainWindow(engine=engine, model_dir=model_dir, qsettings=qs)
        window.show()
        events = _Events()
        done = events.done
        w = window.controller  # relays the worker's signals on the GUI thread
        queued = Qt.ConnectionType.QueuedConnection
        w.model_loaded.connect(events.model, queued)
        w.model_failed.connect(events.model, queued)
        try:
            if not window.open_path(Path(film) if film else _sample_film(Path(tmp))):
                raise RuntimeError(window.last_error or "the film could not be opened")
            t_load = time.perf_counter()
            window.start()
            if not _wait(app, done, "model", timeout_s) or isinstance(done["model"], str):
                raise RuntimeError(f"the model did not load: {done.get('model', 'timeout')}")
            load_s = time.perf_counter() - t_load
            window.controls.set_settings(settings or RunSettings(steps=20, mask_mode="none"))

            ticks = _TickRecorder()
            timer = QTimer()
            timer.setTimerType(Qt.TimerType.PreciseTimer)
            timer.setInterval(interval_ms)
            timer.timeout.connect(ticks.tick)
            steps = events.steps
            w.progress.connect(events.progress, queued)
            w.finished.connect(events.finished, queued)
            w.failed.connect(events.failed, queued)
            w.cancelled.connect(events.cancelled, queued)
            timer.start()
            ticks.tick()
            t0 = time.perf_counter()
            window.generate()
            finished = _wait(app, done, "outcome", timeout_s)
            run_s = time.perf_counter() - t0
            app.processEvents()  # the result is drawn on the GUI thread: count that too
            ticks.tick()
            timer.stop()
        finally:
            window.close()
            window.deleteLater()
    gaps = ticks.gaps_ms()
    outcome = done.get("outcome", ("timeout", ()))
    return {
        "worst_stall_ms": round(max((g - interval_ms for g in gaps), default=0.0), 2),
        "mean_tick_ms": round(sum(gaps) / len(gaps), 3) if gaps else None,
        "ticks": len(gaps),
        "interval_ms": interval_ms,
        "run_s": round(run_s, 3),
        "model_load_s": round(load_s, 3),
        "progress_events": len(steps),
        "outcome": outcome[0] if finished else "timeout",
        "error": outcome[1][0] if outcome[0] == "failed" and outcome[1] else None,
    }


def worst_stall_ms(
    film: str | Path | None = None, model_dir: str | Path | None = None, **kwargs: Any
) -> float:
    """Just the number: the worst event-loop stall in milliseconds during one run."""
    return float(measure_stall(film, model_dir, **kwargs)["worst_stall_ms"])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vald_desktop.gui.stall", description=__doc__.splitlines()[0])
    p.add_argument("film", nargs="?", help="film to run on (default: a phantom)")
    p.add_argument("--model", help="model folder (default: $VALD_MODEL, then the demo model)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--interval-ms", type=int, default=5)
    args = p.parse_args(argv)
    from ..core.settings import RunSettings

    report = measure_stall(
        args.film,
        args.model,
        settings=RunSettings(steps=args.steps, mask_mode="none"),
        interval_ms=args.interval_ms,
    )
    print(json.dumps(report, indent=2))
    return 0 if report["outcome"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
