"""Online log-domain Sinkhorn from points (``solve_sample(..., reg=..., lazy=True)``) against the dense path, a plain
numpy log-Sinkhorn, marginal certificates, planted rescalings, and bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import numbaot
from numbaot.entropic.online import solve_online
from tests.naive import sinkhorn_log_naive

METRICS = [("sqeuclidean", 2.0), ("euclidean", 2.0), ("cityblock", 2.0), ("minkowski", 3.0), ("cosine", 2.0)]


def _clouds(n=30, m=20, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d))


def _weights(n, m, seed=0, zeros=False):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(1, 6, n).astype(float), rng.integers(1, 6, m).astype(float)
    if zeros:
        a[0] = 0.0
        b[-1] = 0.0
    return a * b.sum(), b * a.sum()  # integers: equal masses exactly


@pytest.mark.parametrize("metric, p", METRICS)
def test_matches_dense_path(metric, p):
    X, Y = _clouds()
    a, b = _weights(30, 20, zeros=True)
    a, b = a / a.sum(), b / b.sum()
    kw = dict(a=a, b=b, reg=0.5, metric=metric, p=p, tol=1e-13, max_iter=20000)
    online = numbaot.solve_sample(X, Y, lazy=True, **kw)
    dense = numbaot.solve_sample(X, Y, **kw)
    assert online.status is numbaot.Status.OPTIMAL and dense.status is numbaot.Status.OPTIMAL
    assert online.n_iter == dense.n_iter
    np.testing.assert_allclose(online.plan, dense.plan, atol=1e-14)
    np.testing.assert_allclose(online.potential_a, dense.potential_a, atol=1e-11)
    np.testing.assert_allclose(online.potential_b, dense.potential_b, atol=1e-11)
    assert abs(float(online.value) - float(dense.value)) < 1e-12
    assert abs(float(online.value_linear) - float(dense.value_linear)) < 1e-12
    np.testing.assert_allclose(online.errors, dense.errors, rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("metric, p", METRICS)
def test_row_sums_numpy_matches_the_kernel(metric, p):
    # small clouds get the plan's row sums from numpy, large ones from the parallel kernel (and the costs of the
    # metric-pinned clouds): the same sums, with zero weights, both orientations
    from numbaot.entropic._online import PointGeometry, row_sums, row_sums_numpy

    X, Y = _clouds(31, 23, d=3, seed=4)
    a, b = _weights(31, 23, seed=4, zeros=True)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a / a.sum()), np.log(b / b.sum())
    rng = np.random.default_rng(5)
    f, g = rng.normal(size=31), rng.normal(size=23)
    geom = PointGeometry(X, Y, metric, p)
    C = numbaot.dist(X, Y, metric=metric, p=p)
    for swapped, la, lb, fa, gb, cost_matrix in ((False, log_a, log_b, f, g, C), (True, log_b, log_a, g, f, C.T)):
        clouds = geom.clouds(swapped)
        assert type(clouds).METRIC == clouds.metric
        n = clouds.X.shape[0]
        sums_k, sums_n = (np.empty(n), np.empty(n)), (np.full(n, np.nan), np.full(n, np.nan))
        row_sums(clouds, la, lb, fa, gb, 0.7, *sums_k)
        row_sums_numpy(clouds, la, lb, fa, gb, 0.7, *sums_n)
        np.testing.assert_allclose(sums_n, sums_k, rtol=1e-12, atol=0)
        P = np.exp(np.add.outer(la, lb) + (np.add.outer(fa, gb) - cost_matrix) / 0.7)  # by its definition
        np.testing.assert_allclose(sums_n[0], P.sum(axis=1), rtol=1e-12, atol=0)
        np.testing.assert_allclose(sums_n[1], (P * cost_matrix).sum(axis=1), rtol=1e-12, atol=0)
        assert sums_n[0][0 if not swapped else -1] == 0.0  # the zero weight's row


@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.floats(0.05, 2.0), st.integers(0, 2**31),
       st.booleans())
def test_matches_plain_numpy_log_sinkhorn(n, m, d, reg, seed, zeros):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = _weights(n, m, seed, zeros=zeros and n > 1 and m > 1)
    a, b = a / a.sum(), b / b.sum()
    M = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbaot.ConvergenceWarning)
        res = numbaot.solve_sample(X, Y, a, b, reg=reg, lazy=True, max_iter=50000, tol=1e-13)
    # Sinkhorn's linear rate can be very slow on some draws (e.g. n=4, m=7, reg=0.25, seed=15627: 2.5e-4 after 2000
    # iterations, -0.5% per 10); those say nothing about the online path (test_matches_dense_path compares iterates)
    assume(res.status is not numbaot.Status.MAX_ITER_REACHED)
    ref, f, g = sinkhorn_log_naive(a, b, M, reg, n_iter=50000, tol=1e-14)
    assert res.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(res.plan, ref, atol=1e-8)
    # certificates, matrix-free: the plan's marginals through the operator, and the potentials define the plan
    np.testing.assert_allclose(res.marginal_a, a, atol=1e-12)
    np.testing.assert_allclose(res.marginal_b, b, atol=1e-12)
    with np.errstate(divide="ignore"):
        P = a[:, None] * b[None, :] * np.exp((res.potential_a[:, None] + res.potential_b[None, :] - M) / reg)
    np.testing.assert_allclose(P, res.plan, atol=1e-12)
    # value = <P, M> + reg KL(P | a b^T)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.sum(np.where(P > 0, P * np.log(P / np.outer(a, b)), 0.0)) - P.sum() + a.sum() * b.sum()
    assert abs(float(res.value_linear) - np.sum(P * M)) < 1e-10
    assert abs(float(res.value) - (np.sum(P * M) + reg * kl)) < 1e-10


def test_plan_operator_is_matrix_free_and_matches_the_plan():
    X, Y = _clouds(n=12, m=9, d=3, seed=4)
    res = numbaot.solve_sample(X, Y, reg=0.3, lazy=True)
    op = res.plan_operator
    assert op.shape == (12, 9) and res._plan is None  # nothing dense was built
    rng = np.random.default_rng(1)
    v, V, u = rng.normal(size=9), rng.normal(size=(9, 4)), rng.normal(size=12)
    Pv, PV, Ptu = op @ v, op.matvec(V), op.rmatvec(u)
    P = res.plan  # densified on request
    np.testing.assert_allclose(Pv, P @ v, atol=1e-14)
    np.testing.assert_allclose(PV, P @ V, atol=1e-14)
    np.testing.assert_allclose(Ptu, P.T @ u, atol=1e-14)
    with pytest.raises(ValueError, match="plan operator takes a vector or matrix with 9 rows"):
        op @ np.ones(12)


def test_dense_plan_size_guard(monkeypatch):
    from numbaot import _config

    X, Y = _clouds(n=50, m=40)
    res = numbaot.solve_sample(X, Y, reg=0.5, lazy=True)
    monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 1000)
    with pytest.raises(ValueError, match="the dense plan of shape"):
        res.plan
    assert res.plan_operator.matvec(np.ones(40)).shape == (50,)  # the operator still works


def test_max_iter_warning_and_warm_start():
    X, Y = _clouds(seed=3)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve_sample(X, Y, reg=0.05, lazy=True, max_iter=5)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and res.n_iter == 5 and len(res.errors) == 1
    full = solve_online(X, Y, None, None, 0.05, max_iter=100000, tol=1e-11)
    warm = solve_online(X, Y, None, None, 0.05, max_iter=100000, tol=1e-11,
                        potentials_init=(full.potential_a, full.potential_b))
    assert full.status is numbaot.Status.OPTIMAL and warm.status is numbaot.Status.OPTIMAL
    assert warm.n_iter <= 10 < full.n_iter
    assert np.all(np.diff(full.errors[1:]) <= 1e-15)  # the marginal error decreases


def test_small_reg_stays_finite_and_tends_to_exact_ot():
    X, Y = _clouds(n=25, m=25, seed=5)
    exact = float(numbaot.solve_sample(X, Y).value)
    M = numbaot.dist(X, Y)
    gaps = []
    for factor in (1e-1, 1e-2, 5e-3):  # 5e-3: ~2000 iterations on these clouds (5e-3 * max M ~ 0.1)
        reg = factor * M.max()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = numbaot.solve_sample(X, Y, reg=reg, lazy=True, max_iter=20000, tol=1e-9)
        assert res.status is numbaot.Status.OPTIMAL
        assert np.abs(res.marginal_b - 1 / 25).sum() <= 1e-9
        gap = float(res.value_linear) - exact
        assert -1e-9 <= gap <= reg * np.log(25 * 25) + 1e-9
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True)


@pytest.mark.parametrize("metric, power, shift", [("sqeuclidean", 2, 500), ("euclidean", 1, 1000),
                                                  ("sqeuclidean", 2, -400)])
def test_extreme_coordinates_are_rescaled(metric, power, shift):
    """Coordinates of 2^500 (costs near overflow) or 2^-400: the plan of (2^s X, 2^s Y, 2^(ps) reg) is that of
    (X, Y, reg), the value scaled by 2^(ps)."""
    X, Y = _clouds(n=8, m=6, seed=6)
    ref = numbaot.solve_sample(X, Y, reg=0.2, metric=metric, lazy=True, tol=1e-12)
    big = numbaot.solve_sample(np.ldexp(X, shift), np.ldexp(Y, shift), reg=np.ldexp(0.2, power * shift),
                               metric=metric, lazy=True, tol=1e-12)
    assert big.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(big.plan, ref.plan, atol=1e-13)
    assert np.isclose(float(big.value), np.ldexp(float(ref.value), power * shift), rtol=1e-10)
    np.testing.assert_allclose(big.potential_a, np.ldexp(ref.potential_a, power * shift), rtol=1e-8,
                               atol=np.ldexp(1e-12, power * shift))


def test_float32_and_lists_and_inputs_untouched():
    X, Y = _clouds(n=10, m=7, seed=7)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    X32.flags.writeable = False
    before = X32.tobytes()
    res = numbaot.solve_sample(X32, Y32, reg=0.5, lazy=True)
    assert X32.tobytes() == before
    assert isinstance(res.value, np.float32) and res.potential_a.dtype == np.float32
    assert res.plan.dtype == np.float32 and res.plan_operator.dtype == np.float32
    ref = numbaot.solve_sample(X32.astype(np.float64), Y32.astype(np.float64), reg=0.5, lazy=True)
    assert np.isclose(float(res.value), float(ref.value), rtol=1e-6)
    listed = numbaot.solve_sample(X.tolist(), Y.tolist(), reg=0.5, lazy=True)
    assert float(listed.value) == float(numbaot.solve_sample(X, Y, reg=0.5, lazy=True).value)
    one_d = numbaot.solve_sample(X[:, 0], Y[:, 0], reg=0.5, lazy=True)  # (n,) is n points in 1D
    assert np.isclose(float(one_d.value), float(numbaot.solve_sample(X[:, :1], Y[:, :1], reg=0.5).value))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg=0), ValueError, "call numbaot.emd"),
    (dict(reg=-1.0), ValueError, "finite positive"),
    (dict(reg=np.inf), ValueError, "finite positive"),
    (dict(reg=0.1, max_iter=0), ValueError, "max_iter must be >= 1"),
    (dict(reg=0.1, tol=-1.0), ValueError, "tol must be a finite number >= 0"),
    (dict(reg=0.1, metric="hamming"), ValueError, "metric must be one of"),
    (dict(reg=0.1, a=[0.5, 0.5]), ValueError, "a has 2 entries but there are 3"),
    (dict(reg=0.1, b=[0.2, 0.2, 0.2]), ValueError, "same total mass"),
])
def test_bad_parameters(kwargs, exc, match):
    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(exc, match=match):
        numbaot.solve_sample(X, X + 1, lazy=True, **kwargs)


def test_bad_points():
    X = np.arange(6.0).reshape(3, 2)
    bad = X.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"X_b\[\(1, 0\)\] is nan"):
        numbaot.solve_sample(X, bad, reg=0.1, lazy=True)
    with pytest.raises(ValueError, match="X_a has points of dimension 2 but X_b of dimension 3"):
        numbaot.solve_sample(X, np.ones((4, 3)), reg=0.1, lazy=True)
    with pytest.raises(ValueError, match="row 0 of X_a is zero"):
        numbaot.solve_sample(np.zeros((2, 2)), X, reg=0.1, lazy=True, metric="cosine")
    with pytest.raises(ValueError, match="X_a is empty"):
        numbaot.solve_sample(np.ones((0, 2)), X, reg=0.1, lazy=True)


# -------------------------------------------------------------------------------------------------- unbalanced
@pytest.mark.parametrize("metric, p", METRICS)
@pytest.mark.parametrize("reg_m", [0.5, (0.3, np.inf), (np.inf, 2.0)])
def test_unbalanced_matches_dense_core(metric, p, reg_m):
    """The online unbalanced loop is the dense core's plain one with the costs from the points: same iterations,
    potentials, plan and objective as ``numbaot.solve(dist(X, Y), a, b, reg, unbalanced=reg_m)``."""
    X, Y = _clouds(n=12, m=9, seed=8)
    a, b = _weights(12, 9, seed=8, zeros=True)
    a, b = a / a.sum(), 1.7 * b / b.sum()  # masses may differ
    kw = dict(reg=0.3, tol=1e-11, max_iter=5000)
    ref = numbaot.solve(numbaot.dist(X, Y, metric=metric, p=p), a, b, unbalanced=reg_m, **kw)
    got = numbaot.solve_sample(X, Y, a, b, metric=metric, p=p, reg_m=reg_m, lazy=True, **kw)
    assert got.status is numbaot.Status.OPTIMAL and got.n_iter == ref.n_iter
    np.testing.assert_allclose(got.potential_a, ref.potential_a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.potential_b, ref.potential_b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.plan, ref.plan, atol=1e-14)
    assert np.isclose(float(got.value), float(ref.value), rtol=1e-11)
    assert np.isclose(float(got.value_linear), float(ref.value_linear), rtol=1e-11)
    np.testing.assert_allclose(got.errors, ref.errors, rtol=1e-6, atol=1e-13)


def test_unbalanced_certificates_and_pot():
    """First-order conditions: ``P 1 = a exp(-f / rho_a)`` and ``P^T 1 = b exp(-g / rho_b)``; the plan is POT's
    ``sinkhorn_unbalanced``; as rho grows the plan tends to the balanced one."""
    import ot

    X, Y = _clouds(n=10, m=8, seed=9)
    a, b = _weights(10, 8, seed=9)
    a, b = a / a.sum(), 0.6 * b / b.sum()
    res = numbaot.solve_sample(X, Y, a, b, reg=0.4, reg_m=(0.7, 1.3), lazy=True, tol=1e-13, max_iter=20000)
    assert res.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(res.marginal_a, a * np.exp(-res.potential_a / 0.7), rtol=1e-10)
    np.testing.assert_allclose(res.marginal_b, b * np.exp(-res.potential_b / 1.3), rtol=1e-10)
    pot = ot.unbalanced.sinkhorn_unbalanced(a, b, ot.dist(X, Y), 0.4, (0.7, 1.3), method="sinkhorn",
                                            numItermax=20000, stopThr=1e-14)
    np.testing.assert_allclose(res.plan, pot, atol=1e-9)
    b = b / 0.6
    balanced = numbaot.solve_sample(X, Y, a, b, reg=0.4, lazy=True, tol=1e-12)
    gaps = [np.abs(numbaot.solve_sample(X, Y, a, b, reg=0.4, reg_m=rho, lazy=True, tol=1e-10,
                                        max_iter=50000).plan - balanced.plan).max() for rho in (10.0, 100.0, 1000.0)]
    assert gaps[0] > 5 * gaps[1] > 25 * gaps[2]  # O(1 / rho)


def test_unbalanced_extreme_coordinates_and_checks():
    X, Y = _clouds(n=7, m=5, seed=10)
    ref = numbaot.solve_sample(X, Y, reg=0.2, reg_m=0.5, lazy=True, tol=1e-12)
    big = numbaot.solve_sample(np.ldexp(X, 300), np.ldexp(Y, 300), reg=np.ldexp(0.2, 600), reg_m=np.ldexp(0.5, 600),
                               lazy=True, tol=1e-12)
    np.testing.assert_allclose(big.plan, ref.plan, atol=1e-13)  # rho is scaled with the costs
    assert np.isclose(float(big.value), np.ldexp(float(ref.value), 600), rtol=1e-10)
    with pytest.warns(numbaot.ConvergenceWarning, match="change of the potentials"):
        numbaot.solve_sample(X, Y, reg=0.01, reg_m=5.0, lazy=True, max_iter=5)
    with pytest.raises(ValueError, match="runs online: pass lazy=True"):
        numbaot.solve_sample(X, Y, reg=0.2, reg_m=0.5)
    with pytest.raises(ValueError, match=r"reg_m \(first marginal\) must be > 0"):
        numbaot.solve_sample(X, Y, reg=0.2, reg_m=-1.0, lazy=True)
    with pytest.raises(ValueError, match="negative"):
        numbaot.solve_sample(X, Y, -np.ones(7), reg=0.2, reg_m=1.0, lazy=True)


def test_online_result_carries_points_weights_and_barycentric_maps():
    """The result of a solve between clouds knows its clouds and weights: ``a_to_b`` / ``b_to_a`` are the
    barycentric displacements, checked against the dense plan computed independently with numpy."""
    rng = np.random.default_rng(11)
    X, Y = rng.random((30, 2)), rng.random((20, 2)) + 0.5
    a = rng.random(30) + 0.1
    a /= a.sum()
    res = numbaot.solve_sample(X, Y, a, None, reg=0.1, lazy=True)
    np.testing.assert_array_equal(res.points[0], X)
    np.testing.assert_allclose(res.weights[0], a, rtol=1e-15)
    np.testing.assert_allclose(res.weights[1], np.full(20, 1 / 20), rtol=1e-15)
    C = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    P = a[:, None] / 20 * np.exp((res.potential_a[:, None] + res.potential_b[None, :] - C) / 0.1)
    np.testing.assert_allclose(res.a_to_b, P @ Y / P.sum(1)[:, None] - X, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.b_to_a, P.T @ X / P.sum(0)[:, None] - Y, rtol=1e-9, atol=1e-12)
