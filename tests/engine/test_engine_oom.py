"""Out of device memory: one retry in the low-memory mode, then the typed error (simulated on CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vald_desktop.core.base.errors import OutOfMemoryError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine.sampler import Engine

FAST = dict(steps=6, strength=0.5, preview_every=0)


def _fail_unet(monkeypatch, pipe, times: int) -> list[int]:
    real = pipe.unet.forward
    seen = [0]

    def forward(*args, **kwargs):
        seen[0] += 1
        if seen[0] <= times:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipe.unet, "forward", forward)
    return seen


def test_one_oom_is_retried_in_low_memory_mode(tiny_model_dir, film, monkeypatch):
    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    reference = eng.run(film, RunSettings(**FAST))
    _fail_unet(monkeypatch, eng.pipe, times=1)
    result = eng.run(film, RunSettings(**FAST))
    assert eng.info.low_memory and result.record["model"]["low_memory"]
    # Attention slicing changes only memory use, not the result.
    np.testing.assert_allclose(result.counterfactual, reference.counterfactual, atol=1e-5)


def test_repeated_oom_raises_the_typed_error(tiny_model_dir, film, monkeypatch):
    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    _fail_unet(monkeypatch, eng.pipe, times=100)
    with pytest.raises(OutOfMemoryError, match="ran out of memory"):
        eng.run(film, RunSettings(**FAST))
