"""Stochastic (and averaged) gradient descent for the Bures barycenter: planted commuting barycenter, the
deterministic limit, reproducible seeds, POT's layer, bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
import numbaot.pot as pot_layer
from numbaot._status import ConvergenceWarning


def commuting(K=4, d=2, seed=0):
    """Diagonal covariances: the barycenter is diag((sum_k w_k sqrt(c_k))^2)."""
    rng = np.random.default_rng(seed)
    diag = rng.uniform(0.5, 4.0, (K, d))
    C = np.stack([np.diag(c) for c in diag])
    w = rng.uniform(1, 3, K)
    w /= w.sum()
    return np.zeros((K, d)), C, w, np.diag((w @ np.sqrt(diag)) ** 2)


@pytest.mark.parametrize("method, rtol", [("stochastic_gradient_descent", 0.05),
                                          ("averaged_stochastic_gradient_descent", 0.05)])
def test_converges_to_the_planted_barycenter(method, rtol):
    m, C, w, truth = commuting()
    with pytest.warns(ConvergenceWarning, match="MAX_ITER"):  # the change decays like 1/t only
        _, Cb = numbaot.bures_wasserstein_barycenter(m, C, w, method, max_iter=2000, seed=0)
    np.testing.assert_allclose(np.diag(Cb), np.diag(truth), rtol=rtol)
    np.testing.assert_allclose(Cb, Cb.T, atol=1e-12)


def _sqrtm(S):
    vals, vecs = np.linalg.eigh(S)
    return (vecs * np.sqrt(np.maximum(vals, 0.0))) @ vecs.T


def riemannian_gradient_reference(C, w, step, n_iter):
    """Plain numpy Riemannian gradient descent for the Bures barycenter's covariance, from sum_k w_k C_k:
    S <- G S G with G = (1 - step) I + step sum_k w_k T_k, T_k the Monge map from N(0, S) to N(0, C_k)."""
    S = np.einsum("k,kij->ij", w, C)
    for _ in range(n_iter):
        root = _sqrtm(S)
        inv = np.linalg.inv(root)
        T = sum(wk * inv @ _sqrtm(root @ Ck @ root) @ inv for wk, Ck in zip(w, C))
        G = (1 - step) * np.eye(len(S)) + step * 0.5 * (T + T.T)
        S = G @ S @ G
    return S


def test_seed_reproducible_and_full_batch_is_riemannian_gradient_descent():
    m, C, w, _ = commuting(seed=1)
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    C = np.einsum("ij,kjl,ml->kim", Q, C, Q) + 0.3 * np.array([[0.0, 1.0], [1.0, 0.0]])  # not commuting
    kw = dict(max_iter=50, tol=0.0, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = numbaot.bures_wasserstein_barycenter(m, C, w, "stochastic_gradient_descent", batch_size=2, **kw)[1]
        b = numbaot.bures_wasserstein_barycenter(m, C, w, "stochastic_gradient_descent", batch_size=2, **kw)[1]
        full = numbaot.bures_wasserstein_barycenter(m, C, w, "stochastic_gradient_descent", batch_size=4,
                                                    step_size=0.5, max_iter=12, tol=0.0)[1]
    np.testing.assert_array_equal(a, b)
    # against an independent loop, after few steps (far from the fixed point, so the steps themselves are compared)
    np.testing.assert_allclose(full, riemannian_gradient_reference(C, w, 0.5, 12), rtol=1e-10, atol=1e-12)


def test_pot_layer_runs_the_stochastic_methods():
    m, C, w, truth = commuting(seed=2)
    np.random.seed(0)  # the POT layer samples from numpy's global state, as POT does: seeded, the test is exact
    state = np.random.get_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = pot_layer.gaussian.bures_barycenter_gradient_descent(C, w, num_iter=50, batch_size=1)
        np.random.set_state(state)
        np.testing.assert_array_equal(again, pot_layer.gaussian.bures_barycenter_gradient_descent(
            C, w, num_iter=50, batch_size=1))
        Cb = pot_layer.gaussian.bures_barycenter_gradient_descent(C, w, num_iter=1500, batch_size=1, averaged=True)
        mb, Cb2 = pot_layer.gaussian.bures_wasserstein_barycenter(m, C, w, method="stochastic_gradient_descent",
                                                                  num_iter=1500)
    np.testing.assert_allclose(np.diag(Cb), np.diag(truth), rtol=0.05)
    np.testing.assert_allclose(np.diag(Cb2), np.diag(truth), rtol=0.05)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="stochastic_gradient_descent", batch_size=0), ValueError, "batch_size"),
    (dict(method="stochastic_gradient_descent", batch_size=1.5), TypeError, "batch_size"),
    (dict(method="fixed_point", batch_size=2), ValueError, "stochastic"),
    (dict(method="stochastic_gradient_descent", seed=-1), ValueError, "seed"),
    (dict(method="stochastic_gradient_descent", seed=np.int64(-3)), ValueError, "seed"),
    (dict(method="stochastic_gradient_descent", seed=True), TypeError, "seed"),
    (dict(method="stochastic_gradient_descent", seed="a"), TypeError, "seed"),
    (dict(method="sgd"), ValueError, "method"),
])
def test_bad_parameters(kwargs, error, match):
    m, C, w, _ = commuting()
    with pytest.raises(error, match=match):
        numbaot.bures_wasserstein_barycenter(m, C, w, **kwargs)


def test_averaging_reduces_the_error_of_the_iterates():
    """The averaged variant returns the running Bures-Wasserstein mean of the iterates (each new one with weight
    1 / t), not the last iterate: over a fixed set of seeds its error is clearly below plain SGD's at the same
    number of steps (a variance test)."""
    m, C, w, truth = commuting(K=6, seed=0)
    errors = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for method in ("stochastic_gradient_descent", "averaged_stochastic_gradient_descent"):
            errors[method] = np.mean([np.linalg.norm(numbaot.bures_wasserstein_barycenter(
                m, C, w, method, max_iter=300, tol=0.0, seed=seed)[1] - truth) for seed in range(8)])
    assert errors["averaged_stochastic_gradient_descent"] < 0.85 * errors["stochastic_gradient_descent"]
