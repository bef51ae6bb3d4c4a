"""Sliced and max-sliced Wasserstein: a plain-numpy reference, planted answers, POT's values, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot.sliced._projections import direction_value_grad


def naive_wpp(u, v, a, b, p):
    """W_p^p between 1D weighted samples from their quantile functions (plain numpy)."""
    iu, iv = np.argsort(u), np.argsort(v)
    u, a, v, b = u[iu], a[iu], v[iv], b[iv]
    ca, cb = np.cumsum(a), np.cumsum(b)
    ca /= ca[-1]
    cb /= cb[-1]
    cuts = np.unique(np.concatenate([[0.0], ca, cb]))
    mid = (cuts[1:] + cuts[:-1]) / 2
    qu = u[np.minimum(np.searchsorted(ca, mid), len(u) - 1)]
    qv = v[np.minimum(np.searchsorted(cb, mid), len(v) - 1)]
    return float(np.sum(np.diff(cuts) * np.abs(qu - qv) ** p)) * a.sum()


def naive_sliced(X, Y, a, b, P, p):
    return np.mean([naive_wpp(X @ P[:, l], Y @ P[:, l], a, b, p) for l in range(P.shape[1])]) ** (1 / p)


def clouds(n=40, m=30, d=3, seed=0, weighted=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(m, d)) * 1.5 + 0.5
    if not weighted:
        return X, Y, None, None
    a = rng.uniform(0.1, 1.0, n)
    b = rng.uniform(0.1, 1.0, m)
    return X, Y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_naive_reference(p, weighted):
    X, Y, a, b = clouds(weighted=weighted)
    P = numbaot.get_random_projections(3, 7, seed=4)
    got = numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p)
    wa = np.full(len(X), 1 / len(X)) if a is None else a
    wb = np.full(len(Y), 1 / len(Y)) if b is None else b
    assert np.isclose(got, naive_sliced(X, Y, wa, wb, P, p), rtol=1e-12)


def test_translation_planted_exact_per_direction():
    X, _, a, _ = clouds()
    t = np.array([0.3, -1.2, 2.0])
    P = numbaot.get_random_projections(3, 9, seed=1)
    for p in (1.0, 2.0, 3.0):
        want = np.mean(np.abs(P.T @ t) ** p) ** (1 / p)
        assert np.isclose(numbaot.sliced_wasserstein_distance(X, X + t, a, a, projections=P, p=p), want, rtol=1e-12)


def test_translation_uniform_directions_closed_form():
    # E[(theta . t)^2] = |t|^2 / d for theta uniform on the sphere; 20000 directions: ~1% standard error
    X, _, _, _ = clouds(n=50, d=4)
    t = np.array([1.0, 2.0, -2.0, 0.5])
    sw2 = numbaot.sliced_wasserstein_distance(X, X + t, n_projections=20000, seed=0) ** 2
    assert abs(sw2 - t @ t / 4) < 0.04 * (t @ t / 4)


def test_identical_clouds_give_zero_and_float32_kept():
    X, _, _, _ = clouds()
    assert numbaot.sliced_wasserstein_distance(X, X, seed=0) == 0.0
    X32 = X.astype(np.float32)
    out = numbaot.sliced_wasserstein_distance(X32, X32 + 1, seed=0)
    assert out.dtype == np.float32


def test_lists_and_strided_inputs():
    X, Y, _, _ = clouds()
    P = numbaot.get_random_projections(3, 5, seed=0)
    ref = numbaot.sliced_wasserstein_distance(X, Y, projections=P)
    assert numbaot.sliced_wasserstein_distance(X.tolist(), Y.tolist(), projections=P.tolist()) == ref
    assert np.isclose(numbaot.sliced_wasserstein_distance(np.asfortranarray(X), Y[::-1], projections=P), ref,
                      rtol=1e-12)


def test_seed_is_pots_seed_and_generator_accepted():
    P = numbaot.get_random_projections(5, 8, seed=7)
    assert np.allclose(np.linalg.norm(P, axis=0), 1.0)
    X, Y, _, _ = clouds(d=5)
    assert numbaot.sliced_wasserstein_distance(X, Y, n_projections=8, seed=7) == \
        numbaot.sliced_wasserstein_distance(X, Y, projections=P)
    G = numbaot.get_random_projections(5, 8, seed=np.random.default_rng(1))
    assert G.shape == (5, 8)


@given(seed=st.integers(0, 10**6), scale=st.floats(0.1, 10.0), shift=st.floats(-5, 5))
def test_metamorphic_properties(seed, scale, shift):
    X, Y, a, b = clouds(n=12, m=9, seed=seed)
    P = numbaot.get_random_projections(3, 4, seed=seed)
    base = numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P)
    assert np.isclose(numbaot.sliced_wasserstein_distance(Y, X, b, a, projections=P), base, rtol=1e-12)
    assert np.isclose(numbaot.sliced_wasserstein_distance(scale * X + shift, scale * Y + shift, a, b,
                                                          projections=P), scale * base, rtol=1e-9, atol=1e-12)
    perm = np.random.default_rng(seed).permutation(len(X))
    assert np.isclose(numbaot.sliced_wasserstein_distance(X[perm], Y, a[perm], b, projections=P), base, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------- max-sliced
def test_max_sliced_sampled_is_the_largest_direction():
    X, Y, a, b = clouds()
    P = numbaot.get_random_projections(3, 11, seed=2)
    per = [naive_wpp(X @ P[:, l], Y @ P[:, l], a, b, 2.0) for l in range(11)]
    value, direction = numbaot.max_sliced_wasserstein_distance(X, Y, a, b, projections=P, return_direction=True)
    assert np.isclose(value, max(per) ** 0.5, rtol=1e-12)
    assert np.array_equal(direction, P[:, int(np.argmax(per))])


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5])
def test_max_sliced_gradient_improves_and_is_attained(p):
    X, Y, a, b = clouds(d=4)
    sampled = numbaot.max_sliced_wasserstein_distance(X, Y, a, b, n_projections=5, seed=0, p=p)
    value, theta = numbaot.max_sliced_wasserstein_distance(X, Y, a, b, n_projections=5, seed=0, p=p,
                                                           method="gradient", return_direction=True)
    assert value >= sampled
    assert np.isclose(np.linalg.norm(theta), 1.0)
    assert np.isclose(value, naive_wpp(X @ theta, Y @ theta, a, b, p) ** (1 / p), rtol=1e-12)


def test_max_sliced_gradient_finds_the_translation():
    X, _, a, _ = clouds(d=5)
    t = np.array([1.0, -2.0, 0.5, 2.0, 0.0])
    value, theta = numbaot.max_sliced_wasserstein_distance(X, X + t, a, a, n_projections=3, seed=1,
                                                           method="gradient", return_direction=True)
    assert np.isclose(value, np.linalg.norm(t), rtol=1e-9)
    assert np.allclose(abs(theta @ t), np.linalg.norm(t), rtol=1e-9)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_direction_gradient_matches_finite_differences(p):
    X, Y, a, b = clouds(n=15, m=11, d=3, seed=5)
    theta = np.array([0.3, -0.5, 0.8])

    def value(t):
        u, v = X @ t, Y @ t
        return direction_value_grad(X, Y, np.argsort(u), np.argsort(v), u, v, a, b, p)

    f0, grad = value(theta)
    assert np.isclose(f0, naive_wpp(X @ theta, Y @ theta, a, b, p), rtol=1e-12)
    h = 1e-6
    fd = [(value(theta + h * e)[0] - value(theta - h * e)[0]) / (2 * h) for e in np.eye(3)]
    assert np.allclose(grad, fd, rtol=1e-5, atol=1e-7)


def test_max_iter_reached_warns():
    X, Y, a, b = clouds(d=4)
    with pytest.warns(numbaot.ConvergenceWarning, match="max_iter"):
        numbaot.max_sliced_wasserstein_distance(X, Y, a, b, seed=0, method="gradient", max_iter=1, tol=0.0)


def test_pot_agrees():
    ot = pytest.importorskip("ot")
    X, Y, a, b = clouds(n=300, m=200, d=4)
    P = numbaot.get_random_projections(4, 20, seed=3)
    for p in (1, 2, 1.5):
        assert np.isclose(numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p),
                          ot.sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p), rtol=1e-12)
        assert np.isclose(numbaot.max_sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p),
                          ot.max_sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p), rtol=1e-12)
    assert np.isclose(numbaot.sliced_wasserstein_distance(X, Y, n_projections=20, seed=3),
                      ot.sliced_wasserstein_distance(X, Y, n_projections=20, seed=3), rtol=1e-12)


# ------------------------------------------------------------------------------------------------------ bad input
X0, Y0, _, _ = clouds(n=6, m=5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_projections=0), ValueError, "n_projections must be >= 1"),
    (dict(n_projections=-3), ValueError, "n_projections must be >= 1"),
    (dict(n_projections=2.5), TypeError, "n_projections must be a positive integer"),
    (dict(p=0.5), ValueError, "p must be"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed="x"), TypeError, "seed"),
    (dict(projections=np.ones((2, 4))), ValueError, r"projections has shape \(2, 4\)"),
    (dict(projections=np.full((3, 2), np.nan)), ValueError, "projections"),
    (dict(a=np.ones(4) / 4), ValueError, "a has 4 entries"),
    (dict(a=-np.ones(6)), ValueError, "negative"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        numbaot.sliced_wasserstein_distance(X0, Y0, **kwargs)


def test_bad_clouds():
    with pytest.raises(ValueError, match="dimension"):
        numbaot.sliced_wasserstein_distance(X0, Y0[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        numbaot.sliced_wasserstein_distance(X0[:, 0], Y0[:, 0])
    bad = X0.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"X_s\[\(2, 1\)\]|X_s\[2"):
        numbaot.sliced_wasserstein_distance(bad, Y0)
    with pytest.raises(ValueError, match="empty"):
        numbaot.sliced_wasserstein_distance(np.empty((0, 3)), Y0)
    with pytest.raises(ValueError, match="method"):
        numbaot.max_sliced_wasserstein_distance(X0, Y0, method="adam")


def test_inputs_not_mutated():
    X, Y, a, b = clouds()
    copies = [x.copy() for x in (X, Y, a, b)]
    numbaot.sliced_wasserstein_distance(X, Y, a, b, seed=0)
    numbaot.max_sliced_wasserstein_distance(X, Y, a, b, seed=0, method="gradient")
    assert all(np.array_equal(x, c) for x, c in zip((X, Y, a, b), copies))


def test_directions_in_chunks_give_the_same_values(monkeypatch):
    from numbaot.sliced import _projections

    X, Y, a, b = clouds()
    P = numbaot.get_random_projections(3, 23, seed=5)
    whole = numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P)
    monkeypatch.setattr(_projections, "CHUNK_VALUES", 3 * (len(X) + len(Y)))  # chunks of 3 directions
    assert numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P) == whole
    assert numbaot.max_sliced_wasserstein_distance(X, Y, projections=P) == \
        max(numbaot.max_sliced_wasserstein_distance(X, Y, projections=P[:, k:k + 1]) for k in range(23))


def test_extreme_coordinates_do_not_overflow():
    X, Y, _, _ = clouds(n=8, m=6)
    P = numbaot.get_random_projections(3, 4, seed=0)
    base = numbaot.sliced_wasserstein_distance(X, Y, projections=P, p=3)
    big = numbaot.sliced_wasserstein_distance(X * 1e200, Y * 1e200, projections=P, p=3)
    assert np.isfinite(big) and np.isclose(big, base * 1e200, rtol=1e-12)
