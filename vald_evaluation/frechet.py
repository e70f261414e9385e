"""The Fréchet distance between two Gaussians, in float64, with an eigendecomposition-based matrix square root.

FID = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2).

``scipy.linalg.sqrtm`` on the non-symmetric product ``S1 @ S2`` is slow (Schur decomposition of a 2048x2048 matrix)
and can return complex noise. Because S1 and S2 are symmetric positive semi-definite, ``S1 S2`` is similar to the
symmetric matrix ``A = S1^1/2 S2 S1^1/2``, so ``tr((S1 S2)^1/2) = sum(sqrt(eig(A)))``: two symmetric eigensolves,
real arithmetic, and they run on the GPU when there is one.

When a set has fewer images than feature dimensions (common for per-class evaluation), its covariance has low rank:
with S_i = A_i^T A_i (A_i the centred features / sqrt(n_i - 1)), tr((S1 S2)^1/2) is the sum of the singular values
of the small n1 x n2 matrix A1 A2^T. ``fid_from_stats`` uses that exact identity when both sets keep their features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vald_desktop.core.base.errors import DataError


@dataclass(frozen=True)
class GaussianStats:
    """Mean and covariance of a feature set (the pytorch-fid convention: unbiased covariance)."""

    mu: np.ndarray  # (d,)
    sigma: np.ndarray  # (d, d)
    n: int
    features: np.ndarray | None = None  # (n, d), kept only when n <= d (the low-rank shortcut needs them)

    @classmethod
    def from_features(cls, features: np.ndarray) -> GaussianStats:
        feats = np.asarray(features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] < 2:
            raise DataError("At least two images are needed to estimate feature statistics for FID.")
        keep = feats if feats.shape[0] <= feats.shape[1] else None
        return cls(
            mu=feats.mean(axis=0), sigma=np.cov(feats, rowvar=False), n=int(feats.shape[0]), features=keep
        )


def _device(device: str | torch.device | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sqrtm_psd(matrix: np.ndarray | torch.Tensor, device: str | torch.device | None = None) -> torch.Tensor:
    """Principal square root of a symmetric positive semi-definite matrix (float64).

    Tiny negative eigenvalues from rounding are clamped to zero: they are not a property of the data.
    """
    a = torch.as_tensor(np.asarray(matrix), dtype=torch.float64, device=_device(device))
    a = 0.5 * (a + a.T)  # remove asymmetry from accumulated rounding before eigh
    vals, vecs = torch.linalg.eigh(a)
    root = vecs * vals.clamp_min(0.0).sqrt().unsqueeze(0)
    out: torch.Tensor = root @ vecs.T
    return out


def trace_sqrt_product(
    sigma1: np.ndarray, sigma2: np.ndarray, device: str | torch.device | None = None
) -> float:
    """tr((S1 S2)^1/2) for symmetric PSD S1, S2, via the eigenvalues of S1^1/2 S2 S1^1/2."""
    dev = _device(device)
    root1 = sqrtm_psd(sigma1, dev)
    s2 = torch.as_tensor(np.asarray(sigma2), dtype=torch.float64, device=dev)
    inner = root1 @ s2 @ root1
    vals = torch.linalg.eigvalsh(0.5 * (inner + inner.T))
    return float(vals.clamp_min(0.0).sqrt().sum().item())


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    device: str | torch.device | None = None,
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), computed in float64."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise DataError("The two feature sets have different dimensions; compute both with the same network.")
    if not (np.isfinite(sigma1).all() and np.isfinite(sigma2).all()):
        raise DataError("The feature statistics contain invalid numbers; check the images and the weights.")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2, device)
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)
    # Rounding can push identical distributions a hair below zero; a distance is never negative.
    return max(value, 0.0)


def frechet_distance_low_rank(
    features1: np.ndarray, features2: np.ndarray, device: str | torch.device | None = None
) -> float:
    """The same Fréchet distance from the feature matrices (exact; fast when there are fewer images than dims)."""
    dev = _device(device)
    f1 = torch.as_tensor(np.asarray(features1), dtype=torch.float64, device=dev)
    f2 = torch.as_tensor(np.asarray(features2), dtype=torch.float64, device=dev)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(f1.shape[0], f2.shape[0]) < 2:
        raise DataError("The two feature sets have different dimensions; compute both with the same network.")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    a1 = (f1 - mu1) / (f1.shape[0] - 1) ** 0.5
    a2 = (f2 - mu2) / (f2.shape[0] - 1) ** 0.5
    tr_covmean = torch.linalg.svdvals(a1 @ a2.T).sum()
    value = (mu1 - mu2).square().sum() + a1.square().sum() + a2.square().sum() - 2.0 * tr_covmean
    return max(float(value.item()), 0.0)


def fid_from_stats(a: GaussianStats, b: GaussianStats, device: str | torch.device | None = None) -> float:
    if a.features is not None and b.features is not None:
        return frechet_distance_low_rank(a.features, b.features, device)
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma, device)
