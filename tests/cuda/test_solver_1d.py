"""The CUDA 1D solver against the CPU path on the same inputs (run under NUMBA_ENABLE_CUDASIM=1 or on a GPU)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
from numbaot.exact import api
from tests.conftest import TOL
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host()


def dense(plan):
    return plan.toarray() if hasattr(plan, "toarray") else np.asarray(plan)


def check_same(cpu, gpu, dtype, exact_coo=False):
    tol = TOL[np.dtype(dtype)]
    assert gpu.device == "cuda"
    assert isinstance(gpu.value, np.generic) and gpu.value.dtype == dtype
    np.testing.assert_allclose(gpu.value, cpu.value, **tol)
    np.testing.assert_allclose(host(gpu.plan), dense(cpu.plan), **tol)
    assert host(gpu.plan).dtype == dtype
    np.testing.assert_allclose(host(gpu.potential_a), cpu.potential_a, **tol)
    np.testing.assert_allclose(host(gpu.potential_b), cpu.potential_b, **tol)
    np.testing.assert_allclose(host(gpu.marginal_a), cpu.marginal_a, **tol)
    np.testing.assert_allclose(host(gpu.marginal_b), cpu.marginal_b, **tol)
    if exact_coo:
        rows, cols, vals = (host(x) for x in gpu.plan_coo)
        np.testing.assert_array_equal(rows, cpu.plan_coo[0])
        np.testing.assert_array_equal(cols, cpu.plan_coo[1])
        np.testing.assert_allclose(vals, cpu.plan_coo[2], **tol)


def solve_both(xa, xb, a=None, b=None, metric="sqeuclidean", p=1.0):
    cpu = api.solve_1d(xa, xb, a, b, metric, p, True)
    gpu = api.solve_1d(dev(xa), dev(xb), dev(a), dev(b), metric, p, True)
    return cpu, gpu


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric,p", [("sqeuclidean", 1.0), ("euclidean", 1.0), ("minkowski", 1.5)])
def test_random_matches_cpu(small_blocks, dtype, metric, p):
    rng = np.random.default_rng(3)
    n, m = 11, 9  # several blocks of 8 threads
    xa = (rng.normal(size=n) * 5).astype(dtype)
    xb = (rng.normal(size=m) * 5 + 1).astype(dtype)
    a = rng.random(n).astype(dtype)
    b = rng.random(m)
    b = (b * a.sum(dtype=np.float64) / b.sum()).astype(dtype)
    cpu, gpu = solve_both(xa, xb, a, b, metric, p)
    check_same(cpu, gpu, np.dtype(dtype))
    # Certificates that need no reference: f_i + g_j <= C_ij on every pair, = on the support.
    f, g = host(gpu.potential_a).astype(float), host(gpu.potential_b).astype(float)
    C = np.abs(xa.astype(float)[:, None] - xb.astype(float)[None, :]) ** {"sqeuclidean": 2.0}.get(metric, p)
    assert np.all(f[:, None] + g[None, :] <= C + 1e-4 * (1 + C))


def test_exact_staircase_identical_with_cdf_ties_and_zero_weights(small_blocks):
    # Dyadic weights: every partial sum is exact in any order, so the tie rule (a first) decides alone.
    xa = np.array([0.0, 1.0, 1.5, 2.0, 0.25, 3.0, 3.5, 5.0, 4.0, -1.0])
    xb = np.array([1.0, 0.0, 1.25, 2.0, 2.5, 6.0, -1.0, 0.5, 0.75])
    a = np.array([1, 0, 2, 1, 0, 1, 1, 2, 0, 0], dtype=float) / 8
    b = np.array([1, 1, 0, 2, 1, 0, 1, 1, 1], dtype=float) / 8
    for metric in ("sqeuclidean", "cityblock"):
        cpu, gpu = solve_both(xa, xb, a, b, metric)
        check_same(cpu, gpu, np.dtype(np.float64), exact_coo=True)


def test_duplicate_points(small_blocks):
    # Which of several equal points carries the mass depends on the sort (numpy's argsort is not stable), so
    # compare what is unique: the value, the duals, and the plan summed over groups of equal points.
    xa = np.array([0.0, 1.0, 1.0, 2.0, 0.0, 3.0, 3.0, 5.0, 4.0])
    xb = np.array([1.0, 0.0, 1.0, 2.0, 2.0, 6.0, 0.5])
    a = np.array([1, 3, 2, 1, 1, 1, 1, 2, 4], dtype=float) / 16
    b = np.array([1, 1, 4, 2, 1, 4, 3], dtype=float) / 16
    cpu, gpu = solve_both(xa, xb, a, b)
    tol = TOL[np.dtype(np.float64)]
    np.testing.assert_allclose(gpu.value, cpu.value, **tol)
    np.testing.assert_allclose(host(gpu.potential_a), cpu.potential_a, **tol)
    np.testing.assert_allclose(host(gpu.potential_b), cpu.potential_b, **tol)
    ga, ia = np.unique(xa, return_inverse=True)
    gb, ib = np.unique(xb, return_inverse=True)

    def grouped(plan):
        out = np.zeros((len(ga), len(gb)))
        np.add.at(out, (ia[:, None], ib[None, :]), plan)
        return out

    np.testing.assert_allclose(grouped(host(gpu.plan)), grouped(dense(cpu.plan)), **tol)
    np.testing.assert_allclose(host(gpu.marginal_a), a, **tol)
    np.testing.assert_allclose(host(gpu.marginal_b), b, **tol)


def test_uniform_weights_and_default_blocks():
    # n and m powers of two: 1/n and 1/m are exact and tie at every quarter.
    xa = np.array([3.0, 1.0, 2.0, 0.0])
    xb = np.array([0.5, 2.5, 1.5, 0.0, 3.0, 1.0, 2.0, 2.5])
    cpu, gpu = solve_both(xa, xb)
    check_same(cpu, gpu, np.dtype(np.float64), exact_coo=True)


@pytest.mark.parametrize("n,m", [(1, 4), (3, 1), (1, 1)])
def test_single_point(small_blocks, n, m):
    rng = np.random.default_rng(n * 10 + m)
    xa, xb = rng.normal(size=n), rng.normal(size=m)
    a = np.full(n, 0.5 / n)
    b = rng.random(m)
    b *= 0.5 / b.sum()
    cpu, gpu = solve_both(xa, xb, a, b)
    check_same(cpu, gpu, np.dtype(np.float64), exact_coo=True)


def test_emd_1d_and_emd2_1d_device_outputs(small_blocks):
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=9), rng.normal(size=6) * 1e3  # large points: the power-of-two scaling acts
    ref = numbaot.emd_1d(xa, xb, metric="minkowski", p=3.0)
    plan = numbaot.emd_1d(dev(xa), dev(xb), metric="minkowski", p=3.0)
    np.testing.assert_allclose(host(plan), ref, rtol=1e-10, atol=1e-12)
    rows, cols, vals = numbaot.emd_1d(dev(xa), dev(xb), metric="minkowski", p=3.0, dense=False)
    sparse = numbaot.emd_1d(xa, xb, metric="minkowski", p=3.0, dense=False)
    # Uniform 1/9 against 1/6 ties at 1/3 and 2/3 in real arithmetic; the block-wise scan may round a tie the
    # other way than the CPU's serial sum and keep a cell of ~1e-17 mass: compare the triples as a dense plan.
    assert host(rows).dtype == np.int64 and host(vals).dtype == np.float64
    rebuilt = np.zeros((9, 6))
    np.add.at(rebuilt, (host(rows), host(cols)), host(vals))
    np.testing.assert_allclose(rebuilt, sparse.toarray(), rtol=1e-10, atol=1e-12)
    value = numbaot.emd2_1d(dev(xa), dev(xb), metric="minkowski", p=3.0)
    assert isinstance(value, np.float64)
    np.testing.assert_allclose(value, numbaot.emd2_1d(xa, xb, metric="minkowski", p=3.0), rtol=1e-10)


def test_float_noise_is_clipped_and_mass_rescaled(small_blocks):
    xa, xb = np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.5])
    a = np.array([0.5, -1e-17, 0.5])
    b = np.array([0.5, 0.5]) * (1 + 1e-12)
    with pytest.warns(numbaot._validation.InputWarning, match="within float noise"):
        cpu = api.solve_1d(xa, xb, a, b, "sqeuclidean", 1.0, True)
    with pytest.warns(numbaot._validation.InputWarning, match="within float noise"):
        gpu = api.solve_1d(dev(xa), dev(xb), dev(a), dev(b), "sqeuclidean", 1.0, True)
    check_same(cpu, gpu, np.dtype(np.float64), exact_coo=True)


@pytest.mark.parametrize("case", ["negative", "nan_weight", "inf_point", "unequal_mass", "zero_mass"])
def test_bad_inputs_same_message_as_cpu(small_blocks, case):
    xa, xb = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]), np.array([0.5, 1.5])
    a, b = np.full(10, 0.1), np.array([0.5, 0.5])
    if case == "negative":
        a[9] = -0.2
    elif case == "nan_weight":
        a[8] = np.nan
    elif case == "inf_point":
        xa = xa.copy()
        xa[9] = np.inf
    elif case == "unequal_mass":
        b = b * 2
    else:
        a[:] = 0.0
    same_error(lambda: numbaot.emd_1d(xa, xb, a, b), lambda: numbaot.emd_1d(dev(xa), dev(xb), dev(a), dev(b)))


def test_host_device_mix_refused():
    with pytest.raises(ValueError, match="different devices"):
        numbaot.emd_1d(dev(np.array([0.0, 1.0])), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="different devices"):
        numbaot.emd2_1d(dev(np.array([0.0, 1.0])), dev(np.array([0.0, 1.0])), a=[0.5, 0.5])


def test_wasserstein_1d_single_and_batch(small_blocks):
    rng = np.random.default_rng(7)
    n, m, k = 7, 5, 3
    u, v = rng.normal(size=(n, k)), rng.normal(size=(m, k)) + 0.5
    wu, wv = rng.random((n, k)), rng.random(m)
    wu *= wv.sum() / wu.sum(axis=0)
    for p in (1.0, 2.0, 1.5):
        ref = numbaot.wasserstein_1d(u, v, wu, wv, p=p)
        got = numbaot.wasserstein_1d(dev(u), dev(v), dev(wu), dev(wv), p=p)
        np.testing.assert_allclose(host(got), ref, rtol=1e-10)
    ref = numbaot.wasserstein_1d(u[:, 0], v[:, 1], p=2)
    got = numbaot.wasserstein_1d(dev(u[:, 0]), dev(v[:, 1]), p=2)
    assert isinstance(got, np.float64)
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    # Already sorted, uniform weights, float32 everywhere.
    us, vs = np.sort(u, axis=0).astype(np.float32), np.sort(v, axis=0).astype(np.float32)
    ref = numbaot.wasserstein_1d(us, vs, p=1, require_sort=False)
    got = host(numbaot.wasserstein_1d(dev(us), dev(vs), p=1, require_sort=False))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, **TOL[np.dtype(np.float32)])


def test_wasserstein_1d_bad_inputs(small_blocks):
    u, v = np.array([[0.0, 1.0], [2.0, 0.5], [1.0, 3.0]]), np.array([[0.0, 1.0], [1.0, 2.0]])
    same_error(lambda: numbaot.wasserstein_1d(u, v, require_sort=False),
            lambda: numbaot.wasserstein_1d(dev(u), dev(v), require_sort=False))
    wu = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 2.0]])
    same_error(lambda: numbaot.wasserstein_1d(u, v, wu, np.ones(2) * 1.5),
            lambda: numbaot.wasserstein_1d(dev(u), dev(v), dev(wu), dev(np.ones(2) * 1.5)))
    wu[1, 1] = -1.0
    same_error(lambda: numbaot.wasserstein_1d(u, v, wu), lambda: numbaot.wasserstein_1d(dev(u), dev(v), dev(wu)))
    bad = u.copy()
    bad[2, 1] = np.nan
    same_error(lambda: numbaot.wasserstein_1d(bad, v), lambda: numbaot.wasserstein_1d(dev(bad), dev(v)))


def test_float32_weights_mass_tolerance(small_blocks):
    rng = np.random.default_rng(11)
    xa, xb = rng.normal(size=6).astype(np.float32), rng.normal(size=4).astype(np.float32)
    a = rng.random(6).astype(np.float32)
    a /= a.sum()
    b = np.full(4, 0.25, dtype=np.float32) * np.float32(1 + 3e-7)  # within float32's 1e-6: rescaled silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cpu, gpu = solve_both(xa, xb, a, b)
    check_same(cpu, gpu, np.dtype(np.float32))


def test_search_cdf_twin_matches_searchsorted():
    from numbaot.cuda.solver_1d import search_cdf

    cdf = np.array([0.0, 0.25, 0.25, 0.5, 1.0])
    for value in (-1.0, 0.0, 0.25, 0.3, 1.0, 2.0):
        for right, side in ((True, "right"), (False, "left")):
            expected = int(np.searchsorted(cdf, value, side=side))
            assert search_cdf.cpu(cdf, 0, 5, value, right) == expected
            assert search_cdf.py(cdf, 0, 5, value, right) == expected
        assert search_cdf.cpu(cdf, 1, 3, value, True) == min(max(int(np.searchsorted(cdf, value, "right")), 1), 3)


def test_weight_length_checked_after_the_other_side(small_blocks):
    xa, xb = np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0])
    a, b = np.array([np.nan, 1.0]), np.ones(2)
    same_error(lambda: numbaot.emd_1d(xa, xb, a, b), lambda: numbaot.emd_1d(dev(xa), dev(xb), dev(a), dev(b)))


def test_host_and_device_drivers_return_the_same_tuple(small_blocks):
    from numbaot._dispatch import place
    from numbaot._finish import ExactAnswer

    xa, xb = np.array([0.0, 2.0, 1.0, 3.0]), np.array([0.5, 2.5, 1.5])
    a, b = np.array([0.25, 0.25, 0.125, 0.375]), np.array([0.5, 0.25, 0.25])
    for want_plan in (True, False):
        cpu, cpu_dtype = api._solve_1d_host(xa, xb, a, b, "sqeuclidean", 1.0, want_plan, None)
        gpu, gpu_dtype = api._solve_1d_device(place(x_a=dev(xa)), dev(xa), dev(xb), dev(a), dev(b), "sqeuclidean",
                                              1.0, want_plan)
        assert type(cpu) is type(gpu) is ExactAnswer and cpu_dtype == gpu_dtype
        assert (cpu.shape, cpu.n_iter, cpu.status) == (gpu.shape, gpu.n_iter, gpu.status)
        np.testing.assert_allclose(gpu.value, cpu.value, rtol=1e-14)
        assert (gpu.plan_coo is None) == (cpu.plan_coo is None) == (not want_plan)
        if want_plan:
            for got, ref in zip(gpu.plan_coo, cpu.plan_coo):
                np.testing.assert_allclose(host(got), ref, rtol=1e-14)
            np.testing.assert_allclose(host(gpu.potential_a), cpu.potential_a, rtol=1e-12, atol=1e-14)


def test_point_and_weight_checks_share_one_stream(small_blocks, monkeypatch):
    """The 1D check steps run on one stream, chosen once from the points and the weights (the points step's),
    not one per step (the points' float64 copies would then be read on another stream than they were made on)."""
    from numbaot.cuda import _launch, solver_1d

    chosen = []
    real = _launch.stream_of
    monkeypatch.setattr(_launch, "stream_of", lambda *arrays: chosen.append(arrays) or real(*arrays))
    xa, xb, a = dev(np.array([0.0, 2.0, 1.0])), dev(np.array([0.5, 1.5])), dev(np.array([0.25, 0.25, 0.5]))
    names = ("x_a", "x_b", "a", "b")
    points = solver_1d.points_1d_cuda(xa, xb, names, (a, None))
    inputs = solver_1d.inputs_1d_cuda(points, xa, xb, a, None, names)
    assert inputs.stream is points.stream
    assert len(chosen) == 1 and chosen[0][2] is a


def test_descents_counted_in_one_pass_as_on_the_key_layout(small_blocks):
    """``_count_descents`` reads the columns where they lie; the count it replaced was taken on the sort's key
    layout (``_sort_columns_cuda`` without sorting: a transposed copy) — the same on random columns with ties,
    signed zeros, sorted and reversed runs, one point, one column."""
    from numba import cuda

    from numbaot.cuda.solver_1d import _count_descents, _sort_columns_cuda

    rng = np.random.default_rng(5)
    stream = cuda.default_stream()
    for trial in range(12):
        n, k = int(rng.integers(1, 9)), int(rng.integers(1, 4))
        x = rng.integers(-3, 4, size=(n, k)).astype(np.float64) * rng.choice([0.5, 1.0])
        x[x == 0] = rng.choice([0.0, -0.0], size=int((x == 0).sum()))
        if trial % 4 == 1:
            x.sort(axis=0)
        elif trial % 4 == 2:
            x = -np.sort(x, axis=0)
        d = dev(x)
        keys, _ = _sort_columns_cuda(d, 1.0, False, stream)
        old = int(np.sum(np.diff(keys.copy_to_host()[:, :n], axis=1) < 0))
        assert _count_descents(d, stream) == old == int(np.sum(x[1:] < x[:-1]))
