"""Spatio-temporal alignment: Dirac frames reduce it to soft-DTW, one frame to the Sinkhorn divergence; the weight
gradient against finite differences; the debiased divergence; bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
import numbaot.timeseries as ts
from numbaot import ConvergenceWarning


def test_dirac_clouds_give_soft_dtw_of_the_points():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    for gamma in (0.05, 1.0):
        value = ts.sta(x[:, None, :], y[:, None, :], gamma, 0.1)
        assert value == pytest.approx(ts.soft_dtw(x, y, gamma), rel=1e-9, abs=1e-12)


def test_dirac_histograms_on_a_grid_give_soft_dtw_of_the_grid_points():
    grid = np.linspace(0.0, 1.0, 6)[:, None]
    where_x, where_y = [0, 2, 5, 3], [1, 4, 4]
    X, Y = np.eye(6)[where_x], np.eye(6)[where_y]
    value = ts.sta(X, Y, 0.2, 0.05, support=grid)
    assert value == pytest.approx(ts.soft_dtw(grid[where_x], grid[where_y], 0.2), rel=1e-9, abs=1e-12)


def test_one_frame_is_the_sinkhorn_divergence():
    rng = np.random.default_rng(1)
    grid = rng.random((7, 2))
    a, b = rng.random(7) + 0.1, rng.random(7) + 0.1
    a, b = a / a.sum(), b / b.sum()
    expected = numbaot.sinkhorn_divergence(grid, grid, a, b, reg=0.1, tol=1e-9)
    assert ts.sta(a[None], b[None], 1.0, 0.1, support=grid) == pytest.approx(expected, rel=1e-9)
    clouds_x, clouds_y = rng.random((1, 5, 2)), rng.random((1, 4, 2))
    expected = numbaot.sinkhorn_divergence(clouds_x[0], clouds_y[0], reg=0.1, tol=1e-9)
    assert ts.sta(clouds_x, clouds_y, 1.0, 0.1) == pytest.approx(expected, rel=1e-9)


def test_weight_gradient_against_finite_differences():
    rng = np.random.default_rng(2)
    grid = np.linspace(0.0, 1.0, 5)[:, None]
    X, Y = rng.random((3, 5)) + 0.2, rng.random((4, 5)) + 0.2
    X /= X.sum(1, keepdims=True)
    Y /= Y.sum(1, keepdims=True)
    kwargs = dict(support=grid, tol=1e-13, max_iter=100000)
    value, grad = ts.sta(X, Y, 0.1, 0.2, return_grad=True, **kwargs)
    assert grad.shape == X.shape and value == pytest.approx(ts.sta(X, Y, 0.1, 0.2, **kwargs), rel=1e-12)
    v = rng.standard_normal(X.shape)
    v -= v.mean(1, keepdims=True)  # frames keep their mass
    h = 1e-5
    fd = (ts.sta(X + h * v, Y, 0.1, 0.2, **kwargs) - ts.sta(X - h * v, Y, 0.1, 0.2, **kwargs)) / (2 * h)
    assert np.sum(grad * v) == pytest.approx(fd, rel=1e-5)


def test_divergence_zero_on_equal_series_and_symmetric():
    rng = np.random.default_rng(3)
    X, Y = rng.random((3, 4, 2)), rng.random((2, 4, 2))
    assert abs(ts.sta_divergence(X, X, 0.5, 0.1)) < 1e-12
    d = ts.sta_divergence(X, Y, 0.5, 0.1)
    assert d > 0 and ts.sta_divergence(Y, X, 0.5, 0.1) == pytest.approx(d, rel=1e-9)


def test_grid_supports_take_the_separable_softmins_and_agree_with_the_dense_solve():
    from numbaot.timeseries._sta import grid_geometry

    rng = np.random.default_rng(5)
    u, v = np.linspace(0.0, 1.0, 4), np.array([0.0, 0.3, 1.0])  # uneven spacing is still a product grid
    grid = np.stack(np.meshgrid(u, v), -1).reshape(-1, 2)  # (12, 2): x along the rows, C order
    assert grid_geometry(grid) is not None and grid_geometry(grid[:, ::-1].copy()) is not None
    assert grid_geometry(rng.random((12, 2))) is None and grid_geometry(grid[::-1].copy()) is not None
    assert grid_geometry(grid[[1, 0] + list(range(2, 12))]) is None
    X, Y = rng.random((3, 12)) + 0.05, rng.random((2, 12)) + 0.05
    X /= X.sum(1, keepdims=True)
    Y /= Y.sum(1, keepdims=True)
    value, grad = ts.sta(X, Y, 0.3, 0.05, support=grid, return_grad=True)
    Delta = np.array([[float(numbaot.solve_sample(grid, grid, x, y, reg=0.05, debias=True).value) for y in Y]
                      for x in X])
    assert value == pytest.approx(_sdtw(Delta, 0.3), rel=1e-10)
    cloud_value, cloud_grad = ts.sta(X, Y, 0.3, 0.05, support=grid + 1e-9 * rng.random(grid.shape),
                                     return_grad=True)  # not a grid: the dense path
    assert cloud_value == pytest.approx(value, rel=1e-6)
    np.testing.assert_allclose(cloud_grad, grad, rtol=1e-5, atol=1e-8)


def _grid_2d(H, W):
    u, v = np.linspace(0.0, 1.0, W), np.linspace(0.0, 0.8, H) ** 1.5  # uneven spacing along H
    return np.stack(np.meshgrid(u, v), -1).reshape(-1, 2)


def _histograms(rng, T, N, zeros=()):
    F = rng.random((T, N)) + 0.05
    F[:, list(zeros)] = 0.0
    return F / F.sum(1, keepdims=True)


def test_batched_grid_solve_equals_the_per_pair_divergences():
    """All pairs in one batched solve, self-problems once per frame: each frame cost equals the per-pair debiased
    solve (the dense loop, self-problems solved along with each pair) at a tight tol, zero-weight bins included."""
    rng = np.random.default_rng(6)
    grid = _grid_2d(3, 4)
    X, Y = _histograms(rng, 3, 12, zeros=(0, 5)), _histograms(rng, 2, 12)
    kwargs = dict(reg=0.05, tol=1e-11, max_iter=10000)
    value, grad = ts.sta(X, Y, 0.3, support=grid, return_grad=True, **kwargs)
    res = [[numbaot.solve_sample(grid, grid, x, y, debias=True, **kwargs) for y in Y] for x in X]
    Delta = np.array([[float(r.value) for r in row] for row in res])
    assert value == pytest.approx(_sdtw(Delta, 0.3), rel=1e-10)
    # the gradient: sum_j E_ij (f_ba - f_aa) (the debiased potential, defined up to a constant per frame)
    E = _alignment(Delta, 0.3)
    expected = np.array([sum(E[i, j] * np.asarray(res[i][j].potential_a) for j in range(2)) for i in range(3)])
    centred = grad - grad.mean(1, keepdims=True)
    np.testing.assert_allclose(centred, expected - expected.mean(1, keepdims=True), rtol=0, atol=1e-9)
    div = ts.sta_divergence(X, Y, 0.3, support=grid, **kwargs)
    Dxx = np.array([[float(numbaot.solve_sample(grid, grid, x, z, debias=True, **kwargs).value) if i != k else 0.0
                     for k, z in enumerate(X)] for i, x in enumerate(X)])
    Dyy = np.array([[float(numbaot.solve_sample(grid, grid, y, z, debias=True, **kwargs).value) if i != k else 0.0
                     for k, z in enumerate(Y)] for i, y in enumerate(Y)])
    expected = _sdtw(Delta, 0.3) - 0.5 * (_sdtw(Dxx, 0.3) + _sdtw(Dyy, 0.3))
    assert div == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_small_reg_takes_the_exact_log_sum_exp_where_kernel_sums_underflow():
    """reg = 1e-3 on a unit grid: exp(-cost / eps) underflows (cost / eps up to 1000), so far-away outputs take
    the exact two-pass log-sum-exp; the frame costs still equal the per-pair solve's."""
    from numbaot.timeseries._sta import exact_lse, line_lse

    src = np.array([0.0, -800.0, -900.0])
    cost = np.array([[0.0, 1.0, 4.0], [1.0, 0.0, 1.0], [4.0, 1.0, 0.0]])
    inv_eps = 200.0  # output 2: every kernel term underflows (exp(-800), exp(-900)); its value is about -800
    K = np.exp(-cost * inv_eps)
    e = np.exp(src - src.max())
    for c in range(3):
        got = line_lse.cpu(src, e, 0, 3, src.max(), K, cost, inv_eps, c)
        assert got == pytest.approx(exact_lse.cpu(src, 0, 3, cost, inv_eps, c), rel=1e-14)
    assert K[2] @ e == 0.0
    assert line_lse.cpu(src, e, 0, 3, src.max(), K, cost, inv_eps, 2) == pytest.approx(-800.0, rel=1e-12)
    rng = np.random.default_rng(7)
    grid = np.linspace(0.0, 1.0, 9)[:, None]
    X, Y = _histograms(rng, 2, 9), _histograms(rng, 1, 9)
    kwargs = dict(reg=1e-3, tol=1e-10, max_iter=20000)
    Delta = np.array([[float(numbaot.solve_sample(grid, grid, x, y, debias=True, **kwargs).value) for y in Y]
                      for x in X])
    assert ts.sta(X, Y, 0.1, support=grid, **kwargs) == pytest.approx(_sdtw(Delta, 0.1), rel=1e-8)


def test_overrelaxation_rule_is_the_divergence_loops():
    """``_sta.observe`` (a twin, on a state array) follows ``_symmetric._Overrelaxation`` step for step."""
    from numbaot.entropic._symmetric import _Overrelaxation
    from numbaot.timeseries._sta import observe

    slow = list(0.99 ** np.arange(45))  # omega rises above 1
    for errors in (slow, slow + [slow[-1] * 100.0 ** k for k in range(1, 13)], list(0.5 ** np.arange(40))):
        ref, state = _Overrelaxation(), np.array([1.0, 1.0, np.nan, 0.0, 0.0])
        for err in errors:
            ref.observe(err)
            observe.cpu(state, err)
            assert state[0] == ref.omega and bool(state[1]) == ref.enabled
    ref, state = _Overrelaxation(), np.array([1.0, 1.0, np.nan, 0.0, 0.0])
    for err in slow:
        ref.observe(err)
        observe.cpu(state, err)
    assert state[0] == ref.omega > 1.0


def test_frame_problems_that_stop_short_warn_once():
    rng = np.random.default_rng(8)
    grid = np.linspace(0.0, 1.0, 6)
    X, Y = _histograms(rng, 2, 6), _histograms(rng, 2, 6)
    with pytest.warns(ConvergenceWarning, match="frame pairs") as record:
        ts.sta(X, Y, 0.1, 0.01, support=grid, max_iter=6)
    assert len(record) == 1 and record[0].filename == __file__
    assert "2 of 2 self-problems" in str(record[0].message) and "4 of 4 frame pairs" in str(record[0].message)
    with pytest.warns(ConvergenceWarning, match="frame pairs") as record:
        ts.sta_divergence(X, Y, 0.1, 0.01, support=grid, max_iter=6)
    assert len(record) == 1 and record[0].filename == __file__


def _alignment(C, gamma):
    from numbaot.timeseries._soft_dtw import soft_dtw_alignment_core

    return soft_dtw_alignment_core(np.ascontiguousarray(C), gamma)[1]


def _sdtw(C, gamma):
    from numbaot.timeseries._soft_dtw import soft_dtw_matrix_value_core

    return soft_dtw_matrix_value_core(np.ascontiguousarray(C), gamma)


def test_bad_input():
    grid = np.linspace(0, 1, 4)
    X = np.full((2, 4), 0.25)
    with pytest.raises(ValueError, match="mass"):
        ts.sta(X, np.full((2, 4), 0.5), support=grid)
    with pytest.raises(ValueError, match="bins"):
        ts.sta(X, np.full((2, 3), 1 / 3), support=grid)
    with pytest.raises(ValueError, match="support"):
        ts.sta(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), return_grad=True)
    with pytest.raises(ValueError, match="gamma"):
        ts.sta(X, X, 0.0, support=grid)
    with pytest.raises(ValueError, match="reg"):
        ts.sta(X, X, 1.0, -1.0, support=grid)
    with pytest.raises(ValueError, match="dimension"):
        ts.sta(np.zeros((2, 3, 1)), np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"X\[1\]"):
        ts.sta(np.array([[0.5, 0.5, 0, 0], [1.0, -0.5, 0.25, 0.25]]), X, support=grid)
    with pytest.raises(ValueError, match="empty"):
        ts.sta(np.zeros((0, 4)), X, support=grid)


def test_barycenter_descends_keeps_masses_and_recovers_a_common_series():
    grid = np.linspace(0.0, 1.0, 3)
    rng = np.random.default_rng(4)
    X = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    Y = rng.random((3, 3)) + 0.1
    Y /= Y.sum(1, keepdims=True)
    flat = np.full((2, 3), 1 / 3)
    Z = ts.sta_barycenter([X, Y], 0.1, 0.5, [0.3, 0.7], flat, support=grid, tol=1e-3)
    assert Z.shape == (2, 3) and np.all(Z > 0) and np.allclose(Z.sum(1), 1.0, rtol=1e-12)

    def objective(Z):
        return 0.3 * ts.sta(Z, X, 0.1, 0.5, support=grid) + 0.7 * ts.sta(Z, Y, 0.1, 0.5, support=grid)

    assert objective(Z) < objective(flat)
    # one series, a small gamma: the series itself is the minimiser (sdtw >= dtw >= 0 = its value there)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        Zx = ts.sta_barycenter([X], 1e-3, 0.5, init=flat, support=grid, max_iter=30, tol=0.0)
    assert np.allclose(Zx, X, atol=1e-2)


def test_barycenter_bad_input():
    grid = np.linspace(0.0, 1.0, 4)
    X = np.full((2, 4), 0.25)
    with pytest.raises(TypeError, match="list"):
        ts.sta_barycenter(X, support=grid)
    with pytest.raises(ValueError, match="mass"):
        ts.sta_barycenter([X, 2 * X], support=grid)
    with pytest.raises(ValueError, match="bins"):
        ts.sta_barycenter([X], init=np.full((2, 3), 1 / 3), support=grid)
    with pytest.raises(ValueError, match="weights"):
        ts.sta_barycenter([X, X], weights=[1.0, -1.0], support=grid)


# ------------------------------------------------------------------------------------------------ float32 frames
def test_float32_frames_are_judged_at_their_precision_and_rescaled():
    """Normalised float32 frames miss their common mass by ~1e-7 (over the 1e-9 of float64): accepted, each frame
    rescaled to X[0]'s mass; value, gradient and barycenter come back in float32 and equal the float64 answers on
    the same (rescaled) frames; a real mass difference is still refused."""
    rng = np.random.default_rng(11)
    grid = _grid_2d(2, 3)
    X32 = (_histograms(rng, 3, 6, zeros=(1,)) * 1.0).astype(np.float32)
    Y32 = _histograms(rng, 2, 6).astype(np.float32)
    masses = np.concatenate([X32.astype(np.float64).sum(1), Y32.astype(np.float64).sum(1)])
    assert np.ptp(masses) > 1e-9  # the float64 rule would refuse them
    X64 = X32.astype(np.float64) * (masses[0] / X32.astype(np.float64).sum(1, keepdims=True))
    Y64 = Y32.astype(np.float64) * (masses[0] / Y32.astype(np.float64).sum(1, keepdims=True))
    kwargs = dict(reg=0.1, tol=1e-10, max_iter=5000)
    for support in (grid, grid + 1e-9 * rng.random(grid.shape)):  # the grid's loop, and the batched dense path
        value, grad = ts.sta(X32, Y32, 0.3, support=support, return_grad=True, **kwargs)
        ref, ref_grad = ts.sta(X64, Y64, 0.3, support=support, return_grad=True, **kwargs)
        assert isinstance(value, np.float32) and grad.dtype == np.float32
        assert value == pytest.approx(ref, rel=1e-6)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)
    div = ts.sta_divergence(X32, Y32, 0.3, support=grid, **kwargs)
    assert isinstance(div, np.float32) and div == pytest.approx(ts.sta_divergence(X64, Y64, 0.3, support=grid,
                                                                                   **kwargs), rel=1e-5)
    flat = np.full(X32.shape, 1 / 6, dtype=np.float32)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        Z = ts.sta_barycenter([X32, X32], 0.3, 0.1, init=flat, support=grid, max_iter=2, tol=0.0)
    assert Z.dtype == np.float32 and Z.shape == X32.shape
    bad = X32.copy()
    bad[1] *= np.float32(1.001)
    with pytest.raises(ValueError, match=r"X\[1\] has mass"):
        ts.sta(bad, Y32, support=grid)


# --------------------------------------------------------------------------- point clouds and other supports
def _per_pair(A, B, reg, symmetric=False, **kwargs):
    """The frame costs, one ``solve_sample(..., debias=True)`` per pair (the path the batches replace)."""
    D = np.zeros((len(A), len(B)))
    pots = {}
    for i, (Xa, a) in enumerate(A):
        for j, (Xb, b) in enumerate(B):
            if symmetric and i == j:
                continue
            res = numbaot.solve_sample(Xa, Xb, a, b, reg=reg, debias=True, **kwargs)
            D[i, j], pots[i, j] = float(res.value), np.asarray(res.potential_a)
    return D, pots


def test_point_cloud_frames_in_batches_equal_the_per_pair_solves():
    """Clouds of different sizes per series: the self-problems once per frame and all cross problems in batched
    Sinkhorn loops (chunks of 2 pairs here) give the per-pair debiased solves' frame costs to 1e-10."""
    from numbaot.timeseries import _sta_clouds

    rng = np.random.default_rng(12)
    X, Y = rng.random((3, 5, 2)), rng.random((2, 4, 2)) + [0.3, 0.0]
    kwargs = dict(tol=1e-12, max_iter=20000)
    A = [(x, None) for x in X]
    B = [(y, None) for y in Y]
    Dxy, _ = _per_pair(A, B, 0.05, **kwargs)
    value = ts.sta(X, Y, 0.2, 0.05, **kwargs)
    assert value == pytest.approx(_sdtw(Dxy, 0.2), rel=1e-10)
    Dxx, _ = _per_pair(A, A, 0.05, True, **kwargs)
    Dyy, _ = _per_pair(B, B, 0.05, True, **kwargs)
    expected = _sdtw(Dxy, 0.2) - 0.5 * (_sdtw(Dxx, 0.2) + _sdtw(Dyy, 0.2))
    assert ts.sta_divergence(X, Y, 0.2, 0.05, **kwargs) == pytest.approx(expected, rel=1e-10)
    old = _sta_clouds.CHUNK_FLOATS
    try:
        _sta_clouds.CHUNK_FLOATS = 2 * (2 * 5 * 4 + 5 * 4 * 2)  # two pairs per chunk: three chunks
        assert ts.sta(X, Y, 0.2, 0.05, **kwargs) == pytest.approx(value, rel=1e-13)
    finally:
        _sta_clouds.CHUNK_FLOATS = old


def test_histograms_on_any_support_share_one_cost_matrix_and_equal_the_per_pair_solves():
    """A support that is no grid: one shared cost matrix for every problem; value and gradient (zero-weight bins
    included: their potentials are the softmin's extension) equal the per-pair solves'."""
    rng = np.random.default_rng(13)
    support = rng.random((7, 2))
    X, Y = _histograms(rng, 3, 7, zeros=(2,)), _histograms(rng, 2, 7, zeros=(5,))
    kwargs = dict(tol=1e-12, max_iter=20000)
    value, grad = ts.sta(X, Y, 0.3, 0.1, support=support, return_grad=True, **kwargs)
    D, pots = _per_pair([(support, x) for x in X], [(support, y) for y in Y], 0.1, **kwargs)
    assert value == pytest.approx(_sdtw(D, 0.3), rel=1e-10)
    E = _alignment(D, 0.3)
    expected = np.array([sum(E[i, j] * pots[i, j] for j in range(2)) for i in range(3)])
    np.testing.assert_allclose(grad - grad.mean(1, keepdims=True), expected - expected.mean(1, keepdims=True),
                               rtol=0, atol=1e-10)


def test_cloud_problems_that_stop_short_warn_once():
    rng = np.random.default_rng(14)
    X, Y = rng.random((2, 4, 2)), rng.random((2, 3, 2))
    with pytest.warns(ConvergenceWarning, match="frame pairs") as record:
        ts.sta(X, Y, 0.1, 0.001, max_iter=8)
    assert len(record) == 1 and record[0].filename == __file__
    assert "4 of 4 frame pairs" in str(record[0].message)


def test_barycenter_on_any_support_descends_and_warns_at_the_callers_line():
    rng = np.random.default_rng(15)
    support = rng.random((4, 2))
    X, Y = _histograms(rng, 2, 4), _histograms(rng, 2, 4)
    flat = np.full((2, 4), 0.25)
    Z = ts.sta_barycenter([X, Y], 0.1, 0.2, init=flat, support=support, tol=1e-3)
    assert np.allclose(Z.sum(1), 1.0, rtol=1e-12)

    def objective(Z):
        return 0.5 * (ts.sta(Z, X, 0.1, 0.2, support=support) + ts.sta(Z, Y, 0.1, 0.2, support=support))

    assert objective(Z) < objective(flat)
    with pytest.warns(ConvergenceWarning, match="stopped short") as record:
        ts.sta_barycenter([X, Y], 0.1, 0.01, init=flat, support=support, max_iter=1, tol=1.0, sinkhorn_max_iter=5)
    assert "frame pairs" in str(record[-1].message) and {r.filename for r in record} == {__file__}


def test_frames_too_large_for_the_batched_costs_are_refused_before_allocating(monkeypatch):
    """The batches hold whole cost matrices: a frame pair over the bound is a MemoryError stating the bytes, raised
    before any cost matrix is formed (bad input 31), not an allocation of gigabytes."""
    from numbaot.timeseries import _sta_clouds

    monkeypatch.setattr(_sta_clouds, "PAIR_FLOATS", 2 * 6 * 5 - 1)
    formed = []
    monkeypatch.setattr(_sta_clouds, "_costs", lambda P, Q: formed.append(1))
    rng = np.random.default_rng(0)
    X, Y = rng.random((2, 6, 2)), rng.random((2, 5, 2))
    with pytest.raises(MemoryError, match="GiB of cost matrices per frame pair"):
        ts.sta(X, Y, 1.0, 0.1)
    assert not formed


def test_frames_are_rescaled_to_the_first_frames_mass(monkeypatch):
    """With the mass tolerance widened to 1%, frames 0.5% apart are accepted and each rescaled to X[0]'s mass: the
    value is the one of the rescaled frames, and the gradient in the given frames is the rescaled frames' gradient
    times each frame's factor (a test at float32's ~1e-7 differences could not see the factors)."""
    from numbaot import _validation as V

    monkeypatch.setitem(V.MASS_RTOL, np.dtype(np.float64), 1e-2)
    rng = np.random.default_rng(3)
    grid = _grid_2d(2, 3)
    X, Y = _histograms(rng, 3, 6), _histograms(rng, 2, 6)
    X[1] *= 1.005
    Y[0] *= 0.996
    fx, fy = X[0].sum() / X.sum(1), X[0].sum() / Y.sum(1)
    kwargs = dict(reg=0.1, tol=1e-11, max_iter=5000)
    value, grad = ts.sta(X, Y, 0.3, support=grid, return_grad=True, **kwargs)
    value_ref, grad_ref = ts.sta(X * fx[:, None], Y * fy[:, None], 0.3, support=grid, return_grad=True, **kwargs)
    assert value == pytest.approx(value_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref * fx[:, None], rtol=1e-9, atol=1e-12)
    assert not np.allclose(fx, 1.0, rtol=1e-3)
