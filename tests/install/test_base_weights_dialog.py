"""Model ▸ Get base weights… against the Hub stand-in: licence first, progress, cancel, install, one-sentence errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hub_stand_in import HubStandIn

from vald_desktop.core.engine import base_weights as bw

pytestmark = [pytest.mark.gui, pytest.mark.slow]  # the success path assembles a (tiny) model
UNET = "unet/diffusion_pytorch_model.safetensors"


@pytest.fixture
def dialog(qtbot, home: Path):
    from vald_desktop.gui.base_weights_dialog import BaseWeightsDialog

    d = BaseWeightsDialog()
    qtbot.addWidget(d)
    d.show()
    yield d
    d.shutdown()


def _resolves(hub: HubStandIn) -> list[str]:
    return [r["path"] for r in hub.requests if "/resolve/" in r["path"]]


def _left_behind(home: Path) -> list[Path]:
    """Every file under the models folder that is neither a finished download nor a resumable ``.part`` file."""
    downloads = home / ".downloads"
    return [p for p in home.rglob("*") if p.is_file() and not p.is_relative_to(downloads)]


def test_nothing_starts_until_the_licence_is_accepted(dialog, hub: HubStandIn, home: Path) -> None:
    assert "CreativeML OpenRAIL-M" in dialog.licence.toPlainText()
    assert "medical advice" in dialog.licence.toPlainText()
    assert not dialog.download_button.isEnabled()
    assert dialog.start() is False and not dialog.busy
    assert not hub.requests and not home.exists()
    dialog.accept_box.setChecked(True)
    assert dialog.download_button.isEnabled()


def test_progress_advances_and_the_verified_model_can_be_used(
    qtbot, dialog, hub: HubStandIn, home: Path
) -> None:
    from vald_desktop.core.engine.models import check_model_dir

    values: list[int] = []
    dialog.progress.valueChanged.connect(values.append)
    dialog.accept_box.setChecked(True)
    dialog.download_button.click()
    assert dialog.busy and dialog.cancel_button.isVisible() and not dialog.accept_box.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=120_000)
    model = home / bw.MODEL_NAME
    assert dialog.installed == model, dialog.status.text()
    check_model_dir(model)  # structure, safetensors only, every file matches its manifest
    assert str(model) in dialog.status.text()
    assert len(set(values)) > 3 and values == sorted(values) and values[-1] == dialog.progress.maximum()
    assert any(p.endswith(UNET) for p in _resolves(hub))
    assert not any((home / ".downloads").iterdir())  # the downloads went once the model was in
    assert not any((home / ".staging").rglob("*"))
    assert dialog.use_button.isVisible() and not dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog.useModel, timeout=2000) as used:
        dialog.use_button.click()
    assert used.args == [model]


def test_cancel_stops_the_download_and_installs_nothing_then_the_next_download_resumes(
    qtbot, dialog, hub: HubStandIn, home: Path
) -> None:
    release = threading.Event()
    hub.hold[f"{bw.SD_REPO}/{UNET}"] = release  # the UNet arrives half, then waits for the test
    dialog.accept_box.setChecked(True)
    dialog.start()
    qtbot.waitUntil(lambda: UNET in dialog.status.text() and dialog.progress.value() > 0, timeout=60_000)
    part = next((home / ".downloads").rglob("diffusion_pytorch_model.safetensors.part"))
    qtbot.waitUntil(lambda: part.stat().st_size > 0, timeout=10_000)
    dialog.cancel_button.click()
    assert "Cancelling" in dialog.status.text() and not dialog.cancel_button.isEnabled()
    release.set()  # the next bytes reach the download, which sees the cancel and stops
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert dialog.status.text().startswith("Cancelled.") and dialog.installed is None
    # Nothing half-written: no model folder, staged or final; the UNet stays a resumable .part, short of its size.
    assert not (home / bw.MODEL_NAME).exists() and not _left_behind(home)
    assert part.is_file() and not part.with_suffix("").exists()
    assert not any(p.name.endswith(".safetensors") and "unet" in p.parts for p in home.rglob("*"))
    assert dialog.download_button.isEnabled() and dialog.close_button.isVisible()
    # Download again: the UNet resumes from where it stopped and the model is installed.
    have = part.stat().st_size
    hub.reset()
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=120_000)
    assert dialog.installed == home / bw.MODEL_NAME, dialog.status.text()
    unet_gets = [r for r in hub.requests if r["path"].endswith(UNET) and r["method"] == "GET"]
    assert [r["range"] for r in unet_gets] == [f"bytes={have}-"]


def test_no_network_is_one_sentence_and_the_dialog_stays_usable(
    qtbot, dialog, home: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    dialog.accept_box.setChecked(True)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    text = dialog.status.text()
    assert "cannot be reached" in text and "\n" not in text and text.endswith(".")
    assert dialog.installed is None and not (home / bw.MODEL_NAME).exists()
    assert dialog.download_button.isEnabled()


def test_an_installed_model_is_offered_without_downloading(
    qtbot, hub: HubStandIn, home: Path, tiny_model_dir: Path
) -> None:
    import shutil

    from vald_desktop.gui.base_weights_dialog import BaseWeightsDialog

    shutil.copytree(tiny_model_dir, home / bw.MODEL_NAME)
    d = BaseWeightsDialog()
    qtbot.addWidget(d)
    assert d.installed == home / bw.MODEL_NAME and "Already installed" in d.status.text()
    assert d.use_button.isVisibleTo(d) and not d.download_button.isEnabled()
    d.accept_box.setChecked(True)
    assert d.start() is False and not hub.requests


def test_the_window_s_model_menu_opens_the_dialog_and_uses_the_model(
    qtbot, home: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from PySide6.QtCore import QSettings

    from vald_desktop.gui.main_window import MainWindow

    w = MainWindow(qsettings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    model_menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Model")
    assert "Get base weights…" in [a.text() for a in model_menu.actions()]
    w.base_weights_action.trigger()
    dialog = w.base_weights_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.installed = tiny_model_dir  # as after a download
    dialog._refresh()
    dialog.use_button.click()
    assert not dialog.isVisible() and w.runs.model_choice == tiny_model_dir
    assert w.controls.model_dir() == tiny_model_dir
    qtbot.waitUntil(lambda: w.runs.model_info is not None, timeout=120_000)
    w.close()
