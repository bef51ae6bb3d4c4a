"""The unbalanced Sinkhorn methods on CUDA arrays against the host on the same inputs (run under
NUMBA_ENABLE_CUDASIM=1 or on a GPU): 'sinkhorn_reg_scaling' runs the host's epsilon stages through the GPU loop."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


def _problem(n=9, m=7, seed=8):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    M = numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))
    M[0, 1] = np.inf  # a forbidden arc: the spread is over the finite costs, on both paths
    return a / a.sum(), 1.3 * b / b.sum(), M


def test_reg_scaling_runs_the_host_stages_step_for_step(small_blocks):
    """The same stages as the host: the last stage starts from the same potentials, so its iterations and its
    error at each check agree with the host's, and differ from a run without the stages."""
    a, b, M = _problem()
    kw = dict(reg=0.02, unbalanced=(1.0, 2.0), tol=1e-9, max_iter=5000)
    cpu = numbaot.solve(M, a, b, method="sinkhorn_reg_scaling", **kw)
    gpu = numbaot.solve(dev(M), dev(a), dev(b), method="sinkhorn_reg_scaling", **kw)
    cold = numbaot.solve(M, a, b, **kw)
    assert gpu.device == "cuda" and gpu.status is cpu.status and cpu.status.name == "OPTIMAL"
    assert gpu.n_iter == cpu.n_iter < cold.n_iter  # the last stage starts near the answer
    assert gpu.errors.shape == cpu.errors.shape
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(gpu.plan.copy_to_host(), cpu.plan, atol=1e-13)
    np.testing.assert_allclose(gpu.potential_a.copy_to_host(), cpu.potential_a, atol=1e-11)
    plan = numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(M), 0.02, 1.0, method="sinkhorn_reg_scaling",
                                       tol=1e-9, max_iter=5000)
    ref = numbaot.sinkhorn_unbalanced(a, b, M, 0.02, 1.0, method="sinkhorn_reg_scaling", tol=1e-9, max_iter=5000)
    np.testing.assert_allclose(plan.copy_to_host(), ref, atol=1e-13)


def test_reg_scaling_with_a_warm_start_skips_the_stages(small_blocks):
    a, b, M = _problem(n=6, m=5, seed=2)
    warm = numbaot.solve(M, a, b, reg=0.05, unbalanced=1.0)
    kw = dict(reg=0.05, unbalanced=1.0, method="sinkhorn_reg_scaling",
              potentials_init=(warm.potential_a, warm.potential_b))
    cpu = numbaot.solve(M, a, b, **kw)
    kw["potentials_init"] = tuple(dev(x) for x in kw["potentials_init"])
    gpu = numbaot.solve(dev(M), dev(a), dev(b), **kw)
    assert gpu.n_iter == cpu.n_iter
    np.testing.assert_allclose(gpu.plan.copy_to_host(), cpu.plan, atol=1e-13)
