"""The event loop keeps running while a run is in progress (loose bound; `python -m vald_desktop.gui.stall`
prints the measured number)."""

from __future__ import annotations

import pytest

from vald_desktop.core.settings import RunSettings

pytestmark = pytest.mark.gui


def test_gui_thread_never_stalls_long_during_a_run(qapp, tiny_model_dir, phantom_png):
    from vald_desktop.gui.stall import measure_stall

    report = measure_stall(phantom_png, tiny_model_dir, settings=RunSettings(steps=20, mask_mode="none"))
    assert report["outcome"] == "finished", report
    assert report["progress_events"] >= 10
    assert report["ticks"] > 20, "the timer hardly ticked: the event loop was blocked"
    assert report["worst_stall_ms"] < 500, f"the window froze for {report['worst_stall_ms']} ms during a run"


def test_stall_meter_sees_a_blocked_event_loop(qapp, phantom_png):
    """The meter must be able to fail: an engine whose progress callback blocks the GUI thread is caught."""
    import time

    from PySide6.QtCore import QObject, Qt, Signal

    from vald_desktop.gui.stall import measure_stall

    class Blocker(QObject):
        poke = Signal()

        def block(self) -> None:
            time.sleep(0.3)  # runs on the GUI thread

    blocker = Blocker()
    blocker.poke.connect(blocker.block, Qt.ConnectionType.QueuedConnection)

    class BlockingEngine:
        def load(self):
            return type("Info", (), {"name": "blocking", "device": "cpu", "dtype": "float32"})()

        def run(self, image, settings, *, mask=None, progress=None, cancel=None, **_):
            from vald_desktop.core.sampler import RunResult

            blocker.poke.emit()
            time.sleep(0.6)
            return RunResult(settings, image, image, image, [image], image * 0, None, None, {})

    report = measure_stall(
        phantom_png, engine=BlockingEngine(), settings=RunSettings(steps=5, mask_mode="none")
    )
    assert report["outcome"] == "finished"
    assert report["worst_stall_ms"] >= 250


def test_opening_a_2k_jpeg2000_film_never_freezes_the_window(qapp, pydicom_data_dir):
    """RG1_J2KR.dcm takes about a second to decode; decoded on the GUI thread it froze the window that long."""
    from vald_desktop.gui.stall import measure_stall

    report = measure_stall(pydicom_data_dir / "RG1_J2KR.dcm", open_only=True)
    assert report["film_shape"] == [1955, 1841]
    assert report["open_stall_ms"] < 300, f"the window froze for {report['open_stall_ms']} ms opening a film"
