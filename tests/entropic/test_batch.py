"""solve_batch: a batch of entropic problems against a loop of single solves, POT's batch solver and
certificates; per-problem statuses; bad inputs naming the problem."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbaot


def _batch(B=4, n=12, m=9, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((B, n, 2)), rng.random((B, m, 2))
    M = np.stack([numbaot.dist(X[k], Y[k]) for k in range(B)])
    a = rng.random((B, n)) + 0.1
    b = rng.random((B, m)) + 0.1
    return M, a / a.sum(axis=1, keepdims=True), b / b.sum(axis=1, keepdims=True)


@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.floats(0.05, 1.0), st.integers(0, 2**31),
       st.sampled_from([None, 0.5, (np.inf, 2.0)]))
def test_matches_a_loop_of_single_solves(B, n, m, reg, seed, unbalanced):
    M, a, b = _batch(B, n, m, seed)
    res = numbaot.solve_batch(M, reg, a, b, tol=1e-12, max_iter=20000, unbalanced=unbalanced)
    assert res.plan.shape == (B, n, m) and res.value.shape == (B,)
    assert res.potential_a.shape == (B, n) and res.potential_b.shape == (B, m)
    for k in range(B):
        one = numbaot.solve(M[k], a[k], b[k], reg=reg, tol=1e-12, max_iter=20000, unbalanced=unbalanced)
        # the same core on the same rows: identical iterates, identical stopping
        np.testing.assert_allclose(res.plan[k], one.plan, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(res.potential_a[k], one.potential_a, rtol=1e-12, atol=1e-13)
        assert res.value[k] == pytest.approx(float(one.value), rel=1e-12, abs=1e-15)
        assert res.value_linear[k] == pytest.approx(float(one.value_linear), rel=1e-12, abs=1e-15)
        assert numbaot.Status(int(res.statuses[k])) is one.status and res.n_iters[k] == one.n_iter
    assert res.converged
    if unbalanced is None:
        np.testing.assert_allclose(res.marginal_a, a, atol=1e-11)
        np.testing.assert_allclose(res.marginal_b, b, atol=1e-11)


def test_agrees_with_pot_batch_solver():
    ot = pytest.importorskip("ot")
    pytest.importorskip("ot.batch")
    M, a, b = _batch(B=5, n=20, m=15, seed=1)
    res = numbaot.solve_batch(M, 0.05, a, b, tol=1e-12, max_iter=10000)
    pot = ot.batch.solve_batch(M, 0.05, a, b, max_iter=10000, tol=1e-13, method="log_sinkhorn", reg_type="kl")
    np.testing.assert_allclose(res.plan, pot.plan, atol=1e-10)
    np.testing.assert_allclose(res.value, pot.value, atol=1e-10)
    np.testing.assert_allclose(res.value_linear, pot.value_linear, atol=1e-12)


def test_shared_and_default_weights():
    M, a, b = _batch(B=3, n=6, m=5, seed=2)
    shared = numbaot.solve_batch(M, 0.1, a[0], b[0], tol=1e-12)
    full = numbaot.solve_batch(M, 0.1, np.tile(a[0], (3, 1)), np.tile(b[0], (3, 1)), tol=1e-12)
    np.testing.assert_array_equal(shared.plan, full.plan)
    uniform = numbaot.solve_batch(M, 0.1, tol=1e-12)
    np.testing.assert_allclose(uniform.marginal_a, np.full((3, 6), 1 / 6), atol=1e-12)
    assert uniform.plan_operator.shape == (3, 6, 5) and "BatchOTResult(batch=3" in repr(uniform)
    np.testing.assert_allclose(uniform.plan_operator @ np.ones((3, 5)), uniform.marginal_a, rtol=1e-14)


def test_unbalanced_batch_with_different_masses():
    M, a, b = _batch(B=3, n=7, m=6, seed=3)
    b = b * np.array([[0.5], [1.0], [3.0]])
    res = numbaot.solve_batch(M, 0.05, a, b, unbalanced=1.0, method="sinkhorn_translation_invariant", tol=1e-12,
                              max_iter=50000)
    for k in range(3):
        ref = numbaot.sinkhorn_unbalanced(a[k], b[k], M[k], 0.05, 1.0, tol=1e-12, max_iter=50000)
        np.testing.assert_allclose(res.plan[k], ref, atol=1e-10)


def test_statuses_are_per_problem():
    M, a, b = _batch(B=3, n=6, m=5, seed=4)
    M[1] = 2.0  # a constant cost: the plan a b^T is reached at the first iteration
    with pytest.warns(numbaot.ConvergenceWarning, match="2 of 3 problems"):
        res = numbaot.solve_batch(M, 0.01, a, b, max_iter=10, tol=1e-14, check_every=1)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and not res.converged
    assert res.statuses.dtype == np.int64 and res.n_iters.dtype == np.int64
    assert [numbaot.Status(int(s)).name for s in res.statuses] == ["MAX_ITER_REACHED", "OPTIMAL", "MAX_ITER_REACHED"]
    assert res.n_iters[1] < 10 and res.n_iter == 10
    assert res.errors.shape[0] == 3 and np.isnan(res.errors[1, -1])
    np.testing.assert_allclose(res.plan[1], np.outer(a[1], b[1]), atol=1e-15)
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve_batch(M, 1e-310, a, b, max_iter=10)
    assert res.status is numbaot.Status.NUMERICAL_ERROR


def test_float32_and_warm_start():
    M, a, b = _batch(B=2, n=5, m=4, seed=5)
    res = numbaot.solve_batch(M, 0.1, a, b, tol=1e-12)
    res32 = numbaot.solve_batch(M.astype(np.float32), 0.1, a.astype(np.float32), b.astype(np.float32), tol=1e-6)
    assert res32.plan.dtype == np.float32 and res32.value.dtype == np.float32
    np.testing.assert_allclose(res32.plan, res.plan, atol=1e-6)
    warm = numbaot.solve_batch(M, 0.1, a, b, tol=1e-12, potentials_init=(res.potential_a, res.potential_b))
    assert warm.n_iter <= 10


def test_bad_inputs_name_the_problem():
    M, a, b = _batch(B=3, n=4, m=3)
    with pytest.raises(ValueError, match="3-D"):
        numbaot.solve_batch(M[0], 0.1)
    bad = M.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"M\[2\]\[1, 0\] is NaN"):
        numbaot.solve_batch(bad, 0.1, a, b)
    with pytest.raises(ValueError, match=r"problem 1 of the batch: a and b must have the same total mass"):
        b2 = b.copy()
        b2[1] *= 2
        numbaot.solve_batch(M, 0.1, a, b2)
    with pytest.raises(ValueError, match=r"a has shape \(2, 4\)"):
        numbaot.solve_batch(M, 0.1, a[:2], b)
    with pytest.raises(ValueError, match=r"b has shape \(3, 2\)"):
        numbaot.solve_batch(M, 0.1, a, b[:, :2])
    a_neg = a.copy()
    a_neg[1, 2] = -0.3
    with pytest.raises(ValueError, match=r"a\[1\]\[2\]"):
        numbaot.solve_batch(M, 0.1, a_neg, b)
    with pytest.raises(ValueError, match="reg > 0"):
        numbaot.solve_batch(M, None, a, b)
    with pytest.raises(ValueError, match="reg = 0"):
        numbaot.solve_batch(M, 0.0, a, b)
    with pytest.raises(ValueError, match="unbalanced"):
        numbaot.solve_batch(M, 0.1, a, b, unbalanced=-1.0)
    with pytest.raises(ValueError, match="unbalanced_type"):
        numbaot.solve_batch(M, 0.1, a, b, unbalanced=1.0, unbalanced_type="L2")
    with pytest.raises(ValueError, match="potentials_init"):
        numbaot.solve_batch(M, 0.1, a, b, potentials_init=(np.zeros(4), np.zeros(3)))


def test_no_warning_when_converged():
    M, a, b = _batch(B=2, n=5, m=4, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numbaot.solve_batch(M, 0.2, a, b).converged
