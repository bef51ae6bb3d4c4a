"""``samples_loss`` against numpy implementations of GeomLoss's formulas (its Sinkhorn loop and kernel norms)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numbaot
from tests.naive import geomloss_sinkhorn_naive, kernel_loss_naive


def _data(n=12, m=9, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((n, d)), rng.random((m, d)) + 0.2
    a, b = rng.integers(1, 5, n).astype(float), rng.integers(1, 5, m).astype(float)
    return X, Y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("p, reach, debias", [(2, None, True), (1, None, True), (2, 0.7, True), (2, None, False),
                                              (1, 1.5, True)])
def test_sinkhorn_matches_geomloss_loop(p, reach, debias, lazy):
    X, Y, a, b = _data()
    if reach is not None:
        b = 0.8 * b
    value, F, G = numbaot.samples_loss(X, Y, a, b, p=p, blur=0.1, reach=reach, scaling=0.7, debias=debias,
                                       potentials=True, lazy=lazy)
    ref, f, g = geomloss_sinkhorn_naive(a, X, b, Y, p=p, blur=0.1, reach=reach, scaling=0.7, debias=debias)
    assert np.isclose(value, ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(F, f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(G, g, rtol=1e-9, atol=1e-12)
    assert numbaot.samples_loss(X, Y, a, b, p=p, blur=0.1, reach=reach, scaling=0.7, debias=debias,
                                lazy=lazy) == value


@settings(max_examples=20)
@given(st.sampled_from(["energy", "gaussian", "laplacian"]), st.integers(1, 8), st.integers(1, 8),
       st.integers(1, 3), st.floats(0.05, 3.0), st.integers(0, 2**31))
def test_kernels_match_numpy(loss, n, m, d, blur, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1  # kernel norms take any masses
    value, F, G = numbaot.samples_loss(X, Y, a, b, loss=loss, blur=blur, potentials=True)
    assert np.isclose(value, kernel_loss_naive(a, X, b, Y, loss, blur), rtol=1e-10, atol=1e-12)
    D = lambda U, V: np.sqrt(((U[:, None] - V[None]) ** 2).sum(-1))  # noqa: E731
    k = {"energy": lambda D: -D, "gaussian": lambda D: np.exp(-D**2 / (2 * blur**2)),
         "laplacian": lambda D: np.exp(-D / blur)}[loss]
    np.testing.assert_allclose(F, k(D(X, X)) @ a - k(D(X, Y)) @ b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(G, k(D(Y, Y)) @ b - k(D(Y, X)) @ a, rtol=1e-10, atol=1e-12)
    if loss != "energy":
        assert value >= -1e-12  # positive definite kernels: a squared norm


def test_planted_values():
    X, _, a, _ = _data(n=10, seed=1)
    t = np.array([0.1, -0.2, 0.2])  # |t|^2 = 0.09
    # the debiased divergence of a translation is |t|^2 / 2 for the cost |x - y|^2 / 2, at any blur (up to the
    # fixed number of annealing steps GeomLoss takes)
    assert np.isclose(numbaot.samples_loss(X, X + t, a, a, blur=0.3), 0.045, rtol=1e-4)
    for loss in ("sinkhorn", "energy", "gaussian", "laplacian"):
        assert abs(numbaot.samples_loss(X, X, a, a, loss=loss)) < 1e-12
    # energy distance between two Diracs: 0.5 * (0 + 0 + 2 |x - y|) = |x - y|
    assert np.isclose(numbaot.samples_loss([[0.0, 0.0]], [[3.0, 4.0]], loss="energy"), 5.0)


def test_float32_and_default_weights():
    X, Y, _, _ = _data(seed=2)
    v32 = numbaot.samples_loss(X.astype(np.float32), Y.astype(np.float32))
    v64 = numbaot.samples_loss(X, Y)
    assert isinstance(v32, np.float32) and np.isclose(v32, v64, rtol=1e-5)
    ref, _, _ = geomloss_sinkhorn_naive(np.full(12, 1 / 12), X, np.full(9, 1 / 9), Y)
    assert np.isclose(v64, ref, rtol=1e-10)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(loss="hausdorff"), ValueError, "hausdorff' needs a user kernel"),
    (dict(loss="wasserstein"), ValueError, "loss must be one of"),
    (dict(loss=3), TypeError, "loss must be a string"),
    (dict(p=3), ValueError, "p must be 1 or 2"),
    (dict(blur=0.0), ValueError, "blur = 0"),
    (dict(blur=-1.0), ValueError, "blur must be a finite positive"),
    (dict(scaling=1.5), ValueError, "scaling must lie strictly between 0 and 1"),
    (dict(reach=-1.0), ValueError, "reach must be a finite positive"),
    (dict(b=[1.0, 1.0, 1.0]), ValueError, "same total mass"),
    (dict(loss="energy", a=[-1.0, 1.0, 1.0]), ValueError, "negative"),
])
def test_bad_inputs(kwargs, exc, match):
    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(exc, match=match):
        numbaot.samples_loss(X, X + 1, **kwargs)
    with pytest.raises(ValueError, match="dimension"):
        numbaot.samples_loss(X, np.ones((2, 3)))
