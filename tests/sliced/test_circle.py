"""OT on the circle and spherical sliced Wasserstein: exact brute-force references, closed forms, POT, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot


def sorted_measure(x, w):
    order = np.argsort(x % 1.0)
    xs, ws = (x % 1.0)[order], w[order] / w.sum()
    c = np.cumsum(ws)
    c[-1] = 1.0
    return xs, c


def naive_cost(x, a, y, b, theta, p):
    """int_0^1 |F^{-1}(t) - G^{-1}(t + theta)|^p dt, integrated exactly between breakpoints (plain numpy)."""
    xs, ca = sorted_measure(x, a)
    ys, cb = sorted_measure(y, b)
    shifted = np.concatenate([cb + k - theta for k in range(-3, 4)])
    cuts = np.unique(np.concatenate([[0.0, 1.0], ca, shifted[(shifted > 0) & (shifted < 1)]]))
    mid = (cuts[1:] + cuts[:-1]) / 2
    xv = xs[np.minimum(np.searchsorted(ca, mid), len(xs) - 1)]
    s = mid + theta
    k = np.floor(s)
    yv = ys[np.minimum(np.searchsorted(cb, s - k), len(ys) - 1)] + k
    return float(np.sum(np.diff(cuts) * np.abs(xv - yv) ** p))


def naive_circle(x, a, y, b, p):
    """The minimum over every kink theta = cb_j - ca_i + k of the piecewise linear convex cost."""
    _, ca = sorted_measure(x, a)
    _, cb = sorted_measure(y, b)
    kinks = (cb[None, :] - ca[:, None]).ravel()
    candidates = np.concatenate([kinks + k for k in (-1, 0, 1)] + [[0.0]])
    candidates = candidates[(candidates >= -1) & (candidates <= 1)]
    return min(naive_cost(x, a, y, b, t, p) for t in candidates) * a.sum()


def measures(seed, n=7, m=5):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=n), rng.integers(1, 5, n).astype(float), rng.uniform(size=m),
            rng.integers(1, 5, m).astype(float))


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5, 3.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_exact_brute_force(p, seed):
    x, a, y, b = measures(seed)
    b = b * a.sum() / b.sum()
    assert np.isclose(numbaot.wasserstein_circle(x, y, a, b, p), naive_circle(x, a, y, b, p), rtol=1e-12, atol=1e-15)


@given(seed=st.integers(0, 10**6))
def test_w1_closed_form_agrees_with_the_search(seed):
    x, a, y, b = measures(seed, n=9, m=6)
    b = b * a.sum() / b.sum()
    closed = numbaot.wasserstein1_circle(x, y, a, b)
    assert np.isclose(closed, numbaot.wasserstein_circle(x, y, a, b, 1), rtol=1e-10, atol=1e-14)
    assert np.isclose(closed, naive_circle(x, a, y, b, 1.0), rtol=1e-10, atol=1e-14)


@given(seed=st.integers(0, 10**6), turn=st.floats(-3, 3))
def test_rotation_and_reflection_invariance(seed, turn):
    x, a, y, b = measures(seed)
    b = b * a.sum() / b.sum()
    base = numbaot.wasserstein_circle(x, y, a, b, 2)
    assert np.isclose(numbaot.wasserstein_circle(x + turn, y + turn, a, b, 2), base, rtol=1e-9, atol=1e-13)
    assert np.isclose(numbaot.wasserstein_circle(1 - x, 1 - y, a, b, 2), base, rtol=1e-9, atol=1e-13)
    assert np.isclose(numbaot.wasserstein_circle(y, x, b, a, 2), base, rtol=1e-9, atol=1e-13)


def test_planted_answers():
    assert np.isclose(numbaot.wasserstein_circle([0.05], [0.95], p=2), 0.01, rtol=1e-12)  # across 0
    assert np.isclose(numbaot.wasserstein1_circle([0.1, 0.6], [0.3, 0.8]), 0.2, rtol=1e-12)
    x = np.random.default_rng(3).uniform(size=20)
    assert numbaot.wasserstein_circle(x, x, p=2) == 0.0
    for p in (1.0, 2.0, 3.0):  # one atom moved by 0.3 one way is 0.7 the other way round
        assert numbaot.wasserstein_circle([0.8], [0.1], p=p) == pytest.approx(0.3 ** p, rel=1e-12)
    value, theta = numbaot.binary_search_circle(x, x, p=2, return_theta=True)
    assert value == 0.0 and abs(theta) < 1e-14


def test_batches_and_dtypes():
    rng = np.random.default_rng(4)
    U, V = rng.uniform(size=(8, 3)), rng.uniform(size=(6, 3))
    out = numbaot.wasserstein_circle(U, V, p=2)
    assert out.shape == (3,)
    assert np.allclose(out, [numbaot.wasserstein_circle(U[:, k], V[:, k], p=2) for k in range(3)], rtol=1e-14)
    assert numbaot.wasserstein_circle(U[:, 0].astype(np.float32), V[:, 0].astype(np.float32)).dtype == np.float32


def test_semidiscrete_uniform_closed_form():
    rng = np.random.default_rng(5)
    x, w = rng.uniform(size=6), rng.uniform(0.1, 1, 6)
    w /= w.sum()
    xs, c = sorted_measure(x, w)
    # the uniform measure as a fine grid of atoms: the exact discrete problem converges to the semi-discrete one
    grid = (np.arange(4000) + 0.5) / 4000
    approx = numbaot.wasserstein_circle(x, grid, w, None, 2)
    assert abs(numbaot.semidiscrete_wasserstein2_unif_circle(x, w) - approx) < 1e-6
    assert np.isclose(numbaot.semidiscrete_wasserstein2_unif_circle([0.5]), 1 / 12, rtol=1e-12)
    evenly = (np.arange(10) + 0.5) / 10  # midpoints of 10 arcs: each atom covers its arc, cost 1/(12 * 100)
    assert np.isclose(numbaot.semidiscrete_wasserstein2_unif_circle(evenly), 1 / 1200, rtol=1e-10)


def unit(rng, n, d):
    X = rng.normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_sphere_is_the_mean_over_great_circles():
    rng = np.random.default_rng(6)
    X, Y = unit(rng, 30, 3), unit(rng, 20, 3) + 0.0
    U = numbaot.get_projections_sphere(3, 5, seed=1)
    per = []
    for l in range(5):
        u = (np.arctan2(X @ U[l, :, 1], X @ U[l, :, 0]) + np.pi) / (2 * np.pi)
        v = (np.arctan2(Y @ U[l, :, 1], Y @ U[l, :, 0]) + np.pi) / (2 * np.pi)
        per.append(naive_circle(u, np.full(30, 1 / 30), v, np.full(20, 1 / 20), 2.0))
    got = numbaot.sliced_wasserstein_sphere(X, Y, projections=U)
    assert np.isclose(got, np.mean(per) ** 0.5, rtol=1e-10)
    assert numbaot.sliced_wasserstein_sphere(X, X, seed=0) < 1e-12
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # a rotation of both clouds with the planes
    assert np.isclose(numbaot.sliced_wasserstein_sphere(X @ Q.T, Y @ Q.T, projections=Q @ U), got, rtol=1e-9)


def test_pot_agrees():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(7)
    x, y = rng.uniform(size=40), rng.uniform(size=30)
    a, b = rng.uniform(0.1, 1, 40), rng.uniform(0.1, 1, 30)
    a, b = a / a.sum(), b / b.sum()
    for p in (1, 2, 1.5):
        theirs = float(ot.wasserstein_circle(x, y, a, b, p=p, eps=1e-12)[0])
        assert np.isclose(numbaot.wasserstein_circle(x, y, a, b, p), theirs, rtol=1e-8)
    # (POT 0.9.7's wasserstein1_circle and its weighted semidiscrete_wasserstein2_unif_circle disagree with the
    # exact brute force above; the uniform-weight closed form agrees)
    assert np.isclose(numbaot.semidiscrete_wasserstein2_unif_circle(x),
                      float(ot.semidiscrete_wasserstein2_unif_circle(x)[0]), rtol=1e-10)
    assert np.allclose(numbaot.get_projections_sphere(4, 6, seed=2), ot.sliced.get_projections_sphere(4, 6, seed=2))
    X, Y = unit(rng, 60, 3), unit(rng, 50, 3)
    for p in (1, 2):
        assert np.isclose(numbaot.sliced_wasserstein_sphere(X, Y, p=p, seed=3, n_projections=10),
                          ot.sliced_wasserstein_sphere(X, Y, p=p, seed=3, n_projections=10), rtol=1e-8)
    assert np.isclose(numbaot.sliced_wasserstein_sphere_unif(X, seed=4, n_projections=10),
                      ot.sliced_wasserstein_sphere_unif(X, seed=4, n_projections=10), rtol=1e-10)


def test_bad_input():
    rng = np.random.default_rng(8)
    X = unit(rng, 5, 3)
    with pytest.raises(ValueError, match=r"X_t\[1\] is not on the unit sphere"):
        numbaot.sliced_wasserstein_sphere(X, X * [[1.0], [2.0], [1.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="not on the unit sphere"):
        numbaot.sliced_wasserstein_sphere_unif(X * 3)
    with pytest.raises(ValueError, match=r"projections has shape \(2, 3, 3\)"):
        numbaot.sliced_wasserstein_sphere(X, X, projections=np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="n_projections"):
        numbaot.sliced_wasserstein_sphere(X, X, n_projections=0)
    with pytest.raises(ValueError, match="dimension"):
        numbaot.sliced_wasserstein_sphere(X, unit(rng, 5, 4))
    with pytest.raises(ValueError, match="a must sum to 1"):
        numbaot.sliced_wasserstein_sphere_unif(X, np.ones(5))
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.wasserstein_circle([0.1, 0.2], [0.3], [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="p must be"):
        numbaot.wasserstein_circle([0.1], [0.3], p=0.5)
    with pytest.raises(ValueError, match="u_weights must sum to 1"):
        numbaot.semidiscrete_wasserstein2_unif_circle([0.1, 0.2], [1.0, 1.0])
    with pytest.raises(ValueError, match="same number of columns"):
        numbaot.wasserstein_circle(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        numbaot.wasserstein_circle([0.1, np.nan], [0.3])
