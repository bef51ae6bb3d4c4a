"""The CUDA log-domain Sinkhorn (balanced, unbalanced, batched) against the CPU path on the same inputs
(run under NUMBA_ENABLE_CUDASIM=1 or on a GPU), including the device error reduction and the statuses."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host()


def _problem(n=11, m=9, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    M = numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))
    return (a / a.sum()).astype(dtype), (b / b.sum()).astype(dtype), M.astype(dtype)


def check_same(cpu, gpu, atol):
    assert gpu.device == "cuda"
    assert gpu.status is cpu.status and gpu.n_iter == cpu.n_iter
    assert host(gpu.plan).dtype == cpu.plan.dtype
    np.testing.assert_allclose(host(gpu.plan), cpu.plan, atol=atol)
    np.testing.assert_allclose(host(gpu.potential_a), cpu.potential_a, atol=atol * 10)
    np.testing.assert_allclose(host(gpu.potential_b), cpu.potential_b, atol=atol * 10)
    np.testing.assert_allclose(host(gpu.marginal_a), cpu.marginal_a, atol=atol)
    np.testing.assert_allclose(host(gpu.marginal_b), cpu.marginal_b, atol=atol)
    np.testing.assert_allclose(gpu.value, cpu.value, rtol=1e-6 if atol > 1e-9 else 1e-11, atol=atol)
    np.testing.assert_allclose(gpu.value_linear, cpu.value_linear, rtol=1e-6 if atol > 1e-9 else 1e-11, atol=atol)
    # the errors reduced on the device are those the CPU core records (float32: the CPU iterates float32 costs in
    # float32 arithmetic, the device accumulates in float64, so they agree to float32 precision)
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-6, atol=1e-13 if atol < 1e-9 else 1e-7)


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-13), (np.float32, 1e-6)])
def test_balanced_solve_matches_cpu(small_blocks, dtype, atol):
    a, b, M = _problem(dtype=dtype)
    cpu = numbaot.solve(M, a, b, reg=0.1, tol=1e-7)
    gpu = numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, tol=1e-7)
    assert isinstance(gpu.value, np.generic) and gpu.value.dtype == dtype
    check_same(cpu, gpu, atol)


@pytest.mark.parametrize("reg_m", [0.5, (np.inf, 1.0), (0.3, np.inf)])
def test_unbalanced_matches_cpu(small_blocks, reg_m):
    a, b, M = _problem(n=9, m=7, seed=1)
    b = 2.0 * b
    cpu = numbaot.solve(M, a, b, reg=0.1, unbalanced=reg_m, tol=1e-8)
    gpu = numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, unbalanced=reg_m, tol=1e-8)
    check_same(cpu, gpu, 1e-13)
    plan = numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(M), 0.1, reg_m, tol=1e-8)
    np.testing.assert_allclose(host(plan), cpu.plan, atol=1e-13)


def test_batch_matches_cpu_with_shared_and_default_weights(small_blocks):
    rng = np.random.default_rng(2)
    B, n, m = 3, 6, 5
    M = rng.random((B, n, m))
    a = rng.random((B, n)) + 0.1
    a /= a.sum(axis=1, keepdims=True)
    b = rng.random(m) + 0.1
    b /= b.sum()
    for kwargs in ({}, {"unbalanced": (np.inf, 0.7)}):
        cpu = numbaot.solve_batch(M, 0.1, a, b, tol=1e-8, **kwargs)
        gpu = numbaot.solve_batch(dev(M), 0.1, dev(a), dev(b), tol=1e-8, **kwargs)
        assert gpu.device == "cuda" and gpu.plan.shape == (B, n, m)
        np.testing.assert_allclose(host(gpu.plan), cpu.plan, atol=1e-13)
        np.testing.assert_allclose(gpu.value, cpu.value, rtol=1e-11)
        np.testing.assert_array_equal(gpu.n_iters, cpu.n_iters)
        assert gpu.statuses.dtype == cpu.statuses.dtype == np.int64
        assert gpu.statuses.tolist() == cpu.statuses.tolist()
        np.testing.assert_allclose(host(gpu.potential_b), cpu.potential_b, atol=1e-12)
        np.testing.assert_allclose(host(gpu.marginal_a), cpu.marginal_a, atol=1e-13)
        np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-6, atol=1e-13)
    cpu = numbaot.solve_batch(M, 0.2, tol=1e-8)
    gpu = numbaot.solve_batch(dev(M), 0.2, tol=1e-8)
    np.testing.assert_allclose(host(gpu.plan), cpu.plan, atol=1e-13)


def test_statuses_and_warnings_match_cpu(small_blocks):
    rng = np.random.default_rng(3)
    M = rng.random((2, 4, 3))
    M[1] = 1.0  # converges at once
    with pytest.warns(numbaot.ConvergenceWarning, match="1 of 2 problems"):
        gpu = numbaot.solve_batch(dev(M), 0.01, max_iter=4, tol=1e-15, check_every=2)
    assert [numbaot.Status(int(s)).name for s in gpu.statuses] == ["MAX_ITER_REACHED", "OPTIMAL"]
    assert list(gpu.n_iters) == [4, 2] and gpu.status is numbaot.Status.MAX_ITER_REACHED
    a, b, M2 = _problem(n=4, m=3)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        gpu = numbaot.solve(dev(M2), dev(a), dev(b), reg=0.01, max_iter=3, tol=1e-15)
    assert not gpu.converged and gpu.n_iter == 3 and gpu.errors.size == 1
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        gpu = numbaot.solve(dev(M2), dev(a), dev(b), reg=1e-310, unbalanced=1.0, max_iter=20)
    assert gpu.status is numbaot.Status.NUMERICAL_ERROR


def test_zero_weights_forbidden_arcs_and_strided_costs(small_blocks):
    a, b, M = _problem(n=6, m=5, seed=4)
    a[1] = 0.0
    b[3] = 0.0
    a, b = a / a.sum(), b / b.sum()
    M[2, 0] = np.inf
    cpu = numbaot.solve(M, a, b, reg=0.1, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gpu = numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, tol=1e-9)
    check_same(cpu, gpu, 1e-13)
    assert host(gpu.plan)[2, 0] == 0.0 and np.all(host(gpu.plan)[1] == 0.0)
    # a transposed (Fortran-ordered) device view takes the copying path and gives the transposed answer
    from numba import cuda

    Mt = cuda.to_device(np.ascontiguousarray(M.T)).T
    gpu_t = numbaot.solve(Mt, dev(a), dev(b), reg=0.1, tol=1e-9)
    np.testing.assert_allclose(host(gpu_t.plan), cpu.plan, atol=1e-13)


def test_inputs_are_not_mutated_and_warm_start(small_blocks):
    a, b, M = _problem(n=5, m=4, seed=5)
    dM, da, db = dev(M), dev(a), dev(b)
    res = numbaot.solve(dM, da, db, reg=0.1, tol=1e-10)
    np.testing.assert_array_equal(host(dM), M)
    np.testing.assert_array_equal(host(da), a)
    warm = numbaot.solve(dM, da, db, reg=0.1, tol=1e-10, potentials_init=(res.potential_a, res.potential_b))
    assert warm.converged and warm.n_iter <= 10
    np.testing.assert_allclose(host(warm.plan), host(res.plan), atol=1e-12)


def test_bad_inputs_raise_the_cpu_messages(small_blocks):
    a, b, M = _problem(n=4, m=3, seed=6)
    for bad_M in (np.where(np.arange(12).reshape(4, 3) == 7, np.nan, M),
                  np.where(np.arange(12).reshape(4, 3) == 5, -np.inf, M),
                  np.where(np.arange(12).reshape(4, 3) // 3 == 2, np.inf, M)):
        same_error(lambda: numbaot.solve(bad_M, a, b, reg=0.1),
                   lambda: numbaot.solve(dev(bad_M), dev(a), dev(b), reg=0.1))
    same_error(lambda: numbaot.solve(M, np.array([0.5, -0.2, 0.4, 0.3]), b, reg=0.1),
               lambda: numbaot.solve(dev(M), dev(np.array([0.5, -0.2, 0.4, 0.3])), dev(b), reg=0.1))
    same_error(lambda: numbaot.solve(M, a, 2 * b, reg=0.1), lambda: numbaot.solve(dev(M), dev(a), dev(2 * b), reg=0.1))
    same_error(lambda: numbaot.solve(M, a[:3], b, reg=0.1),
               lambda: numbaot.solve(dev(M), dev(a[:3]), dev(b), reg=0.1))
    same_error(lambda: numbaot.solve(M, a, b, reg=0.1, unbalanced=0.0),
               lambda: numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, unbalanced=0.0))
    Mb = np.stack([M, M])
    Mb[1, 0, 0] = np.nan
    same_error(lambda: numbaot.solve_batch(Mb, 0.1), lambda: numbaot.solve_batch(dev(Mb), 0.1))
    ab = np.stack([a, 2 * a])
    same_error(lambda: numbaot.solve_batch(np.stack([M, M]), 0.1, ab, b),
               lambda: numbaot.solve_batch(dev(np.stack([M, M])), 0.1, dev(ab), dev(b)))
    with pytest.raises(ValueError, match="different devices"):
        numbaot.solve(dev(M), a, dev(b), reg=0.1)
    with pytest.raises(ValueError, match="different devices"):
        numbaot.solve_batch(dev(Mb), 0.1, ab)
    with pytest.raises(ValueError, match="host only"):
        numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, unbalanced=1.0, method="sinkhorn_translation_invariant")
    with pytest.raises(ValueError, match="host only"):
        numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(M), 0.1, 1.0, reg_type="entropy")


def test_pot_verbs_take_device_arrays(small_blocks):
    """sinkhorn / sinkhorn2 (not only solve) run on the GPU for device arrays and answer on the device."""
    a, b, M = _problem()
    cpu = numbaot.solve(M, a, b, reg=0.1, tol=1e-7)
    plan = numbaot.sinkhorn(dev(a), dev(b), dev(M), 0.1, tol=1e-7)
    assert hasattr(plan, "copy_to_host")
    np.testing.assert_allclose(host(plan), cpu.plan, atol=1e-13)
    value = numbaot.sinkhorn2(None, None, dev(M), 0.1, tol=1e-7)
    np.testing.assert_allclose(value, numbaot.sinkhorn2(None, None, M, 0.1, tol=1e-7), rtol=1e-11)
    with pytest.raises(ValueError, match="host only"):
        numbaot.sinkhorn(dev(a), dev(b), dev(M), 0.1, method="sinkhorn")
    with pytest.raises(ValueError, match="host only"):
        numbaot.sinkhorn(dev(a), dev(np.stack([b, b], axis=1)), dev(M), 0.1)


def test_point_cloud_paths_take_the_device_branch(small_blocks):
    """solve_sample on device clouds: entropic on the cost matrix runs on the GPU; exact multi-dimensional OT is
    solved on host copies and says so; samples_loss, host only, refuses device clouds instead of copying."""
    rng = np.random.default_rng(3)
    X, Y = rng.random((7, 2)), rng.random((5, 2))
    cpu = numbaot.solve_sample(X, Y, reg=0.2, tol=1e-8)
    gpu = numbaot.solve_sample(dev(X), dev(Y), reg=0.2, tol=1e-8)
    assert gpu.device == "cuda" and gpu.ran_on == "cuda"
    np.testing.assert_allclose(host(gpu.plan), cpu.plan, atol=1e-13)
    exact = numbaot.solve_sample(dev(X), dev(Y))
    assert exact.device == "cuda" and exact.ran_on == "cpu"
    np.testing.assert_allclose(exact.value, numbaot.solve_sample(X, Y).value, rtol=1e-12)
    np.testing.assert_allclose(host(exact.plan), numbaot.solve_sample(X, Y).plan, atol=1e-15)
    with pytest.raises(ValueError, match="host only"):
        numbaot.solve_sample(dev(X), dev(Y), lazy=True)
    with pytest.raises(ValueError, match="host only"):
        numbaot.samples_loss(dev(X), dev(Y))


@pytest.mark.parametrize("call", [
    lambda M, a, b: numbaot.sinkhorn(dev(a), dev(b), dev(M), 0.01, max_iter=2),
    lambda M, a, b: numbaot.solve(dev(M), dev(a), dev(b), reg=0.01, max_iter=2),
    lambda M, a, b: numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(M), 0.01, 1.0, max_iter=2),
    lambda M, a, b: numbaot.solve_batch(dev(np.stack([M, M])), 0.01, max_iter=2),
])
def test_device_warnings_point_at_the_caller(small_blocks, call):
    """The one finish warns for every path: the ConvergenceWarning names the user's line, not numbaot's."""
    a, b, M = _problem()
    with pytest.warns(numbaot.ConvergenceWarning) as record:
        call(M, a, b)
    assert all(w.filename == __file__ for w in record if issubclass(w.category, numbaot.ConvergenceWarning))


def test_device_input_is_judged_before_the_driver(monkeypatch):
    """Issue 12's rule for dense Sinkhorn: the device weights, their masses, the costs and the initial potentials
    are checked by the front-end's dispatch steps (``cuda._checks``: ``sinkhorn.weights``, ``sinkhorn.costs``,
    ``sinkhorn.potentials``) and judged there, before the driver, with the host's messages and in the host's order
    (the weights, the masses before a NaN in M, a NaN before a -inf, then rows and columns with weight but no finite
    cost, the potentials last). The driver is replaced by one that fails if reached."""
    from numbaot.cuda import sinkhorn as cuda_sinkhorn

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    monkeypatch.setattr(cuda_sinkhorn, "solve_sinkhorn_cuda", unreachable)
    a, b, M = _problem(n=4, m=3, seed=7)
    a = np.array([0.25, 0.25, 0.5, 0.0])

    def same(a, b, M, **kw):
        same_error(lambda: numbaot.solve(M, a, b, reg=0.1, **kw),
                   lambda: numbaot.solve(dev(M), dev(a), dev(b), reg=0.1, **kw))

    bad = M.copy()
    bad[1, 2] = np.nan
    bad[2, 0] = -np.inf
    same(np.array([0.5, -0.2, 0.4, 0.3]), b, bad)  # the weights first
    same(a, np.array([0.5, np.inf, 0.5]), bad)
    same(a, 2 * b, bad)  # the masses before the costs
    same(a, b, bad)  # the NaN before the -inf
    same(a, b, np.where(bad == bad, bad, 0.0))
    same(a, 2 * b, bad, unbalanced=1.0)  # unbalanced: no mass rule, the NaN
    rows = M.copy()
    rows[2] = np.inf
    same(a, b, rows)  # row 2 has weight but no finite cost
    same(a, b, rows, unbalanced=0.5)
    cols = M.copy()
    cols[:, 1] = np.inf
    same(a, b, cols)
    rows[2], rows[3] = M[2], np.inf
    with pytest.raises(AssertionError, match="unchecked"):  # row 3 has no weight: feasible, the driver is reached
        numbaot.solve(dev(rows), dev(a), dev(b), reg=0.1)
    f0, g0 = np.zeros(4), np.array([0.0, np.nan, 1.0])
    same_error(lambda: numbaot.sinkhorn_unbalanced(a, b, bad, 0.1, 1.0, potentials_init=(f0, g0)),
               lambda: numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(bad), 0.1, 1.0,
                                                   potentials_init=(dev(f0), dev(g0))))  # the costs first
    same_error(lambda: numbaot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, potentials_init=(f0, g0)),
               lambda: numbaot.sinkhorn_unbalanced(dev(a), dev(b), dev(M), 0.1, 1.0,
                                                   potentials_init=(dev(f0), dev(g0))))
    Mb = np.stack([M, M, M])
    Mb[2, 0, 1] = np.nan
    Mb[1, 3, 0] = -np.inf
    same_error(lambda: numbaot.solve_batch(Mb, 0.1), lambda: numbaot.solve_batch(dev(Mb), 0.1))
    ab = np.stack([a, a, 2 * a])
    same_error(lambda: numbaot.solve_batch(Mb, 0.1, ab, b),
               lambda: numbaot.solve_batch(dev(Mb), 0.1, dev(ab), dev(b)))  # problem 2's mass before the costs
    bb = np.stack([b, b, b])
    bb[1, 2] = -0.5
    same_error(lambda: numbaot.solve_batch(Mb, 0.1, a, bb), lambda: numbaot.solve_batch(dev(Mb), 0.1, dev(a), dev(bb)))
