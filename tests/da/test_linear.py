"""Gaussian maps: LinearTransport, LinearGWTransport and OT_mapping_linear against closed forms and POT."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.da import LinearGWTransport, LinearTransport, OT_mapping_linear
from tests.da.data import rotation

ot = pytest.importorskip("ot")


def _gaussians(n=400, m=500, d=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    Xs = rng.normal(size=(n, d)) @ A + 1.0
    Xt = rng.normal(size=(m, d)) * [2.0, 0.5, 1.0][:d] @ rotation(0.7, d).T - 3.0
    return Xs, Xt


def _moments(X, w=None):
    w = np.full(len(X), 1 / len(X)) if w is None else w / w.sum()
    mean = w @ X
    return mean, (X - mean).T @ ((X - mean) * w[:, None])


def test_linear_transport_maps_moments_onto_the_target():
    Xs, Xt = _gaussians()
    est = LinearTransport(reg=0.0).fit(Xs=Xs, Xt=Xt)
    ms, Cs = _moments(est.transform(Xs))
    mt, Ct = _moments(Xt)
    assert np.allclose(ms, mt, atol=1e-10) and np.allclose(Cs, Ct, atol=1e-9)
    back_m, back_C = _moments(est.inverse_transform(Xt=Xt))
    assert np.allclose(back_m, Xs.mean(0), atol=1e-10) and np.allclose(back_C, _moments(Xs)[1], atol=1e-9)
    assert np.allclose(est.A_, est.A_.T, atol=1e-12) and np.all(np.linalg.eigvalsh(est.A_) > 0)  # a Brenier map
    # weighted samples: the weighted moments are matched
    w = np.random.default_rng(1).uniform(0.5, 1.5, size=len(Xs))
    est = LinearTransport(reg=0.0, distribution_estimation=lambda X: w if len(X) == len(w) else np.ones(len(X))
                          ).fit(Xs=Xs, Xt=Xt)
    ms, Cs = _moments(est.transform(Xs), w)
    assert np.allclose(ms, mt, atol=1e-10) and np.allclose(Cs, Ct, atol=1e-9)


@pytest.mark.parametrize("bias,reg", [(True, 1e-8), (False, 1e-3)])
def test_linear_transport_matches_pot(bias, reg):
    Xs, Xt = _gaussians(60, 80)
    ours = LinearTransport(reg=reg, bias=bias).fit(Xs=Xs, Xt=Xt)
    pot = ot.da.LinearTransport(reg=reg, bias=bias).fit(Xs=Xs, Xt=Xt)
    assert np.allclose(ours.A_, pot.A_, atol=1e-9) and np.allclose(ours.B_, pot.B_, atol=1e-9)
    assert np.allclose(ours.transform(Xs + 1), pot.transform(Xs + 1), atol=1e-8)
    assert np.allclose(ours.inverse_transform(Xt=Xt), pot.inverse_transform(Xt=Xt), atol=1e-8)
    # POT's ot.da.OT_mapping_linear is a deprecated alias (which fails on keywords) of this function
    A, b = ot.gaussian.empirical_bures_wasserstein_mapping(Xs, Xt, reg=reg, bias=bias)
    A2, b2, log = OT_mapping_linear(Xs, Xt, reg=reg, bias=bias, log=True)
    assert np.allclose(A, A2, atol=1e-9) and np.allclose(b, b2, atol=1e-9)
    centred = Xs - Xs.mean(0) if bias else Xs
    assert np.allclose(log["Cs"], centred.T @ centred / len(Xs) + reg * np.eye(3), atol=1e-12)


@pytest.mark.parametrize("sign_eigs", [None, "skewness"])
@pytest.mark.parametrize("dt", [3, 2])
def test_linear_gw_transport_matches_pot(sign_eigs, dt):
    Xs, Xt = _gaussians(70, 90)
    Xt = np.c_[Xt, Xt[:, :1] ** 2][:, :dt]  # skewed, possibly of another dimension
    ours = LinearGWTransport(sign_eigs=sign_eigs).fit(Xs=Xs, Xt=Xt)
    pot = ot.da.LinearGWTransport(sign_eigs=sign_eigs).fit(Xs=Xs, Xt=Xt)
    assert np.allclose(ours.A_, pot.A_, atol=1e-8) and np.allclose(ours.B_, pot.B_, atol=1e-8)
    assert np.allclose(ours.A1_, pot.A1_, atol=1e-8) and np.allclose(ours.B1_, pot.B1_, atol=1e-8)
    assert np.allclose(ours.transform(Xs), pot.transform(Xs), atol=1e-7)
    assert np.allclose(ours.inverse_transform(Xt=Xt), pot.inverse_transform(Xt=Xt), atol=1e-7)


def test_linear_gw_preserves_structure():
    """An isometry of the source (a rotation plus a shift) is undone up to the map's sign choice: distances are kept."""
    Xs, _ = _gaussians(200, 10)
    Xt = Xs @ rotation(1.1, 3).T + 4.0
    est = LinearGWTransport().fit(Xs=Xs, Xt=Xt)
    Y = est.transform(Xs)
    dist = lambda Z: ((Z[:, None] - Z[None]) ** 2).sum(-1)  # noqa: E731
    assert np.allclose(dist(Y), dist(Xs), rtol=1e-8, atol=1e-8)
