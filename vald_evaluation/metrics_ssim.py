"""SSIM and MS-SSIM as the paper reports them (Wang et al. 2004 / 2003).

Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample) covariances, statistics only where the
whole window fits (a "valid" convolution). That is exactly what
``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` computes:
scikit-image filters with reflection padding and then crops the padded border before averaging.

MS-SSIM uses 5 scales with the standard weights, 2x2 average pooling between scales, contrast-structure terms at the
first four scales and the full SSIM at the coarsest; negative terms are clamped to zero so a fractional power never
produces NaN. Computed in float64 with torch (fast on large films, on the GPU when asked).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vald_desktop.core.base.errors import DataError

WINDOW = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MIN_MS_SIDE = WINDOW * 2 ** (len(MS_WEIGHTS) - 1)  # the coarsest scale must still hold one whole window


def _gaussian_window(device: torch.device) -> torch.Tensor:
    x = torch.arange(WINDOW, dtype=torch.float64, device=device) - (WINDOW - 1) / 2
    g = torch.exp(-(x**2) / (2 * SIGMA**2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]  # (1, 1, 11, 11)


def _as_batch(image: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """HxW or HxWxC (channels last) -> (C, 1, H, W) float64: channels are scored separately and averaged."""
    t = torch.as_tensor(np.asarray(image), dtype=torch.float64, device=device)
    if t.ndim == 2:
        return t[None, None]
    if t.ndim == 3:
        return t.permute(2, 0, 1)[:, None]
    raise DataError(f"Expected a grayscale or colour image, got an array with {t.ndim} dimensions.")


def _check_pair(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, min_side: int) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise DataError(f"The two images differ in size ({tuple(a.shape)} vs {tuple(b.shape)}).")
    if min(a.shape[0], a.shape[1]) < min_side:
        raise DataError(
            f"The images are {a.shape[0]}x{a.shape[1]} pixels; this metric needs at least {min_side}."
        )


def _ssim_terms(
    x: torch.Tensor, y: torch.Tensor, data_range: float, window: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image mean SSIM and mean contrast-structure term over valid window positions."""
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # one conv for all five local moments
    moments = F.conv2d(stack.reshape(-1, 1, *x.shape[-2:]), window).reshape(x.shape[0], 5, -1)
    mu_x, mu_y, e_xx, e_yy, e_xy = moments.unbind(dim=1)
    var_x = e_xx - mu_x**2
    var_y = e_yy - mu_y**2
    cov = e_xy - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (luminance * cs).mean(dim=1), cs.mean(dim=1)


def ssim(
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    data_range: float = 1.0,
    device: str | torch.device = "cpu",
) -> float:
    """Mean SSIM of two same-sized images (grayscale HxW, or HxWxC averaged over channels)."""
    _check_pair(a, b, WINDOW)
    dev = torch.device(device)
    value, _ = _ssim_terms(_as_batch(a, dev), _as_batch(b, dev), float(data_range), _gaussian_window(dev))
    return float(value.mean().item())


def ms_ssim(
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    data_range: float = 1.0,
    device: str | torch.device = "cpu",
) -> float:
    """5-scale MS-SSIM of two same-sized images (each side at least 176 pixels)."""
    _check_pair(a, b, MIN_MS_SIDE)
    dev = torch.device(device)
    window = _gaussian_window(dev)
    x, y = _as_batch(a, dev), _as_batch(b, dev)
    weights = torch.tensor(MS_WEIGHTS, dtype=torch.float64, device=dev)
    terms = []
    for scale in range(len(MS_WEIGHTS)):
        full, cs = _ssim_terms(x, y, float(data_range), window)
        last = scale == len(MS_WEIGHTS) - 1
        terms.append(full if last else cs)
        if not last:
            x = F.avg_pool2d(x, kernel_size=2, stride=2)
            y = F.avg_pool2d(y, kernel_size=2, stride=2)
    stacked = torch.stack(terms, dim=1).clamp_min(0.0)  # (C, 5)
    value = torch.prod(stacked ** weights[None, :], dim=1)
    return float(value.mean().item())
