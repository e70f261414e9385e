"""``vald-desktop``: start the window first, then load the model in the background.

torch and diffusers take seconds to import; they are imported by the worker thread after the window is shown,
so the radiologist sees the film at once and a status message while the model loads.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from vald_desktop.core.base.package_data import data_path
from vald_desktop.gui.main_window import APPLICATION, ORGANISATION, MainWindow
from vald_desktop.gui.theme import apply_dark_theme


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vald-desktop", description="VALD-MD Desktop")
    parser.add_argument(
        "film", nargs="?", help="a film (DICOM, PNG, JPEG, TIFF) or a folder of films to open"
    )
    parser.add_argument("--model", help="model folder (default: $VALD_MODEL, then the embedded demo model)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="check the installation without showing a window (as 'vald doctor', plus the window); exit 0 if all passed",
    )
    parser.add_argument(
        "--quit-after-show",
        action="store_true",
        help="show the window and close it at once, loading no model and saving no settings (start-up timing)",
    )
    return parser.parse_args(argv)


def create_app(argv: Sequence[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("vald-desktop")  # ties the window to packaging/vald-desktop.desktop (and its icon)
    icon = data_path("resources", "vald-desktop.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    apply_dark_theme(app)
    return app


def launch(
    film: str | Path | None = None, model: str | Path | None = None, *, qsettings: QSettings | None = None
) -> MainWindow:
    """Show the window, then (on the next event-loop turn) open the film and start loading the model.

    ``qsettings``: where the window keeps its state (default: the user's own settings).
    """
    window = MainWindow(model_dir=model, qsettings=qsettings)
    window.show()
    if film:
        QTimer.singleShot(0, lambda: window.open_path(Path(film)))
    QTimer.singleShot(0, window.start)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    # In a frozen bundle the film helper process is this executable run again: it does its job here and exits.
    # (The bundle's entry point calls it earlier still, before the heavy imports; outside a bundle it does nothing.)
    multiprocessing.freeze_support()
    started = time.perf_counter()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    if args.selftest:
        from vald_desktop.gui import selftest_window

        return selftest_window.run(args.model, create_app)
    app = create_app()
    if args.quit_after_show:
        return _show_and_quit(app, args.model, started)
    window = launch(args.film, args.model)
    code = app.exec()
    del window
    return int(code)


def _show_and_quit(app: QApplication, model: str | None, started: float) -> int:
    """``--quit-after-show``: the window as a user first sees it, closed once it is on screen; settings in a temp file."""
    with tempfile.TemporaryDirectory(prefix="vald-start-") as tmp:
        qs = QSettings(str(Path(tmp) / "start.ini"), QSettings.Format.IniFormat)
        window = MainWindow(model_dir=model, qsettings=qs)
        window.show()
        QTimer.singleShot(0, window.close)  # after the show and paint events already queued
        code = app.exec()
        print(f"window shown and closed {time.perf_counter() - started:.2f} s after main() began", flush=True)
        del window
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
