"""Run records travel inside PNG text chunks and restore the settings."""

from __future__ import annotations

import numpy as np
from engine_helpers import png_record

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.provenance import build_record, write_png


def test_png_record_round_trip_restores_settings(tmp_path):
    settings = RunSettings(prompt="large lung opacity on the right", strength=0.85, guidance=7.5, seeds=2)
    record = build_record(settings, seeds=[0, 1], timings={"total": 1.23456}, film_sha256="cd" * 32)
    path = write_png(tmp_path / "composite.png", np.zeros((8, 8, 3), np.uint8), record)
    back = png_record(path)
    assert back == record
    assert RunSettings.from_dict(back["settings"]) == settings
    assert back["timings"]["total"] == 1.2346


def test_png_without_record_and_float_images(tmp_path):
    path = write_png(tmp_path / "plain.png", np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4))
    assert png_record(path) is None
    from PIL import Image

    with Image.open(path) as im:
        assert im.mode == "L" and np.asarray(im)[-1, -1] == 255


def test_records_from_newer_versions_still_open():
    record = {"settings": {**RunSettings().to_dict(), "future_knob": 3}}
    assert RunSettings.from_dict(record["settings"]) == RunSettings()
