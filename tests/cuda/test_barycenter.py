"""The CUDA barycenters (numbaot.cuda.barycenter) against the host loop on the same inputs (run under
NUMBA_ENABLE_CUDASIM=1 or on a GPU): dense and grid geometries, balanced, debiased and unbalanced, statuses and bad
input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot import ConvergenceWarning, Status

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


def _problem(n=9, K=3, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.random((n, K)) + 0.05
    A[2, 1] = 0.0  # a zero entry: its row carries no mass
    x = np.linspace(0, 1, n)
    return A / A.sum(axis=0), (x[:, None] - x[None, :]) ** 2


@pytest.mark.parametrize("reg_m", [None, 0.5])
def test_dense_matches_host(small_blocks, reg_m):
    A, M = _problem()
    w = np.array([0.2, 0.5, 0.3])
    # the simulator runs every CUDA thread in Python: a few iterations, compared step for step
    opts = dict(reg_m=reg_m, max_iter=12, check_every=4, warn=False)
    cpu = numbaot.solve_barycenter(A, M, 0.05, w, **opts)
    gpu = numbaot.solve_barycenter(dev(A), dev(M), 0.05, w, **opts)
    assert gpu.device == "cuda" and gpu.status is cpu.status and gpu.n_iter == cpu.n_iter
    np.testing.assert_allclose(gpu.barycenter.copy_to_host(), cpu.barycenter, atol=1e-12)
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-8, atol=1e-15)
    bar = numbaot.barycenter(dev(A.astype(np.float32)), dev(M.astype(np.float32)), 0.05, w, max_iter=2, warn=False)
    assert bar.copy_to_host().dtype == np.float32


@pytest.mark.parametrize("shape", [(3, 4), (2, 2, 3)])
def test_grid_matches_host(small_blocks, shape):
    rng = np.random.default_rng(1)
    A = rng.random((2,) + shape)
    A /= A.sum(axis=tuple(range(1, A.ndim)), keepdims=True)
    cpu = numbaot.solve_barycenter(A, reg=0.1, max_iter=8, check_every=4, warn=False)
    gpu = numbaot.solve_barycenter(dev(A), reg=0.1, max_iter=8, check_every=4, warn=False)
    assert gpu.status is cpu.status and gpu.n_iter == cpu.n_iter
    out = gpu.barycenter.copy_to_host()
    assert out.shape == shape
    np.testing.assert_allclose(out, cpu.barycenter, atol=1e-12)


def test_debiased_matches_host(small_blocks):
    A, M = _problem()
    w = np.array([0.2, 0.5, 0.3])
    opts = dict(debias=True, max_iter=8, check_every=4, warn=False)
    cpu = numbaot.solve_barycenter(A, M, 0.05, w, **opts)
    gpu = numbaot.solve_barycenter(dev(A), dev(M), 0.05, w, **opts)
    assert gpu.status is cpu.status and gpu.n_iter == cpu.n_iter
    np.testing.assert_allclose(gpu.barycenter.copy_to_host(), cpu.barycenter, atol=1e-12)
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-8, atol=1e-15)
    bar = numbaot.barycenter_debiased(dev(A), dev(M), 0.05, w, max_iter=3, warn=False)
    np.testing.assert_allclose(bar.copy_to_host(), numbaot.barycenter_debiased(A, M, 0.05, w, max_iter=3, warn=False),
                               atol=1e-12)
    with pytest.raises(ValueError, match="M must be square"):
        numbaot.barycenter_debiased(dev(A[:, :2]), dev(M[:, :-1]), 0.05)


def test_convolutional_debiased_matches_host(small_blocks):
    rng = np.random.default_rng(2)
    A = rng.random((2, 3, 4))
    A /= A.sum(axis=(1, 2), keepdims=True)
    cpu = numbaot.solve_barycenter(A, reg=0.1, debias=True, max_iter=8, check_every=4, warn=False)
    gpu = numbaot.solve_barycenter(dev(A), reg=0.1, debias=True, max_iter=8, check_every=4, warn=False)
    assert gpu.status is cpu.status and gpu.n_iter == cpu.n_iter
    np.testing.assert_allclose(gpu.barycenter.copy_to_host(), cpu.barycenter, atol=1e-12)
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-8, atol=1e-15)
    bar = numbaot.convolutional_barycenter2d_debiased(dev(A), reg=0.1, max_iter=3, warn=False)
    np.testing.assert_allclose(bar.copy_to_host(), numbaot.convolutional_barycenter2d_debiased(
        A, reg=0.1, max_iter=3, warn=False), atol=1e-12)


def test_max_iter_and_refusals():
    A, M = _problem()
    with pytest.warns(ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve_barycenter(dev(A), dev(M), 1e-3, max_iter=2)
    assert res.status is Status.MAX_ITER_REACHED and res.n_iter == 2
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        numbaot.barycenter(dev(bad), dev(M), 0.02)
    unequal = A.copy()
    unequal[:, 1] *= 2
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.barycenter(dev(unequal), dev(M), 0.02)
    with pytest.raises(ValueError, match="M has shape"):
        numbaot.barycenter(dev(A), dev(M[:-1]), 0.02)
    with pytest.raises(ValueError, match="different devices"):
        numbaot.barycenter(dev(A), M, 0.02)
