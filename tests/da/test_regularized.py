"""Class- and Laplacian-regularised estimators against POT (numbaot.optim's solvers underneath)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot.da import EMDLaplaceTransport, SinkhornL1l2Transport, SinkhornLpl1Transport
from tests.da.data import one_nn_accuracy, shifted_blobs

ot = pytest.importorskip("ot")
Xs, ys, Xt, yt = shifted_blobs(24, 30, seed=3)


def _pot(name, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(ot.da, name)(**kw).fit(*args)


def test_lpl1_matches_pot():
    kw = dict(reg_e=2.0, reg_cl=0.5, max_inner_iter=3000, tol=1e-12)
    ours = SinkhornLpl1Transport(**kw).fit(Xs, ys, Xt)
    pot = _pot("SinkhornLpl1Transport", Xs, ys, Xt, **kw)
    assert np.allclose(ours.coupling_, pot.coupling_, atol=1e-8)
    assert np.allclose(ours.transform(Xs + 0.1), pot.transform(Xs + 0.1), atol=1e-6)
    assert np.allclose(ours.transform_labels(ys), pot.transform_labels(ys), atol=1e-6)


def _group_lasso_objective(G, M, reg, eta):
    value = np.sum(G * M) + reg * np.sum(G * np.log(np.where(G > 0, G, 1)))
    return value + eta * sum(np.linalg.norm(G[ys == c], axis=0).sum() for c in np.unique(ys))


def test_l1l2_reaches_pots_objective():
    kw = dict(reg_e=2.0, reg_cl=0.5, max_iter=50, max_inner_iter=3000, tol=1e-12)
    ours = SinkhornL1l2Transport(**kw).fit(Xs, ys, Xt)
    pot = _pot("SinkhornL1l2Transport", Xs, ys, Xt, **kw)
    ours_value = _group_lasso_objective(ours.coupling_, ours.cost_, 2.0, 0.5)
    pot_value = _group_lasso_objective(pot.coupling_, pot.cost_, 2.0, 0.5)
    assert ours_value <= pot_value + 1e-7 * abs(pot_value)
    assert np.allclose(ours.coupling_, pot.coupling_, atol=1e-4)


def test_laplace_reaches_pots_objective():
    ours = EMDLaplaceTransport(reg_lap=1.0, reg_src=0.5, tol=1e-7, log=True).fit(Xs=Xs, Xt=Xt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot = ot.da.EMDLaplaceTransport(reg_lap=1.0, reg_src=0.5, tol=1e-7, log=True).fit(Xs=Xs, Xt=Xt)
    assert ours.log_["loss"][-1] == pytest.approx(float(pot.log_["loss"][-1]), rel=1e-6)
    assert np.allclose(ours.coupling_.sum(1), 1 / 24) and np.allclose(ours.coupling_.sum(0), 1 / 30)


def test_class_regularisation_keeps_classes_apart():
    """A target sample receives mass from one class only when the class penalty is strong."""
    est = SinkhornLpl1Transport(reg_e=0.5, reg_cl=5.0, max_inner_iter=2000).fit(Xs, ys, Xt)
    soft = est.transform_labels(ys)
    assert np.mean(soft.max(1) > 0.99) > 0.9
    assert one_nn_accuracy(est.transform(Xs), ys, Xt, yt) >= one_nn_accuracy(Xs, ys, Xt, yt)


def test_bad_input():
    with pytest.raises(TypeError, match="SinkhornLpl1Transport needs the source labels"):
        SinkhornLpl1Transport().fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="pass a finite limit_max"):
        SinkhornLpl1Transport().fit(Xs, ys, Xt, yt)
    assert SinkhornL1l2Transport(reg_e=1.0).fit(Xs, ys, Xt, yt).coupling_.shape == (24, 30)  # limit_max 10
    with pytest.raises(ValueError, match="unknown similarity 'cosine'"):
        EMDLaplaceTransport(similarity="cosine").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="unknown reg_type 'l2'"):
        EMDLaplaceTransport(reg_type="l2").fit(Xs=Xs, Xt=Xt)
