"""What an exported model knows about its own domain: the calibration of its domain score on a few dozen of its
training films (``vald-domain.json``) and, in ``vald-settings.json``, what it was trained on in words.

Written by the export step after the weights, before the final manifest, so the manifest covers both. A failure
here never costs the trained model: it is logged, and the model is "domain unknown" until ``vald models
calibrate`` is run on it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vald_desktop.core.base import atomic
from vald_desktop.core.base.errors import ValdError

if TYPE_CHECKING:
    from vald_training.train_state import TrainState

log = logging.getLogger(__name__)


def write_domain(state: TrainState, out: Path, device: str | None = None) -> Path | None:
    """Calibrate the exported model in ``out`` on its training films; the calibration file, or None on failure."""
    from vald_desktop.core.engine.domain import write_calibration
    from vald_desktop.core.engine.domain_features import calibrate_files
    from vald_desktop.core.engine.sampler import Engine

    _card(state, out)
    engine = Engine(out, device)
    try:
        engine.load()  # the folder as `vald run` will load it
        paths = [ex.path for ex in state.ds.examples]
        calibration = calibrate_files(engine, paths, f"training films of {Path(state.cfg.data).name}")
        return write_calibration(out, calibration)
    except ValdError as exc:
        log.warning("no domain calibration was written (%s); run 'vald models calibrate' on %s", exc, out)
        return None
    finally:
        engine.unload()


def _card(state: TrainState, out: Path) -> None:
    """``domain.trained_on`` in ``vald-settings.json`` (other entries of the file are kept)."""
    path = out / "vald-settings.json"
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text("utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            data = {}
    counts = Counter(ex.klass for ex in state.ds.examples)
    classes = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
    entry = dict(data.get("domain") or {})
    entry.setdefault(
        "trained_on",
        f"{len(state.ds.examples)} films of {Path(state.cfg.data).name} at {state.cfg.resolution} px ({classes})",
    )
    data["domain"] = entry
    data.setdefault("recommended", {})  # the file's other reader (core.engine.models) expects the entry
    atomic.write_text(path, json.dumps(data, indent=2) + "\n")
