"""The VAE's side of a run: film → scaled latents, latents → film-grid image, lung mask → latent-grid mask.

Plain functions over a loaded img2img pipeline; the engine decides when to call them and caches what they give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from vald_desktop.core.engine.geometry import Placement, mask_to_model, to_film, to_model

if TYPE_CHECKING:
    import torch


def encode_film(
    pipe: Any, img: np.ndarray, size: int, device: torch.device
) -> tuple[torch.Tensor, Placement]:
    """The film's latents (1, C, h, w), scaled by the VAE's scaling factor, and where it sits in the square."""
    import torch

    square, placement = to_model(img, size)
    x = torch.from_numpy(square * 2.0 - 1.0)[None, None].expand(1, 3, -1, -1)
    x = x.to(device=device, dtype=pipe.vae.dtype)
    # The posterior mean (not a sample) keeps the cached latents deterministic and independent of the seed.
    latents: torch.Tensor = pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor
    return latents, placement


def decode_to_film(pipe: Any, latents: torch.Tensor, placement: Placement) -> np.ndarray:
    """One sample's latents as a gray float32 image on the film's grid, in [0, 1]."""
    image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
    gray = (image.float() / 2 + 0.5).clamp(0, 1).mean(dim=1)[0].cpu().numpy()
    return to_film(gray, placement)


def latent_mask(pipe: Any, lung: np.ndarray, placement: Placement, device: torch.device) -> torch.Tensor:
    """The lung mask on the latent grid (1, 1, h, w): every latent cell that touches lung, plus one cell of margin."""
    import torch
    from scipy.ndimage import binary_dilation

    square = mask_to_model(np.asarray(lung, dtype=bool), placement)
    factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    n = placement.size // factor
    cells = square[: n * factor, : n * factor].reshape(n, factor, n, factor).any(axis=(1, 3))
    # One latent cell of margin: the decoder's receptive field would otherwise blur the lung edge.
    cells = binary_dilation(cells, iterations=1)
    return torch.from_numpy(cells.astype(np.float32))[None, None].to(device, pipe.unet.dtype)


def edit_cells(
    pipe: Any, masks: list[np.ndarray | None], placement: Placement, device: torch.device
) -> torch.Tensor | None:
    """The latent cells a run may change: the product of each given mask's latent mask (lung, edit region); None
    when no mask is given (every cell may change)."""
    cells = None
    for mask in masks:
        if mask is not None:
            m = latent_mask(pipe, mask, placement, device)
            cells = m if cells is None else cells * m
    return cells
