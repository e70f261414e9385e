"""The lung segmenter's network: a small U-Net (about 1.6 M parameters) on a 128 x 128 square film.

Batch norm folded into evaluation mode at inference, no dropout, no random ops: the same film gives the same mask.
One output channel: the logit of "visible lung field" (both lungs; which is which is decided afterwards from
anatomy and the header, never by the network — see ``masks.laterality``).
"""

from __future__ import annotations

import torch
from torch import nn

SIDE = 128
WIDTHS = (16, 32, 64, 128, 192)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class LungUNet(nn.Module):
    """Encoder of WIDTHS with max-pooling, decoder with bilinear upsampling and skip connections."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.down = nn.ModuleList()
        cin = 1
        for w in widths:
            self.down.append(_block(cin, w))
            cin = w
        self.up = nn.ModuleList()
        for w_skip in reversed(widths[:-1]):
            self.up.append(_block(cin + w_skip, w_skip))
            cin = w_skip
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        for i, block in enumerate(self.down):
            if i:
                x = nn.functional.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = nn.functional.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        out: torch.Tensor = self.head(x)
        return out


def n_parameters(model: nn.Module) -> int:
    return sum(int(p.numel()) for p in model.parameters())
