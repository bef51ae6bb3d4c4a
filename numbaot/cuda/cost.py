"""Cost matrices and uniform weights on the GPU: the CUDA twins of ``utils.dist`` and ``utils.unif``.

The cost of one pair is the very body the CPU uses (``_costs.pair_cost``, compiled here with ``.cuda``), so the two
paths cannot drift apart; each thread fills one entry of the ``(n, m)`` output.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import _validation as V
from .._costs import METRIC_CODES, pair_cost
from . import _checks, _launch

_pair_cost = pair_cost.cuda  # kernels resolve module globals, not attributes of a Python object

_COSINE = METRIC_CODES["cosine"]


@cuda.jit
def _dist_kernel(X, Y, metric, p, norms_x, norms_y, out):
    # A flat grid, j fastest: neighbouring threads write neighbouring entries, and no grid dimension caps n or m.
    t = cuda.grid(1)
    m = out.shape[1]
    if t < out.shape[0] * m:
        i = t // m
        j = t - i * m
        nx = 1.0
        ny = 1.0
        if metric == _COSINE:
            nx = norms_x[i]
            ny = norms_y[j]
        out[i, j] = _pair_cost(X, i, Y, j, metric, p, nx, ny)


@cuda.jit
def _row_norms_kernel(X, norms):
    i = cuda.grid(1)
    if i < X.shape[0]:
        acc = 0.0
        for k in range(X.shape[1]):
            acc += X[i, k] * X[i, k]
        norms[i, 0] = math.sqrt(acc)


@cuda.jit
def _fill_kernel(out, value):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = value


def _cosine_norms_cuda(X, name, stream):
    """Row norms (n, 1) of a float64 device array; a zero row raises ``utils.cosine_norms``'s ValueError."""
    norms = _launch.empty((X.shape[0], 1), np.float64, stream)
    blocks, threads = _launch.grid_1d(X.shape[0])
    _row_norms_kernel[blocks, threads, stream](X, norms)
    stats = _checks.weight_stats_cuda(norms, stream)[0]
    if stats.min_value == 0:
        V.judge_zero_row(name, stats.argmin)
    return norms


def dist_cuda(X, Y, metric: str = "sqeuclidean", p: float = 2.0):
    """Cost matrix between two point clouds on the GPU.

    Parameters
    ----------
    X, Y : CUDA arrays of shape (n, d) or (n,), and (m, d) or (m,)
        CuPy, Numba device or simulator arrays (float32 or float64); (n,) is taken as n points in one dimension.
        Checked on the device for NaN and inf.
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski', 'cosine'}
        As in :func:`numbaot.utils.dist`; 'cosine' refuses zero rows.
    p : float
        Exponent of 'minkowski' (validated by the caller).

    Returns
    -------
    M : CUDA array of shape (n, m)
        float32 when both inputs are float32, else float64 (computed in float64 either way); the same kind of
        array as ``X`` (CuPy in, CuPy out).

    Raises
    ------
    ValueError
        For non-finite points, an output too large, or a zero row with 'cosine' (the metric and the dimensions
        were checked by the caller, :func:`numbaot.utils.dist`).
    """
    stream = _launch.stream_of(X, Y)
    kind = _launch.caller_kind(X, Y)
    same = Y is X
    Xw = _launch.wrap(X)
    Yw = Xw if same else _launch.wrap(Y)
    X64 = _launch.as_float64_2d(Xw, stream)
    _checks.check_points_cuda(X64, Xw, "x1", stream)
    if same:
        Y64 = X64
    else:
        Y64 = _launch.as_float64_2d(Yw, stream)
        _checks.check_points_cuda(Y64, Yw, "x2", stream)
    n, m = int(X64.shape[0]), int(Y64.shape[0])
    out_dtype = V.result_dtype(X, Y)
    V.check_dense_size((n, m), out_dtype.itemsize, what="the cost matrix")
    code = METRIC_CODES[metric]
    if code == _COSINE:
        norms_x = _cosine_norms_cuda(X64, "x1", stream)
        norms_y = norms_x if same else _cosine_norms_cuda(Y64, "x2", stream)
    else:
        norms_x = norms_y = _launch.empty((1, 1), np.float64, stream)  # unread placeholder
    out = _launch.empty((n, m), out_dtype, stream)
    blocks, threads = _launch.grid_1d(n * m)
    _dist_kernel[blocks, threads, stream](X64, Y64, code, float(p), norms_x[:, 0], norms_y[:, 0], out)
    return _launch.to_caller(out, kind)


def unif_cuda(n: int, type_as):
    """Uniform weights ``1/n`` on the GPU.

    Parameters
    ----------
    n : int >= 1
        Validated by the caller.
    type_as : CUDA array
        The result has its kind (CuPy, Numba), its stream, and its dtype (float32 when float32, else float64).

    Returns
    -------
    w : CUDA array of shape (n,)
    """
    n = int(n)
    stream = _launch.stream_of(type_as)
    out = _launch.empty(n, V.result_dtype(type_as), stream)
    blocks, threads = _launch.grid_1d(n)
    _fill_kernel[blocks, threads, stream](out, 1.0 / n)
    return _launch.to_caller(out, _launch.caller_kind(type_as))
