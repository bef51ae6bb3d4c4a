"""Sliced Wasserstein on the GPU: the projections by a kernel, then the batched 1D solver's CUDA driver.

Two steps of the front-end's dispatch (``sliced.api``): :func:`projections_cuda` projects the points on every
direction into an (n, L) float64 array (one thread per entry); the front-end checks the L one-dimensional problems,
one per column, with the 1D steps (``solver_1d.points_1d_cuda``, ``inputs_1d_cuda``: device reductions, the host's
messages) and judges the masses; :func:`sliced_values_cuda`, the twin of ``sliced._projections.projected_values``,
then solves them with ``solver_1d.wasserstein_1d_cuda`` (bitonic sorts, one merge per problem). Only the L values
come back to the host.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _device
from . import _launch
from .solver_1d import _cdf_cuda, _sort_columns_cuda, _sum_to_host, search_cdf, wasserstein_1d_cuda

_search = search_cdf.cuda


@cuda.jit
def _project_kernel(X, P, out):
    """``out[i, l] = sum_k X[i, k] P[k, l]``: the projection of point i on direction l (one thread per entry)."""
    t = cuda.grid(1)
    L = out.shape[1]
    if t < out.shape[0] * L:
        i = t // L
        col = t - i * L
        acc = 0.0
        for k in range(X.shape[1]):
            acc += X[i, k] * P[k, col]
        out[i, col] = acc


def _project_cuda(X, P, stream):
    n, L = int(X.shape[0]), int(P.shape[1])
    out = _launch.empty((n, L), np.float64, stream)
    blocks, threads = _launch.grid_1d(n * L)
    _project_kernel[blocks, threads, stream](X, P, out)
    return out


def projections_cuda(X_s, X_t, a, b, P):
    """The projections of the device clouds ``X_s`` (n, d), ``X_t`` (m, d) on each column of ``P``: float64 (n, L)
    and (m, L) device arrays, on the stream the caller's arrays name (``a``, ``b``: None or device arrays, read
    for that only). The front-end then checks them as the L 1D problems of ``wasserstein_1d`` (the ``1d.points``,
    ``1d.inputs`` steps) and judges the masses before :func:`sliced_values_cuda`.

    ``P`` is a host array (drawn by the front-end; copied once, it is small) or a CUDA array."""
    stream = _launch.stream_of(X_s, X_t, a, b, P if _device.is_cuda_array(P) else None)
    xs = _launch.as_float64_2d(_launch.wrap(X_s), stream)
    xt = _launch.as_float64_2d(_launch.wrap(X_t), stream)
    if _device.is_cuda_array(P):
        directions = _launch.as_float64_2d(_launch.wrap(P), stream)
    else:
        directions = cuda.to_device(np.ascontiguousarray(P, dtype=np.float64), stream=stream)
    return _project_cuda(xs, directions, stream), _project_cuda(xt, directions, stream)


def sliced_values_cuda(inputs, factor, p):
    """``W_p^p`` of each projected problem: the twin of ``sliced._projections.projected_values``.

    Parameters
    ----------
    inputs : solver_1d.Inputs1D
        The checked projections (:func:`projections_cuda`, then ``solver_1d.inputs_1d_cuda``): one problem per
        column, the weights (n, 1) and (m, 1) shared by all of them.
    factor : float
        The mass factor of b (``_validation.check_mass``, judged by the front-end).
    p : float >= 1

    Returns
    -------
    numpy array of shape (L,), float64
    """
    values = wasserstein_1d_cuda(inputs, [factor], p, True, True, np.dtype(np.float64))
    return np.asarray(_launch.small_to_host(_launch.wrap(values), inputs.stream), dtype=np.float64)


# ------------------------------------------------------------------------------ max-sliced: gradient ascent
@cuda.jit
def _sorted_side_kernel(keys, idx, w, uniform, vals, weights, pos):
    """The first n sorted projections, their points' indices and weights (1 when ``uniform``; negatives as 0)."""
    i = cuda.grid(1)
    if i < vals.shape[0]:
        vals[i] = keys[0, i]
        k = idx[0, i]
        pos[i] = k
        weights[i] = 1.0 if uniform else max(w[k, 0], 0.0)


@cuda.jit
def _direction_cells_kernel(us, ca, pos_s, vs, cb, pos_t, Xs, Xt, p, values, grads):
    """One thread per sorted source atom i: its cells (i, j) of the monotone coupling (mass intervals of the
    normalised cumulative weights), their cost ``w |u_i - v_j|^p`` and gradient terms
    ``w p |u_i - v_j|^(p-1) sign(u_i - v_j) (x_i - y_j)`` (as ``sliced._projections.direction_value_grad``)."""
    i = cuda.grid(1)
    n = us.shape[0]
    m = vs.shape[0]
    if i < n:
        d = Xs.shape[1]
        ta = ca[n - 1]
        tb = cb[m - 1]
        lo = ca[i - 1] / ta if i > 0 else 0.0
        hi = ca[i] / ta if i < n - 1 else 1.0
        xi = pos_s[i]
        for k in range(d):
            grads[i, k] = 0.0
        total = 0.0
        if hi > lo:
            j = _search(cb, 0, m - 1, lo * tb, True)
            start = lo
            while start < hi:
                end_j = cb[j] / tb if j < m - 1 else 1.0
                end = min(hi, end_j)
                w = end - start
                if w > 0.0:
                    diff = us[i] - vs[j]
                    dist = abs(diff)
                    sign = 1.0 if diff > 0 else (-1.0 if diff < 0 else 0.0)
                    if p == 1.0:
                        total += w * dist
                        slope = w * sign
                    else:
                        total += w * dist ** p
                        slope = w * p * dist ** (p - 1.0) * sign if dist > 0 else 0.0
                    if slope != 0.0:
                        yj = pos_t[j]
                        for k in range(d):
                            grads[i, k] += slope * (Xs[xi, k] - Xt[yj, k])
                start = end
                if end_j <= hi and j < m - 1:
                    j += 1
                else:
                    break
        values[i] = total


@cuda.jit
def _column_sums_kernel(x, out):
    k = cuda.grid(1)
    if k < out.shape[0]:
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i, k]
        out[k] = acc


def _sorted_side(values, w, stream):
    n = int(values.shape[0])
    keys, idx = _sort_columns_cuda(values, 1.0, True, stream)
    vals = _launch.empty(n, np.float64, stream)
    weights = _launch.empty(n, np.float64, stream)
    pos = _launch.empty(n, np.int64, stream)
    uniform = w is None
    source = _launch.empty((1, 1), np.float64, stream) if uniform else w
    blocks, threads = _launch.grid_1d(n)
    _sorted_side_kernel[blocks, threads, stream](keys, idx, source, uniform, vals, weights, pos)
    return vals, _cdf_cuda(weights, stream), pos


class DirectionEvaluator:
    """``W_p^p(theta)`` between the projections of the device clouds on a unit direction, and its gradient in
    theta, for ``max_sliced_wasserstein_distance(method='gradient')``: the clouds and weights are converted once,
    each call projects, sorts and walks the monotone coupling on the device; the value and the (d,) gradient
    come back to the host (the ascent's step control runs there)."""

    def __init__(self, X_s, X_t, a, b, p):
        self.stream = _launch.stream_of(X_s, X_t, a, b)
        self.xs = _launch.as_float64_2d(_launch.wrap(X_s), self.stream)
        self.xt = _launch.as_float64_2d(_launch.wrap(X_t), self.stream)
        self.a = None if a is None else _launch.as_float64_2d(_launch.wrap(a), self.stream)
        self.b = None if b is None else _launch.as_float64_2d(_launch.wrap(b), self.stream)
        self.p = float(p)
        self.mass = 1.0 if a is None else _sum_to_host(_launch.as_float64_2d(_launch.wrap(a), self.stream)
                                                       .reshape(int(a.shape[0])), self.stream)

    def __call__(self, theta):
        stream = self.stream
        direction = cuda.to_device(np.ascontiguousarray(theta, dtype=np.float64).reshape(-1, 1), stream=stream)
        us, ca, pos_s = _sorted_side(_project_cuda(self.xs, direction, stream), self.a, stream)
        vs, cb, pos_t = _sorted_side(_project_cuda(self.xt, direction, stream), self.b, stream)
        n, d = int(self.xs.shape[0]), int(self.xs.shape[1])
        values = _launch.empty(n, np.float64, stream)
        grads = _launch.empty((n, d), np.float64, stream)
        blocks, threads = _launch.grid_1d(n)
        _direction_cells_kernel[blocks, threads, stream](us, ca, pos_s, vs, cb, pos_t, self.xs, self.xt, self.p,
                                                         values, grads)
        grad = _launch.empty(d, np.float64, stream)
        blocks, threads = _launch.grid_1d(d)
        _column_sums_kernel[blocks, threads, stream](grads, grad)
        value = _sum_to_host(values, stream)
        return value * self.mass, _launch.small_to_host(grad, stream) * self.mass
