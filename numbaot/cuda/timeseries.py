"""soft-DTW and DTW on the GPU: the CUDA twins of ``timeseries._soft_dtw`` and ``timeseries._dtw``'s pairwise
matrices, behind ``numbaot.timeseries``'s soft-DTW verbs and ``cdist_soft_dtw`` on device arrays.

Anti-diagonal wavefront: the cells (i, j) with i + j = k depend only on the anti-diagonals k - 1 and k - 2, so one
block sweeps k = 0 .. n + m - 2, its threads sharing the cells of each anti-diagonal, with a barrier between
anti-diagonals.

* One pair with its gradient: the forward pass keeps the whole accumulated matrix R (n + 1, m + 1) and the softmin
  weights P (n, m, 3) in global memory; the backward pass sweeps the anti-diagonals in reverse for the expected
  alignment E = d value / d C (the CPU core's multiply-add form, ``timeseries._soft_dtw``); the gradient through
  the frame cost takes one thread per (i, feature).
* Pairwise matrices: one block per pair (a grid of pairs, in chunks so that scratch stays bounded), each keeping
  only its three latest anti-diagonals (3 (n + 1) floats) in global scratch; ``hard=1`` takes the plain minimum
  (DTW) instead of the softmin.

The frame cost and the soft-DTW cell (softmin and its weights) are the CPU cores' own bodies
(``timeseries._bodies``, twins; the CPU sweeps vectorise the same anti-diagonals). Everything runs in
float64. The drivers take checked inputs: the front-end has the series copied to float64 (n, d) (the collections
to (N, n, d)) and checked for NaN and inf on the device first (the ``timeseries.series`` and
``timeseries.collection`` dispatch steps, ``cuda._checks``: the host's messages); outputs are cast to the
front-end's ``out_dtype`` (float32 when every input was float32).
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..timeseries._bodies import frame_cost, soft_cell
from . import _launch

_cost = frame_cost.cuda  # kernels resolve module globals, not attributes
_soft_cell = soft_cell.cuda

#: Pairs per launch of the pairwise kernel: bounds its scratch to PAIR_CHUNK * 3 * (n + 1) floats.
PAIR_CHUNK = 4096


@cuda.jit
def _init_border_kernel(R):
    """R (n + 1, m + 1): 0 at (0, 0), +inf on the rest of row 0 and column 0."""
    t = cuda.grid(1)
    n1, m1 = R.shape
    if t < m1:
        R[0, t] = 0.0 if t == 0 else math.inf
    if 0 < t < n1:
        R[t, 0] = math.inf


@cuda.jit
def _forward_kernel(X, Y, code, gamma, R, P):
    """One block: R[i + 1, j + 1] for every cell, anti-diagonal by anti-diagonal; P the softmin weights."""
    n, m = X.shape[0], Y.shape[0]
    for k in range(n + m - 1):
        i_lo = max(0, k - m + 1)
        i_hi = min(n - 1, k)
        i = i_lo + cuda.threadIdx.x
        while i <= i_hi:
            j = k - i
            value, w_diag, w_up, w_left = _soft_cell(R[i, j], R[i, j + 1], R[i + 1, j], _cost(X, i, Y, j, code), gamma)
            P[i, j, 0] = w_diag
            P[i, j, 1] = w_up
            P[i, j, 2] = w_left
            R[i + 1, j + 1] = value
            i += cuda.blockDim.x
        cuda.syncthreads()


@cuda.jit
def _backward_kernel(P, E):
    """One block: E (n, m) from the last cell back, anti-diagonal by anti-diagonal."""
    n, m = P.shape[0], P.shape[1]
    for k in range(n + m - 2, -1, -1):
        i_lo = max(0, k - m + 1)
        i_hi = min(n - 1, k)
        i = i_lo + cuda.threadIdx.x
        while i <= i_hi:
            j = k - i
            if i == n - 1 and j == m - 1:
                E[i, j] = 1.0
            else:
                total = 0.0
                if i + 1 < n:
                    total += E[i + 1, j] * P[i + 1, j, 1]
                    if j + 1 < m:
                        total += E[i + 1, j + 1] * P[i + 1, j + 1, 0]
                if j + 1 < m:
                    total += E[i, j + 1] * P[i, j + 1, 2]
                E[i, j] = total
            i += cuda.blockDim.x
        cuda.syncthreads()


@cuda.jit
def _grad_kernel(X, Y, E, code, G):
    """G[i, q] = sum_j E[i, j] d cost(x_i, y_j) / d x_iq, one thread per (i, q) (the CPU core's cases)."""
    t = cuda.grid(1)
    n, d = X.shape
    if t >= n * d:
        return
    i = t // d
    q = t - i * d
    total = 0.0
    for j in range(Y.shape[0]):
        e = E[i, j]
        if e == 0.0:
            continue
        diff = X[i, q] - Y[j, q]
        if code == 0:
            total += 2.0 * e * diff
        elif code == 1:
            norm = _cost(X, i, Y, j, 1)
            if norm > 0.0:
                total += e * diff / norm
        else:
            if diff > 0.0:
                total += e
            elif diff < 0.0:
                total -= e
    G[i, q] = total


@cuda.jit
def _pairs_kernel(A, B, first_pair, code, gamma, hard, scratch, out):
    """Block b: the pair p = first_pair + b of (A[p // M], B[p % M]); scratch[b] holds its three latest
    anti-diagonals of R indexed by padded row I = i + 1 (column J = K - I); writes out[p // M, p % M]."""
    N, n = A.shape[0], A.shape[1]
    M, m = B.shape[0], B.shape[1]
    b = cuda.blockIdx.x
    p = first_pair + b
    if p >= N * M:
        return
    a_idx = p // M
    b_idx = p - a_idx * M
    X = A[a_idx]
    Y = B[b_idx]
    buf = scratch[b]
    inf = math.inf
    # padded anti-diagonal K = I + J of R: K = 0 holds R(0, 0) = 0, K = 1 only borders
    t = cuda.threadIdx.x
    while t <= n:
        buf[0, t] = 0.0 if t == 0 else inf
        buf[1, t] = inf
        buf[2, t] = inf
        t += cuda.blockDim.x
    cuda.syncthreads()
    for K in range(2, n + m + 1):
        cur = buf[K % 3]
        prev = buf[(K - 1) % 3]
        prev2 = buf[(K - 2) % 3]
        I_lo = max(1, K - m)
        I_hi = min(n, K - 1)
        I = I_lo + cuda.threadIdx.x
        while I <= I_hi:
            diag, up, left = prev2[I - 1], prev[I - 1], prev[I]
            cost = _cost(X, I - 1, Y, K - I - 1, code)
            if hard:
                cur[I] = cost + min(diag, min(up, left))
            else:
                cur[I] = _soft_cell(diag, up, left, cost, gamma)[0]
            I += cuda.blockDim.x
        if cuda.threadIdx.x == 0:  # borders of this anti-diagonal, read by the next two
            cur[0] = inf
            if K <= n:
                cur[K] = inf
        cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        out[a_idx, b_idx] = buf[(n + m) % 3, n]


@cuda.jit
def _cast_kernel(x, out):
    t = cuda.grid(1)
    if t < x.size:
        out.reshape(out.size)[t] = x.reshape(x.size)[t]


# ------------------------------------------------------------------------------------------------------ drivers
def _block(work: int) -> int:
    """Threads of a wavefront block: the longest anti-diagonal, at most the configured block size."""
    return max(1, min(_launch.threads_per_block(), int(work)))


def _out(x, dtype, stream):
    """x (float64 device array) as ``dtype``: itself, or a cast copy."""
    if np.dtype(dtype) == np.float64:
        return x
    out = _launch.empty(x.shape, dtype, stream)
    blocks, threads = _launch.grid_1d(x.size)
    _cast_kernel[blocks, threads, stream](x, out)
    return out


def soft_dtw_cuda(X64, Y64, code, gamma, out_dtype, placement, mode, one_d=False):
    """soft-DTW between the checked float64 (n, d), (m, d) device series ``X64``, ``Y64`` (the front-end's
    ``timeseries.series`` step). ``mode`` 'value': the value (an ``out_dtype`` scalar); 'alignment': (value, E (n, m)
    on the device); 'grad': (value, gradient with respect to X on the device, of shape (n,) with ``one_d``)."""
    stream = placement.stream
    n, m, d = X64.shape[0], Y64.shape[0], X64.shape[1]
    if mode == "value":
        out = _pairs_cuda(X64.reshape(1, n, d), Y64.reshape(1, m, d), code, gamma, 0, stream)
        return out_dtype.type(_launch.small_to_host(out, stream)[0, 0])
    R = _launch.empty((n + 1, m + 1), np.float64, stream)
    P = _launch.empty((n, m, 3), np.float64, stream)
    E = _launch.empty((n, m), np.float64, stream)
    blocks, threads = _launch.grid_1d(max(n, m) + 1)
    _init_border_kernel[blocks, threads, stream](R)
    width = _block(min(n, m))
    _forward_kernel[1, width, stream](X64, Y64, code, gamma, R, P)
    value = out_dtype.type(_launch.scalar_to_host(R[n], m, stream))
    _backward_kernel[1, width, stream](P, E)
    if mode == "alignment":
        return value, _launch.to_caller(_out(E, out_dtype, stream), placement.kind)
    G = _launch.empty((n, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(n * d)
    _grad_kernel[blocks, threads, stream](X64, Y64, E, code, G)
    G = _out(G, out_dtype, stream)
    if one_d:
        G = G.reshape(n)
    return value, _launch.to_caller(G, placement.kind)


def _pairs_cuda(A, B, code, gamma, hard, stream):
    """(N, M) float64 device matrix of soft-DTW (hard=0) or DTW (hard=1) between float64 (N, n, d), (M, m, d)."""
    N, n = int(A.shape[0]), int(A.shape[1])
    M, m = int(B.shape[0]), int(B.shape[1])
    out = _launch.empty((N, M), np.float64, stream)
    total = N * M
    chunk = min(total, PAIR_CHUNK)
    scratch = _launch.empty((chunk, 3, n + 1), np.float64, stream)
    width = _block(min(n, m))
    for first in range(0, total, chunk):
        _pairs_kernel[min(chunk, total - first), width, stream](A, B, first, code, gamma, hard, scratch, out)
    return out


def cdist_soft_dtw_cuda(A64, B64, code, gamma, out_dtype, placement):
    """soft-DTW between the series of two checked float64 (N, n, d) and (M, m, d) device collections (the
    front-end's ``timeseries.collection`` step): (N, M) in ``out_dtype`` on the device."""
    stream = placement.stream
    out = _pairs_cuda(A64, B64, code, gamma, 0, stream)
    return _launch.to_caller(_out(out, out_dtype, stream), placement.kind)


def cdist_dtw_cuda(A64, B64, code, out_dtype, placement):
    """DTW (no band) between the series of two checked float64 device collections: (N, M) in ``out_dtype`` on the
    device."""
    stream = placement.stream
    out = _pairs_cuda(A64, B64, code, 1.0, 1, stream)
    return _launch.to_caller(_out(out, out_dtype, stream), placement.kind)
