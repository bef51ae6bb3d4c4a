"""Optimal transport on the circle, and spherical sliced Wasserstein, on the GPU.

The problems are rows, as on the host (``sliced.circle``): coordinates taken modulo 1 and sorted by the batched
bitonic sort of the 1D solver (``solver_1d._sort_columns_cuda``), weights gathered in that order and turned into
cumulative weights normalised to end exactly at 1 (one thread per row), then one thread per problem runs the host's
own bisection on the lifted cost (``sliced._circle.circle_cost_twin``, a twin: the same body compiled for the
device). The semi-discrete distance to the uniform measure is the host's closed form per row. The spherical
sliced distances map each point to its angle in every plane (one thread per point and plane), in [0, 1).
Only the k values (and thetas) come back to the host.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..sliced._circle import circle_cost_twin
from . import _launch
from .solver_1d import _gather_weights_cuda, _sort_columns_cuda

_circle_cost = circle_cost_twin.cuda


@cuda.jit
def _mod1_kernel(x, out):
    """``out[i, c] = x[i, c] mod 1`` in [0, 1) (a tiny negative x would round to 1: it becomes 0)."""
    t = cuda.grid(1)
    k = out.shape[1]
    if t < out.shape[0] * k:
        i = t // k
        c = t - i * k
        v = x[i, c] - math.floor(x[i, c])
        out[i, c] = 0.0 if v >= 1.0 else v


@cuda.jit
def _rows_kernel(keys, w, uniform, xs, cdf):
    """Per row r (one thread): the first n sorted keys, and the cumulative weights over their total, ending at 1."""
    r = cuda.grid(1)
    if r < xs.shape[0]:
        n = xs.shape[1]
        total = 0.0
        for i in range(n):
            total += 1.0 if uniform else w[r, i]
        acc = 0.0
        for i in range(n):
            xs[r, i] = keys[r, i]
            acc += 1.0 if uniform else w[r, i]
            cdf[r, i] = min(acc / total, 1.0)
        cdf[r, n - 1] = 1.0


def circle_rows_cuda(x, w, stream):
    """Sorted coordinates (k, n) and cumulative weights (k, n) of the columns of the float64 (n, k) device array
    ``x`` with float64 weights ``w`` (n, 1) or (n, k) (None: uniform), checked by the caller."""
    n, k = int(x.shape[0]), int(x.shape[1])
    coords = _launch.empty((n, k), np.float64, stream)
    blocks, threads = _launch.grid_1d(n * k)
    _mod1_kernel[blocks, threads, stream](x, coords)
    keys, idx = _sort_columns_cuda(coords, 1.0, True, stream)
    uniform = w is None
    weights = _launch.empty((1, 1), np.float64, stream) if uniform else _gather_weights_cuda(w, idx, k, n, stream)
    xs = _launch.empty((k, n), np.float64, stream)
    cdf = _launch.empty((k, n), np.float64, stream)
    blocks, threads = _launch.grid_1d(k)
    _rows_kernel[blocks, threads, stream](keys, weights, uniform, xs, cdf)
    return xs, cdf


@cuda.jit
def _circle_cost_kernel(xs, ca, ys, cb, p, values, thetas):
    r = cuda.grid(1)
    if r < values.shape[0]:
        value, theta = _circle_cost(xs[r], ca[r], ys[r], cb[r], p)
        values[r] = value
        thetas[r] = theta


def circle_cost_cuda(xs, ca, ys, cb, p, stream):
    """``(W_p^p, optimal theta)`` of each row pair, as host float64 arrays (k,)."""
    k = int(xs.shape[0])
    values = _launch.empty(k, np.float64, stream)
    thetas = _launch.empty(k, np.float64, stream)
    blocks, threads = _launch.grid_1d(k)
    _circle_cost_kernel[blocks, threads, stream](xs, ca, ys, cb, float(p), values, thetas)
    return _launch.small_to_host(values, stream), _launch.small_to_host(thetas, stream)


@cuda.jit
def _w2_uniform_kernel(xs, cdf, out):
    """``W_2^2`` of each sorted row against the uniform measure (the host's ``w2_to_uniform_batch``)."""
    r = cuda.grid(1)
    if r < out.shape[0]:
        n = xs.shape[1]
        lower = 0.0
        second = 0.0
        first = 0.0
        for i in range(n):
            upper = cdf[r, i] if i < n - 1 else 1.0
            x = xs[r, i]
            second += ((x - lower) ** 3 - (x - upper) ** 3) / 3.0
            first += x * (upper - lower) - 0.5 * (upper * upper - lower * lower)
            lower = upper
        out[r] = max(second - first * first, 0.0)


def w2_uniform_cuda(xs, cdf, stream):
    k = int(xs.shape[0])
    out = _launch.empty(k, np.float64, stream)
    blocks, threads = _launch.grid_1d(k)
    _w2_uniform_kernel[blocks, threads, stream](xs, cdf, out)
    return _launch.small_to_host(out, stream)


@cuda.jit
def _squared_norms_kernel(X, out):
    """``out[i] = |X_i|^2`` (one thread per point)."""
    i = cuda.grid(1)
    if i < X.shape[0]:
        acc = 0.0
        for c in range(X.shape[1]):
            acc += X[i, c] * X[i, c]
        out[i] = acc


def squared_norms_cuda(X, stream):
    """``|x|^2`` of each row of the float64 (n, d) device array, on the host (n numbers, for the sphere check)."""
    n = int(X.shape[0])
    out = _launch.empty(n, np.float64, stream)
    blocks, threads = _launch.grid_1d(n)
    _squared_norms_kernel[blocks, threads, stream](X, out)
    return _launch.small_to_host(out, stream)


@cuda.jit
def _angles_kernel(X, U, out):
    """``out[i, l]``: the angle of point i in plane l (``U[l]`` (d, 2) orthonormal), over 2 pi, in [0, 1)."""
    t = cuda.grid(1)
    L = out.shape[1]
    if t < out.shape[0] * L:
        i = t // L
        col = t - i * L
        a = 0.0
        b = 0.0
        for c in range(X.shape[1]):
            a += X[i, c] * U[col, c, 0]
            b += X[i, c] * U[col, c, 1]
        v = (math.atan2(b, a) + math.pi) / (2.0 * math.pi)
        out[i, col] = 0.0 if v >= 1.0 else v


def sphere_coordinates_cuda(X, U, stream):
    """Coordinates (n, L) on the L great circles of the planes ``U`` (L, d, 2) (a host array, copied once)."""
    n, L = int(X.shape[0]), int(U.shape[0])
    planes = cuda.to_device(np.ascontiguousarray(U, dtype=np.float64), stream=stream)
    out = _launch.empty((n, L), np.float64, stream)
    blocks, threads = _launch.grid_1d(n * L)
    _angles_kernel[blocks, threads, stream](X, planes, out)
    return out
