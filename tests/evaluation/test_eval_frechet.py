"""The Fréchet distance and its matrix square root, checked against scipy on random covariances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from vald_desktop.core.base.errors import DataError
from vald_evaluation.frechet import (
    GaussianStats,
    fid_from_stats,
    frechet_distance,
    frechet_distance_low_rank,
    sqrtm_psd,
    trace_sqrt_product,
)


def _random_cov(rng: np.random.Generator, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.standard_normal((d, rank or 2 * d))
    return a @ a.T / a.shape[1]


def _scipy_fid(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_sqrtm_psd_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    cov = _random_cov(rng, 40)
    ours = sqrtm_psd(cov).numpy()
    ref = np.real(scipy.linalg.sqrtm(cov))
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    np.testing.assert_allclose(ours @ ours, cov, atol=1e-10)


@pytest.mark.parametrize("d,rank", [(16, None), (64, None), (64, 20)])
def test_frechet_matches_scipy_on_random_covariances(d: int, rank: int | None) -> None:
    rng = np.random.default_rng(d + (rank or 0))
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _random_cov(rng, d, rank), _random_cov(rng, d, rank)
    ours = frechet_distance(mu1, s1, mu2, s2)
    ref = _scipy_fid(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_trace_sqrt_product_is_symmetric_in_its_arguments() -> None:
    rng = np.random.default_rng(3)
    s1, s2 = _random_cov(rng, 30), _random_cov(rng, 30)
    assert trace_sqrt_product(s1, s2) == pytest.approx(trace_sqrt_product(s2, s1), rel=1e-9)


def test_identical_distributions_have_zero_distance_and_shift_adds_squared_norm() -> None:
    rng = np.random.default_rng(1)
    feats = rng.standard_normal((200, 12))
    stats = GaussianStats.from_features(feats)
    assert frechet_distance(stats.mu, stats.sigma, stats.mu, stats.sigma) == pytest.approx(0.0, abs=1e-8)
    shift = np.full(12, 0.5)
    assert frechet_distance(stats.mu + shift, stats.sigma, stats.mu, stats.sigma) == pytest.approx(12 * 0.25)


def test_known_one_dimensional_value() -> None:
    # For 1-D Gaussians the distance is (m1-m2)^2 + (s1-s2)^2 with s the standard deviations.
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_mismatched_dimensions_raise_a_data_error() -> None:
    with pytest.raises(DataError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(DataError):
        GaussianStats.from_features(np.zeros((1, 5)))


def _frechet_on_the_range(a: GaussianStats, b: GaussianStats, rank: int) -> float:
    """The full formula restricted to the range of S1 (its ``rank`` non-zero eigenvalues).

    S1 = Q B Q^T there, and tr((S1 S2)^1/2) = tr((B^1/2 Q^T S2 Q B^1/2)^1/2) with every matrix full-rank: no square
    root is taken of a rounding-level eigenvalue, so this is accurate to float64 rounding.
    """
    q = np.linalg.eigh(a.sigma)[1][:, -rank:]
    vals, vecs = np.linalg.eigh(q.T @ a.sigma @ q)
    root = (vecs * np.sqrt(vals)) @ vecs.T
    inner = root @ q.T @ b.sigma @ q @ root
    tr_covmean = np.sqrt(np.linalg.eigvalsh(0.5 * (inner + inner.T))).sum()
    diff = a.mu - b.mu
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2 * tr_covmean)


@pytest.mark.parametrize("n1,n2", [(5, 9), (30, 30)])
def test_low_rank_shortcut_equals_full_computation(n1: int, n2: int) -> None:
    d = 48
    rng = np.random.default_rng(n1)
    f1 = rng.standard_normal((n1, d)) * 2 + 1
    f2 = rng.standard_normal((n2, d))
    a, b = GaussianStats.from_features(f1), GaussianStats.from_features(f2)
    assert a.features is not None and b.features is not None
    reference = _frechet_on_the_range(a, b, rank=n1 - 1)  # n1 centred samples span n1 - 1 dimensions
    assert frechet_distance_low_rank(f1, f2) == pytest.approx(reference, rel=1e-12)
    assert fid_from_stats(a, b) == pytest.approx(reference, rel=1e-12)
    # The d x d paths take square roots of up to d rounding-level eigenvalues (~eps·‖S1‖·‖S2‖ each), doubled in FID.
    eps = np.finfo(np.float64).eps
    tol = 2 * d * np.sqrt(eps * np.linalg.norm(a.sigma, 2) * np.linalg.norm(b.sigma, 2))
    assert frechet_distance(a.mu, a.sigma, b.mu, b.sigma) == pytest.approx(reference, rel=0, abs=tol)
    assert _scipy_fid(a.mu, a.sigma, b.mu, b.sigma) == pytest.approx(reference, rel=0, abs=tol)
