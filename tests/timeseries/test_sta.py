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
