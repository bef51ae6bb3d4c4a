"""Smooth and sparse OT: the L2 plan against a scipy QP, duality gaps, gradients against finite differences, sparsity
of the plans, POT as an oracle, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot import ConvergenceWarning, Status
from numbaot.smooth import _dual as D
from tests.optim.reference import l2_ot_qp

ot = pytest.importorskip("ot")


def _problem(seed, n, m=None):
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


VERBS = {"dual": numbaot.smooth_ot_dual, "semi": numbaot.smooth_ot_semi_dual}


@pytest.mark.parametrize("verb", ["dual", "semi"])
@pytest.mark.parametrize("reg", [0.05, 1.0, 20.0])
def test_l2_plan_against_a_qp(verb, reg):
    a, b, M = _problem(0, 4, 5)
    G_qp, v_qp = l2_ot_qp(a, b, M, reg)
    P, log = VERBS[verb](a, b, M, reg, "l2", tol=1e-14, max_iter=5000, log=True)
    assert np.abs(P - G_qp).max() < 1e-7
    assert abs(log["value"] - v_qp) < 1e-7
    assert log["support_size"] == np.count_nonzero(P) <= 4 * 5


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), m=st.integers(1, 7),
       reg_type=st.sampled_from(["l2", "kl"]), verb=st.sampled_from(["dual", "semi"]))
def test_duality_gap_closes(seed, n, m, reg_type, verb):
    a, b, M = _problem(seed, n, m)
    P, log = VERBS[verb](a, b, M, 0.5, reg_type, tol=1e-14, max_iter=5000, log=True, warn=False)
    assert log["status"] == Status.OPTIMAL
    assert P.min() >= 0
    assert log["marginal_error"] < 1e-6
    assert abs(log["value"] - log["dual_value"]) < 1e-6


@pytest.mark.parametrize("kind", [D.L2, D.NEGENTROPY, D.SPARSITY])
@pytest.mark.parametrize("n_chunks", [1, 3])
def test_compiled_gradients_match_finite_differences(kind, n_chunks):
    a, b, M = _problem(1, 6, 5)
    rng = np.random.default_rng(2)
    CT = np.ascontiguousarray(M.T)
    gamma, max_nz = 0.3, 2
    n, m = 6, 5
    x = rng.standard_normal(n + m) * 0.3 + 0.4
    row_part = np.empty((n_chunks, n))

    def dual(z):
        g = np.empty(n + m)
        return D.dual_obj_grad(z[:n].copy(), z[n:].copy(), a, b, CT, gamma, kind, max_nz, n_chunks, row_part,
                               np.empty(n_chunks), g), g

    def semi(z):
        g = np.empty(n)
        return D.semi_dual_obj_grad(z.copy(), a, b, CT, gamma, kind, max_nz, n_chunks, row_part, np.empty(m), g,
                                    np.empty((0, n))), g

    for fun, z in ((dual, x), (semi, x[:n])):
        _, g = fun(z)
        d = rng.standard_normal(z.size)
        h = 1e-6
        fd = (fun(z + h * d)[0] - fun(z - h * d)[0]) / (2 * h)
        assert np.isclose(fd, g @ d, rtol=1e-5, atol=1e-8)


def test_sparsity_constrained_plans_respect_max_nz():
    a, b, M = _problem(3, 12, 8)
    for verb in ("dual", "semi"):
        P, log = VERBS[verb](a, b, M, 5.0, "sparsity_constrained", max_nz=2, log=True, warn=False)
        assert (np.count_nonzero(P, axis=0) <= 2).all()
        assert log["support_size"] == np.count_nonzero(P)


def test_l2_plans_are_sparse_and_kl_plans_dense():
    a, b, M = _problem(4, 30)
    P, log = numbaot.smooth_ot_dual(a, b, M, 0.01, "l2", log=True)
    assert log["support_size"] < 0.2 * P.size
    P, log = numbaot.smooth_ot_dual(a, b, M, 0.01, "kl", log=True)
    assert log["support_size"] == P.size


# ------------------------------------------------------------------------------------------------------- vs POT
@pytest.mark.parametrize("reg_type", ["l2", "kl", "sparsity_constrained"])
def test_semi_dual_matches_pot(reg_type):
    rng = np.random.default_rng(5)
    x, y = rng.random((25, 2)), rng.random((20, 2))
    M = ot.dist(x, y)
    a, b = ot.unif(25), ot.unif(20)
    kw = dict(max_nz=3) if reg_type == "sparsity_constrained" else {}
    P = numbaot.smooth_ot_semi_dual(a, b, M, 0.1, reg_type, warn=False, **kw)
    P_pot = ot.smooth.smooth_ot_semi_dual(a, b, M, 0.1, reg_type, **kw)
    assert np.abs(P - P_pot).max() < 1e-7


@pytest.mark.parametrize("reg_type", ["l2", "kl"])
def test_dual_matches_pot(reg_type):
    """The same objective and optimiser; rounding differs along the path, so the plans agree to the optimiser's
    tolerance (at a tight tol both meet the optimum)."""
    rng = np.random.default_rng(6)
    x, y = rng.random((25, 2)), rng.random((20, 2))
    M = ot.dist(x, y)
    a, b = ot.unif(25), ot.unif(20)
    P = numbaot.smooth_ot_dual(a, b, M, 0.1, reg_type, tol=1e-14, max_iter=5000)
    P_pot = ot.smooth.smooth_ot_dual(a, b, M, 0.1, reg_type, stopThr=1e-14, numItermax=5000)
    assert np.abs(P - P_pot).max() < 1e-6


def test_float32_and_log():
    a, b, M = _problem(7, 6)
    P, log = numbaot.smooth_ot_dual(a, b, M.astype(np.float32), 0.5, log=True)
    assert P.dtype == np.float32
    assert {"alpha", "beta", "res", "support_size", "dual_value", "value", "status"} <= set(log)


def test_max_iter_reached_warns():
    a, b, M = _problem(8, 20)
    with pytest.warns(ConvergenceWarning, match="smooth_ot_dual: MAX_ITER_REACHED"):
        numbaot.smooth_ot_dual(a, b, M, 0.01, max_iter=2)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg_type="l1"), ValueError, "reg_type"),
    (dict(reg_type=2), TypeError, "reg_type"),
    (dict(reg=0.0), ValueError, "reg"),
    (dict(reg_type="sparsity_constrained"), ValueError, "max_nz"),
    (dict(reg_type="sparsity_constrained", max_nz=0), ValueError, "max_nz"),
    (dict(reg_type="sparsity_constrained", max_nz=1.5), TypeError, "max_nz"),
    (dict(method="nelder-mead"), ValueError, "method"),
    (dict(tol=-1.0), ValueError, "tol"),
])
def test_bad_input(kwargs, exc, match):
    a, b, M = _problem(9, 3)
    args = dict(reg=1.0, reg_type="l2")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        numbaot.smooth_ot_dual(a, b, M, args.pop("reg"), args.pop("reg_type"), **args)


def test_unequal_masses_are_refused():
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.smooth_ot_semi_dual([0.5, 0.5], [0.2, 0.2], np.ones((2, 2)), 1.0)


# ------------------------------------------------------------------------------------------ compiled helpers
@given(values=st.lists(st.integers(-3, 3), min_size=1, max_size=30), data=st.data())
def test_quickselect_is_the_kth_largest(values, data):
    x = np.array(values, dtype=np.float64)
    k = data.draw(st.integers(1, len(x)))
    assert D._kth_largest(x, len(x), k, np.empty(len(x))) == np.sort(x)[::-1][k - 1]


def _projection_reference(y):
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.nonzero(u - css / np.arange(1, len(y) + 1) > 0)[0][-1]
    return np.maximum(y - css[rho] / (rho + 1), 0.0)


@given(values=st.lists(st.floats(-5, 5), min_size=1, max_size=30))
def test_simplex_projection_matches_the_sort_based_one(values):
    y = np.array(values)
    out = np.empty(len(y))
    D._project_simplex(y, len(y), out, np.empty(len(y), dtype=np.bool_))
    assert np.allclose(out, _projection_reference(y), atol=1e-12)
    assert np.isclose(out.sum(), 1.0) and out.min() >= 0
