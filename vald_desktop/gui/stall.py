"""Event-loop stall meter: how long the GUI thread is ever blocked while a film opens and while a run is in progress.

A precise timer ticks every ``interval_ms`` on the GUI thread in the real window; a stall is a gap between ticks
minus the interval. The phases are reported apart: opening the film (until it is shown), its automatic lung
outline (until drawn), the run (Generate until the result arrives) and drawing the result (until every panel
shows it). A responsive app stays well under 50 ms in each.

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.gui.worker import RunEngine


class _TickRecorder:
    def __init__(self) -> None:
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(time.perf_counter())

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000.0 for a, b in zip(self.times, self.times[1:], strict=False)]

    def count(self, start: float, end: float) -> int:
        """Ticks in (start, end]: each one is the event loop getting a turn."""
        return sum(1 for t in self.times if start < t <= end)

    def worst_ms(self, start: float, end: float, interval_ms: float) -> float:
        """The longest stall among the gaps that end in (start, end]: a stall belongs to the phase it ends in."""
        worst = 0.0
        for a, b in zip(self.times, self.times[1:], strict=False):
            if start < b <= end:
                worst = max(worst, (b - a) * 1000.0 - interval_ms)
        return round(worst, 2)


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

        def handed_over(self, *_: Any) -> None:
            """Runs on the worker thread the moment it hands the result over: the run ends, drawing begins."""
            self.done.setdefault("finished_at", time.perf_counter())

        def lungs(self, *_: Any) -> None:
            self.done.setdefault("lungs", True)

        def failed(self, sentence: str) -> None:
            self.done.setdefault("outcome", ("failed", (sentence,)))

        def cancelled(self) -> None:
            self.done.setdefault("outcome", ("cancelled", ()))

    return Events


def _Events() -> Any:  # noqa: N802 - a factory so PySide6 is imported only when measuring
    return _events_class()()


def _ensure_app() -> QApplication:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(["vald-stall"])


def sample_film(folder: Path) -> Path:
    """A phantom film when the caller gives none (no patient data needed to measure responsiveness)."""
    from PIL import Image

    from vald_phantoms.phantom import make_phantom

    ph = make_phantom(7, "lung_opacity", size=256, laterality="left")
    path = folder / "stall-phantom.png"
    Image.fromarray((ph.image.clip(0, 1) * 255 + 0.5).astype("uint8")).save(path)
    return path


def _wait(done: dict[str, Any], key: str, timeout_s: float) -> bool:
    """Run a real event loop (as ``app.exec`` would) until ``key`` appears in ``done`` or the time is up."""
    return _wait_until(lambda: key in done, timeout_s)


def _wait_until(ready: Callable[[], bool], timeout_s: float) -> bool:
    """Run a real event loop until ``ready()`` is true or the time is up."""
    from PySide6.QtCore import QEventLoop, QTimer

    if ready():
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    poll = QTimer()
    poll.setInterval(10)

    def check() -> None:
        if ready() or time.monotonic() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    return bool(ready())


def measure_stall(
    film: str | Path | None = None,
    model_dir: str | Path | None = None,
    *,
    settings: RunSettings | None = None,
    engine: RunEngine | None = None,
    interval_ms: int = 5,
    timeout_s: float = 600.0,
    open_only: bool = False,
) -> dict[str, Any]:
    """Open ``film`` and run one Generate in the main window; report the worst GUI-thread stalls (ms).

    ``worst_stall_ms`` is the worst during the run and the drawing of its result (``run_stall_ms`` and
    ``result_stall_ms`` apart); ``open_stall_ms`` covers opening the film (``open_s`` long, ``open_ticks`` turns of
    the event loop) and ``outline_stall_ms`` its lung outline (``outline_s``). ``settings`` defaults to a short run
    without a mask; ``engine`` may replace the real one; ``open_only`` stops after the film's outline is shown.
    """
    app = _ensure_app()
    from PySide6.QtCore import QSettings, Qt, QTimer

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.gui.main_window import MainWindow

    report: dict[str, Any] = {"interval_ms": interval_ms}
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
        w.mask_ready.connect(events.lungs, queued)
        w.mask_failed.connect(events.lungs, queued)
        ticks = _TickRecorder()
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(interval_ms)
        timer.timeout.connect(ticks.tick)
        try:
            _wait_until(lambda: False, 0.2)  # let the window settle before the clock starts
            timer.start()
            ticks.tick()
            t_open = time.perf_counter()
            started = window.open_path(Path(film) if film else sample_film(Path(tmp)))
            loader = window.film_loader
            if not started or not _wait_until(lambda: not loader.busy, timeout_s):
                raise RuntimeError(window.last_error or "the film could not be opened")
            if window.film is None:
                raise RuntimeError(window.last_error or "the film could not be opened")
            app.processEvents()
            ticks.tick()
            t_shown = time.perf_counter()
            report["open_s"] = round(t_shown - t_open, 3)
            report["open_stall_ms"] = ticks.worst_ms(t_open, t_shown, interval_ms)
            report["open_ticks"] = ticks.count(t_open, t_shown)
            report["film_shape"] = list(window.film.shape)
            # The automatic lung outline follows (found in the helper process, drawn on the GUI thread).
            if _wait(done, "lungs", min(timeout_s, 60.0)):
                app.processEvents()
                ticks.tick()
                t_outlined = time.perf_counter()
                report["outline_s"] = round(t_outlined - t_shown, 3)
                report["outline_stall_ms"] = ticks.worst_ms(t_shown, t_outlined, interval_ms)
            if open_only:
                return report

            t_load = time.perf_counter()
            window.start()
            if not _wait(done, "model", timeout_s) or isinstance(done["model"], str):
                raise RuntimeError(f"the model did not load: {done.get('model', 'timeout')}")
            load_s = time.perf_counter() - t_load
            window.controls.set_settings(settings or RunSettings(steps=20, mask_mode="none"))

            steps = events.steps
            w.progress.connect(events.progress, queued)
            w.finished.connect(events.finished, queued)
            w.worker.finished.connect(events.handed_over, Qt.ConnectionType.DirectConnection)
            w.failed.connect(events.failed, queued)
            w.cancelled.connect(events.cancelled, queued)
            _wait_until(lambda: False, 0.05)
            ticks.tick()
            t0 = time.perf_counter()
            window.generate()
            finished = _wait(done, "outcome", timeout_s)
            run_s = time.perf_counter() - t0
            t_result = done.get("finished_at", time.perf_counter())
            # The result is drawn on the GUI thread, large films partly from a pool thread: count all of it.
            app.processEvents()
            drawn = _wait_until(lambda: not window.view.drawing, timeout_s)
            app.processEvents()
            ticks.tick()
            t_drawn = time.perf_counter()
            timer.stop()
        finally:
            timer.stop()
            window.close()
            window.deleteLater()
    outcome = done.get("outcome", ("timeout", ()))
    run_stall = ticks.worst_ms(t0, t_result, interval_ms)
    result_stall = ticks.worst_ms(t_result, t_drawn, interval_ms)
    gaps = [g for a, g in zip(ticks.times, ticks.gaps_ms(), strict=False) if a >= t0]
    report.update(
        {
            "worst_stall_ms": max(run_stall, result_stall),
            "run_stall_ms": run_stall,
            "result_stall_ms": result_stall,
            "result_draw_s": round(t_drawn - t_result, 3) if drawn else None,
            "mean_tick_ms": round(sum(gaps) / len(gaps), 3) if gaps else None,
            "ticks": len(gaps),
            "run_s": round(run_s, 3),
            "model_load_s": round(load_s, 3),
            "progress_events": len(steps),
            "outcome": outcome[0] if finished else "timeout",
            "error": outcome[1][0] if outcome[0] == "failed" and outcome[1] else None,
        }
    )
    return report


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
    p.add_argument("--open-only", action="store_true", help="measure opening the film only (no model needed)")
    args = p.parse_args(argv)
    from vald_desktop.core.base.settings import RunSettings

    report = measure_stall(
        args.film,
        args.model,
        settings=RunSettings(steps=args.steps, mask_mode="none"),
        interval_ms=args.interval_ms,
        open_only=args.open_only,
    )
    print(json.dumps(report, indent=2))
    return 0 if args.open_only or report["outcome"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
