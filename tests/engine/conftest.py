"""Fixtures for the engine tests: a warm engine on the tiny model (shared, never patched), a fresh one for tests
that patch the model, a small non-square film and a lung mask."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import lung_mask_of

from vald_desktop.core.masks.lung_mask import LungMask


@pytest.fixture(scope="session")
def engine(tiny_model_dir):
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    return eng


@pytest.fixture
def own_engine(tiny_model_dir):
    """A loaded engine of the test's own: patch its model or its steps freely, nothing reaches other tests."""
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(tiny_model_dir, device="cpu")
    eng.load()
    return eng


@pytest.fixture(autouse=True)
def shared_engine_stays_unpatched(request, monkeypatch):
    """Errors a test that leaves the shared engine patched when it ends: whatever ran through the patch is in the
    engine's caches (film latents, inversions) for every later test. Such a test takes ``own_engine``.

    It asks for ``monkeypatch`` so that it checks before monkeypatch undoes the test's patches.
    """
    yield
    if "engine" not in request.fixturenames:
        return
    eng = request.getfixturevalue("engine")
    patched = [name for name in ("_decode", "_film", "_embed", "_denoise") if name in vars(eng)]
    for name in ("unet", "vae", "text_encoder"):
        module = getattr(eng.pipe, name)
        hooks = any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())
        if "forward" in vars(module) or hooks:
            patched.append(f"pipe.{name}")
    assert not patched, f"the test patched the shared engine ({', '.join(patched)}); give it own_engine"


@pytest.fixture
def film() -> np.ndarray:
    """A 72x56 (portrait, non-square) smooth film with a bright blob in the patient's left lung."""
    yy, xx = np.mgrid[0:72, 0:56].astype(np.float32)
    img = 0.3 + 0.2 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
    img += 0.35 * np.exp(-((yy - 36) ** 2 + (xx - 40) ** 2) / 40.0)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def left_lung_mask() -> LungMask:
    """Only the patient's left lung (image right): rows 16-56, columns 32-48."""
    m = np.zeros((72, 56), dtype=bool)
    m[16:56, 32:48] = True
    return lung_mask_of(m)
