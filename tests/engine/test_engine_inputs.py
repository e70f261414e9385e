"""Every invalid setting or input is refused with a typed error before any model work."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import lung_mask_of

from vald_desktop.core.base.errors import FilmError, MaskError, ModelError, SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.sampler import Engine

INVALID = [
    {"strength": 0.0},
    {"strength": 1.5},
    {"strength": float("nan")},
    {"guidance": -1.0},
    {"guidance_until": 0.0},
    {"guidance_until": 1.5},
    {"guidance_until": float("inf")},
    {"steps": 0},
    {"steps": 2.5},
    {"steps": 1001},
    {"steps": 2, "strength": 0.3},
    {"scheduler": "lms"},
    {"seed": -1},
    {"seeds": 0},
    {"seeds": 17},
    {"mask_mode": "magic"},
    {"reference": "average"},
    {"smooth_sigma": -1.0},
    {"preview_every": -1},
    {"prompt": None},
    {"negative_prompt": 3},
]


@pytest.mark.parametrize("bad", INVALID, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_invalid_setting_is_refused_with_a_sentence(bad):
    with pytest.raises(SettingsError) as err:
        RunSettings(**bad)
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


def test_bad_inputs_fail_before_the_model_loads(tmp_path, film):
    # The model folder does not exist: reaching model work would raise ModelError instead.
    eng = Engine(tmp_path / "no-model", device="cpu")
    s = RunSettings(steps=4)
    with pytest.raises(FilmError):
        eng.run(np.zeros((4, 4), np.float32), s)
    with pytest.raises(FilmError):
        eng.run(np.full((20, 20), np.nan, np.float32), s)
    with pytest.raises(FilmError):
        eng.run(np.zeros((2, 20, 20, 5), np.float32), s)
    with pytest.raises(MaskError, match="film is 56x72"):
        eng.run(film, s, mask=lung_mask_of(np.ones((10, 10), bool)))
    with pytest.raises(MaskError, match="empty"):
        eng.run(film, s, mask=lung_mask_of(np.zeros(film.shape, bool)))
    with pytest.raises(MaskError, match="no pixel data"):
        eng.run(film, s, mask=np.ones(film.shape, bool))  # type: ignore[arg-type]
    with pytest.raises(SettingsError):
        eng.run(film, s.replace(confine_to_mask=True))
    with pytest.raises(SettingsError):
        eng.run(film, "strength 0.5")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="does not exist"):
        eng.run(film, s)
    assert eng.pipe is None


def test_rgb_and_integer_like_inputs_are_accepted(engine, film):
    rgb = np.repeat(film[..., None], 3, axis=2)
    result = engine.run(rgb, RunSettings(steps=4, strength=0.5, preview_every=0))
    assert result.counterfactual.shape == film.shape
