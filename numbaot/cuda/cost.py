"""Cost matrices and uniform weights on the GPU: the CUDA twins of ``utils.dist`` and ``utils.unif``.

The cost of one pair is the very body the CPU uses (``_costs.pair_cost``, compiled here with ``.cuda``), so the two
paths cannot drift apart; each thread fills one entry of the ``(n, m)`` output. The drivers take checked inputs:
``numbaot.dist`` checks the points and the cosine norms on the device first (``cuda._checks``' dispatch steps).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from .._costs import METRIC_CODES, pair_cost
from . import _launch

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


def dist_cuda(X64, Y64, metric: str, p: float, norms, out_dtype, placement):
    """Cost matrix between two checked point clouds on the GPU.

    Parameters
    ----------
    X64, Y64 : float64 device arrays of shape (n, d) and (m, d)
        The front-end's checked copies (the ``dist.points`` dispatch step: finite; ``Y64`` may be ``X64``).
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski', 'cosine'}
        As in :func:`numbaot.utils.dist`.
    p : float
        Exponent of 'minkowski'.
    norms : pair of float64 device arrays of shape (n, 1) and (m, 1), or None
        The row norms for 'cosine' (the ``dist.norms`` dispatch step: no zero row); None for the other metrics.
    out_dtype : numpy dtype
        float32 or float64 (the dense size checked by the front-end).
    placement : ``_dispatch.Placement``
        The caller's stream and kind of array.

    Returns
    -------
    M : CUDA array of shape (n, m)
        In ``out_dtype`` (computed in float64 either way); the caller's kind of array (CuPy in, CuPy out).
    """
    stream = placement.stream
    n, m = int(X64.shape[0]), int(Y64.shape[0])
    if norms is None:
        norms = (_launch.empty((1, 1), np.float64, stream),) * 2  # unread placeholders
    out = _launch.empty((n, m), out_dtype, stream)
    blocks, threads = _launch.grid_1d(n * m)
    _dist_kernel[blocks, threads, stream](X64, Y64, METRIC_CODES[metric], float(p), norms[0][:, 0], norms[1][:, 0],
                                          out)
    return _launch.to_caller(out, placement.kind)


def unif_cuda(n: int, dtype, placement):
    """Uniform weights ``1/n`` on the GPU.

    Parameters
    ----------
    n : int >= 1
        Validated by the caller.
    dtype : numpy dtype
        float32 or float64 (``type_as``'s, chosen by the caller).
    placement : ``_dispatch.Placement``
        ``type_as``'s stream and kind of array (CuPy, Numba).

    Returns
    -------
    w : CUDA array of shape (n,)
    """
    n = int(n)
    out = _launch.fill(_launch.empty(n, dtype, placement.stream), 1.0 / n, placement.stream)
    return _launch.to_caller(out, placement.kind)
