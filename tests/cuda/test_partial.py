"""Entropic partial OT on CUDA arrays (runs under the CUDA simulator or on a GPU): the device iterations equal the
host's log-domain iterations step for step (same errors at every check, same plan), device results of the caller's
kind with ``ran_on="cuda"``, and the host's errors for bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot.partial.api import solve_entropic_partial
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def problem(dtype=np.float64, weighted=True, seed=0, n=7, m=5):
    rng = np.random.default_rng(seed)
    M = rng.random((n, m)).astype(dtype)
    if not weighted:
        return M, None, None
    a = rng.integers(1, 5, n).astype(dtype)
    b = rng.integers(1, 5, m).astype(dtype)
    return M, a / a.sum(), 1.2 * b / b.sum()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_host_step_for_step(small_blocks, dtype):
    M, a, b = problem(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for k in (1, 4):
        host = solve_entropic_partial(M, a, b, 0.3, 0.6, "sinkhorn_log", max_iter=k, tol=0.0, check_every=1,
                                      warn=False)
        gpu = solve_entropic_partial(dev(M), dev(a), dev(b), 0.3, 0.6, max_iter=k, tol=0.0, check_every=1,
                                     warn=False)
        assert gpu.device == gpu.ran_on == "cuda" and gpu.n_iter == host.n_iter == k
        plan = gpu.plan.copy_to_host()
        assert plan.dtype == dtype
        np.testing.assert_allclose(plan, host.plan, rtol=rtol, atol=1e-15)
        np.testing.assert_allclose(gpu.errors, host.errors, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(gpu.potential_a.copy_to_host(), host.potential_a, rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(gpu.potential_b.copy_to_host(), host.potential_b, rtol=rtol, atol=1e-12)
        assert np.isclose(gpu.value, host.value, rtol=rtol) and np.isclose(gpu.value_linear, host.value_linear,
                                                                          rtol=rtol)


def test_converges_like_the_host_with_zero_weights_and_forbidden_arcs(small_blocks):
    M, a, b = problem(seed=1, n=6, m=6)
    M[0, 0] = np.inf
    a[2] = 0.0
    host = solve_entropic_partial(M, a, b, 0.2, 0.5, "sinkhorn_log")
    gpu = solve_entropic_partial(dev(M), dev(a), dev(b), 0.2, 0.5)
    assert gpu.status == host.status == numbaot.Status.OPTIMAL and gpu.n_iter == host.n_iter
    plan = gpu.plan.copy_to_host()
    np.testing.assert_allclose(plan, host.plan, rtol=1e-9, atol=1e-15)
    assert plan[0, 0] == 0.0 and np.all(plan[2] == 0.0) and np.isclose(plan.sum(), 0.5)
    P = numbaot.entropic_partial_wasserstein(dev(a), dev(b), dev(M), 0.2, 0.5)
    assert hasattr(P, "copy_to_host") and np.allclose(P.copy_to_host(), plan)
    P = numbaot.entropic_partial_wasserstein(None, None, dev(M), 0.2, 0.5)  # uniform weights
    assert np.allclose(P.copy_to_host(), numbaot.entropic_partial_wasserstein(None, None, M, 0.2, 0.5), atol=1e-12)


def test_max_iter_warns():
    M, a, b = problem(seed=2)
    with pytest.warns(numbaot.ConvergenceWarning, match="cuda"):
        res = solve_entropic_partial(dev(M), dev(a), dev(b), 0.05, 0.6, max_iter=2, tol=0.0)
    assert res.status == numbaot.Status.MAX_ITER_REACHED


def test_bad_inputs_raise_the_host_errors():
    M, a, b = problem(seed=3)
    bad_a = a.copy()
    bad_a[1] = -0.2
    same_error(lambda: numbaot.entropic_partial_wasserstein(bad_a, b, M, 0.1, 0.5),
               lambda: numbaot.entropic_partial_wasserstein(dev(bad_a), dev(b), dev(M), 0.1, 0.5))
    bad_M = M.copy()
    bad_M[2, 3] = np.nan
    same_error(lambda: numbaot.entropic_partial_wasserstein(a, b, bad_M, 0.1, 0.5),
               lambda: numbaot.entropic_partial_wasserstein(dev(a), dev(b), dev(bad_M), 0.1, 0.5))
    same_error(lambda: numbaot.entropic_partial_wasserstein(a, b, M, 0.1, 5.0),
               lambda: numbaot.entropic_partial_wasserstein(dev(a), dev(b), dev(M), 0.1, 5.0))
    with pytest.raises(ValueError, match="host|device|lives|mixed"):
        numbaot.entropic_partial_wasserstein(a, dev(b), dev(M), 0.1, 0.5)


def test_device_input_is_judged_before_the_driver(monkeypatch):
    """Issue 12's rule for entropic partial OT: the device weights and costs are checked by the front-end's
    dispatch steps (``cuda._checks``: ``entropic_partial.weights``, ``entropic_partial.costs``) and judged there,
    before the driver, with the host's messages and in the host's order (a NaN in M before a wrong mass m, the mass
    before a weighted row of +inf costs). The driver is replaced by one that fails if reached."""
    from numbaot.cuda import partial as cuda_partial

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    monkeypatch.setattr(cuda_partial, "entropic_partial_cuda", unreachable)
    M = np.arange(12.0).reshape(4, 3) / 12
    a, b = np.array([0.25, 0.25, 0.5, 0.0]), np.array([0.5, 0.25, 0.25])

    def same(a, b, M, m):
        same_error(lambda: solve_entropic_partial(M, a, b, 0.1, m),
                   lambda: solve_entropic_partial(dev(M), dev(a), dev(b), 0.1, m))

    nan = M.copy()
    nan[1, 2] = np.nan
    nan[2, 0] = -np.inf
    same(a, b, nan, 2.0)  # the NaN, before the -inf and the mass
    same(a, b, np.where(nan == nan, nan, 0.0), 2.0)  # the -inf
    same(a, b, M, 2.0)  # too much mass
    same(a, b, M, -1.0)
    same(None, b, M, 1.5)
    rows = M.copy()
    rows[2] = np.inf
    same(a, b, rows, 2.0)  # the mass first
    same(a, b, rows, 0.5)  # row 2 has weight but no finite cost
    cols = M.copy()
    cols[:, 1] = np.inf
    same(a, b, cols, 0.5)
    rows[3] = np.inf
    rows[2] = M[2]
    with pytest.raises(AssertionError, match="unchecked"):  # row 3 has no weight: feasible, the driver is reached
        solve_entropic_partial(dev(rows), dev(a), dev(b), 0.1, 0.5)
    bad_b = b.copy()
    bad_b[2] = np.inf
    same(a, bad_b, M, 0.5)
