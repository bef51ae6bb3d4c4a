"""WDA (Riemannian descent, envelope-theorem gradients) and FDA: certificates and planted answers."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.da import fda, wda
from numbaot.da.dr import _Objective, _retract, _tangent


def _three_classes(seed=0, n=20, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n, d))
    y = np.repeat([0, 1, 2], n)
    X[y == 1, 0] += 3.0
    X[y == 2, 1] += 3.0
    return X, y


def test_gradient_is_the_derivative_of_the_objective():
    """Envelope theorem: with converged plans the fixed-plan gradient equals finite differences of J."""
    X, y = _three_classes()
    groups = [X[y == c] - X.mean(0) for c in range(3)]
    objective = _Objective(groups, 1.0, 5000, "sinkhorn_log", np.ones((3, 3)))
    rng = np.random.default_rng(1)
    P = _retract(np.zeros((4, 2)), rng.normal(size=(4, 2)))
    J, E = objective(P, gradient=True)
    for _ in range(3):
        D = rng.normal(size=(4, 2))
        h = 1e-5
        fd = (objective(P + h * D) - objective(P - h * D)) / (2 * h)
        assert np.isclose(np.sum(E * D), fd, rtol=1e-6, atol=1e-9)
    xi = _tangent(P, E)
    assert np.allclose(P.T @ xi + xi.T @ P, 0, atol=1e-12)  # a tangent vector


def test_wda_reaches_a_stationary_point_better_than_the_planted_axes():
    X, y = _three_classes()
    P, proj = wda(X, y, p=2, reg=1.0, k=50, maxiter=200, random_state=0, sinkhorn_method="sinkhorn_log")
    assert np.allclose(P.T @ P, np.eye(2), atol=1e-10)
    groups = [X[y == c] - X.mean(0) for c in range(3)]
    objective = _Objective(groups, 1.0, 5000, "sinkhorn_log", np.ones((3, 3)))
    J, E = objective(P, gradient=True)
    assert np.linalg.norm(_tangent(P, E)) < 1e-4
    assert J <= objective(np.eye(4)[:, :2]) + 1e-9  # at least as good as the axes the classes were shifted along
    start = _retract(np.zeros((4, 2)), np.random.default_rng(0).normal(size=(4, 2)))
    assert J < objective(start)
    assert np.allclose(proj(X), (X - X.mean(0)) @ P)


def test_wda_one_direction_finds_the_separating_axis():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = np.repeat([0, 1], 30)
    X[y == 1, 2] += 4.0
    P, _ = wda(X, y, p=1, reg=1.0, k=30, maxiter=100, sinkhorn_method="sinkhorn_log", random_state=1)
    assert abs(P[2, 0]) > 0.95
    P2, _ = wda(X, y, p=1, reg=1.0, k=30, maxiter=100, P0=np.ones((3, 1)), normalize=True)
    assert abs(P2[2, 0]) > 0.95


def test_fda_is_the_generalised_eigenproblem():
    X, y = _three_classes(seed=4)
    P, proj = fda(X, y, p=2, reg=1e-9)
    groups = [X[y == c] for c in range(3)]
    Cw = sum(np.cov(g.T) for g in groups) / 3
    centres = np.array([g.mean(0) for g in groups])
    Cb = (centres - centres.mean(0)).T @ (centres - centres.mean(0))
    A = Cw + 1e-9 * np.eye(4)
    for k in range(2):
        ratio = (P[:, k] @ Cb @ P[:, k]) / (P[:, k] @ A @ P[:, k])
        assert np.allclose(Cb @ P[:, k], ratio * A @ P[:, k], atol=1e-9)
    eig = np.sort(np.linalg.eigvals(np.linalg.solve(A, Cb)).real)[::-1]
    assert np.isclose((P[:, 0] @ Cb @ P[:, 0]) / (P[:, 0] @ A @ P[:, 0]), eig[0])
    assert fda(X, y, p=3)[0].shape == (4, 2)  # at most n_classes - 1 directions
    assert np.allclose(proj(X), (X - X.mean(0)) @ P)


def test_bad_input():
    X, y = _three_classes()
    with pytest.raises(ValueError, match="p must be between 1 and the number of features 4"):
        wda(X, y, p=5)
    with pytest.raises(ValueError, match="single class"):
        wda(X, np.zeros(len(X)), p=1)
    with pytest.raises(ValueError, match="y has 59 labels"):
        fda(X, y[:-1])
    with pytest.raises(ValueError, match="solver must be None or 'steepest'"):
        wda(X, y, solver="TrustRegions")
    with pytest.raises(ValueError, match="unknown sinkhorn_method"):
        wda(X, y, sinkhorn_method="greenkhorn")
    with pytest.raises(ValueError, match="normalize=True divides reg by the mean costs under P0"):
        wda(X, y, normalize=True)
    with pytest.raises(ValueError, match=r"P0 has shape \(4, 1\)"):
        wda(X, y, p=2, P0=np.ones((4, 1)))
    with pytest.warns(Warning, match="wda: the Riemannian gradient norm") as record:
        wda(X, y, p=2, k=5, maxiter=1, random_state=0)
    assert record[0].filename == __file__


@pytest.mark.slow
def test_scaling_domain_sinkhorn_gives_the_same_projection():
    X, y = _three_classes(seed=5)
    P0 = _retract(np.zeros((4, 2)), np.random.default_rng(2).normal(size=(4, 2)))
    P1, _ = wda(X, y, p=2, reg=1.0, k=100, maxiter=100, P0=P0, sinkhorn_method="sinkhorn")
    P2, _ = wda(X, y, p=2, reg=1.0, k=100, maxiter=100, P0=P0, sinkhorn_method="sinkhorn_log")
    assert np.allclose(P1 @ P1.T, P2 @ P2.T, atol=1e-5)  # the same subspace


def test_a_stall_above_an_explicit_tol_is_reported():
    """k = 5 Sinkhorn iterations give J too coarsely for tol=1e-9: the descent stalls, and says so; with the
    default tol the stall is the documented stop (no warning)."""
    import warnings

    X, y = _three_classes(seed=6)
    with pytest.warns(Warning, match=r"wda: no step along the Riemannian gradient .* k=5") as record:
        P, _ = wda(X, y, p=2, reg=0.5, k=5, maxiter=300, random_state=0, tol=1e-9)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P2, _ = wda(X, y, p=2, reg=0.5, k=5, maxiter=300, random_state=0)
    assert np.array_equal(P, P2)  # the same descent, only the report differs


def test_inputs_are_left_alone():
    """POT's wda centres X in place; ours reads X (read-only arrays work) and leaves it as given."""
    X, y = _three_classes(seed=7)
    X.flags.writeable = y.flags.writeable = False
    copy = X.copy()
    with pytest.warns(Warning, match="wda: the Riemannian gradient norm is still"):  # 5 steps: not converged
        P, proj = wda(X, y, p=2, reg=1.0, k=20, maxiter=5, random_state=0)
    Q, _ = fda(X, y, p=2)
    assert np.array_equal(X, copy) and P.shape == Q.shape == (4, 2)
    assert np.allclose(proj(X), (copy - copy.mean(0)) @ P)
