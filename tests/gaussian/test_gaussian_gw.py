"""Gaussian Gromov-Wasserstein: closed forms against planted answers, POT's values, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot


def spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + 0.1 * np.eye(d)


def rotation(rng, d):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return Q


def test_isometry_invariance_and_symmetry():
    rng = np.random.default_rng(0)
    C, Q = spd(rng, 4), rotation(rng, 4)
    assert numbaot.gaussian_gromov_wasserstein_distance(C, Q @ C @ Q.T) < 1e-6
    C2 = spd(rng, 3)
    assert np.isclose(numbaot.gaussian_gromov_wasserstein_distance(C, C2),
                      numbaot.gaussian_gromov_wasserstein_distance(C2, C), rtol=1e-12)


def test_closed_form_on_diagonal_covariances():
    ds, dt = np.array([5.0, 2.0, 1.0]), np.array([3.0, 0.5])
    want = 4 * (ds.sum() - dt.sum()) ** 2 + 8 * np.sum((ds[:2] - dt) ** 2) + 8 * ds[2] ** 2
    got = numbaot.gaussian_gromov_wasserstein_distance(np.diag(ds[::-1]), np.diag(dt))
    assert np.isclose(got ** 2, want, rtol=1e-12)


@pytest.mark.parametrize("m, n", [(3, 3), (4, 2), (2, 3)])
def test_mapping_pushes_the_source_onto_the_target(m, n):
    rng = np.random.default_rng(m * 10 + n)
    Cs, Ct = spd(rng, m), spd(rng, n)
    mu_s, mu_t = rng.normal(size=m), rng.normal(size=n)
    A, b = numbaot.gaussian_gromov_wasserstein_mapping(mu_s, mu_t, Cs, Ct)
    assert A.shape == (m, n) and np.allclose(mu_s @ A + b, mu_t, rtol=1e-12)
    pushed = A.T @ Cs @ A
    if m >= n:
        assert np.allclose(pushed, Ct, rtol=1e-10, atol=1e-12)
    else:  # the target's n - m smallest axes cannot be reached from m dimensions
        w, U = np.linalg.eigh(Ct)
        top = U[:, -m:]
        assert np.allclose(pushed, top @ np.diag(w[-m:]) @ top.T, rtol=1e-10, atol=1e-12)
    flipped, _ = numbaot.gaussian_gromov_wasserstein_mapping(mu_s, mu_t, Cs, Ct, -np.ones(min(m, n)))
    assert np.allclose(flipped, -A, rtol=1e-12)


def test_empirical_versions_and_pot():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(1)
    xs, xt = rng.normal(size=(120, 4)) * [3, 2, 1, 0.5], rng.normal(size=(90, 3)) * [2, 1, 0.3]
    ws = rng.uniform(size=120)
    assert np.isclose(numbaot.empirical_gaussian_gromov_wasserstein_distance(xs, xt, ws),
                      ot.gaussian.empirical_gaussian_gromov_wasserstein_distance(xs, xt, ws[:, None]), rtol=1e-10)
    A, b = numbaot.empirical_gaussian_gromov_wasserstein_mapping(xs, xt, ws)
    A2, b2 = ot.gaussian.empirical_gaussian_gromov_wasserstein_mapping(xs, xt, ws[:, None])
    assert np.allclose(A, A2, rtol=1e-10, atol=1e-12) and np.allclose(b, np.ravel(b2), rtol=1e-10, atol=1e-12)
    Cs, Ct = spd(rng, 4), spd(rng, 2)
    assert np.isclose(numbaot.gaussian_gromov_wasserstein_distance(Cs, Ct),
                      ot.gaussian.gaussian_gromov_wasserstein_distance(Cs, Ct), rtol=1e-10)
    signs = np.array([1.0, -1.0])
    for ours, theirs in zip(numbaot.gaussian_gromov_wasserstein_mapping(np.ones(4), np.zeros(2), Cs, Ct, signs),
                            ot.gaussian.gaussian_gromov_wasserstein_mapping(np.ones(4), np.zeros(2), Cs, Ct, signs)):
        assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_bad_input():
    rng = np.random.default_rng(2)
    Cs, Ct = spd(rng, 3), spd(rng, 2)
    with pytest.raises(ValueError, match="sign_eigs"):
        numbaot.gaussian_gromov_wasserstein_mapping(np.zeros(3), np.zeros(2), Cs, Ct, [1.0, 0.5])
    with pytest.raises(ValueError, match="mu_s"):
        numbaot.gaussian_gromov_wasserstein_mapping(np.zeros(2), np.zeros(2), Cs, Ct)
    with pytest.raises(ValueError, match="zero eigenvalue"):
        numbaot.gaussian_gromov_wasserstein_mapping(np.zeros(3), np.zeros(3), np.diag([1.0, 0.0, 0.0]), Cs)
    with pytest.raises(ValueError, match="one covariance"):
        numbaot.gaussian_gromov_wasserstein_distance(np.stack([Cs, Cs]), Cs)
    with pytest.raises(ValueError, match="positive semi-definite"):
        numbaot.gaussian_gromov_wasserstein_distance(-Cs, Cs)
    with pytest.raises(ValueError, match="not symmetric"):
        numbaot.gaussian_gromov_wasserstein_distance(Cs + np.triu(np.ones((3, 3)), 1), Cs)
