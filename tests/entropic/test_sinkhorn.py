"""Log-domain Sinkhorn (sinkhorn, sinkhorn2, solve(reg=...)) against a plain numpy log-Sinkhorn and POT,
marginal certificates, the limit reg -> 0, and bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaot
from tests.naive import sinkhorn_log_naive


def _problem(n=40, m=30, seed=0, weighted=True):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a = rng.random(n) + 0.1 if weighted else np.ones(n)
    b = rng.random(m) + 0.1 if weighted else np.ones(m)
    return a / a.sum(), b / b.sum(), numbaot.dist(x, y)


@given(st.integers(1, 8), st.integers(1, 8), st.floats(0.05, 2.0), st.integers(0, 2**31), st.data())
def test_matches_plain_numpy_log_sinkhorn(n, m, reg, seed, data):
    rng = np.random.default_rng(seed)
    M = data.draw(hnp.arrays(np.float64, (n, m), elements=st.floats(0, 3)))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    res = numbaot.solve(M, a, b, reg=reg, max_iter=20000, tol=1e-13)
    ref, f, g = sinkhorn_log_naive(a, b, M, reg)
    assert res.status is numbaot.Status.OPTIMAL
    # both stop at a tolerance, and degenerate costs converge slowly: agreement to 1e-8 is what both guarantee
    np.testing.assert_allclose(res.plan, ref, atol=1e-8)
    np.testing.assert_allclose(res.plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(res.plan.sum(axis=0), b, atol=1e-12)
    # the potentials define the plan
    P = a[:, None] * b[None, :] * np.exp((res.potential_a[:, None] + res.potential_b[None, :] - M) / reg)
    np.testing.assert_allclose(P, res.plan, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_agrees_with_pot(weighted):
    ot = pytest.importorskip("ot")
    a, b, M = _problem(weighted=weighted)
    reg = 0.05 * M.max()
    plan = numbaot.sinkhorn(a, b, M, reg, tol=1e-12, max_iter=10000)
    ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", stopThr=1e-12, numItermax=10000)
    np.testing.assert_allclose(plan, ref, atol=1e-7)
    assert abs(numbaot.sinkhorn2(a, b, M, reg, tol=1e-12, max_iter=10000) - np.sum(ref * M)) < 1e-8
    res = numbaot.solve(M, a, b, reg=reg, tol=1e-12, max_iter=10000)
    pot = ot.solve(M, a, b, reg=reg, max_iter=10000, tol=1e-12)
    assert abs(float(res.value) - float(pot.value)) < 1e-7
    assert abs(float(res.value_linear) - float(pot.value_linear)) < 1e-7


def test_small_reg_converges_and_tends_to_exact_ot():
    a, b, M = _problem(n=60, m=50, seed=1)
    exact = float(numbaot.emd2(a, b, M))
    gaps = []
    for factor in (1e-1, 1e-2, 5e-3, 1e-3):
        reg = factor * M.max()
        res = numbaot.solve(M, a, b, reg=reg, max_iter=200000, tol=1e-9)
        assert res.status is numbaot.Status.OPTIMAL, factor
        assert np.abs(res.plan.sum(axis=0) - b).sum() <= 1e-9
        gap = float(res.value_linear) - exact
        assert -1e-9 <= gap <= reg * np.log(len(a) * len(b)) + 1e-9
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True)


def test_zero_weights_forbidden_arcs_and_float32():
    a, b, M = _problem(n=10, m=8, seed=2)
    a[3] = 0.0
    b[5] = 0.0
    a, b = a / a.sum(), b / b.sum()
    M[0, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M, a, b, reg=0.1)
    assert res.status is numbaot.Status.OPTIMAL
    assert np.all(res.plan[3] == 0) and np.all(res.plan[:, 5] == 0) and res.plan[0, 0] == 0
    assert np.all(np.isfinite(res.potential_a[a > 0])) and np.isfinite(float(res.value))
    res32 = numbaot.solve(M.astype(np.float32), a, b, reg=0.1)
    assert res32.plan.dtype == np.float32 and isinstance(res32.value, np.float32)


def test_max_iter_and_warm_start():
    a, b, M = _problem(seed=3)
    reg = 0.01 * M.max()
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve(M, a, b, reg=reg, max_iter=5)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and res.n_iter == 5 and len(res.errors) == 1
    full = numbaot.solve(M, a, b, reg=reg, max_iter=100000)
    warm = numbaot.solve(M, a, b, reg=reg, max_iter=100000, potentials_init=(full.potential_a, full.potential_b))
    assert warm.n_iter < full.n_iter and warm.status is numbaot.Status.OPTIMAL
    assert np.all(np.diff(full.errors[1:]) <= 1e-15)  # the marginal error decreases


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg=0), ValueError, "call numbaot.emd"),
    (dict(reg=-1.0), ValueError, "finite positive"),
    (dict(reg=np.nan), ValueError, "finite positive"),
    (dict(reg=True), TypeError, "positive real"),
    (dict(reg=0.1, method="sinkhorn_knopp"), ValueError, "method must be one of"),
    (dict(reg=0.1, max_iter=0), ValueError, "max_iter must be >= 1"),
    (dict(reg=0.1, tol=-1.0), ValueError, "tol must be a finite number >= 0"),
    (dict(reg=0.1, plan_init=np.ones((3, 3))), ValueError, "plan_init warm-starts the exact solver"),
    (dict(tol=1e-3), ValueError, "apply to entropic OT"),
])
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        numbaot.solve(np.ones((3, 3)), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"M\[0, 1\] is NaN"):
        numbaot.sinkhorn(None, None, np.array([[0.0, np.nan], [1.0, 0.0]]), 0.1)
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.sinkhorn([0.5, 0.5], [0.5, 0.6], np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="b must be a 1-D weight vector"):  # several targets: sinkhorn only
        numbaot.solve(np.ones((2, 2)), None, np.ones((2, 2)) / 2, reg=0.1)
    with pytest.raises(ValueError, match="same total mass"):  # each target must carry a's mass
        numbaot.sinkhorn(None, np.ones((2, 2)) / 4, np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match=r"must be \(m, k\)"):
        numbaot.sinkhorn(None, np.ones((3, 2)) / 3, np.ones((2, 2)), 0.1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("entropy", [False, True])
def test_plan_and_values_numpy_matches_the_kernel(dtype, entropy):
    # small plans are read out by numpy, large ones by the parallel kernel: the same plan and values, zero weights
    # and forbidden (+inf) entries included
    from numbaot.entropic._sinkhorn_log import plan_and_values, plan_and_values_numpy

    rng = np.random.default_rng(3)
    n, m, eps = 23, 17, 0.3
    C = rng.random((n, m)).astype(dtype)
    C[2, 5] = C[7, :3] = np.inf
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a[4] = b[9] = 0.0
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a / a.sum()), np.log(b / b.sum())
    f, g = rng.normal(size=n) * 0.1, rng.normal(size=m) * 0.1
    f[4], g[9] = 0.0, 0.0  # potentials stay finite; the zero weights drop those rows and columns
    plan_k, plan_n = np.empty((n, m), dtype), np.full((n, m), np.nan, dtype)
    values_k = plan_and_values(C, log_a, log_b, f, g, eps, entropy, plan_k)
    values_n = plan_and_values_numpy(C, log_a, log_b, f, g, eps, entropy, plan_n)
    assert plan_n.dtype == dtype
    np.testing.assert_allclose(plan_n, plan_k, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)
    assert plan_n[4].max() == 0 and plan_n[:, 9].max() == 0 and plan_n[2, 5] == 0 and plan_n[7, :3].max() == 0
    np.testing.assert_allclose(values_n, values_k, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # the values by their definitions, from the kernel's plan
    P = plan_k.astype(np.float64)
    kept = P > 0
    assert np.isclose(values_n[0], np.sum(P[kept] * C.astype(np.float64)[kept]), rtol=1e-5)
    ref = np.log(P[kept]) if entropy else np.log(P[kept]) - np.add.outer(log_a, log_b)[kept]
    expected_reg = np.sum(P[kept] * ref) + (0.0 if entropy else -P.sum() + np.exp(log_a).sum() * np.exp(log_b).sum())
    assert np.isclose(values_n[1], expected_reg, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_epsilon_scaling"])
def test_float32_costs_converge_under_the_default_tolerance(method):
    """float32 exponentials leave a marginal error of 1e-8 to 2e-7, above the default tol 1e-9: the log-domain
    methods stop at FLOAT32_TOL instead of running to max_iter with a warning, close to the float64 answer."""
    from numbaot._defaults import FLOAT32_TOL

    rng = np.random.default_rng(0)
    X, Y = rng.random((300, 2)), rng.random((300, 2))
    M = ((X[:, None] - Y[None]) ** 2).sum(-1)
    a = np.full(300, 1 / 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r32 = numbaot.solve(M.astype(np.float32), a, a, reg=0.01, method=method)
    r64 = numbaot.solve(M, a, a, reg=0.01, method=method)
    assert r32.status is numbaot.Status.OPTIMAL and r32.errors[-1] <= FLOAT32_TOL
    assert r32.n_iter < 1000 and r32.n_iter <= r64.n_iter
    np.testing.assert_allclose(r32.value, r64.value, rtol=1e-5)
    np.testing.assert_allclose(r32.plan.sum(0), a, atol=FLOAT32_TOL)
    # an explicit tol below the floor is floored too (the status says OPTIMAL at the error float32 reaches)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numbaot.sinkhorn(a, a, M.astype(np.float32), 0.01, method=method, tol=1e-12).shape == (300, 300)
    # float64 costs keep the caller's tol
    assert r64.errors[-1] <= 1e-9
