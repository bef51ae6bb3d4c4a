"""Class-regularised (lpl1 by MM, l1-l2 group lasso) and Laplacian-regularised OT against POT's ot.da and
their own objectives."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
from numbaot.optim.regularized import group_lasso, knn_graph, laplace_regularizer, laplacian
from tests.certificates import check_plan

ot = pytest.importorskip("ot")


def _da_problem(seed, n=20, m=16, classes=3):
    rng = np.random.default_rng(seed)
    xs, xt = rng.random((n, 2)), rng.random((m, 2)) + 0.3
    labels = rng.integers(0, classes, n)
    return ot.unif(n), ot.unif(m), xs, xt, ot.dist(xs, xt), labels


def test_lpl1_mm_matches_pot():
    a, b, _, _, M, labels = _da_problem(0)
    G = numbaot.sinkhorn_lpl1_mm(a, labels, b, M, 0.1, eta=0.5, max_inner_iter=5000)
    G_pot = ot.da.sinkhorn_lpl1_mm(a, labels, b, M, 0.1, eta=0.5, numInnerItermax=5000)
    assert np.abs(G - G_pot).max() < 1e-8
    check_plan(G, a, b, rtol=1e-8)


def test_lpl1_mm_separates_classes_and_reports_its_log():
    a, b, _, _, M, labels = _da_problem(1)
    G0 = numbaot.sinkhorn(a, b, M, 0.1)
    G, log = numbaot.sinkhorn_lpl1_mm(a, labels.astype(str), b, M, 0.1, eta=2.0, max_inner_iter=2000, log=True)
    assert {"u", "v", "err", "status", "total_cost"} <= set(log)

    def mixing(P):  # mass a target receives from classes other than its main one
        sums = np.stack([P[labels == c].sum(axis=0) for c in np.unique(labels)])
        return float(sums.sum() - sums.max(axis=0).sum())

    assert mixing(G) < 0.5 * mixing(G0)


def test_l1l2_gl_is_at_least_as_good_as_pot():
    a, b, _, _, M, labels = _da_problem(2)
    reg, eta = 0.1, 0.5
    f, _ = group_lasso(*np.unique(labels, return_inverse=True)[1:], len(np.unique(labels)))

    def objective(G):
        return float(np.sum(M * G) + reg * np.sum(G * np.log(G)) + eta * f(G))

    G, log = numbaot.sinkhorn_l1l2_gl(a, labels, b, M, reg, eta=eta, max_iter=100, max_inner_iter=3000, log=True,
                                      warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G_pot = ot.da.sinkhorn_l1l2_gl(a, labels, b, M, reg, eta=eta, numItermax=100, numInnerItermax=3000)
    check_plan(G, a, b, rtol=1e-8)
    assert objective(G) <= objective(G_pot) + 1e-10
    assert np.isclose(log["total_cost"], objective(G), rtol=1e-12)


def test_group_lasso_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    G = rng.random((6, 4)) + 0.1
    labels = np.array([0, 1, 0, 2, 1, 0])
    f, df = group_lasso(labels, 3)
    D = rng.standard_normal(G.shape)
    h = 1e-6
    assert np.isclose((f(G + h * D) - f(G - h * D)) / (2 * h), np.sum(df(G) * D), rtol=1e-6)


@pytest.mark.parametrize("sim", ["knn", "gauss"])
@pytest.mark.parametrize("reg", ["pos", "disp"])
def test_emd_laplace_is_at_least_as_good_as_pot(sim, reg):
    a, b, xs, xt, M, _ = _da_problem(4)
    G, log = numbaot.emd_laplace(a, b, xs, xt, M, sim=sim, reg=reg, eta=0.1, log=True)
    G_pot, log_pot = ot.da.emd_laplace(a, b, xs, xt, M, sim=sim, reg=reg, eta=0.1, log=True)
    check_plan(G, a, b)
    assert log["total_cost"] <= log_pot["loss"][-1] + 1e-12
    assert np.isclose(log["total_cost"], log_pot["loss"][-1], rtol=1e-5)
    # POT's Armijo rule on the same problem gives POT's iterates
    G_arm = numbaot.emd_laplace(a, b, xs, xt, M, sim=sim, reg=reg, eta=0.1, line_search="armijo",
                                warn=False)
    assert np.abs(G_arm - G_pot).max() < 1e-9


def test_laplace_regulariser_is_pots_and_its_gradient_is_right():
    rng = np.random.default_rng(5)
    xs, xt = rng.random((7, 2)), rng.random((5, 2))
    lS, lT = laplacian(knn_graph(xs, 2)), laplacian(knn_graph(xt, 2))
    f, df = laplace_regularizer(xs, xt, lS, lT, 0.3)
    G = rng.random((7, 5))
    naive = 0.3 * np.trace(xt.T @ G.T @ lS @ G @ xt) + 0.7 * np.trace(xs.T @ G @ lT @ G.T @ xs)
    assert np.isclose(f(G), naive, rtol=1e-12)
    naive_grad = 0.3 * (lS + lS.T) @ G @ xt @ xt.T + 0.7 * xs @ xs.T @ G @ (lT + lT.T)
    assert np.allclose(df(G), naive_grad, rtol=1e-12)


def test_knn_graph_matches_sklearn():
    neighbors = pytest.importorskip("sklearn.neighbors")
    X = np.random.default_rng(6).random((12, 3))
    A = neighbors.kneighbors_graph(X, n_neighbors=3).toarray()
    assert np.array_equal(knn_graph(X, 3), (A + A.T) / 2)


@pytest.mark.parametrize("call, exc, match", [
    (lambda a, b, xs, xt, M, y: numbaot.sinkhorn_lpl1_mm(a, y[:-1], b, M, 0.1), ValueError, "labels_a"),
    (lambda a, b, xs, xt, M, y: numbaot.sinkhorn_lpl1_mm(a, y, b, M, 0.1, eta=-1.0), ValueError, "eta"),
    (lambda a, b, xs, xt, M, y: numbaot.sinkhorn_l1l2_gl(a, y, b, M, 0.0), ValueError, "reg"),
    (lambda a, b, xs, xt, M, y: numbaot.emd_laplace(a, b, xs, xt, M, sim="cos"), ValueError, "sim"),
    (lambda a, b, xs, xt, M, y: numbaot.emd_laplace(a, b, xs, xt, M, reg="abs"), ValueError, "reg"),
    (lambda a, b, xs, xt, M, y: numbaot.emd_laplace(a, b, xs, xt, M, sim_param=2.5), ValueError, "sim_param"),
    (lambda a, b, xs, xt, M, y: numbaot.emd_laplace(a, b, xs, xt[:, :1], M), ValueError, "xs"),
    (lambda a, b, xs, xt, M, y: numbaot.emd_laplace(a, b, xs, xt, M, alpha=2.0), ValueError, "alpha"),
])
def test_bad_input(call, exc, match):
    a, b, xs, xt, M, labels = _da_problem(7, n=6, m=5)
    with pytest.raises(exc, match=match):
        call(a, b, xs, xt, M, labels)
