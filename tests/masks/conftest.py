"""Fixtures for the lung-mask tests: held-out phantoms, their automatic masks (computed once), the real film."""

from __future__ import annotations

from pathlib import Path

import pytest

from vald_desktop.core.masks.lung_mask import LungMask
from vald_evaluation.mask_benchmark import heldout_phantoms
from vald_phantoms.phantom import Phantom

N_PER_KIND = 4


@pytest.fixture(autouse=True)
def _no_configured_segmenter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A segmenter configured on the developer's machine must not change which mask source the tests see."""
    monkeypatch.delenv("VALD_SEGMENTER_WEIGHTS", raising=False)


@pytest.fixture(scope="session")
def auto_results() -> dict[str, list[tuple[Phantom, LungMask]]]:
    """(phantom, automatic mask) for clear lungs, large opacities and effusions, segmented once per session."""
    from vald_desktop.core.masks.resolve import auto_segment
    from vald_desktop.core.masks.shapes import find_wheel

    if find_wheel() is None:
        pytest.skip("the held-out phantoms need the real lung shapes (torchxrayvision wheel; make setup)")
    results: dict[str, list[tuple[Phantom, LungMask]]] = {}
    for finding in ("normal", "lung_opacity", "effusion"):
        phs = heldout_phantoms(finding, N_PER_KIND)
        results[finding] = [(ph, auto_segment(ph.image)) for ph in phs]
    return results


@pytest.fixture(scope="session")
def real_chest_path(request: pytest.FixtureRequest) -> Path:
    """RG1_UNCI.dcm from pydicom-data (through the shared fixture, or where the wheel installs it)."""
    try:
        return Path(request.getfixturevalue("rg1_path"))
    except Exception:  # the shared fixture imports a module name some pydicom-data builds do not have
        import importlib.util

        for mod in ("pydicom_data", "data_store"):
            spec = importlib.util.find_spec(mod)
            if spec and spec.origin:
                hits = sorted(Path(spec.origin).parent.rglob("RG1_UNCI.dcm"))
                if hits:
                    return hits[0]
    pytest.skip("pydicom-data (RG1_UNCI.dcm) is not installed")
