"""Screenshots of the main window for the README: before a run and after it, with the overlay.

``python -m vald_desktop.gui.screenshots docs`` (``make screenshots`` runs it under Xvfb) opens the bundled sample
film with the default model, grabs the window, generates, and grabs it again; then the result in a 1×1 swipe view,
and an opacity induced only inside a disc painted as the edit region; then the same run on a real chest film the
demo model never saw (its domain banner over the result panels). Settings are kept in a temporary file so the
user's own settings are never touched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vald_desktop.core.films.samples import sample_film_path

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from vald_desktop.core.base.settings import RunSettings

SAMPLE = sample_film_path()
SIZE = (1600, 1000)


def _save(widget: QWidget, path: Path) -> Path:
    from PySide6.QtGui import QImageWriter

    from vald_desktop.core.base.atomic import atomic_path

    image = widget.grab().toImage()
    with atomic_path(path) as tmp:
        # A writer with the format named: the temporary name's suffix says nothing about it.
        if not QImageWriter(str(tmp), b"PNG").write(image):
            raise OSError(f"cannot write {path}")
    return path


def _pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _settle(app: QApplication, window: Any, deadline: float) -> None:
    """Pump until the result's colour bar and lung statistics (computed on a pool thread) are on screen."""
    reader = window.reading.reader
    while time.monotonic() < deadline:
        current = reader.current
        if current is not None and current.result is window.result:
            break
        _pump(app, 0.1)
    _pump(app, 0.5)


def _film(folder: Path) -> Path:
    if SAMPLE.is_file():
        return SAMPLE
    from vald_desktop.gui.stall import sample_film

    return sample_film(folder)


def take(
    out: Path, film: Path | None = None, model: str | None = None, settings: RunSettings | None = None
) -> list[Path]:
    """Write ``screenshot-start.png``, ``screenshot-result.png`` and, with pydicom-data installed,
    ``screenshot-out-of-domain.png`` (a real film, the domain banner) into ``out``; returns their paths."""
    from PySide6.QtCore import QSettings

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.gui.app import create_app
    from vald_desktop.gui.main_window import MainWindow

    app = create_app()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vald-shots-") as tmp:
        qs = QSettings(str(Path(tmp) / "shots.ini"), QSettings.Format.IniFormat)
        window = MainWindow(model_dir=model, qsettings=qs)
        window.resize(*SIZE)
        window.show()
        done: dict[str, Any] = {}
        c = window.controller
        c.model_loaded.connect(lambda info: done.setdefault("model", info))
        c.model_failed.connect(lambda s: done.setdefault("error", s))
        c.finished.connect(lambda r: done.setdefault("result", r))
        c.failed.connect(lambda s: done.setdefault("error", s))
        try:
            if not window.open_path(film or _film(Path(tmp))):
                raise SystemExit(f"error: {window.last_error}")
            window.start()
            deadline = time.monotonic() + 600
            while "model" not in done and "error" not in done and time.monotonic() < deadline:
                _pump(app, 0.1)
            if "error" in done:
                raise SystemExit(f"error: {done['error']}")
            _pump(app, 1.0)  # let the automatic lung mask arrive so its outline is in the picture
            window.controls.set_settings(
                settings or RunSettings(steps=50, strength=0.6, guidance=4.0, seed=3)
            )
            _pump(app, 0.3)
            shots = [_save(window, out / "screenshot-start.png")]
            window.generate()
            while "result" not in done and "error" not in done and time.monotonic() < deadline:
                _pump(app, 0.1)
            if "error" in done:
                raise SystemExit(f"error: {done['error']}")
            _settle(app, window, deadline)
            shots.append(_save(window, out / "screenshot-result.png"))
            shots += _reading_room(app, window, done, out, deadline)
            real = _real_film()
            if real is not None:  # a film the model does not know: the banner over the result panels
                done.pop("result", None)
                shots.append(_out_of_domain(app, window, real, done, out, deadline))
        finally:
            window.close()
    return shots


def _reading_room(
    app: QApplication, window: Any, done: dict[str, Any], out: Path, deadline: float
) -> list[Path]:
    """``screenshot-swipe.png`` (the result in 1×1 with the swipe curtain) and ``screenshot-region.png`` (an opacity
    induced in the patient's right lung, confined to a painted disc)."""
    room = window.reading
    room.layout.set_layout("1x1")
    room.comparison.set_swipe(True)
    room.comparison.set_position(0.7)  # the counterfactual over part of the opacity, the film beside it
    _pump(app, 0.5)
    shots = [_save(window, out / "screenshot-swipe.png")]
    room.comparison.set_swipe(False)
    room.layout.set_layout("1x3")
    lung = window.auto_mask
    if lung is None:
        return shots
    from scipy.ndimage import distance_transform_edt

    depth = distance_transform_edt(lung.right)  # the patient's right lung: the image left
    y, x = divmod(int(depth.argmax()), depth.shape[1])
    region = room.region
    region.brush_size.setValue(max(4, int(0.6 * depth[y, x])))  # a disc well inside that lung
    region.brush.setChecked(True)
    region.stroke_start(float(x), float(y))
    region.stroke_end()
    region.brush.setChecked(False)
    settings = window.controls.settings()
    window.controls.set_settings(settings.replace(prompt="large lung opacity on the right"))
    done.pop("result", None)
    window.generate()
    while "result" not in done and "error" not in done and time.monotonic() < deadline:
        _pump(app, 0.1)
    if "error" in done:
        raise SystemExit(f"error: {done['error']}")
    _settle(app, window, deadline)
    shots.append(_save(window, out / "screenshot-region.png"))
    region.clear()
    window.controls.set_settings(settings)
    return shots


def _real_film() -> Path | None:
    """RG1_UNCI.dcm, a real CR chest film from the pydicom-data wheel, when it is installed."""
    try:
        from pydicom.data import get_testdata_file

        found = get_testdata_file("RG1_UNCI.dcm")
    except Exception:  # no pydicom-data, or no network to fetch it: the third screenshot is skipped
        return None
    return Path(str(found)) if found else None


def _out_of_domain(
    app: QApplication, window: Any, film: Path, done: dict[str, Any], out: Path, deadline: float
) -> Path:
    """``screenshot-out-of-domain.png``: the same settings on a real film, which the demo model never saw."""
    if not window.open_path(film):
        raise SystemExit(f"error: {window.last_error}")
    while (window.film is None or window.film.source != film.name) and time.monotonic() < deadline:
        _pump(app, 0.1)
    _pump(app, 2.0)  # the automatic lung mask of a 2k film
    window.generate()
    while "result" not in done and "error" not in done and time.monotonic() < deadline:
        _pump(app, 0.1)
    if "error" in done:
        raise SystemExit(f"error: {done['error']}")
    _settle(app, window, deadline)
    return _save(window, out / "screenshot-out-of-domain.png")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vald_desktop.gui.screenshots", description=__doc__.splitlines()[0]
    )
    p.add_argument("out", nargs="?", default="docs", help="folder for the PNGs (default: docs)")
    p.add_argument("--film", help="film to show (default: the bundled sample)")
    p.add_argument("--model", help="model folder (default: $VALD_MODEL, then the demo model)")
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args(argv)
    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.models import recommended_settings, resolve_model_dir

    shots = take(
        Path(args.out),
        Path(args.film) if args.film else None,
        args.model,
        # What the model folder recommends (the demo model: DDIM-inverted start, lungs only, guidance on half the steps).
        RunSettings(steps=args.steps, strength=0.6, guidance=4.0, seed=3).replace(
            **recommended_settings(resolve_model_dir(args.model))
        ),
    )
    for s in shots:
        print(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
