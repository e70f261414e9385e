"""``vald-desktop --selftest``: the checks of ``vald doctor`` plus the app's own (Qt application and main window).

No window appears: unless ``QT_QPA_PLATFORM`` says otherwise the offscreen platform is used, the window is
built, shown, given one turn of the event loop and closed. Its settings live in a temporary file, so the user's
own settings are never touched. Same report and exit codes as ``vald doctor`` (0 all passed, 2 otherwise).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.selftest.state import Check, SelfTest

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication


def window_check(create_app: Callable[[], QApplication]) -> Check:
    """The app's own check; ``create_app`` is the app's (its name, organisation and theme)."""
    return ("window", lambda state: _check_window(state, create_app))


def _check_window(state: SelfTest, create_app: Callable[[], QApplication]) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QSettings, qInstallMessageHandler, qVersion

    from vald_desktop.gui.main_window import MainWindow

    # Qt's own notes (the offscreen platform lacks window-manager features) belong in the report, not on stderr.
    notes: list[str] = []
    previous = qInstallMessageHandler(lambda kind, context, message: notes.append(message))
    try:
        app = create_app()
        with tempfile.TemporaryDirectory(prefix="vald-selftest-") as tmp:
            qs = QSettings(str(Path(tmp) / "selftest.ini"), QSettings.Format.IniFormat)
            window = MainWindow(model_dir=state.model_dir or state.model, qsettings=qs)
            window.show()
            app.processEvents()
            shown = window.isVisible()
            window.close()
            window.deleteLater()
            app.processEvents()
    finally:
        qInstallMessageHandler(previous)
    if not shown:
        raise RuntimeError(f"the main window did not show ({'; '.join(notes) or 'Qt said nothing'})")
    return f"Qt {qVersion()} / PySide6 {pyside_version} on the {app.platformName()} platform: main window built and closed"


def helper_check() -> Check:
    """The film helper process: spawned (in a bundle, by re-running the executable), it must answer a job."""
    return ("helper process", _check_helper)


def _check_helper(state: SelfTest) -> str:
    import multiprocessing
    import time

    from vald_desktop.gui.helper_process import run_in_helper, use_process

    if not use_process():
        return "off (VALD_HELPER_PROCESS=0): films are decoded on threads of the app"
    t0 = time.perf_counter()
    pid = run_in_helper(os.getpid)
    if pid == os.getpid():
        raise RuntimeError("the job ran in the app's own process, not in the helper")
    how = "the bundle's executable" if getattr(sys, "frozen", False) else "Python"
    return (
        f"{multiprocessing.get_context('spawn').get_start_method()} start of {how}: process {pid} answered in "
        f"{time.perf_counter() - t0:.1f} s"
    )


def run(model: str | None, create_app: Callable[[], QApplication]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # read when the application is created
    from vald_desktop.selftest.runner import (
        EXIT_FAILED,
        failure_sentence,
        format_line,
        header,
        run_selftest,
        summary,
    )

    print(header("vald-desktop --selftest"), flush=True)
    results = run_selftest(
        model,
        extra=[window_check(create_app), helper_check()],
        on_result=lambda r: print(format_line(r), flush=True),
    )
    print(summary(results), flush=True)
    failed = failure_sentence(results)
    if failed:
        print(f"error: {failed}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    return 0
