"""The Sinkhorn methods other than the default log domain ("sinkhorn", "sinkhorn_stabilized",
"sinkhorn_epsilon_scaling", "greenkhorn"), several targets, float32 and reg_type: all reach the one entropic
optimum (plain numpy oracle and POT), report failure honestly, and stay stable where the method promises to."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaot
from numbaot.entropic.api import METHODS
from tests.naive import sinkhorn_log_naive

# the methods' iteration caps for the oracle tests (greenkhorn's iterations are n + m single updates each)
_ITERS = {"greenkhorn": 20000}


def _problem(n=30, m=20, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))


@pytest.mark.parametrize("method", [m for m in METHODS if m != "greenkhorn"])  # greenkhorn: too slow for this
@given(n=st.integers(1, 7), m=st.integers(1, 7), reg=st.floats(0.1, 2.0), seed=st.integers(0, 2**31),
       data=st.data())
def test_every_method_matches_plain_numpy(method, n, m, reg, seed, data):
    rng = np.random.default_rng(seed)
    M = data.draw(hnp.arrays(np.float64, (n, m), elements=st.floats(0, 3)))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    res = numbaot.solve(M, a, b, reg=reg, method=method, max_iter=_ITERS.get(method, 20000), tol=1e-12)
    ref, _, _ = sinkhorn_log_naive(a, b, M, reg)
    assert res.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(res.plan, ref, atol=1e-8)
    np.testing.assert_allclose(res.plan.sum(axis=0), b, atol=1e-11)
    # every method reports its answer as potentials in one convention, from which the plan is rebuilt
    P = a[:, None] * b[None, :] * np.exp((res.potential_a[:, None] + res.potential_b[None, :] - M) / reg)
    np.testing.assert_allclose(P, res.plan, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_agrees_with_pot_same_method(method):
    ot = pytest.importorskip("ot")
    a, b, M = _problem()
    reg = 0.05 * M.max()
    ours = numbaot.sinkhorn(a, b, M, reg, method=method, tol=1e-13, max_iter=_ITERS.get(method, 20000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot_iters = _ITERS.get(method, 20000) * (sum(M.shape) if method == "greenkhorn" else 1)  # POT's: updates
        ref = ot.sinkhorn(a, b, M, reg, method=method, stopThr=1e-14, numItermax=pot_iters)
    np.testing.assert_allclose(ours, ref, atol=1e-7)


@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling"])
@pytest.mark.parametrize("factor", [5e-3, 1e-3])
def test_small_reg_is_stable(method, factor):
    a, b, M = _problem(n=120, m=100, seed=4)
    reg = factor * M.max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no numpy overflow warning
        res = numbaot.solve(M, a, b, reg=reg, method=method, max_iter=100000, tol=1e-9)
    assert res.status is numbaot.Status.OPTIMAL
    assert np.abs(res.plan.sum(axis=0) - b).sum() <= 1e-9
    assert np.abs(res.plan.sum(axis=1) - a).sum() <= 1e-8
    ref = numbaot.solve(M, a, b, reg=reg, max_iter=100000, tol=1e-12)
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-7)
    exact = float(numbaot.emd2(a, b, M))
    assert -1e-9 <= float(res.value_linear) - exact <= reg * np.log(M.size) + 1e-9


def test_greenkhorn_matches_log_domain():
    a, b, M = _problem(n=8, m=6, seed=11)
    reg = 0.2 * M.max()
    res = numbaot.solve(M, a, b, reg=reg, method="greenkhorn", max_iter=20000, tol=1e-11)
    assert res.status is numbaot.Status.OPTIMAL
    ref, _, _ = sinkhorn_log_naive(a, b, M, reg)
    np.testing.assert_allclose(res.plan, ref, atol=1e-9)


def test_greenkhorn_defaults_converge_and_iterations_are_sweeps():
    """An iteration of greenkhorn is n + m single updates (a Sinkhorn iteration's work): the shared defaults
    (1000 iterations, tol 1e-9, a check every 10) converge on an ordinary problem, as the log domain does, and
    max_iter caps the sweeps."""
    rng = np.random.default_rng(12)
    n, m = 120, 90
    M = numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    reg = 0.01 * float(M.max())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M, a, b, reg=reg, method="greenkhorn")
    ref = numbaot.solve(M, a, b, reg=reg)
    assert res.status is numbaot.Status.OPTIMAL and 0 < res.n_iter < 1000
    assert res.errors[-1] <= 1e-9 and len(res.errors) == -(-res.n_iter // 10)  # a check per 10 sweeps (the last may
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-9)                   # come early: the cap or the stop)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        capped = numbaot.solve(M, a, b, reg=reg, method="greenkhorn", max_iter=3)
    assert capped.status is numbaot.Status.MAX_ITER_REACHED and capped.n_iter == 3


@pytest.mark.parametrize("method", ["sinkhorn", "greenkhorn"])
def test_scaling_domain_failure_is_reported(method):
    """A constant added to M changes no plan, but at 800 reg it underflows K = exp(-M / reg) everywhere: the
    scaling-domain methods must say so (status and warning), never report a garbage plan as converged."""
    a, b, M = _problem(n=60, m=50, seed=5)
    reg = 0.01 * M.max()
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve(M + 800 * reg, a, b, reg=reg, method=method, max_iter=100000)
    assert res.status is numbaot.Status.NUMERICAL_ERROR and not res.converged


@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling"])
def test_constant_offset_changes_nothing_for_stable_methods(method):
    """Where POT's stabilized method collapses to a zero plan (K underflows before any absorption), ours
    rescues the half-step in the log domain: the plan of M + c equals the plan of M, potentials shift by c."""
    a, b, M = _problem(n=60, m=50, seed=5)
    reg = 0.01 * M.max()
    ref = numbaot.solve(M, a, b, reg=reg, tol=1e-12, max_iter=20000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M + 800 * reg, a, b, reg=reg, method=method, tol=1e-12, max_iter=20000)
    assert res.status is numbaot.Status.OPTIMAL
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-10)
    assert abs(float(res.value) - float(ref.value) - 800 * reg) <= 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_zero_weights_forbidden_arcs_and_warm_start(method):
    a, b, M = _problem(n=12, m=9, seed=2)
    a[3] = 0.0
    b[5] = 0.0
    a, b = a / a.sum(), b / b.sum()
    M[0, 0] = np.inf
    reg = 0.1 * np.max(M[np.isfinite(M)])
    kw = dict(reg=reg, method=method, max_iter=_ITERS.get(method, 20000), tol=1e-11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = numbaot.solve(M, a, b, **kw)
    assert res.status is numbaot.Status.OPTIMAL
    assert np.all(res.plan[3] == 0) and np.all(res.plan[:, 5] == 0) and res.plan[0, 0] == 0
    assert np.all(np.isfinite(res.potential_a)) and np.all(np.isfinite(res.potential_b))
    # the zero-weight rows' potentials are the log-domain half-step: the feasible dual of that row
    from scipy.special import logsumexp

    with np.errstate(divide="ignore"):
        f3 = -reg * logsumexp((res.potential_b - M[3]) / reg + np.log(b))
    np.testing.assert_allclose(res.potential_a[3], f3, rtol=1e-10)
    ref = numbaot.solve(M, a, b, reg=reg, tol=1e-12, max_iter=20000)
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-8)
    warm = numbaot.solve(M, a, b, potentials_init=(res.potential_a, res.potential_b), **kw)
    assert warm.status is numbaot.Status.OPTIMAL and warm.n_iter <= max(10, res.n_iter // 2)


def test_several_targets():
    a, _, M = _problem()
    rng = np.random.default_rng(7)
    B = rng.random((M.shape[1], 3)) + 0.1
    B /= B.sum(axis=0)
    reg = 0.05 * M.max()
    values = numbaot.sinkhorn2(a, B, M, reg, tol=1e-12)
    plans = numbaot.sinkhorn(a, B, M, reg, tol=1e-12)
    assert values.shape == (3,) and plans.shape == M.shape + (3,)
    for k in range(3):
        single = numbaot.solve(M, a, B[:, k], reg=reg, tol=1e-12)
        np.testing.assert_allclose(plans[..., k], single.plan, atol=1e-15)
        assert abs(values[k] - float(single.value_linear)) <= 1e-15
    ot = pytest.importorskip("ot")
    ref = ot.sinkhorn2(a, B, M, reg, stopThr=1e-14, numItermax=20000)
    np.testing.assert_allclose(values, ref, atol=1e-9)


def test_float32_path_is_float32_and_close():
    a, b, M = _problem(n=200, m=150, seed=8)
    reg = 0.01 * M.max()
    ref = numbaot.solve(M, a, b, reg=reg, tol=1e-10, max_iter=10000)
    res = numbaot.solve(M.astype(np.float32), a.astype(np.float32), b.astype(np.float32), reg=reg, tol=1e-5,
                        max_iter=10000)
    assert res.status is numbaot.Status.OPTIMAL
    assert res.plan.dtype == np.float32 and isinstance(res.value, np.float32)
    # float32 exponents of size M / reg = 100 carry ~1e-5 relative error each; the plan entries a few of them
    np.testing.assert_allclose(res.plan, ref.plan, rtol=2e-4, atol=1e-6 * ref.plan.max())
    assert abs(float(res.value) - float(ref.value)) <= 1e-4 * abs(float(ref.value))


def test_reg_type_entropy():
    ot = pytest.importorskip("ot")
    a, b, M = _problem(seed=9)
    reg = 0.05 * M.max()
    kl = numbaot.solve(M, a, b, reg=reg, tol=1e-12)
    ent = numbaot.solve(M, a, b, reg=reg, reg_type="entropy", tol=1e-12)
    np.testing.assert_allclose(ent.plan, kl.plan, atol=1e-15)  # the same plan, another value
    P = ent.plan
    assert abs(float(ent.value) - (np.sum(P * M) + reg * np.sum(P * np.log(P)))) <= 1e-12
    pot = ot.solve(M, a, b, reg=reg, reg_type="entropy", tol=1e-12, max_iter=20000)
    assert abs(float(ent.value) - float(pot.value)) <= 1e-8
    with pytest.raises(ValueError, match="reg_type must be one of"):
        numbaot.solve(M, a, b, reg=reg, reg_type="L1")  # ('L2' is smooth OT since issue 16)


@pytest.mark.parametrize("method", METHODS)
def test_max_iter_reported(method):
    a, b, M = _problem(seed=10)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve(M, a, b, reg=0.01 * M.max(), method=method, max_iter=3)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and not res.converged and res.n_iter <= 3
