"""soft-DTW and the pairwise matrices on CUDA arrays against the CPU path (simulator or GPU), with blocks small
enough that the anti-diagonals span several threads' strides and the pair grid several launches."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot.timeseries as ts
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


@pytest.mark.parametrize("metric, n, m, d", [("sqeuclidean", 13, 9, 2), ("euclidean", 6, 17, 1),
                                             ("cityblock", 1, 5, 3), ("sqeuclidean", 4, 4, 1)])
def test_soft_dtw_twins(small_blocks, metric, n, m, d):
    rng = np.random.default_rng(n * m + d)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    gamma = 0.3
    assert ts.soft_dtw(dev(X), dev(Y), gamma, metric=metric) == pytest.approx(
        ts.soft_dtw(X, Y, gamma, metric=metric), rel=1e-12)
    E, value = ts.soft_dtw_alignment(dev(X), dev(Y), gamma, metric=metric)
    E_ref, value_ref = ts.soft_dtw_alignment(X, Y, gamma, metric=metric)
    assert value == pytest.approx(value_ref, rel=1e-12)
    np.testing.assert_allclose(host(E), E_ref, rtol=1e-10, atol=1e-14)
    value, G = ts.soft_dtw_grad(dev(X), dev(Y), gamma, metric=metric)
    value_ref, G_ref = ts.soft_dtw_grad(X, Y, gamma, metric=metric)
    assert value == pytest.approx(value_ref, rel=1e-12)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-10, atol=1e-12)
    assert ts.soft_dtw_divergence(dev(X), dev(Y), gamma, metric=metric) == pytest.approx(
        ts.soft_dtw_divergence(X, Y, gamma, metric=metric), rel=1e-10, abs=1e-12)


def test_soft_dtw_1d_and_float32(small_blocks):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(11).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    value, G = ts.soft_dtw_grad(dev(x), dev(y), 0.5)
    value_ref, G_ref = ts.soft_dtw_grad(x, y, 0.5)
    assert value.dtype == np.float32 and host(G).dtype == np.float32 and host(G).shape == (11,)
    assert value == pytest.approx(value_ref, rel=1e-6)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-5, atol=1e-6)


def test_pairwise_twins(small_blocks, monkeypatch):
    from numbaot.cuda import timeseries as cuda_ts

    monkeypatch.setattr(cuda_ts, "PAIR_CHUNK", 4)  # several launches over the pair grid
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 10, 2)), rng.standard_normal((2, 12, 2))
    np.testing.assert_allclose(host(ts.cdist_soft_dtw(dev(A), dev(B), 0.5)), ts.cdist_soft_dtw(A, B, 0.5),
                               rtol=1e-12)
    np.testing.assert_allclose(host(ts.cdist_soft_dtw(dev(A), None, 0.5)), ts.cdist_soft_dtw(A, None, 0.5),
                               rtol=1e-12)
    np.testing.assert_allclose(host(ts.cdist_dtw(dev(A), dev(B))), ts.cdist_dtw(A, B), rtol=1e-12)
    np.testing.assert_allclose(host(ts.cdist_dtw(dev(B), metric="cityblock")), ts.cdist_dtw(B, metric="cityblock"),
                               rtol=1e-12, atol=1e-12)


def test_bad_device_input(small_blocks):
    X = np.zeros((4, 2))
    X[2, 1] = np.nan
    Y = np.ones((3, 2))
    same_error(lambda: ts.soft_dtw(X, Y), lambda: ts.soft_dtw(dev(X), dev(Y)))
    same_error(lambda: ts.soft_dtw_grad(Y, X), lambda: ts.soft_dtw_grad(dev(Y), dev(X)))
    with pytest.raises(ValueError, match="features"):
        ts.soft_dtw(dev(np.zeros((3, 2))), dev(np.zeros((3, 1))))
    with pytest.raises(ValueError, match="host"):
        ts.soft_dtw(dev(Y), Y)
    same_error(lambda: ts.cdist_soft_dtw(X[None], gamma=1.0), lambda: ts.cdist_soft_dtw(dev(X[None]), gamma=1.0))
    same_error(lambda: ts.cdist_dtw(Y[None], X[None]), lambda: ts.cdist_dtw(dev(Y[None]), dev(X[None])))
    with pytest.raises(ValueError, match="band"):
        ts.cdist_dtw(dev(Y[None]), window=1)
    with pytest.raises(ValueError, match="gamma"):
        ts.cdist_soft_dtw(dev(Y[None]), gamma=0.0)


def test_bad_device_series_are_refused_before_the_drivers(monkeypatch):
    """soft-DTW's device series are checked by the front-end's dispatch steps (``cuda._checks``), before any driver
    (replaced by one that fails if reached): NaN and inf with the host's messages, in each verb."""
    from numbaot.cuda import timeseries as cuda_ts

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    for name in ("soft_dtw_cuda", "cdist_soft_dtw_cuda", "cdist_dtw_cuda"):
        monkeypatch.setattr(cuda_ts, name, unreachable)
    X, Y = np.zeros((4, 2)), np.ones(3)
    X[2, 1] = -np.inf
    bad_1d = Y.copy()
    bad_1d[1] = np.nan
    for verb in (ts.soft_dtw, ts.soft_dtw_alignment, ts.soft_dtw_grad, ts.soft_dtw_divergence):
        same_error(lambda: verb(Y, bad_1d), lambda: verb(dev(Y), dev(bad_1d)))
        same_error(lambda: verb(X, X[:, :1]), lambda: verb(dev(X), dev(X[:, :1])))
    A = np.zeros((2, 4, 2))
    A[1] = X
    same_error(lambda: ts.cdist_soft_dtw(np.ones((1, 4, 2)), A), lambda: ts.cdist_soft_dtw(dev(np.ones((1, 4, 2))),
                                                                                           dev(A)))
    same_error(lambda: ts.cdist_dtw(A), lambda: ts.cdist_dtw(dev(A)))


# ----------------------------------------------------------------------------- spatio-temporal alignment
def _sta_case(seed, Ta=2, Tb=3):
    rng = np.random.default_rng(seed)
    u, v = np.linspace(0.0, 1.0, 3), np.array([0.0, 0.7])
    grid = np.stack(np.meshgrid(u, v), -1).reshape(-1, 2)  # (6, 2): a 2 x 3 grid
    X, Y = rng.random((Ta, 6)) + 0.05, rng.random((Tb, 6)) + 0.05
    X[0, 4] = 0.0  # a zero-weight bin
    return grid, X / X.sum(1, keepdims=True), Y / Y.sum(1, keepdims=True)


def test_sta_twins(monkeypatch):
    """Device histograms: the frame costs solved one block per problem (blocks of 4 threads: the 6 bins span
    strides; 2 pairs per launch), soft-DTW on the GPU; value and weight gradient equal the host's. The loops are
    the host's step for step, so a fixed step count (max_iter) gives the same answers to rounding and keeps the
    simulator quick."""
    from numbaot import ConvergenceWarning, _config
    from numbaot.cuda import sta as cuda_sta

    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(cuda_sta, "SCRATCH_FLOATS", 2 * 8 * 6)
    grid, X, Y = _sta_case(9, 2, 2)
    kwargs = dict(tol=1e-14, max_iter=8)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        value, G = ts.sta(dev(X), dev(Y), 0.2, 0.1, return_grad=True, support=dev(grid), **kwargs)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        value_ref, G_ref = ts.sta(X, Y, 0.2, 0.1, return_grad=True, support=grid, **kwargs)
    assert hasattr(G, "copy_to_host") and host(G).shape == X.shape
    assert value == pytest.approx(value_ref, rel=1e-10)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-9, atol=1e-11)
    kwargs["max_iter"] = 6
    Y = Y[:1]  # one frame: no pairs among Y's frames
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        div = ts.sta_divergence(dev(X), dev(Y), 0.2, 0.1, support=grid, **kwargs)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        assert div == pytest.approx(ts.sta_divergence(X, Y, 0.2, 0.1, support=grid, **kwargs), rel=1e-9,
                                    abs=1e-12)


def test_sta_device_warns_and_refuses_bad_input(small_blocks):
    from numbaot import ConvergenceWarning

    grid, X, Y = _sta_case(10, 1, 1)
    with pytest.warns(ConvergenceWarning, match="frame pairs") as record:
        ts.sta(dev(X), dev(Y), 0.2, 0.01, support=grid, max_iter=4)
    assert len(record) == 1 and record[0].filename == __file__
    heavy = Y * 2.0
    same_error(lambda: ts.sta(X, heavy, support=grid), lambda: ts.sta(dev(X), dev(heavy), support=grid))
    negative = X.copy()
    negative[0, :2] = [-0.2, negative[0, 0] + negative[0, 1] + 0.2]
    same_error(lambda: ts.sta(negative, Y, support=grid), lambda: ts.sta(dev(negative), dev(Y), support=grid))
    same_error(lambda: ts.sta(X, Y[:, :5], support=grid), lambda: ts.sta(dev(X), dev(Y[:, :5]), support=grid))
    with pytest.raises(ValueError, match="host"):
        ts.sta(dev(X), Y, support=grid)
    with pytest.raises(ValueError, match="product grid"):  # the barycenter's descent runs on a grid only
        ts.sta_barycenter([dev(X)], support=grid[::-1][[1, 0, 2, 3, 4, 5]])


def test_sta_float32_device_frames(small_blocks):
    """float32 device histograms (masses ~1e-7 apart): judged at float32 precision, rescaled on the device; the
    value and the float32 gradient equal the host's float32 answers."""
    from numbaot import ConvergenceWarning

    grid, X, Y = _sta_case(12, 2, 1)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    kwargs = dict(tol=1e-14, max_iter=3)  # reg 0.5: a schedule of 2 temperatures (the simulator is slow)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        value, G = ts.sta(dev(X32), dev(Y32), 0.2, 0.5, return_grad=True, support=grid, **kwargs)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        value_ref, G_ref = ts.sta(X32, Y32, 0.2, 0.5, return_grad=True, support=grid, **kwargs)
    assert isinstance(value, np.float32) and host(G).dtype == np.float32
    assert value == pytest.approx(value_ref, rel=1e-6)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-5, atol=1e-6)
    bad = X32.copy()
    bad[1] *= np.float32(1.001)
    same_error(lambda: ts.sta(bad, Y32, support=grid), lambda: ts.sta(dev(bad), dev(Y32), support=grid))


def test_sta_barycenter_on_the_device_equals_the_host(small_blocks):
    """The descent on the GPU (iterate, frame costs, gradient and steps on the device) is the host's: a whole
    descent through the front-end (float32 series and init, the answer a float32 device array), then each step of
    the device twin (weighted-mean start, objective and gradient, centring, exponentiated step) against the host's
    (one frame per series: the simulator is slow)."""
    from numbaot import ConvergenceWarning, _dispatch
    from numbaot.cuda.sta import DeviceDescent
    from numbaot.timeseries import api
    from numbaot.timeseries._sta import GridProblem, grid_geometry

    grid, X, Y = _sta_case(13, 2, 2)
    X, Y = X[:1], Y[1:]
    X32, init = X.astype(np.float32), np.full((1, 6), 1 / 6, dtype=np.float32)
    kwargs = dict(support=grid, max_iter=1, tol=0.0, sinkhorn_max_iter=3, sinkhorn_tol=1e-14)
    with pytest.warns(ConvergenceWarning):
        Z32 = ts.sta_barycenter([dev(X32)], 0.2, 0.5, init=dev(init), **kwargs)
    with pytest.warns(ConvergenceWarning):
        Z32_ref = ts.sta_barycenter([X32], 0.2, 0.5, init=init, **kwargs)
    assert hasattr(Z32, "copy_to_host") and host(Z32).dtype == np.float32
    assert not np.allclose(Z32_ref, init)  # a step was taken
    np.testing.assert_allclose(host(Z32), Z32_ref, rtol=1e-6)
    with pytest.raises(ValueError, match="host"):
        ts.sta_barycenter([dev(X), Y], support=grid)

    w, reg, gamma = np.array([0.3, 0.7]), 0.5, 0.2
    problem = GridProblem(grid_geometry(grid), grid, reg)
    placement = _dispatch.place(X=dev(X))
    given = [api._device_frames(dev(F), name, grid, placement) for F, name in ((X, "s0"), (Y, "s1"))]
    ops = DeviceDescent([copy for _, copy, _ in given], None, api._device_factors(given, ("s0", "s1")), w, problem,
                        gamma, 3, 1e-14, placement)
    frames = [api._Measures(grid, F, np.dtype(np.float64), np.ones(1)) for F in (X, Y)]
    ref = api._HostDescent(api._frame_problems(grid, frames, reg, 3, 1e-14, None), frames, w, gamma, grid, 1.0,
                           0.3 * X + 0.7 * Y)
    np.testing.assert_allclose(host(ops.Z0), ref.Z0, rtol=1e-14)
    value, G, _ = ops.objective(ops.Z0)
    value_ref, G_ref, _ = ref.objective(ref.Z0)
    assert value == pytest.approx(value_ref, rel=1e-10)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-9, atol=1e-12)
    (C, top), scale = ops.centre(G, ops.Z0)
    C_ref, scale_ref = ref.centre(G_ref, ref.Z0)
    np.testing.assert_allclose(host(C), C_ref, rtol=1e-9, atol=1e-12)
    assert scale == pytest.approx(scale_ref, rel=1e-9)
    np.testing.assert_allclose(host(ops.trial(ops.Z0, (C, top), 0.7 / scale)), ref.trial(ref.Z0, C_ref, 0.7 / scale),
                               rtol=1e-9)


# ------------------------------------------------ spatio-temporal alignment: point clouds and any other support
def _clouds_case(seed, Ta=2, Tb=3, n=4, m=5, k=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((Ta, n, k)), rng.standard_normal((Tb, m, k))


def _both(call, X, Y, *args, **kwargs):
    """``call(X, Y, ...)`` on device copies of X, Y and on X, Y themselves: ``[answer, warnings, host answer, host
    warnings]``, the messages of the ConvergenceWarnings each raised."""
    import warnings

    from numbaot import ConvergenceWarning

    answers = []
    for convert in (dev, lambda x: x):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always", ConvergenceWarning)
            answers.append(call(convert(X), convert(Y), *args, **kwargs))
        answers.append([str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)])
    return answers


def test_sta_point_clouds_on_the_device_equal_the_host(monkeypatch):
    """Device point clouds: the self-problems and the cross problems as batched device Sinkhorn solves on cost
    matrices built on the device (batches cut in chunks of 2 problems, blocks of 4 threads), then soft-DTW there:
    the host's loops step for step, so a fixed step count gives the host's value to rounding, and the same
    warning. Then a loose tol, where each problem stops at its own step (10 to 31 steps: some over-relax)."""
    from numbaot import _config
    from numbaot.cuda import sta_clouds

    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(sta_clouds, "CHUNK_FLOATS", 2 * 2 * 4 * 5)
    X, Y = _clouds_case(21)
    value, warned, value_ref, warned_ref = _both(ts.sta, X, Y, 0.3, 0.5, tol=1e-14, max_iter=8)
    assert isinstance(value, np.float64) and warned == warned_ref and "max_iter" in warned[0]
    assert value == pytest.approx(value_ref, rel=1e-10)
    value, warned, value_ref, warned_ref = _both(ts.sta_divergence, X, Y[:2, :4], 0.3, 0.5, tol=1e-14,
                                                 max_iter=6)
    assert warned == warned_ref and value == pytest.approx(value_ref, rel=1e-9, abs=1e-12)
    # one frame in X: no pairs among X's frames
    value, warned, value_ref, warned_ref = _both(ts.sta_divergence, X[:1], Y[:2], 0.3, 0.5, tol=1e-3, max_iter=100)
    assert warned == warned_ref == [] and value == pytest.approx(value_ref, rel=1e-9, abs=1e-12)


def test_sta_float32_point_clouds_on_the_device():
    """float32 device clouds (a strided view): computed in float64, the value float32, the host's."""
    X, Y = _clouds_case(22, 1, 2, 3, 4, 1)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    big = np.zeros((1, 6, 1), np.float32)
    big[:, ::2] = X32
    from numba import cuda

    value = ts.sta(cuda.to_device(big)[:, ::2], dev(Y32), 0.3, 1.0, tol=1e-3)
    assert isinstance(value, np.float32)
    assert value == pytest.approx(ts.sta(X32, Y32, 0.3, 1.0, tol=1e-3), rel=1e-6)


def test_sta_histograms_on_any_support_on_the_device_equal_the_host(monkeypatch):
    """Device histograms on a support that is not a product grid (a zero-weight bin, masses 1e-12 apart rescaled
    to X[0]'s): value, divergence and the weight gradient (a device array) equal the host's."""
    from numbaot import _config
    from numbaot.cuda import sta_clouds

    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(sta_clouds, "CHUNK_FLOATS", 3 * 2 * 5 * 5)
    rng = np.random.default_rng(23)
    support = rng.standard_normal((5, 2))
    X, Y = rng.random((2, 5)) + 0.05, rng.random((3, 5)) + 0.05
    X[0, 3] = 0.0
    X, Y = X / X.sum(1, keepdims=True), Y / Y.sum(1, keepdims=True) * (1 + 1e-12)
    kwargs = dict(support=support, tol=1e-14, max_iter=8)
    (value, G), warned, (value_ref, G_ref), warned_ref = _both(ts.sta, X, Y, 0.3, 0.5, return_grad=True, **kwargs)
    assert warned == warned_ref and hasattr(G, "copy_to_host") and host(G).shape == X.shape
    assert value == pytest.approx(value_ref, rel=1e-10)
    np.testing.assert_allclose(host(G), G_ref, rtol=1e-9, atol=1e-11)
    value, _, value_ref, _ = _both(ts.sta_divergence, X, Y, 0.3, 0.5, **kwargs)
    assert value == pytest.approx(value_ref, rel=1e-9, abs=1e-12)


def test_sta_device_point_clouds_refuse_bad_input():
    """Bad device frames: the host's messages, before any solve; mixed host and device arrays refused."""
    X, Y = _clouds_case(24, 1, 1, 3, 3)
    same_error(lambda: ts.sta(X[0], Y), lambda: ts.sta(dev(X[0]), dev(Y)))  # not 3D
    same_error(lambda: ts.sta(X, Y[:, :, :1]), lambda: ts.sta(dev(X), dev(Y[:, :, :1])))  # dimensions differ
    with pytest.raises(ValueError, match=r"X is empty \(shape \(1, 0, 2\)\)"):  # the device checks' own wording
        ts.sta(dev(X[:, :0]), dev(Y))
    same_error(lambda: ts.sta(X, Y, return_grad=True), lambda: ts.sta(dev(X), dev(Y), return_grad=True))
    bad = Y.copy()
    bad[0, 2, 1] = np.nan
    same_error(lambda: ts.sta(X, bad), lambda: ts.sta(dev(X), dev(bad)))
    same_error(lambda: ts.sta(X, Y, gamma=0.0), lambda: ts.sta(dev(X), dev(Y), gamma=0.0))
    with pytest.raises(ValueError, match="host"):
        ts.sta(dev(X), Y)
    support = np.array([[0.0, 0.0], [1.0, 0.2], [0.3, 1.0]])
    W = np.full((1, 3), 1 / 3)
    same_error(lambda: ts.sta(W, W[:, :2], support=support), lambda: ts.sta(dev(W), dev(W[:, :2]), support=support))
    same_error(lambda: ts.sta(W, 2 * W, support=support), lambda: ts.sta(dev(W), dev(2 * W), support=support))


def test_sta_device_input_is_judged_before_the_drivers(monkeypatch):
    """Issue 12's rule for the STA family: the device frames are checked by the front-end's dispatch steps
    (``cuda._checks``: float64 copies reduced on the device) and their masses judged there, before any driver runs,
    with the host's messages and in the host's order: a mass mismatch (between a series and ``init`` too), a NaN
    in a histogram's frame or a cloud, a frame pair over the cost bound. The drivers are replaced by ones that fail
    if reached."""
    from numbaot.cuda import sta as cuda_sta, sta_clouds
    from numbaot.timeseries import _sta_clouds

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    for module, name in ((cuda_sta, "sta_cuda"), (cuda_sta, "sta_barycenter_cuda"), (sta_clouds, "sta_clouds_cuda")):
        monkeypatch.setattr(module, name, unreachable)
    grid, X, Y = _sta_case(31, 2, 2)
    support = np.array([[0.0, 0.0], [1.0, 0.2], [0.3, 1.0], [0.9, 0.8], [0.1, 0.6], [0.5, 0.5]])  # not a grid
    heavy = Y.copy()
    heavy[1] *= 1.01
    nan = X.copy()
    nan[1, 3] = np.nan
    for where in (grid, support):
        same_error(lambda: ts.sta(X, heavy, support=where), lambda: ts.sta(dev(X), dev(heavy), support=where))
        same_error(lambda: ts.sta(nan, Y, support=where), lambda: ts.sta(dev(nan), dev(Y), support=where))
        # the host's order: X's frames before Y's shape
        same_error(lambda: ts.sta_divergence(nan, Y[:, :5], support=where),
                   lambda: ts.sta_divergence(dev(nan), dev(Y[:, :5]), support=where))
    init = np.full((2, 6), 1 / 6 * 1.01)
    same_error(lambda: ts.sta_barycenter([X, Y], init=init, support=grid),
               lambda: ts.sta_barycenter([dev(X), dev(Y)], init=dev(init), support=grid))
    same_error(lambda: ts.sta_barycenter([X, nan], support=grid),
               lambda: ts.sta_barycenter([dev(X), dev(nan)], support=grid))
    P, Q = _clouds_case(32, 2, 2, 6, 5)
    bad = P.copy()
    bad[1, 4, 0] = np.inf
    same_error(lambda: ts.sta(bad, Q), lambda: ts.sta(dev(bad), dev(Q)))
    same_error(lambda: ts.sta(bad, Q[:, :, :1]), lambda: ts.sta(dev(bad), dev(Q[:, :, :1])))  # P's inf first
    monkeypatch.setattr(_sta_clouds, "PAIR_FLOATS", 2 * 6 * 5 - 1)
    errors = []
    for call in (lambda: ts.sta(P, Q), lambda: ts.sta(dev(P), dev(Q))):
        with pytest.raises(MemoryError, match="GiB of cost matrices per frame pair") as err:
            call()
        errors.append(str(err.value))
    assert errors[0] == errors[1]
