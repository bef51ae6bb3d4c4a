"""High-dimensional (low-rank plus isotropic) Bures-Wasserstein: POT's values, the full-covariance closed forms
built from the same factors, the map's push-forward, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
import numbaot.pot as pot_layer

ot = pytest.importorskip("ot")


def model(rng, p, d):
    U = np.linalg.qr(rng.normal(size=(p, d)))[0]
    return U, rng.uniform(0.5, 4.0, d)


def full(U, l, s2):
    return (U * l) @ U.T + s2 * np.eye(U.shape[0])


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    p = 9
    Us, ls = model(rng, p, 3)
    Ut, lt = model(rng, p, 2)
    return rng.normal(size=p), rng.normal(size=p), Us, Ut, ls, lt


@pytest.mark.parametrize("s2s, s2t", [(0.5, 0.3), (2.0, 0.1), (0.0, 0.7)])
def test_distance_planted_and_pot(pair, s2s, s2t):
    ms, mt, Us, Ut, ls, lt = pair
    value = numbaot.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, s2s, s2t)
    ref = numbaot.bures_wasserstein_distance(ms, mt, full(Us, ls, s2s), full(Ut, lt, s2t))
    np.testing.assert_allclose(value, ref, rtol=1e-10 if s2s > 0 else 1e-7)
    if s2s > 0:  # POT's p x p square root of a singular matrix is NaN
        theirs = ot.gaussian.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, np.array([s2s]), np.array([s2t]))
        np.testing.assert_allclose(value, float(theirs[0]), rtol=1e-10)


def test_distance_when_subspaces_fill_the_space():
    rng = np.random.default_rng(1)
    Us, ls = model(rng, 4, 3)
    Ut, lt = model(rng, 4, 2)
    m = np.zeros(4)
    value = numbaot.bures_wasserstein_distance_hd(m, m + 1, Us, Ut, ls, lt, 0.2, 0.4)
    ref = numbaot.bures_wasserstein_distance(m, m + 1, full(Us, ls, 0.2), full(Ut, lt, 0.4))
    np.testing.assert_allclose(value, ref, rtol=1e-10)
    # the same subspace on both sides: the span of [Us, Us] has rank 3 only
    same = numbaot.bures_wasserstein_distance_hd(m, m, Us[:, :1], Us[:, :1], [1.0], [1.0], 0.3, 0.3)
    assert same == pytest.approx(0.0, abs=1e-7)


def test_mapping_planted_and_pot(pair):
    ms, mt, Us, Ut, ls, lt = pair
    A, b = numbaot.bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, 0.5, 0.3)
    A_full, b_full = numbaot.bures_wasserstein_mapping(ms, mt, full(Us, ls, 0.5), full(Ut, lt, 0.3))
    np.testing.assert_allclose(A, A_full, atol=1e-10)
    np.testing.assert_allclose(b, b_full, atol=1e-10)
    np.testing.assert_allclose(A @ full(Us, ls, 0.5) @ A, full(Ut, lt, 0.3), atol=1e-10)  # pushes Sigma_s to Sigma_t
    A2, b2 = ot.gaussian.bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, np.array([0.5]), np.array([0.3]))
    np.testing.assert_allclose(A, A2, atol=1e-10)
    np.testing.assert_allclose(b, b2, atol=1e-10)


@pytest.mark.parametrize("reg, d, weighted", [(0.0, 3, False), (0.0, (2, 4), True), (0.1, 3, False)])
def test_empirical_against_pot(reg, d, weighted):
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(120, 8)) @ rng.normal(size=(8, 8))
    xt = rng.normal(size=(90, 8)) * 2 + 1
    ws = rng.uniform(0.5, 2, (120, 1)) if weighted else None
    wt = rng.uniform(0.5, 2, (90, 1)) if weighted else None
    ours = numbaot.empirical_bures_wasserstein_distance_hd(xs, xt, d, reg=reg, ws=ws, wt=wt)
    theirs = float(np.ravel(ot.gaussian.empirical_bures_wasserstein_distance_hd(xs, xt, d, reg=reg, ws=ws, wt=wt))[0])
    layer = pot_layer.gaussian.empirical_bures_wasserstein_distance_hd(xs, xt, d, reg=reg, ws=ws, wt=wt)
    np.testing.assert_allclose(layer, theirs, rtol=1e-10)
    if reg == 0:  # POT divides by p - d + reg in the distance only
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    A, b = numbaot.empirical_bures_wasserstein_mapping_hd(xs, xt, d, reg=reg, ws=ws, wt=wt)
    A2, b2 = ot.gaussian.empirical_bures_wasserstein_mapping_hd(xs, xt, d, reg=reg, ws=ws, wt=wt)
    np.testing.assert_allclose(A, A2, atol=1e-10)
    np.testing.assert_allclose(b, b2[0], atol=1e-10)
    A3, b3, log = pot_layer.gaussian.empirical_bures_wasserstein_mapping_hd(xs, xt, d, reg=reg, ws=ws, wt=wt,
                                                                           log=True)
    assert b3.shape == b2.shape and set(log) >= {"Us", "ls", "sigma2_s"}


def test_pot_layer_logs(pair):
    ms, mt, Us, Ut, ls, lt = pair
    value, log = pot_layer.gaussian.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, 0.5, 0.3, log=True)
    _, theirs = ot.gaussian.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, np.array([0.5]), np.array([0.3]),
                                                          log=True)
    np.testing.assert_allclose(log["Ss_sq"], theirs["Ss_sq"], atol=1e-12)
    A, b, log = pot_layer.gaussian.bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, 0.5, 0.3, log=True)
    np.testing.assert_allclose(log["Ss_sqinv"] @ log["Ss_sq"], np.eye(9), atol=1e-10)


def test_empirical_map_pushes_the_sample():
    x = np.random.default_rng(3).normal(size=(300, 6)) @ np.diag([3.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    A, b = numbaot.empirical_bures_wasserstein_mapping_hd(x, 2 * x - 1, 2)
    np.testing.assert_allclose(x @ A + b, 2 * x - 1, atol=1e-8)


@pytest.mark.parametrize("change, error, match", [
    (dict(Us="skew"), ValueError, "orthonormal"),
    (dict(Ut="rows"), ValueError, "same dimension"),
    (dict(ls=[1.0]), ValueError, "one variance per axis"),
    (dict(ls="nan"), ValueError, "finite"),
    (dict(ls=[-2.0, 1.0, 1.0]), ValueError, "negative"),
    (dict(sigma2_s=-1.0), ValueError, "residual variance"),
    (dict(sigma2_t=np.array([1.0, 2.0])), TypeError, "sigma2_t"),
    (dict(sigma2_s="a"), TypeError, "sigma2_s"),
    (dict(ms=np.zeros(4)), ValueError, "dimension 9"),
    (dict(Us=np.ones((9, 3), dtype=complex)), TypeError, "Us"),
])
def test_bad_parameters(pair, change, error, match):
    ms, mt, Us, Ut, ls, lt = pair
    args = dict(ms=ms, mt=mt, Us=Us, Ut=Ut, ls=ls, lt=lt, sigma2_s=0.5, sigma2_t=0.3)
    for key, value in change.items():
        if isinstance(value, str) and value == "skew":
            value = Us + 0.01
        elif isinstance(value, str) and value == "rows":
            value = Ut[:5]
        elif isinstance(value, str) and value == "nan":
            value = np.array([1.0, np.nan, 1.0])
        args[key] = value
    with pytest.raises(error, match=match):
        numbaot.bures_wasserstein_distance_hd(**args)


def test_singular_source_has_no_map(pair):
    ms, mt, Us, Ut, ls, lt = pair
    with pytest.raises(ValueError, match="sigma2_s is 0"):
        numbaot.bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, 0.0, 0.3)
    x = np.random.default_rng(4).normal(size=(50, 2)) @ np.ones((2, 5))  # rank 2 data in R^5, reg = 0
    with pytest.raises(ValueError, match="reg > 0"):
        numbaot.empirical_bures_wasserstein_mapping_hd(x, x, 2)


@pytest.mark.parametrize("d, error", [(0, ValueError), (6, ValueError), (2.5, TypeError), ((1, 7), ValueError),
                                      (True, TypeError)])
def test_bad_intrinsic_dimension(d, error):
    x = np.random.default_rng(5).normal(size=(20, 6))
    with pytest.raises(error, match="d_intrinsic"):
        numbaot.empirical_bures_wasserstein_distance_hd(x, x, d)


def test_bad_samples():
    x = np.random.default_rng(6).normal(size=(20, 6))
    with pytest.raises(ValueError, match="reg"):
        numbaot.empirical_bures_wasserstein_distance_hd(x, x, 2, reg=-1.0)
    with pytest.raises(ValueError):
        numbaot.empirical_bures_wasserstein_distance_hd(x, x[:, :5], 2)
    with pytest.raises(ValueError, match="ws"):
        numbaot.empirical_bures_wasserstein_distance_hd(x, x, 2, ws=-np.ones(20))
    with pytest.raises(ValueError, match="p >= 2"):
        numbaot.empirical_bures_wasserstein_distance_hd(x[:, :1], x[:, :1], 1)
    bad = x.copy()
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="finite"):
        numbaot.empirical_bures_wasserstein_mapping_hd(bad, x, 2)
    frozen = x.copy()
    frozen.setflags(write=False)
    numbaot.empirical_bures_wasserstein_mapping_hd(frozen, frozen, 2)
