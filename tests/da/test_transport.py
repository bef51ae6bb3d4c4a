"""Plan-based estimators against POT's on the same data, plus certificates (barycentric projection, batches)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numbaot.da import EMDTransport, SinkhornTransport, UnbalancedSinkhornTransport, barycentric_mapping
from tests.da.data import one_nn_accuracy, shifted_blobs, shifted_moons

ot = pytest.importorskip("ot")


def _pot(cls, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(ot.da, cls)(**kw)


def _fit_pot(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kw)


DATA = {
    "blobs": shifted_blobs(36, 36, seed=3),
    "moons": shifted_moons(30, 40, seed=5),
}


def _same_transports(ours, pot, Xs, Xt, atol):
    shifted_s, shifted_t = Xs + 0.05, Xt - 0.05
    assert np.allclose(ours.coupling_, pot.coupling_, rtol=0, atol=atol)
    assert np.allclose(ours.transform(Xs), pot.transform(Xs), rtol=0, atol=atol * 100)
    assert np.allclose(ours.inverse_transform(Xt=Xt), pot.inverse_transform(Xt=Xt), rtol=0, atol=atol * 100)
    assert np.allclose(ours.transform(shifted_s, batch_size=7), pot.transform(shifted_s, batch_size=7), rtol=0,
                       atol=atol * 100)
    assert np.allclose(ours.inverse_transform(Xt=shifted_t), pot.inverse_transform(Xt=shifted_t), rtol=0,
                       atol=atol * 100)


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("metric,norm", [("sqeuclidean", None), ("euclidean", "median"), ("sqeuclidean", "log")])
def test_emd_matches_pot(data, metric, norm):
    """Unique plans (generic data): couplings and every transport equal POT's to 1e-7."""
    Xs, ys, Xt, yt = DATA[data]
    ours = EMDTransport(metric=metric, norm=norm).fit(Xs=Xs, Xt=Xt)
    pot = _fit_pot(_pot("EMDTransport", metric=metric, norm=norm), Xs=Xs, Xt=Xt)
    assert np.allclose(ours.cost_, pot.cost_, rtol=1e-12, atol=1e-12)
    _same_transports(ours, pot, Xs, Xt, 1e-9)
    assert np.allclose(ours.transform_labels(ys), pot.transform_labels(ys), atol=1e-7)
    assert np.allclose(ours.inverse_transform_labels(yt), pot.inverse_transform_labels(yt), atol=1e-7)


@pytest.mark.parametrize("oos", ["continuous", "ferradans"])
@pytest.mark.parametrize("norm,method", [(None, "sinkhorn_log"), ("max", "sinkhorn_log")])
def test_sinkhorn_matches_pot(oos, norm, method):
    """Converged entropic plans agree to 1e-9, transports to 1e-7 (POT stops on an L2 error, we on L1)."""
    Xs, ys, Xt, yt = DATA["moons"]
    ours = SinkhornTransport(reg_e=0.5, norm=norm, method=method, tol=1e-13, max_iter=5000,
                             out_of_sample_map=oos).fit(Xs=Xs, Xt=Xt)
    pot = _fit_pot(_pot("SinkhornTransport", reg_e=0.5, norm=norm, method=method, tol=1e-14, max_iter=5000,
                        out_of_sample_map=oos), Xs=Xs, Xt=Xt)
    _same_transports(ours, pot, Xs, Xt, 1e-9)
    assert np.allclose(ours.transform_labels(ys), pot.transform_labels(ys), atol=1e-7)
    assert np.allclose(ours.inverse_transform_labels(yt), pot.inverse_transform_labels(yt), atol=1e-7)


def test_semi_supervised_costs_match_pot():
    """Labelled pairs of different classes: the same label-corrected cost as POT's; the same plan where unique."""
    Xs, ys, Xt, yt = DATA["blobs"]
    yt = yt.copy()
    yt[::5] = -1  # a fifth of the target unlabelled
    ours = SinkhornTransport(reg_e=2.0, limit_max=2.0, tol=1e-13, max_iter=5000).fit(Xs, ys, Xt, yt)
    pot = _fit_pot(_pot("SinkhornTransport", reg_e=2.0, limit_max=2.0, tol=1e-14, max_iter=5000), Xs, ys, Xt, yt)
    assert np.allclose(ours.cost_, pot.cost_, rtol=1e-12)
    assert np.allclose(ours.coupling_, pot.coupling_, atol=1e-9)
    assert np.allclose(ours.transform(Xs + 0.1), pot.transform(Xs + 0.1), atol=1e-7)
    assert ours.limit_max == 2.0  # the parameter is left as given (POT multiplies it by max(cost) in fit)
    emd = EMDTransport().fit(Xs, ys, Xt, yt)
    pot = _fit_pot(_pot("EMDTransport"), Xs, ys, Xt, yt)
    assert np.allclose(emd.cost_, pot.cost_, rtol=1e-12)
    assert np.isclose(np.sum(emd.coupling_ * emd.cost_), np.sum(pot.coupling_ * pot.cost_), rtol=1e-12)
    labelled = (ys[:, None] != yt[None, :]) & (yt[None, :] != -1)
    assert np.sum(emd.coupling_[labelled]) < 1e-12  # the clusters fit: no mass crosses labelled classes
    inf = SinkhornTransport(reg_e=2.0, max_iter=5000).fit(Xs, ys, Xt, yt)
    assert np.all(inf.coupling_[labelled] == 0) and np.isinf(inf.limit_max_)


def test_unbalanced_matches_pot():
    Xs, ys, Xt, yt = DATA["moons"]
    ours = UnbalancedSinkhornTransport(reg_e=0.5, reg_m=0.8, max_iter=5000, tol=1e-12).fit(Xs=Xs, Xt=Xt)
    pot = _fit_pot(_pot("UnbalancedSinkhornTransport", reg_e=0.5, reg_m=0.8, max_iter=5000, tol=1e-13), Xs=Xs,
                   Xt=Xt)
    _same_transports(ours, pot, Xs, Xt, 1e-9)
    assert ours.coupling_.sum() < 1.0


@pytest.mark.parametrize("est", [EMDTransport(), SinkhornTransport(reg_e=0.3, out_of_sample_map="ferradans"),
                                 SinkhornTransport(reg_e=0.3),
                                 UnbalancedSinkhornTransport(reg_e=0.3, reg_m=1.0)])
def test_transform_of_fitted_points_is_the_barycentric_projection(est):
    Xs, ys, Xt, yt = DATA["moons"]
    est.fit(Xs=Xs, Xt=Xt)
    assert np.allclose(est.transform(Xs), barycentric_mapping(est.coupling_, Xt), rtol=1e-12, atol=1e-12)
    assert np.allclose(est.inverse_transform(Xt=Xt), barycentric_mapping(est.coupling_.T, Xs), atol=1e-12)
    assert np.allclose(est.fit_transform(Xs=Xs, Xt=Xt), est.transform(Xs))
    # out of sample: the same answer whatever the batch size (larger than n, not dividing n)
    other = Xs[:9] + 1e-3
    assert np.allclose(est.transform(other, batch_size=2), est.transform(other, batch_size=128), atol=1e-12)
    # a subset of the fitted points goes out of sample, and each moves like its fitted self
    assert np.allclose(est.transform(Xs[:9], batch_size=4), est.transform(Xs)[:9], atol=1e-10)
    assert np.allclose(est.inverse_transform(Xt=Xt[:9], batch_size=4), est.inverse_transform(Xt=Xt)[:9],
                       atol=1e-10)


def test_out_of_sample_ferradans_is_nearest_point_plus_displacement():
    Xs, ys, Xt, yt = DATA["blobs"]
    est = EMDTransport().fit(Xs=Xs, Xt=Xt)
    new = np.random.default_rng(0).normal(size=(5, 2))
    nearest = np.argmin(((new[:, None] - Xs[None]) ** 2).sum(-1), axis=1)
    expected = barycentric_mapping(est.coupling_, Xt)[nearest] + new - Xs[nearest]
    assert np.allclose(est.transform(new), expected, atol=1e-12)


@pytest.mark.parametrize("data", sorted(DATA))
def test_one_nn_accuracy_at_least_pots(data):
    """1-NN trained on the transported source, tested on the target: at least POT's accuracy on the same split."""
    Xs, ys, Xt, yt = DATA[data]
    for name, kw in [("EMDTransport", {}), ("SinkhornTransport", dict(reg_e=1.0, tol=1e-10, max_iter=5000))]:
        ours = getattr(__import__("numbaot.da", fromlist=[name]), name)(**kw).fit(Xs=Xs, Xt=Xt)
        pot = _fit_pot(_pot(name, **kw), Xs=Xs, Xt=Xt)
        acc = one_nn_accuracy(ours.transform(Xs), ys, Xt, yt)
        acc_pot = one_nn_accuracy(pot.transform(Xs), ys, Xt, yt)
        assert acc >= acc_pot - 1e-12
        assert acc >= one_nn_accuracy(Xs, ys, Xt, yt)  # adaptation helps on these shifted domains


def test_labels_through_the_plan():
    """Soft labels are the class shares of the mass each sample receives; a permutation plan moves labels exactly."""
    Xs, ys, Xt, yt = DATA["blobs"]
    est = EMDTransport().fit(Xs=Xs, Xt=Xt)
    soft = est.transform_labels(ys)
    assert soft.shape == (Xt.shape[0], 3) and np.allclose(soft.sum(1), 1.0)
    perm = np.argmax(est.coupling_, axis=1)
    assert np.array_equal(np.argmax(soft, axis=1)[perm], ys)  # uniform n = n: the plan is a permutation
    back = est.inverse_transform_labels(yt)
    assert np.array_equal(np.argmax(back, axis=1), yt[perm])
    # string labels work and order the columns by np.unique
    names = np.array(["b", "a", "c"])[ys]
    assert np.allclose(est.transform_labels(names), soft[:, [1, 0, 2]])


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 12))
def test_permuting_the_source_permutes_the_answers(seed, n):
    """Metamorphic: relabelling the source samples relabels the plan's rows and the transported samples."""
    rng = np.random.default_rng(seed)
    Xs, Xt = rng.normal(size=(n, 2)), rng.normal(size=(n + 1, 2)) + 1.0
    perm = rng.permutation(n)
    est = SinkhornTransport(reg_e=1.0, tol=1e-12, max_iter=5000).fit(Xs=Xs, Xt=Xt)
    permuted = SinkhornTransport(reg_e=1.0, tol=1e-12, max_iter=5000).fit(Xs=Xs[perm], Xt=Xt)
    assert np.allclose(permuted.coupling_, est.coupling_[perm], atol=1e-12)
    assert np.allclose(permuted.transform(Xs[perm]), est.transform(Xs)[perm], atol=1e-10)
    new = rng.normal(size=(3, 2))
    assert np.allclose(permuted.transform(new), est.transform(new), atol=1e-10)


def test_duplicated_points_and_single_samples_match_pot():
    """Duplicated fitted points (the nearest one is the first, as POT's argmin) and one-point domains."""
    Xs, ys, Xt, yt = DATA["blobs"]
    Xs, Xt = np.r_[Xs[:10], Xs[:3]], np.r_[Xt[:10], Xt[2:5]]
    ours = EMDTransport().fit(Xs=Xs, Xt=Xt)
    pot = _fit_pot(_pot("EMDTransport"), Xs=Xs, Xt=Xt)
    assert np.isclose(np.sum(ours.coupling_ * ours.cost_), np.sum(pot.coupling_ * pot.cost_), rtol=1e-12)
    new = Xs[:5] + 0.01
    assert np.allclose(ours.transform(new), barycentric_mapping(ours.coupling_, Xt)[:5] + 0.01, atol=1e-12)
    one = EMDTransport().fit(Xs=Xs[:1], Xt=Xt[:1])
    assert np.allclose(one.coupling_, 1.0) and np.allclose(one.transform(Xs[:1] + 1.0), Xt[:1] + 1.0)
    assert np.allclose(one.transform_labels(ys[:1]), 1.0)


def test_unlabelled_targets_take_the_classes_the_labelled_ones_lack():
    """yt = -1 marks unlabelled targets (POT's convention): a source class with no labelled target sample may only
    go to those; with every target labelled the same labels are an error naming the class."""
    Xs, ys, Xt, yt = DATA["blobs"]
    yt = np.where(yt == 2, -1, yt)
    est = EMDTransport(limit_max=np.inf).fit(Xs, ys, Xt, yt)
    assert np.sum(est.coupling_[ys == 2][:, yt != -1]) == 0.0
    assert np.isclose(est.coupling_[ys == 2].sum(), np.mean(ys == 2))
    # POT's network simplex returns a zero plan on infinite costs; a large finite limit_max gives it the same optimum
    pot = _fit_pot(_pot("EMDTransport", limit_max=1e4), Xs, ys, Xt, yt)
    finite = np.isfinite(est.cost_)
    assert np.isclose(np.sum(est.coupling_[finite] * est.cost_[finite]), np.sum(pot.coupling_ * pot.cost_),
                      rtol=1e-10)
    with pytest.raises(ValueError, match=r"ys has classes \[2\] that no target sample has"):
        EMDTransport().fit(Xs, ys, Xt, np.where(yt == -1, 0, yt))
