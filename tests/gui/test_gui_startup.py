"""Start-up: the window is on screen before torch/diffusers are imported; About and Help say what they must."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

_PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QSettings, QTimer
    from vald_desktop.gui.app import create_app, launch
    app = create_app()
    w = launch(sys.argv[1], sys.argv[2], qsettings=QSettings(sys.argv[3], QSettings.Format.IniFormat))
    out = {"visible": w.isVisible(), "heavy_at_show": sorted(m for m in ("torch", "diffusers", "transformers")
           if m in sys.modules)}
    def done(*_):
        out["heavy_after_load"] = sorted(m for m in ("torch", "diffusers") if m in sys.modules)
        app.quit()
    w.controller.model_loaded.connect(done)
    w.controller.model_failed.connect(lambda s: (out.setdefault("error", s), done()))
    QTimer.singleShot(120000, app.quit)
    app.exec()
    out["film"] = w.film.source if w.film is not None else None
    print("RESULT" + json.dumps(out))
    """
)


@pytest.mark.slow
def test_window_is_shown_before_torch_and_diffusers_are_imported(tiny_model_dir, phantom_png, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(phantom_png), str(tiny_model_dir), str(tmp_path / "s.ini")],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line, f"the app did not start: {proc.stderr[-2000:]}"
    out = json.loads(line[len("RESULT") :])
    assert out["visible"], "the main window was not shown"
    assert out["heavy_at_show"] == [], f"imported before the window was up: {out['heavy_at_show']}"
    assert "error" not in out, out.get("error")
    assert out["heavy_after_load"] == ["diffusers", "torch"], "the model was not loaded in the background"
    assert out["film"] == phantom_png.name


def test_about_says_research_use_only(make_window):
    from vald_desktop.gui.dialogs import about_box

    w = make_window()
    box = about_box(w)
    assert "research use only" in box.text().lower() and "not for diagnosis" in box.text().lower()


def test_help_lists_every_shortcut_bound_in_the_window(make_window):
    from vald_desktop.gui.dialogs import HelpDialog
    from vald_desktop.gui.shortcuts import SHORTCUTS

    w = make_window()
    dlg = HelpDialog(w)
    keys_in_help = {dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())}
    for sc in SHORTCUTS:
        assert ", ".join(sc.keys) in keys_in_help
        bound = [s.toString() for s in w.actions_by_name[sc.action].shortcuts()]
        assert bound, f"{sc.action} has no key bound"
    for radiology_key in ("I", "Space", "=", "1", "5", "Esc", "Ctrl+Return"):
        assert any(radiology_key in k.split(", ") for k in keys_in_help), radiology_key
