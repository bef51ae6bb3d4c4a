"""Unbalanced entropic OT (sinkhorn_unbalanced, sinkhorn_unbalanced2, solve(reg=..., unbalanced=...)) against POT
and a plain numpy log-domain reference, with certificates (fixed-point residuals, primal = dual), the balanced
limit reg_m -> inf, the translation-invariant variant, the scaling-domain method, and bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import logsumexp

import numbaot
from tests.naive import sinkhorn_unbalanced_naive, unbalanced_dual, unbalanced_primal

METHODS = ["sinkhorn_log", "sinkhorn_translation_invariant", "sinkhorn"]


def _problem(n=30, m=25, seed=0, mass_b=1.7):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), mass_b * b / b.sum()
    return a, b, numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))


def _pair(reg_m):
    return (reg_m, reg_m) if np.ndim(reg_m) == 0 else tuple(reg_m)


@pytest.mark.parametrize("reg_type", ["kl", "entropy"])
@pytest.mark.parametrize("reg_m", [0.1, 1.0, 10.0, (np.inf, 0.5), (0.3, np.inf)])
@pytest.mark.parametrize("method", METHODS)
def test_plan_agrees_with_pot(method, reg_m, reg_type):
    ot = pytest.importorskip("ot")
    a, b, M = _problem()
    reg = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # POT warns that reg_type='entropy' overrides c
        refs = [ot.sinkhorn_unbalanced(a, b, M, reg, reg_m, method=pot_method, reg_type=reg_type, numItermax=100000,
                                       stopThr=1e-15)
                for pot_method in ("sinkhorn", "sinkhorn_stabilized", "sinkhorn_translation_invariant")]
    plan = numbaot.sinkhorn_unbalanced(a, b, M, reg, reg_m, method=method, reg_type=reg_type, max_iter=100000,
                                       tol=1e-13)
    for ref in refs:
        np.testing.assert_allclose(plan, ref, atol=1e-7)
    np.testing.assert_allclose(plan, refs[0], atol=1e-12)


@pytest.mark.parametrize("reg_m", [0.2, (np.inf, 2.0)])
def test_values_agree_with_pot(reg_m):
    ot = pytest.importorskip("ot")
    a, b, M = _problem(seed=1)
    reg = 0.1
    res = numbaot.solve(M, a, b, reg=reg, unbalanced=reg_m, tol=1e-13, max_iter=100000)
    pot = ot.solve(M, a, b, reg=reg, unbalanced=reg_m, tol=1e-15, max_iter=100000)
    assert abs(float(res.value_linear) - float(pot.value_linear)) < 1e-10
    # POT's total leaves out the mass terms of the KL divergences (and adds 1e-16 inside its logs): add them back
    rho_a, rho_b = _pair(reg_m)
    P = np.asarray(pot.plan)
    total = float(pot.value) + reg * (np.outer(a, b).sum() - P.sum())
    for rho, w, marginal in ((rho_a, a, P.sum(axis=1)), (rho_b, b, P.sum(axis=0))):
        if not np.isinf(rho):
            total += rho * (w.sum() - marginal.sum())
    assert abs(float(res.value) - total) < 1e-9
    assert abs(float(numbaot.sinkhorn_unbalanced2(a, b, M, reg, reg_m, tol=1e-13, max_iter=100000))
               - float(pot.value_linear)) < 1e-10
    assert float(numbaot.sinkhorn_unbalanced2(a, b, M, reg, reg_m, tol=1e-13, max_iter=100000,
                                              return_cost="total")) == pytest.approx(float(res.value), abs=1e-12)


@given(st.integers(1, 7), st.integers(1, 7), st.floats(0.05, 2.0), st.floats(0.05, 20.0), st.booleans(),
       st.integers(0, 2**31))
def test_matches_plain_numpy_reference_and_certificates(n, m, reg, rho, semi, seed):
    rng = np.random.default_rng(seed)
    M = rng.random((n, m)) * 3
    a, b = rng.random(n) + 0.1, 2 * rng.random(m) + 0.1
    reg_m = (np.inf, rho) if semi else rho
    res = numbaot.solve(M, a, b, reg=reg, unbalanced=reg_m, max_iter=200000, tol=1e-13)
    assert res.status is numbaot.Status.OPTIMAL
    ref, f_ref, g_ref = sinkhorn_unbalanced_naive(a, b, M, reg, reg_m)
    np.testing.assert_allclose(res.plan, ref, atol=1e-9)
    f, g = res.potential_a, res.potential_b
    # the potentials define the plan
    np.testing.assert_allclose(a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - M) / reg), res.plan,
                               atol=1e-13)
    # first-order optimality: (f, g) is a fixed point of both half-steps
    rho_a, rho_b = _pair(reg_m)
    tau_a = 1.0 if np.isinf(rho_a) else rho_a / (rho_a + reg)
    tau_b = rho_b / (rho_b + reg)
    f_fix = -tau_a * reg * logsumexp(np.log(b)[None, :] + (g[None, :] - M) / reg, axis=1)
    g_fix = -tau_b * reg * logsumexp(np.log(a)[:, None] + (f[:, None] - M) / reg, axis=0)
    scale = 1 + np.abs(f).max() + np.abs(g).max()
    np.testing.assert_allclose(f, f_fix, atol=1e-9 * scale)
    np.testing.assert_allclose(g, g_fix, atol=1e-9 * scale)
    # strong duality: the primal objective of the plan equals the dual objective of the potentials
    primal = unbalanced_primal(a, b, M, reg, reg_m, res.plan)
    assert float(res.value) == pytest.approx(primal, rel=1e-9, abs=1e-11)
    assert unbalanced_dual(a, b, M, reg, reg_m, f, g) == pytest.approx(primal, rel=1e-8, abs=1e-10)
    assert float(res.value_linear) == pytest.approx(np.sum(res.plan * M), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("reg_m", [0.05, 1.0, 30.0, (np.inf, 3.0), (3.0, np.inf)])
@pytest.mark.parametrize("reg_type", ["kl", "entropy"])
def test_translation_invariant_has_the_plain_solution_in_fewer_iterations(reg_m, reg_type):
    a, b, M = _problem(n=20, m=15, seed=2)
    kw = dict(reg=0.05, unbalanced=reg_m, max_iter=200000, tol=1e-12)
    plain = numbaot.solve(M, a, b, **kw) if reg_type == "kl" else None
    plan = numbaot.sinkhorn_unbalanced(a, b, M, 0.05, reg_m, reg_type=reg_type, max_iter=200000, tol=1e-12)
    plan_ti = numbaot.sinkhorn_unbalanced(a, b, M, 0.05, reg_m, method="sinkhorn_translation_invariant",
                                          reg_type=reg_type, max_iter=200000, tol=1e-12)
    np.testing.assert_allclose(plan_ti, plan, atol=1e-10)
    if plain is not None:
        ti = numbaot.solve(M, a, b, method="sinkhorn_translation_invariant", **kw)
        np.testing.assert_allclose(ti.potential_a, plain.potential_a, atol=1e-8)
        np.testing.assert_allclose(ti.potential_b, plain.potential_b, atol=1e-8)
        assert float(ti.value) == pytest.approx(float(plain.value), rel=1e-10)
        if min(_pair(reg_m)) >= 1.0:  # rho >> reg: the regime the variant is for
            assert ti.n_iter < plain.n_iter / 2


def test_tends_to_balanced_as_reg_m_grows():
    a, b, M = _problem(n=15, m=12, seed=3, mass_b=1.0)
    reg = 0.1
    balanced = numbaot.solve(M, a, b, reg=reg, tol=1e-13, max_iter=100000)
    gaps = []
    for rho in (1.0, 10.0, 100.0, 1000.0):
        res = numbaot.solve(M, a, b, reg=reg, unbalanced=rho, method="sinkhorn_translation_invariant",
                            tol=1e-12, max_iter=100000)
        assert res.converged
        gaps.append(np.abs(res.plan - balanced.plan).sum())
    assert all(later < 0.2 * earlier for earlier, later in zip(gaps, gaps[1:]))  # O(reg / rho)
    assert gaps[-1] < 1e-3
    # rho = inf is the balanced problem itself, stopped on the marginal error as numbaot.solve does
    exact = numbaot.solve(M, a, b, reg=reg, unbalanced=np.inf, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(exact.plan, balanced.plan, atol=1e-12)
    assert float(exact.value) == pytest.approx(float(balanced.value), rel=1e-10)
    np.testing.assert_allclose(exact.plan.sum(axis=0), b, atol=1e-12)


def test_semi_relaxed_keeps_one_marginal_exact():
    a, b, M = _problem(n=12, m=9, seed=4, mass_b=2.5)
    res = numbaot.solve(M, a, b, reg=0.05, unbalanced=(np.inf, 0.5), tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(res.plan.sum(axis=1), a, atol=1e-11)
    res = numbaot.solve(M, a, b, reg=0.05, unbalanced=[0.5, np.inf], tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(res.plan.sum(axis=0), b, atol=1e-11)


def test_small_reg_stays_finite_and_converges():
    a, b, M = _problem(n=40, m=30, seed=5)
    res = numbaot.solve(M, a, b, reg=1e-3 * M.max(), unbalanced=1.0, max_iter=20000, tol=1e-10)
    assert res.converged and np.isfinite(res.plan).all() and res.plan.sum() > 0.5


def test_zero_weights_give_zero_rows_without_warnings():
    a, b, M = _problem(n=8, m=6, seed=6)
    a[2] = 0.0
    b[[0, 5]] = 0.0
    for reg_type in ("kl", "entropy"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            plan = numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, reg_type=reg_type, tol=1e-12, max_iter=10000)
        assert np.all(plan[2] == 0) and np.all(plan[:, [0, 5]] == 0)
        assert np.isfinite(plan).all()


def test_float32_keeps_dtype_and_warm_start_cuts_iterations():
    a, b, M = _problem(n=10, m=8, seed=7)
    res64 = numbaot.solve(M, a, b, reg=0.1, unbalanced=0.5, tol=1e-12)
    res32 = numbaot.solve(M.astype(np.float32), a.astype(np.float32), b.astype(np.float32), reg=0.1,
                          unbalanced=0.5, tol=1e-12)
    assert res32.plan.dtype == np.float32 and res32.potential_a.dtype == np.float32
    assert isinstance(res32.value, np.float32)
    np.testing.assert_allclose(res32.plan, res64.plan, atol=1e-6)
    warm = numbaot.solve(M, a, b, reg=0.1, unbalanced=0.5, tol=1e-12,
                         potentials_init=(res64.potential_a, res64.potential_b))
    assert warm.converged and warm.n_iter <= 10
    np.testing.assert_allclose(warm.plan, res64.plan, atol=1e-12)


def test_max_iter_and_numerical_error_are_reported():
    a, b, M = _problem(n=10, m=8, seed=8)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve(M, a, b, reg=0.01, unbalanced=10.0, max_iter=3, tol=1e-15)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and not res.converged and res.n_iter == 3
    assert res.errors.size == 1
    # a subnormal reg makes 1 / reg overflow: NaN potentials must be reported, never a plausible plan
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve(M, a, b, reg=1e-310, unbalanced=1.0, max_iter=50)
    assert res.status is numbaot.Status.NUMERICAL_ERROR and not res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M, a, b, reg=0.01, unbalanced=10.0, max_iter=3, warn=False)
    assert not res.converged


@pytest.mark.parametrize("reg_m", [0, -1.0, np.nan, (1.0, 0.0), (1.0, -np.inf)])
def test_bad_reg_m(reg_m):
    a, b, M = _problem(n=4, m=3)
    with pytest.raises(ValueError, match="reg_m"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, reg_m)


@pytest.mark.parametrize("reg_m", [True, "1", (1.0, 2.0, 3.0), [[1.0]], None, 1j])
def test_bad_reg_m_types(reg_m):
    a, b, M = _problem(n=4, m=3)
    with pytest.raises(TypeError, match="reg_m"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, reg_m)


def test_bad_inputs_are_named():
    a, b, M = _problem(n=4, m=3)
    M_nan = M.copy()
    M_nan[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"M\[1, 2\] is NaN"):
        numbaot.sinkhorn_unbalanced(a, b, M_nan, 0.1, 1.0)
    with pytest.raises(ValueError, match="b has 2 entries"):
        numbaot.sinkhorn_unbalanced(a, b[:2], M, 0.1, 1.0)
    with pytest.raises(ValueError, match="a has 3 entries"):
        numbaot.sinkhorn_unbalanced(a[:3], b, M, 0.1, 1.0)
    with pytest.raises(ValueError, match="negative"):
        numbaot.sinkhorn_unbalanced(np.array([0.5, -0.2, 0.3, 0.4]), b, M, 0.1, 1.0)
    with pytest.raises(ValueError, match=r"b\[1\]"):
        numbaot.sinkhorn_unbalanced(a, np.array([0.5, np.nan, 0.3]), M, 0.1, 1.0)
    with pytest.raises(ValueError, match="emd"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.0, 1.0)
    with pytest.raises(ValueError, match="method"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, method="greenkhorn")
    with pytest.raises(ValueError, match="reg_type"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, reg_type="L2")
    with pytest.raises(ValueError, match="return_cost"):
        numbaot.sinkhorn_unbalanced2(a, b, M, 0.1, 1.0, return_cost="all")
    with pytest.raises(ValueError, match="1-D"):
        numbaot.sinkhorn_unbalanced(a, np.ones((3, 2)), M, 0.1, 1.0)
    with pytest.raises(ValueError, match="same total mass"):  # both marginals exact: balanced, masses must agree
        numbaot.sinkhorn_unbalanced(a, 2 * b / b.sum(), M, 0.1, np.inf)
    with pytest.raises(ValueError, match="unbalanced_type"):  # reg=None, 'L2' and 'TV': tests/unbalanced
        numbaot.solve(M, a, b, reg=0.1, unbalanced=1.0, unbalanced_type="hellinger")
    with pytest.raises(TypeError, match="potentials_init"):
        numbaot.solve(M, a, b, reg=0.1, unbalanced=1.0, potentials_init=np.zeros(4))
    with pytest.raises(ValueError, match="max_iter"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, max_iter=0)


def test_inputs_are_not_mutated_and_lists_work():
    a, b, M = _problem(n=5, m=4)
    copies = [x.copy() for x in (a, b, M)]
    M.setflags(write=False)
    plan = numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0)
    for x, c in zip((a, b, M), copies):
        np.testing.assert_array_equal(x, c)
    np.testing.assert_allclose(numbaot.sinkhorn_unbalanced(a.tolist(), b.tolist(), M.tolist(), 0.1, 1.0), plan)
    # uniform weights when None
    np.testing.assert_allclose(numbaot.sinkhorn_unbalanced(None, None, M, 0.1, 1.0),
                               numbaot.sinkhorn_unbalanced(np.full(5, 0.2), np.full(4, 0.25), M, 0.1, 1.0))


# ------------------------------------------------------------------------------- scaling domain (method "sinkhorn")
@given(st.integers(1, 7), st.integers(1, 7), st.floats(0.05, 2.0), st.floats(0.05, 20.0),
       st.sampled_from(["both", "a exact", "b exact"]), st.sampled_from(["kl", "entropy"]), st.integers(0, 2**31))
@example(5, 1, 0.05078125, 12.0, "a exact", "kl", 6)  # scalings near e^690: NUMERICAL_ERROR (found by CI)
def test_scaling_method_has_the_log_domain_solution(n, m, reg, rho, relax, reg_type, seed):
    rng = np.random.default_rng(seed)
    M = rng.random((n, m)) * 3
    a, b = rng.random(n) + 0.1, 2 * rng.random(m) + 0.1
    reg_m = {"both": rho, "a exact": (np.inf, rho), "b exact": (rho, np.inf)}[relax]
    kw = dict(reg=reg, unbalanced=reg_m, reg_type=reg_type, max_iter=200000, tol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbaot.ConvergenceWarning)  # checked through the status below
        res = numbaot.solve(M, a, b, method="sinkhorn", **kw)
    ref = numbaot.solve(M, a, b, **kw)
    reach = max(np.abs(ref.potential_a).max(), np.abs(ref.potential_b).max()) / reg
    if res.status is numbaot.Status.NUMERICAL_ERROR:
        # the solution's scalings exp(f / reg) lie near or beyond float64's range (e^709): the scaling domain
        # cannot hold them and must say so (e.g. f ~ 35 at reg 0.05); the log domain has the answer
        assert reach > 300, reach
        return
    assert res.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-10)
    scale = 1 + np.abs(ref.potential_a).max() + np.abs(ref.potential_b).max()
    np.testing.assert_allclose(res.potential_a, ref.potential_a, atol=1e-8 * scale)
    np.testing.assert_allclose(res.potential_b, ref.potential_b, atol=1e-8 * scale)
    assert float(res.value) == pytest.approx(float(ref.value), rel=1e-9, abs=1e-12)
    # the error history means what the log core's does: the last one is the change of the potentials / reg
    assert res.errors.size >= 1 and res.errors[-1] <= 1e-13
    if reg_type == "kl":  # certificate: the potentials are a fixed point of both damped half-steps
        rho_a, rho_b = _pair(reg_m)
        tau_a = 1.0 if np.isinf(rho_a) else rho_a / (rho_a + reg)
        tau_b = 1.0 if np.isinf(rho_b) else rho_b / (rho_b + reg)
        f, g = res.potential_a, res.potential_b
        f_fix = -tau_a * reg * logsumexp(np.log(b)[None, :] + (g[None, :] - M) / reg, axis=1)
        g_fix = -tau_b * reg * logsumexp(np.log(a)[:, None] + (f[:, None] - M) / reg, axis=0)
        np.testing.assert_allclose(f, f_fix, atol=1e-9 * scale)
        np.testing.assert_allclose(g, g_fix, atol=1e-9 * scale)


def test_scaling_method_tends_to_balanced_as_reg_m_grows():
    a, b, M = _problem(n=15, m=12, seed=3, mass_b=1.0)
    reg = 0.1
    gaps = []
    for rho in (1.0, 10.0, 100.0, 1000.0):
        res = numbaot.solve(M, a, b, reg=reg, unbalanced=rho, method="sinkhorn", tol=1e-12, max_iter=100000)
        assert res.converged
        gaps.append(np.abs(res.plan.sum(axis=1) - a).sum() + np.abs(res.plan.sum(axis=0) - b).sum())
    assert all(later < 0.2 * earlier for earlier, later in zip(gaps, gaps[1:]))  # O(reg / rho)
    assert gaps[-1] < 1e-3
    # reg_m = inf: the balanced scaling iteration itself, stopped (and reported) on the L1 column error
    exact = numbaot.solve(M, a, b, reg=reg, unbalanced=np.inf, method="sinkhorn", tol=1e-13, max_iter=100000)
    balanced = numbaot.solve(M, a, b, reg=reg, method="sinkhorn", tol=1e-13, max_iter=100000)
    assert exact.converged and exact.n_iter == balanced.n_iter
    np.testing.assert_allclose(exact.plan, balanced.plan, atol=1e-14)
    np.testing.assert_allclose(exact.errors, balanced.errors, rtol=1e-9, atol=1e-17)
    np.testing.assert_allclose(exact.plan.sum(axis=0), b, atol=1e-13)
    np.testing.assert_allclose(exact.plan.sum(axis=1), a, atol=1e-12)


@pytest.mark.parametrize("reg_type", ["kl", "entropy"])
def test_scaling_method_zero_weights_and_warm_start(reg_type):
    a, b, M = _problem(n=8, m=6, seed=6)
    a[2] = 0.0
    b[[0, 5]] = 0.0
    kw = dict(reg=0.1, unbalanced=(1.0, 0.4), reg_type=reg_type, tol=1e-13, max_iter=100000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M, a, b, method="sinkhorn", **kw)
    ref = numbaot.solve(M, a, b, **kw)
    assert res.converged and np.all(res.plan[2] == 0) and np.all(res.plan[:, [0, 5]] == 0)
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-12)
    # zero weights get the log core's potentials: a damped half-step (kl), or -inf (no mass, entropy)
    np.testing.assert_allclose(res.potential_a, ref.potential_a, atol=1e-9)
    np.testing.assert_allclose(res.potential_b, ref.potential_b, atol=1e-9)
    warm = numbaot.solve(M, a, b, method="sinkhorn", potentials_init=(ref.potential_a, ref.potential_b),
                         **kw) if reg_type == "kl" else None
    if warm is not None:
        assert warm.converged and warm.n_iter <= 10
        np.testing.assert_allclose(warm.plan, ref.plan, atol=1e-12)


def test_scaling_method_float32_and_total_cost():
    ot = pytest.importorskip("ot")
    a, b, M = _problem(n=10, m=8, seed=7)
    res32 = numbaot.solve(M.astype(np.float32), a.astype(np.float32), b.astype(np.float32), reg=0.1,
                          unbalanced=0.5, method="sinkhorn", tol=1e-12)
    assert res32.plan.dtype == np.float32 and isinstance(res32.value, np.float32)
    ref = ot.sinkhorn_unbalanced(a, b, M, 0.1, 0.5, method="sinkhorn", stopThr=1e-15, numItermax=100000)
    np.testing.assert_allclose(res32.plan, ref, atol=1e-6)
    lin = numbaot.sinkhorn_unbalanced2(a, b, M, 0.1, 0.5, method="sinkhorn", tol=1e-13, max_iter=100000)
    assert float(lin) == pytest.approx(float(np.sum(ref * M)), rel=1e-10)


def test_scaling_method_reports_underflow():
    """Costs 20 apart at a small reg: K = exp(-M / reg) underflows to 0 everywhere. The scaling method must stop
    with NUMERICAL_ERROR and a warning (POT's returns a zero plan); the log domain solves it."""
    rng = np.random.default_rng(9)
    M = numbaot.dist(rng.random((12, 2)), rng.random((10, 2)) + 20.0)
    a, b = np.full(12, 1 / 12), np.full(10, 0.15)
    reg = 1e-3 * M.max()
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve(M, a, b, reg=reg, unbalanced=1.0, method="sinkhorn", max_iter=1000)
    assert res.status is numbaot.Status.NUMERICAL_ERROR and not res.converged
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        numbaot.sinkhorn_unbalanced(a, b, M, 1e-310, 1.0, method="sinkhorn", reg_type="entropy")
    log = numbaot.solve(M, a, b, reg=reg, unbalanced=1.0, max_iter=100000, tol=1e-10)
    assert log.converged and np.isfinite(log.plan).all()


def test_scaling_method_bad_inputs():
    a, b, M = _problem(n=4, m=3)
    with pytest.raises(ValueError, match="method must be one of .*'sinkhorn'"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, method="greenkhorn")
    with pytest.raises(TypeError, match="method"):
        numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, method=None)
    # the batched core and the GPU twin are log-domain only: said so, not silently run in the log domain
    with pytest.raises(ValueError, match="solve_batch"):
        numbaot.solve_batch(M[None], 0.1, a[None], b[None], method="sinkhorn", unbalanced=1.0)
    M_nan = M.copy()
    M_nan[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"M\[0, 1\] is NaN"):
        numbaot.sinkhorn_unbalanced(a, b, M_nan, 0.1, 1.0, method="sinkhorn")
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.sinkhorn_unbalanced(a, 2 * b / b.sum(), M, 0.1, np.inf, method="sinkhorn")
