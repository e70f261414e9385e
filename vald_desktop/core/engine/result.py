"""What one engine run returns (a leaf: the sampler makes it, export and the app read it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.masks.lung_mask import LungMask
from vald_desktop.core.masks.region import EditRegion


@dataclass
class RunResult:
    """A counterfactual and its map, all float32 on the film's own grid.

    The map is measured against ``original`` whatever ``settings.reference`` says: that setting changes how the
    counterfactual is made, not what it is compared with.
    """

    settings: RunSettings
    original: np.ndarray  # the film as the model saw it (HxW, [0, 1])
    counterfactual: np.ndarray  # the mean over seeds
    counterfactuals: list[np.ndarray]  # one per seed
    map: np.ndarray  # original − counterfactual, signed, zero outside the mask
    map_std: np.ndarray | None  # per-pixel std of the per-seed maps (several seeds only)
    mask: LungMask | None  # the lung mask the map is confined to
    record: dict[str, Any] = field(default_factory=dict)  # the run record (core.engine.provenance)
    region: EditRegion | None = None  # the edit region the run was held to (nothing outside it changed)
