"""RunSettings: the one settings object must refuse every invalid value before any model work starts."""

from __future__ import annotations

import pytest

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import RunSettings


def test_defaults_are_the_papers_most_effective_settings() -> None:
    s = RunSettings()
    assert (s.prompt, s.strength, s.guidance, s.scheduler) == ("normal chest x-ray", 0.55, 4.0, "pndm")
    assert s.noise == "random", "the paper's SDEdit starts from random noise"


@pytest.mark.parametrize(
    "change, phrase",
    [
        ({"strength": 0.0}, "Strength"),
        ({"strength": 1.5}, "Strength"),
        ({"strength": float("nan")}, "finite"),
        ({"guidance": -1.0}, "Guidance"),
        ({"steps": 0}, "Steps"),
        ({"steps": 2.5}, "whole number"),
        ({"steps": True}, "whole number"),
        ({"steps": 1, "strength": 0.5}, "no denoising step"),
        ({"scheduler": "lms"}, "scheduler"),
        ({"seed": -1}, "seed"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": 99}, "seeds"),
        ({"mask_mode": "lungs"}, "mask mode"),
        ({"reference": "healthy"}, "reference"),
        ({"noise": "gaussian"}, "start noise"),
        ({"noise": "inverted", "seeds": 2}, "one seed"),
        ({"smooth_sigma": -2.0}, "smoothing"),
        ({"preview_every": -1}, "Preview"),
        ({"prompt": None}, "prompt"),
    ],
)
def test_invalid_setting_is_refused_with_one_sentence(change: dict, phrase: str) -> None:
    with pytest.raises(SettingsError) as info:
        RunSettings(**change)
    message = str(info.value)
    assert phrase.lower() in message.lower()
    assert "\n" not in message


def test_replace_revalidates() -> None:
    with pytest.raises(SettingsError):
        RunSettings().replace(strength=2.0)


def test_record_round_trip_ignores_unknown_keys() -> None:
    s = RunSettings(prompt="cardiomegaly", strength=0.85, guidance=7.5, steps=75, seed=42, seeds=3)
    data = s.to_dict() | {"from_a_newer_version": 1}
    assert RunSettings.from_dict(data) == s
    inverted = RunSettings(noise="inverted")
    assert RunSettings.from_dict(inverted.to_dict()) == inverted


def test_records_from_before_the_start_noise_setting_open_as_random_noise() -> None:
    old = {k: v for k, v in RunSettings().to_dict().items() if k != "noise"}
    assert RunSettings.from_dict(old).noise == "random"


def test_unet_steps_follow_img2img_rule() -> None:
    assert RunSettings(steps=75, strength=0.85).unet_steps == int(75 * 0.85)
    assert RunSettings(steps=10, strength=1.0).unet_steps == 10
