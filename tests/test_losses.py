"""``samples_loss`` against numpy implementations of GeomLoss's formulas (its Sinkhorn loop and kernel norms)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numbaot
from tests.naive import geomloss_sinkhorn_naive, hausdorff_naive, kernel_loss_naive


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
    (dict(loss="hausdorff", p=3), ValueError, "p must be 1 or 2 for the 'hausdorff' loss"),
    (dict(loss="hausdorff", b=[1.0, 1.0, 1.0]), ValueError, "same total mass"),
    (dict(loss="hausdorff", reach=0.0), ValueError, "reach = 0"),
    (dict(loss="hausdorff", lazy="yes"), TypeError, "lazy must be True or False"),
    (dict(loss="hausdorff", a=[np.nan, 1.0, 1.0]), ValueError, "a must be finite"),
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


# ----------------------------------------------------------------------------------------------------- hausdorff
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("p, reach", [(2, None), (1, None), (2, 0.7), (1, 1.5)])
def test_hausdorff_matches_numpy(p, reach, lazy):
    X, Y, a, b = _data()
    a[4] = 0.0  # a zero weight
    a /= a.sum()
    if reach is not None:
        b = 0.8 * b  # unbalanced: masses may differ
    value, F, G = numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=p, blur=0.1, reach=reach, scaling=0.7,
                                       potentials=True, lazy=lazy)
    ref, f, g = hausdorff_naive(a, X, b, Y, p=p, blur=0.1, reach=reach, scaling=0.7)
    assert np.isclose(value, ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(F, f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(G, g, rtol=1e-9, atol=1e-12)
    assert np.isclose(0.5 * (a @ F + b @ G), value, rtol=1e-12)  # H = (<a, F> + <b, G>) / 2
    assert numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=p, blur=0.1, reach=reach, scaling=0.7,
                                lazy=lazy) == value


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.sampled_from([1, 2]), st.floats(0.02, 3.0),
       st.sampled_from([None, 0.3, 3.0]), st.integers(0, 2**31))
def test_hausdorff_axioms(n, m, d, p, blur, reach, seed):
    """H >= 0, H(a, b) = H(b, a) (potentials swapped), H(a, a) = 0, for balanced and unbalanced OT."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = rng.integers(1, 5, n).astype(float), rng.integers(1, 5, m).astype(float)
    a, b = a / a.sum(), b / b.sum()
    if reach is not None:
        b = b * rng.uniform(0.5, 2.0)
    kw = dict(loss="hausdorff", p=p, blur=blur, reach=reach, potentials=True)
    h_ab, F, G = numbaot.samples_loss(X, Y, a, b, **kw)
    h_ba, G2, F2 = numbaot.samples_loss(Y, X, b, a, **kw)
    scale = max(1.0, float(np.abs(X).max() + np.abs(Y).max()) ** p)
    assert h_ab >= -1e-12 * scale
    assert abs(h_ab - h_ba) <= 1e-12 * scale
    np.testing.assert_allclose(F2, F, rtol=1e-10, atol=1e-12 * scale)
    np.testing.assert_allclose(G2, G, rtol=1e-10, atol=1e-12 * scale)
    assert abs(numbaot.samples_loss(X, X, a, a, **kw)[0]) <= 1e-12 * scale


def test_hausdorff_limits():
    """blur -> 0: the averaged nearest-neighbour cost ``(sum_i a_i min_j C_ij + sum_j b_j min_i C_ij) / 2``
    (planted: two clusters of points whose nearest neighbours are known); blur -> inf: the kernel norm of
    ``-C``: the energy distance for p = 1, ``|mean(a) - mean(b)|^2 / 2`` for p = 2."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[0.1, 0.0], [1.0, 0.3], [0.0, 1.2], [0.05, 1.1]])
    a, b = np.array([0.5, 0.25, 0.25]), np.array([0.4, 0.3, 0.2, 0.1])
    # nearest neighbours: x0 -> y0 (0.1), x1 -> y1 (0.3), x2 -> y3 (|(0.05, 0.1)|); y0 -> x0, y1 -> x1,
    # y2 -> x2 (0.2), y3 -> x2
    d_x = np.array([0.1, 0.3, np.hypot(0.05, 0.1)])
    d_y = np.array([0.1, 0.3, 0.2, np.hypot(0.05, 0.1)])
    for p in (1, 2):
        planted = 0.5 * (a @ d_x**p + b @ d_y**p) / p
        gaps = [abs(numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=p, blur=blur) - planted)
                for blur in ((0.01, 0.003, 0.001) if p == 1 else (0.03, 0.01, 0.003))]
        assert gaps[-1] < 1e-3 * planted and gaps[0] > gaps[1] > gaps[2]  # the gap is O(eps), eps = blur^p
    rng = np.random.default_rng(3)
    X, Y = rng.random((8, 2)), rng.random((6, 2)) + 0.4
    a, b = np.full(8, 1 / 8), np.full(6, 1 / 6)
    energy = numbaot.samples_loss(X, Y, a, b, loss="energy")
    far = [numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=1, blur=blur) for blur in (10.0, 100.0, 1000.0)]
    rel = [abs(h - energy) / energy for h in far]
    assert rel[-1] < 1e-3 and rel[0] > rel[1] > rel[2]  # O(diameter / blur)
    mean_gap = 0.5 * np.sum((X.mean(0) - Y.mean(0)) ** 2)
    assert np.isclose(numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=2, blur=100.0), mean_gap, rtol=1e-4)


def test_hausdorff_weights_dtype_and_paths():
    X, Y, a, b = _data(seed=4)
    a[2] = 0.0
    a /= a.sum()
    kw = dict(loss="hausdorff", blur=0.2, diameter=3.0)  # the schedule must not depend on the dropped point
    full = numbaot.samples_loss(X, Y, a, b, **kw)
    drop = numbaot.samples_loss(np.delete(X, 2, 0), Y, np.delete(a, 2), b, **kw)
    assert abs(full - drop) < 1e-12  # a zero weight is a point that is not there
    assert abs(numbaot.samples_loss(X, Y, a, b, lazy=True, **kw) - full) < 1e-13
    v32 = numbaot.samples_loss(X.astype(np.float32), Y.astype(np.float32), a, b, **kw)
    assert isinstance(v32, np.float32) and np.isclose(v32, full, rtol=1e-5)
    assert np.isclose(numbaot.samples_loss(X, Y, loss="hausdorff", blur=0.2),
                      hausdorff_naive(np.full(12, 1 / 12), X, np.full(9, 1 / 9), Y, blur=0.2)[0],
                      rtol=1e-10)
    # unbalanced: tends to the balanced value as reach grows, and takes any masses
    gaps = [abs(numbaot.samples_loss(X, Y, a, b, reach=reach, **kw) - full) for reach in (1.0, 10.0, 100.0)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3 * full
    assert numbaot.samples_loss(X, Y, a, 3 * b, reach=1.0, **kw) > 0
