"""Bures-Wasserstein: planted answers, plain-numpy references, POT's values, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot


def spd(rng, d, k=None, floor=0.1):
    A = rng.normal(size=(d, d) if k is None else (k, d, d))
    return A @ np.swapaxes(A, -1, -2) / d + floor * np.eye(d)


def naive_sqrtm(C):
    w, V = np.linalg.eigh(C)
    return (V * np.sqrt(np.maximum(w, 0))) @ V.T


def naive_bw2(ms, mt, Cs, Ct):
    r = naive_sqrtm(Cs)
    return float(np.sum((ms - mt) ** 2) + np.trace(Cs + Ct - 2 * naive_sqrtm(r @ Ct @ r)))


def test_matches_naive_and_all_pairs():
    rng = np.random.default_rng(0)
    ms, mt = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    Cs, Ct = spd(rng, 3, 4), spd(rng, 3, 5)
    D = numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct)
    want = np.array([[naive_bw2(ms[i], mt[j], Cs[i], Ct[j]) for j in range(5)] for i in range(4)])
    assert D.shape == (4, 5) and np.allclose(D ** 2, want, rtol=1e-10)
    single = numbaot.bures_wasserstein_distance(ms[1], mt[2], Cs[1], Ct[2])
    assert isinstance(single, float) and np.isclose(single ** 2, want[1, 2], rtol=1e-12)
    paired = numbaot.bures_wasserstein_distance(ms, mt[:4], Cs, Ct[:4], paired=True)
    assert np.allclose(paired ** 2, np.diag(want[:, :4]), rtol=1e-10)


def test_identity_and_symmetry_planted():
    rng = np.random.default_rng(1)
    m, C = rng.normal(size=4), spd(rng, 4)
    assert numbaot.bures_wasserstein_distance(m, m, C, C) < 1e-7  # sqrt of rounding noise
    m2, C2 = rng.normal(size=4), spd(rng, 4)
    assert np.isclose(numbaot.bures_wasserstein_distance(m, m2, C, C2),
                      numbaot.bures_wasserstein_distance(m2, m, C2, C), rtol=1e-10)


def test_commuting_covariances_closed_form():
    # diagonal covariances: W_2^2 = |m_s - m_t|^2 + sum (sigma_s - sigma_t)^2
    s, t = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])
    ms, mt = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    want = np.sum((ms - mt) ** 2) + np.sum((np.sqrt(s) - np.sqrt(t)) ** 2)
    assert np.isclose(numbaot.bures_wasserstein_distance(ms, mt, np.diag(s), np.diag(t)) ** 2, want, rtol=1e-12)


def test_one_dimensional_matches_wasserstein_1d_of_samples():
    rng = np.random.default_rng(2)
    n = 200000
    x = rng.normal(1.0, 2.0, n)
    y = rng.normal(-0.5, 0.5, n)
    exact = numbaot.bures_wasserstein_distance([1.0], [-0.5], [[4.0]], [[0.25]]) ** 2  # 1.5^2 + 1.5^2 = 4.5
    assert np.isclose(exact, 4.5, rtol=1e-12)
    sampled = float(numbaot.wasserstein_1d(x, y, p=2))
    assert abs(sampled - exact) < 0.05  # sampling error ~1e-2 at this n


def test_mapping_pushes_source_onto_target():
    rng = np.random.default_rng(3)
    ms, mt, Cs, Ct = rng.normal(size=3), rng.normal(size=3), spd(rng, 3), spd(rng, 3)
    A, b = numbaot.bures_wasserstein_mapping(ms, mt, Cs, Ct)
    assert np.allclose(A, A.T) and np.all(np.linalg.eigvalsh(A) >= 0)
    assert np.allclose(A @ Cs @ A, Ct, rtol=1e-10, atol=1e-12)  # the pushed covariance
    assert np.allclose(ms @ A + b, mt, rtol=1e-12)
    x = rng.multivariate_normal(ms, Cs, size=100000)
    y = x @ A + b
    assert np.allclose(y.mean(0), mt, atol=0.03) and np.allclose(np.cov(y.T), Ct, atol=0.05)
    # the map's cost is the distance: E|x - T(x)|^2 = W_2^2
    cost = float(np.mean(np.sum((x - y) ** 2, axis=1)))
    assert abs(cost - numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct) ** 2) < 0.05 * cost


def test_empirical_versions():
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(500, 3))
    xt = rng.normal(size=(400, 3)) @ np.array([[2.0, 0.3, 0], [0, 1.0, 0], [0, 0, 0.5]]) + 1
    ws = rng.uniform(0.1, 1, 500)
    for w, bias, reg in ((None, True, 1e-6), (ws, True, 0.0), (ws, False, 0.1)):
        wn = np.full(500, 1 / 500) if w is None else w / w.sum()
        mean_s = wn @ xs if bias else np.zeros(3)
        mean_t = xt.mean(0) if bias else np.zeros(3)
        Cs = ((xs - mean_s) * wn[:, None]).T @ (xs - mean_s) + reg * np.eye(3)
        Ct = (xt - mean_t).T @ (xt - mean_t) / 400 + reg * np.eye(3)
        got = numbaot.empirical_bures_wasserstein_distance(xs, xt, reg, w, None, bias)
        assert np.isclose(got ** 2, naive_bw2(mean_s, mean_t, Cs, Ct), rtol=1e-10)
        A, b = numbaot.empirical_bures_wasserstein_mapping(xs, xt, reg, w, None, bias)
        A2, b2 = numbaot.bures_wasserstein_mapping(mean_s, mean_t, Cs, Ct)
        assert np.allclose(A, A2, rtol=1e-9) and np.allclose(b, b2, rtol=1e-9, atol=1e-12)


def test_empirical_large_mean_takes_the_centred_path():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 2)) * 1e-3 + 1e4  # mean^2 / variance = 1e14: the raw product would cancel
    y = rng.normal(size=(3000, 2)) * 1e-3 + 1e4
    mx, my = x.mean(0), y.mean(0)
    want = naive_bw2(mx, my, np.cov(x.T, bias=True), np.cov(y.T, bias=True))
    assert np.isclose(numbaot.empirical_bures_wasserstein_distance(x, y, reg=0.0) ** 2, want, rtol=1e-6)


def test_mapping_singular_source_is_refused():
    x = np.random.default_rng(6).normal(size=(2, 3))  # 2 samples in 3D: singular covariance
    with pytest.raises(ValueError, match="singular"):
        numbaot.empirical_bures_wasserstein_mapping(x, x + 1, reg=0.0)
    A, b = numbaot.empirical_bures_wasserstein_mapping(x, x + 1, reg=1e-3)
    assert np.all(np.isfinite(A))


# ---------------------------------------------------------------------------------------------------- barycenter
def naive_barycenter(C, w, iters=200):
    S = np.einsum("k,kij->ij", w, C)
    for _ in range(iters):
        r = naive_sqrtm(S)
        S = sum(wk * naive_sqrtm(r @ Ck @ r) for wk, Ck in zip(w, C))
    return S


def test_barycenter_fixed_point_certificate_and_reference():
    rng = np.random.default_rng(7)
    K, d = 6, 3
    m, C = rng.normal(size=(K, d)), spd(rng, d, K)
    w = rng.uniform(0.1, 1, K)
    w /= w.sum()
    mb, Cb = numbaot.bures_wasserstein_barycenter(m, C, w, tol=1e-13)
    assert np.allclose(mb, w @ m, rtol=1e-12)
    r = naive_sqrtm(Cb)
    assert np.allclose(sum(wk * naive_sqrtm(r @ Ck @ r) for wk, Ck in zip(w, C)), Cb, atol=1e-11)
    assert np.allclose(Cb, naive_barycenter(C, w), atol=1e-9)
    _, Cg = numbaot.bures_wasserstein_barycenter(m, C, w, "gradient_descent", step_size=0.7, tol=1e-13)
    assert np.allclose(Cg, Cb, atol=1e-10)


def test_barycenter_planted_commuting_and_identical():
    s = np.array([[1.0, 4.0], [9.0, 16.0]])
    C = np.stack([np.diag(v) for v in s])
    _, Cb = numbaot.bures_wasserstein_barycenter(np.zeros((2, 2)), C, tol=1e-14)
    assert np.allclose(Cb, np.diag(((np.sqrt(s[0]) + np.sqrt(s[1])) / 2) ** 2), rtol=1e-12)
    rng = np.random.default_rng(8)
    one = spd(rng, 4)
    _, Cb = numbaot.bures_wasserstein_barycenter(np.zeros((3, 4)), np.stack([one] * 3))
    assert np.allclose(Cb, one, rtol=1e-12)


def test_barycenter_max_iter_warns():
    rng = np.random.default_rng(9)
    with pytest.warns(numbaot.ConvergenceWarning, match="bures_wasserstein_barycenter"):
        numbaot.bures_wasserstein_barycenter(rng.normal(size=(3, 2)), spd(rng, 2, 3), max_iter=1, tol=0.0)


@given(seed=st.integers(0, 10**6), scale=st.floats(0.1, 10))
def test_scaling_property(seed, scale):
    rng = np.random.default_rng(seed)
    ms, mt, Cs, Ct = rng.normal(size=2), rng.normal(size=2), spd(rng, 2), spd(rng, 2)
    base = numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct)
    scaled = numbaot.bures_wasserstein_distance(scale * ms, scale * mt, scale ** 2 * Cs, scale ** 2 * Ct)
    assert np.isclose(scaled, scale * base, rtol=1e-9)


# ------------------------------------------------------------------------------------------------------------ POT
def test_pot_agrees():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(10)
    d = 5
    ms, mt = rng.normal(size=(4, d)), rng.normal(size=(3, d))
    Cs, Ct = spd(rng, d, 4), spd(rng, d, 3)
    assert np.allclose(numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct),
                       ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct), rtol=1e-10)
    assert np.isclose(numbaot.bures_wasserstein_distance(ms[0], mt[0], Cs[0], Ct[0]),
                      ot.gaussian.bures_wasserstein_distance(ms[0], mt[0], Cs[0], Ct[0]), rtol=1e-10)
    for ours, theirs in zip(numbaot.bures_wasserstein_mapping(ms[0], mt[0], Cs[0], Ct[0]),
                            ot.gaussian.bures_wasserstein_mapping(ms[0], mt[0], Cs[0], Ct[0])):
        assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    xs, xt = rng.normal(size=(300, d)), rng.normal(size=(200, d)) * 2
    ws = rng.uniform(size=300)
    assert np.isclose(numbaot.empirical_bures_wasserstein_distance(xs, xt, ws=ws),
                      ot.gaussian.empirical_bures_wasserstein_distance(xs, xt, ws=ws[:, None]), rtol=1e-10)
    for ours, theirs in zip(numbaot.empirical_bures_wasserstein_mapping(xs, xt, 1e-3, bias=False),
                            ot.gaussian.empirical_bures_wasserstein_mapping(xs, xt, 1e-3, bias=False)):
        assert np.allclose(ours, np.ravel(theirs) if ours.ndim == 1 else theirs, rtol=1e-10, atol=1e-12)
    K = 8
    m, C = rng.normal(size=(K, d)), spd(rng, d, K)
    mb, Cb = numbaot.bures_wasserstein_barycenter(m, C, tol=1e-13)
    mb2, Cb2 = ot.gaussian.bures_wasserstein_barycenter(m, C, eps=1e-13)
    assert np.allclose(mb, mb2, rtol=1e-12) and np.allclose(Cb, Cb2, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------------------ bad input
def test_bad_covariances():
    rng = np.random.default_rng(11)
    m, C = np.zeros(2), spd(rng, 2)
    asym = C + np.array([[0.0, 0.5], [0.0, 0.0]])
    with pytest.raises(ValueError, match="Cs is not symmetric"):
        numbaot.bures_wasserstein_distance(m, m, asym, C)
    neg = np.array([[1.0, 0.0], [0.0, -0.5]])
    with pytest.raises(ValueError, match="Ct is not positive semi-definite.*-0.5"):
        numbaot.bures_wasserstein_distance(m, m, C, neg)
    with pytest.warns(numbaot.InputWarning, match="set to 0"):
        projected = numbaot.bures_wasserstein_distance(m, m, C, neg, psd="project")
    assert np.isclose(projected, numbaot.bures_wasserstein_distance(m, m, C, np.diag([1.0, 0.0])), rtol=1e-12)
    with pytest.raises(ValueError, match="psd"):
        numbaot.bures_wasserstein_distance(m, m, C, C, psd="clip")
    with pytest.raises(ValueError, match="square"):
        numbaot.bures_wasserstein_distance(m, m, np.ones((2, 3)), C)
    nan = C.copy()
    nan[0, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        numbaot.bures_wasserstein_distance(m, m, nan, C)
    noisy = C + np.array([[0.0, 1e-15], [0.0, 0.0]])  # asymmetry within float noise: accepted
    assert np.isfinite(numbaot.bures_wasserstein_distance(m, m, noisy, C))


def test_bad_shapes():
    rng = np.random.default_rng(12)
    C2, C3 = spd(rng, 2), spd(rng, 3)
    with pytest.raises(ValueError, match="same dimension"):
        numbaot.bures_wasserstein_distance(np.zeros(2), np.zeros(3), C2, C3)
    with pytest.raises(ValueError, match="same Gaussians"):
        numbaot.bures_wasserstein_distance(np.zeros(3), np.zeros(2), C2, C2)
    with pytest.raises(ValueError, match="paired"):
        numbaot.bures_wasserstein_distance(np.zeros((2, 2)), np.zeros((3, 2)), np.stack([C2] * 2),
                                           np.stack([C2] * 3), paired=True)
    with pytest.raises(ValueError, match="dimension"):
        numbaot.empirical_bures_wasserstein_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="reg"):
        numbaot.empirical_bures_wasserstein_distance(np.ones((4, 2)), np.ones((4, 2)), reg=-1.0)
    with pytest.raises(ValueError, match="ws has 3 entries"):
        numbaot.empirical_bures_wasserstein_distance(np.ones((4, 2)), np.ones((4, 2)), ws=np.ones(3))


def test_bad_barycenter_input():
    rng = np.random.default_rng(13)
    m, C = rng.normal(size=(3, 2)), spd(rng, 2, 3)
    with pytest.raises(ValueError, match="sum to 1"):
        numbaot.bures_wasserstein_barycenter(m, C, np.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="negative"):
        numbaot.bures_wasserstein_barycenter(m, C, np.array([1.5, -0.5, 0.0]))
    with pytest.raises(ValueError, match="method"):
        numbaot.bures_wasserstein_barycenter(m, C, method="newton")
    with pytest.raises(ValueError, match="step_size"):
        numbaot.bures_wasserstein_barycenter(m, C, method="gradient_descent", step_size=3.0)
    with pytest.raises(ValueError, match="stack"):
        numbaot.bures_wasserstein_barycenter(m[0], C[0])
    singular = np.stack([np.diag([1.0, 0.0])] * 3)
    with pytest.raises(ValueError, match="null space"):
        numbaot.bures_wasserstein_barycenter(m, singular)


def test_inputs_not_mutated():
    rng = np.random.default_rng(14)
    m, C = rng.normal(size=(3, 2)), spd(rng, 2, 3)
    C[0, 0, 1] += 1e-17  # noise-level asymmetry: symmetrised on a copy
    before = C.copy()
    numbaot.bures_wasserstein_barycenter(m, C)
    numbaot.bures_wasserstein_distance(m, m, C, C)
    assert np.array_equal(C, before)
