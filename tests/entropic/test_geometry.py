"""The geometries' half-steps (``entropic._geometry.half_step``, called from Python: the loop's kernels compiled on
their own): every row against scipy's logsumexp, on cost matrices (float64 and float32) and on point clouds, both
sides, with KL damping, a zero weight, and a previous value far off (its rows take the exact two-pass softmin)."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.entropic import _geometry as G


def _reference(C, ref, other, shift, eps, tau):
    from scipy.special import logsumexp

    return tau * eps * (shift - logsumexp((other[None, :] - C) / eps + ref[None, :], axis=1))


def _inputs(rng, n, m):
    ref = np.log(rng.random(m) + 0.1)
    ref[3] = -np.inf  # a zero weight: dropped from every sum
    other, shift = rng.normal(size=m) * 0.1, rng.normal(size=n) * 0.01
    out = rng.normal(size=n) * 0.1
    out[2] = 1e4  # a previous value far off
    return ref, other, shift, out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("side", [G.ROWS, G.COLUMNS])
def test_dense_half_step_is_the_log_sum_exp_of_its_side(dtype, side):
    rng = np.random.default_rng(0)
    n, m, eps, tau = 11, 8, 0.07, 0.9
    C = rng.random((n, m)).astype(dtype)
    geom = G.DenseCosts(C[None], np.ascontiguousarray(C.T)[None])
    rows, cols = (C, m) if side == G.ROWS else (np.ascontiguousarray(C.T), n)
    ref, other, shift, out = _inputs(rng, rows.shape[0], cols)
    want = _reference(rows.astype(np.float64), ref, other, shift, eps, tau)
    out = out[None].copy()
    G.half_step(geom, side, other[None], ref[None], shift[None], np.ones(1, np.uint8), eps, tau, out)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(out[0], want, rtol=tol, atol=tol)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
@pytest.mark.parametrize("side", [G.ROWS, G.COLUMNS])
def test_point_cloud_half_step_is_the_log_sum_exp_of_its_side(metric, side):
    import numbaot
    from numbaot.entropic._online import PointGeometry

    rng = np.random.default_rng(1)
    n, m, eps, tau = 300, 9, 0.2, 1.0  # 300 points: more than one chunk of costs per row of the columns' side
    X, Y = rng.random((n, 2)), rng.random((m, 2))
    C = numbaot.dist(X, Y, metric=metric)
    rows, cols = (C, m) if side == G.ROWS else (C.T, n)
    ref, other, shift, out = _inputs(rng, rows.shape[0], cols)
    want = _reference(rows, ref, other, shift, eps, tau)
    out = out[None].copy()
    G.half_step(PointGeometry(X, Y, metric, None).clouds(), side, other[None], ref[None], shift[None],
                np.ones(1, np.uint8), eps, tau, out)
    np.testing.assert_allclose(out[0], want, rtol=1e-11, atol=1e-11)
