"""Window state, last settings, overlay style and recent files survive a restart (in a private QSettings file)."""

from __future__ import annotations

import json

import pytest

from vald_desktop.core.base.settings import RunSettings

pytestmark = pytest.mark.gui


def test_last_settings_and_recent_files_come_back_after_restart(
    open_and_wait, make_window, qsettings, phantom_png
):
    w = make_window()
    assert open_and_wait(w, phantom_png)
    chosen = RunSettings(prompt="cardiomegaly", negative_prompt="carcinoma", strength=0.8, guidance=7.5,
                         guidance_until=0.4, steps=30, scheduler="ddim", seed=1234, seeds=2,
                         mask_mode="none", edit_floor=0.02)  # fmt: skip
    w.controls.set_settings(chosen)
    w.overlay_controls.set_values({"mode": "abs", "opacity": 0.3, "threshold": 0.2})
    w.close()

    again = make_window(qsettings=qsettings)
    assert again.controls.settings() == chosen
    assert again.overlay_controls.values() == {"mode": "abs", "opacity": 0.3, "threshold": 0.2}
    assert again.recent and again.recent[0].endswith(phantom_png.name)
    assert [a.text() for a in again.recent_menu.actions()] == [phantom_png.name]
    assert not again.metadata_dock.isVisible(), "the metadata panel must start hidden"


def test_corrupt_stored_settings_fall_back_to_defaults(make_window, qsettings):
    qsettings.setValue("run/settings", '{"strength": 7}')
    qsettings.setValue("view/overlay", "not json")
    w = make_window(qsettings=qsettings)
    assert w.controls.settings() == RunSettings()


def test_the_window_keeps_its_state_in_the_settings_it_is_given_never_the_users(
    make_window, qsettings, tmp_path
):
    # Tests (and the stall meter, the screenshots) hand the window a private file; what it saves goes there,
    # and the user's own settings file is neither written nor created.
    from PySide6.QtCore import QSettings, QStandardPaths

    user_config = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    users = tmp_path / "user-config"  # stands in for the user's configuration folder while the window lives
    formats = (QSettings.Format.NativeFormat, QSettings.Format.IniFormat)
    for fmt in formats:
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(users))
    try:
        w = make_window(qsettings=qsettings)
        chosen = RunSettings(prompt="cardiomegaly", strength=0.7, seed=99)
        w.controls.set_settings(chosen)
        w.save_state()
        w.close()
    finally:
        for fmt in formats:
            QSettings.setPath(fmt, QSettings.Scope.UserScope, user_config)
    assert not users.exists() or not any(users.rglob("*")), "the window wrote the user's own settings"
    saved = QSettings(qsettings.fileName(), QSettings.Format.IniFormat).value("run/settings", "")
    assert saved, "the window saved nothing in the settings it was given"
    assert RunSettings.from_dict(json.loads(str(saved))) == chosen


def test_first_start_uses_the_model_s_recommended_settings_and_later_ones_the_user_s(
    make_window, qsettings, tmp_path
):
    # With no settings of their own yet, a user sees the settings the model folder recommends (the demo model's
    # inverted, lung-confined run); once they have chosen, their choice comes back instead.
    import json

    model = tmp_path / "model"
    model.mkdir()
    (model / "vald-settings.json").write_text(
        json.dumps({"recommended": {"noise": "inverted", "confine_to_mask": True}})
    )
    w = make_window(qsettings=qsettings, model_dir=model)
    assert w.controls.settings() == RunSettings(noise="inverted", confine_to_mask=True)
    w.controls.set_settings(RunSettings(noise="random", strength=0.7))
    w.close()
    again = make_window(qsettings=qsettings, model_dir=model)
    assert again.controls.settings() == RunSettings(noise="random", strength=0.7)


def test_the_negative_prompt_offers_the_findings_to_remove(make_window, qsettings):
    # A reader who suspects an effusion picks it as the negative prompt; the first entry clears it.
    w = make_window(qsettings=qsettings)
    box = w.controls.negative
    offered = [box.itemText(i) for i in range(box.count())]
    assert offered[0] == "" and "pleural effusion on the left" in offered
    assert "normal chest x-ray" not in offered, "the healthy prompt is no finding to remove"
    box.setCurrentIndex(offered.index("pleural effusion on the left"))
    assert w.controls.settings().negative_prompt == "pleural effusion on the left"
    box.setCurrentIndex(0)
    assert w.controls.settings().negative_prompt == ""


def test_run_menu_puts_back_the_model_s_recommended_settings_and_keeps_the_rest(
    make_window, qsettings, tmp_path
):
    # After switching models or experimenting, one menu entry restores what the model recommends; the user's own
    # prompt and strength stay. A model without recommendations says so and changes nothing.
    import json

    model = tmp_path / "model"
    model.mkdir()
    (model / "vald-settings.json").write_text(
        json.dumps({"recommended": {"noise": "inverted", "guidance_until": 0.5}})
    )
    w = make_window(qsettings=qsettings, model_dir=model)
    mine = RunSettings(prompt="cardiomegaly", strength=0.7, noise="random")
    w.controls.set_settings(mine)
    w.recommended_action.trigger()
    assert w.controls.settings() == mine.replace(noise="inverted", guidance_until=0.5)
    assert "recommended" in w.statusBar().currentMessage()
    several = RunSettings(seeds=4)  # an inverted start takes one seed: nothing changes, the status says why
    w.controls.set_settings(several)
    w.recommended_action.trigger()
    assert w.controls.settings() == several
    assert "do not fit" in w.statusBar().currentMessage()

    plain = tmp_path / "plain"
    plain.mkdir()
    other = make_window(qsettings=qsettings, model_dir=plain)
    other.controls.set_settings(mine)
    other.recommended_action.trigger()
    assert other.controls.settings() == mine
    assert other.statusBar().currentMessage() == "This model recommends no settings."
