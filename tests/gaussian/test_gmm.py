"""OT between Gaussian mixtures: planted answers, certificates, POT's values, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot


def spd(rng, d, k):
    A = rng.normal(size=(k, d, d))
    return A @ np.swapaxes(A, -1, -2) / d + 0.2 * np.eye(d)


def mixtures(seed=0, d=2, ks=3, kt=4):
    rng = np.random.default_rng(seed)
    ms, mt = rng.normal(size=(ks, d)) * 3, rng.normal(size=(kt, d)) * 3
    ws, wt = rng.uniform(0.2, 1, ks), rng.uniform(0.2, 1, kt)
    return ms, mt, spd(rng, d, ks), spd(rng, d, kt), ws / ws.sum(), wt / wt.sum()


def test_loss_is_the_plan_cost_and_plan_is_a_coupling():
    ms, mt, Cs, Ct, ws, wt = mixtures()
    P = numbaot.gmm_ot_plan(ms, mt, Cs, Ct, ws, wt)
    assert np.allclose(P.sum(1), ws, atol=1e-14) and np.allclose(P.sum(0), wt, atol=1e-14) and np.all(P >= 0)
    D = numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct) ** 2
    assert np.isclose(numbaot.gmm_ot_loss(ms, mt, Cs, Ct, ws, wt), np.sum(P * D), rtol=1e-12)
    assert np.isclose(numbaot.gmm_ot_loss(ms, mt, Cs, Ct, ws, wt), numbaot.emd2(ws, wt, D), rtol=1e-12)


def test_planted_single_components_and_translation():
    ms, mt, Cs, Ct, _, _ = mixtures()
    one = np.ones(1)
    assert np.isclose(numbaot.gmm_ot_loss(ms[:1], mt[:1], Cs[:1], Ct[:1], one, one),
                      numbaot.bures_wasserstein_distance(ms[0], mt[0], Cs[0], Ct[0]) ** 2, rtol=1e-12)
    # well separated components moved by t: each goes to its own translate
    m = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    C = np.stack([np.eye(2)] * 3)
    w = np.array([0.2, 0.3, 0.5])
    t = np.array([0.5, -1.0])
    assert np.isclose(numbaot.gmm_ot_loss(m, m + t, C, C, w, w), t @ t, rtol=1e-12)
    x = np.array([[0.1, 0.2], [49.0, 1.0]])
    assert np.allclose(numbaot.gmm_ot_apply_map(x, m, m + t, C, C, w, w), x + t, atol=1e-12)
    assert np.allclose(numbaot.gmm_ot_apply_map(x, m, m + t, C, C, w, w, method="rand", seed=0), x + t, atol=1e-12)


def test_map_of_one_component_is_the_bures_map_and_pushes_the_mixture():
    ms, mt, Cs, Ct, _, _ = mixtures(d=3)
    one = np.ones(1)
    A, b = numbaot.bures_wasserstein_mapping(ms[0], mt[0], Cs[0], Ct[0])
    x = np.random.default_rng(1).multivariate_normal(ms[0], Cs[0], size=20000)
    mapped = numbaot.gmm_ot_apply_map(x, ms[:1], mt[:1], Cs[:1], Ct[:1], one, one)
    assert np.allclose(mapped, x @ A + b, rtol=1e-12, atol=1e-12)
    assert np.allclose(mapped.mean(0), mt[0], atol=0.05) and np.allclose(np.cov(mapped.T), Ct[0], atol=0.1)


def test_plan_density_planted():
    m, C, w = np.zeros((1, 1)), np.ones((1, 1, 1)), np.ones(1)
    x = np.array([[0.0], [1.0]])
    y = np.array([[2.0], [3.0], [2.004]])
    dens = numbaot.gmm_ot_plan_density(x, y, m, m + 2, C, C, w, w, atol=1e-2)
    g = np.exp(-0.5 * x[:, 0] ** 2) / np.sqrt(2 * np.pi)
    assert np.allclose(dens, np.array([[g[0], 0, g[0]], [0, g[1], 0]]), rtol=1e-12)


def test_pot_agrees():
    ot = pytest.importorskip("ot")
    ms, mt, Cs, Ct, ws, wt = mixtures(d=3)
    assert np.isclose(numbaot.gmm_ot_loss(ms, mt, Cs, Ct, ws, wt), ot.gmm.gmm_ot_loss(ms, mt, Cs, Ct, ws, wt),
                      rtol=1e-8)
    assert np.allclose(numbaot.gmm_ot_plan(ms, mt, Cs, Ct, ws, wt), ot.gmm.gmm_ot_plan(ms, mt, Cs, Ct, ws, wt),
                       atol=1e-8)
    x = np.random.default_rng(2).normal(size=(30, 3)) * 3
    y = np.random.default_rng(3).normal(size=(20, 3)) * 3
    for method in ("bary", "rand"):
        assert np.allclose(numbaot.gmm_ot_apply_map(x, ms, mt, Cs, Ct, ws, wt, method=method, seed=4),
                           ot.gmm.gmm_ot_apply_map(x, ms, mt, Cs, Ct, ws, wt, method=method, seed=4), atol=1e-8)
    assert np.allclose(numbaot.gmm_ot_plan_density(x, y, ms, mt, Cs, Ct, ws, wt, atol=2.0),
                       ot.gmm.gmm_ot_plan_density(x, y, ms, mt, Cs, Ct, ws, wt, atol=2.0), atol=1e-8)


def test_bad_input():
    ms, mt, Cs, Ct, ws, wt = mixtures()
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.gmm_ot_loss(ms, mt, Cs, Ct, ws, 2 * wt)
    with pytest.raises(ValueError, match="w_s|a has|entries"):
        numbaot.gmm_ot_loss(ms, mt, Cs, Ct, ws[:2], wt)
    with pytest.raises(ValueError, match="mixture"):
        numbaot.gmm_ot_loss(ms[0], mt[0], Cs[0], Ct[0], ws, wt)
    with pytest.raises(ValueError, match="dimension"):
        numbaot.gmm_ot_loss(ms, mt[:, :1], Cs, Ct[:, :1, :1], ws, wt)
    singular = Cs.copy()
    singular[1] = np.diag([1.0, 0.0])
    assert np.isfinite(numbaot.gmm_ot_loss(ms, mt, singular, Ct, ws, wt))  # the loss needs no inverse
    with pytest.raises(ValueError, match=r"C_s\[1\] is singular"):
        numbaot.gmm_ot_apply_map(ms, ms, mt, singular, Ct, ws, wt)
    with pytest.raises(ValueError, match="plan has shape"):
        numbaot.gmm_ot_apply_map(ms, ms, mt, Cs, Ct, ws, wt, plan=np.ones((2, 2)))
    with pytest.raises(ValueError, match="method"):
        numbaot.gmm_ot_apply_map(ms, ms, mt, Cs, Ct, ws, wt, method="nearest")
    with pytest.raises(ValueError, match="dimension"):
        numbaot.gmm_ot_apply_map(np.ones((3, 5)), ms, mt, Cs, Ct, ws, wt)
    with pytest.raises(ValueError, match="atol"):
        numbaot.gmm_ot_plan_density(ms, mt, ms, mt, Cs, Ct, ws, wt, atol=0.0)
