"""Sliced Wasserstein on the GPU: the projections by a kernel, then the batched 1D solver's CUDA driver.

``sliced_values_cuda`` is the twin of ``sliced._projections.projected_values``: the points are projected on every
direction into an (n, L) float64 array (one thread per entry), and the L one-dimensional problems, one per column,
go to ``solver_1d.wasserstein_1d_cuda`` (device checks, bitonic sorts, one merge per problem). Only the L values
come back to the host.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from .. import _device
from . import _launch
from .solver_1d import wasserstein_1d_cuda


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


def sliced_values_cuda(X_s, X_t, a, b, P, p):
    """``W_p^p`` of the projections of the device clouds ``X_s`` (n, d), ``X_t`` (m, d) on each column of ``P``.

    Parameters
    ----------
    X_s, X_t : CUDA arrays of shape (n, d) and (m, d)
        Shapes checked by the caller; values checked for NaN and inf on the device (by the 1D driver, on the
        projections).
    a, b : CUDA arrays of shape (n,) and (m,), or None
        Weights (uniform when None), checked on the device by the 1D driver.
    P : array of shape (d, L)
        Directions: a host array (drawn by the front-end; copied once, it is small) or a CUDA array.
    p : float >= 1

    Returns
    -------
    numpy array of shape (L,), float64
    """
    stream = _launch.stream_of(X_s, X_t, a, b, P if _device.is_cuda_array(P) else None)
    xs = _launch.as_float64_2d(_launch.wrap(X_s), stream)
    xt = _launch.as_float64_2d(_launch.wrap(X_t), stream)
    if _device.is_cuda_array(P):
        directions = _launch.as_float64_2d(_launch.wrap(P), stream)
    else:
        directions = cuda.to_device(np.ascontiguousarray(P, dtype=np.float64), stream=stream)
    ps = _project_cuda(xs, directions, stream)
    pt = _project_cuda(xt, directions, stream)
    values = wasserstein_1d_cuda(ps, pt, a, b, p, True)
    return np.asarray(_launch.small_to_host(_launch.wrap(values), stream), dtype=np.float64)
