"""Bures-Wasserstein closed forms on the GPU: matrix square roots by coupled Newton-Schulz iterations, batched.

The CPU cores (``gaussian._bures``) take square roots by symmetric eigendecomposition; a GPU has no batched
``eigh`` in Numba, so here a symmetric positive semi-definite ``A`` is scaled to ``A / s`` (``s = ||A||_F``, so
that its eigenvalues lie in (0, 1]) and the coupled Newton-Schulz iteration (Higham 1997)

    T = (3 I - Z Y) / 2,   Y <- Y T,   Z <- T Z,     from Y = A / s, Z = I

converges quadratically to ``Y = (A / s)^{1/2}``, ``Z = (A / s)^{-1/2}``; then ``A^{1/2} = sqrt(s) Y`` and
``A^{-1/2} = Z / sqrt(s)``. One CUDA block per matrix (threads share its d^2 entries, work buffers in global
memory); the iteration stops when ``||Y_new - Y||_F <= tol`` (``tol`` relative to ``||Y||_F``, which is at least
``1 / sqrt(d)``). An eigenvalue ``lambda`` needs about ``log(s / lambda) / log(2.25)`` iterations to enter the
quadratic phase, so 100 iterations cover every float64 condition number; a matrix that does not converge gets
``MAX_ITER_REACHED`` (a non-finite iterate ``NUMERICAL_ERROR``) in its status entry, which the front-end reports.

Everything is float64 on C-contiguous device arrays made by this module from the caller's arrays. Host drivers
return device arrays (the front-end hands them back as the caller's kind) and copy to the host only per-matrix
scalars: check results, statuses and the barycenter's change per iteration.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from . import _launch

#: Shared buffer of the block reductions (the block size of the Newton-Schulz kernel never exceeds it).
_BUF = 256
#: Newton-Schulz defaults (documented in the Gaussian front-ends).
NS_TOL = 1e-12
NS_MAX_ITER = 100
#: Pairs of Gaussians per batch of ``bures_squared_cuda`` (bounds the (pairs, d, d) work buffers).
_PAIRS_PER_BATCH = 4096


# ---------------------------------------------------------------------------------------------------- layouts
@cuda.jit(device=True)
def _stack_index(t, d):
    """``(k, i, j)`` of the flat index ``t`` into a C-ordered stack of (d, d) matrices."""
    dd = d * d
    k = t // dd
    e = t - k * dd
    i = e // d
    return k, i, e - i * d


@cuda.jit
def _stack_f64_kernel(x, out):
    """``out[k, i, j] = x[k, i, j]`` (x: (K, d, d) of any layout and float dtype)."""
    t = cuda.grid(1)
    d = out.shape[1]
    if t < out.shape[0] * d * d:
        k, i, j = _stack_index(t, d)
        out[k, i, j] = x[k, i, j]


@cuda.jit
def _single_f64_kernel(x, out):
    """``out[0, i, j] = x[i, j]``."""
    t = cuda.grid(1)
    d = out.shape[1]
    if t < d * d:
        i = t // d
        out[0, i, t - i * d] = x[i, t - i * d]


def as_stack(x, stream):
    """A float64 C-contiguous (K, d, d) device copy of a (d, d) or (K, d, d) device array."""
    x = _launch.wrap(x)
    if x.ndim == 2:
        d = int(x.shape[0])
        out = _launch.empty((1, d, d), np.float64, stream)
        blocks, threads = _launch.grid_1d(d * d)
        _single_f64_kernel[blocks, threads, stream](x, out)
        return out
    K, d = int(x.shape[0]), int(x.shape[1])
    out = _launch.empty((K, d, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(K * d * d)
    _stack_f64_kernel[blocks, threads, stream](x, out)
    return out


def as_rows(x, stream):
    """A float64 C-contiguous (K, d) device copy of a (d,) or (K, d) device array."""
    x = _launch.wrap(x)
    out = _launch.as_float64_2d(x, stream)
    if x.ndim == 1:
        return out.reshape(1, int(x.shape[0]))
    return out


# ----------------------------------------------------------------------------------------------------- checks
@cuda.jit
def _matrix_stats_kernel(C, stats):
    """Per matrix k (one thread): non-finite count, max |C_ij - C_ji|, max |C_ij| of the finite entries."""
    k = cuda.grid(1)
    if k < C.shape[0]:
        d = C.shape[1]
        bad = 0
        asym = 0.0
        top = 0.0
        for i in range(d):
            for j in range(d):
                x = C[k, i, j]
                if not math.isfinite(x):
                    bad += 1
                    continue
                top = max(top, abs(x))
                y = C[k, j, i]
                if math.isfinite(y):
                    asym = max(asym, abs(x - y))
        stats[k, 0] = bad
        stats[k, 1] = asym
        stats[k, 2] = top


def matrix_stats_cuda(C, stream):
    """(K, 3) host array: non-finite count, largest asymmetry, largest |entry| of each matrix of ``C``."""
    K = int(C.shape[0])
    stats = _launch.empty((K, 3), np.float64, stream)
    blocks, threads = _launch.grid_1d(K)
    _matrix_stats_kernel[blocks, threads, stream](C, stats)
    return _launch.small_to_host(stats, stream)


@cuda.jit
def _symmetrize_kernel(C):
    t = cuda.grid(1)
    d = C.shape[1]
    if t < C.shape[0] * d * d:
        k, i, j = _stack_index(t, d)
        if i < j:
            s = 0.5 * (C[k, i, j] + C[k, j, i])
            C[k, i, j] = s
            C[k, j, i] = s


def symmetrize_cuda(C, stream):
    """Average ``C[k]`` and its transpose, in place."""
    blocks, threads = _launch.grid_1d(int(C.shape[0]) * int(C.shape[1]) ** 2)
    _symmetrize_kernel[blocks, threads, stream](C)


@cuda.jit
def _cholesky_kernel(C, rel, work, ok):
    """``ok[k] = 1`` when ``C[k] + rel * max|C[k]| * I`` has a Cholesky factor (positive pivots), else 0.

    One thread per matrix, in its slice of ``work``. ``rel > 0`` tests ``lambda_min > -rel * scale`` (PSD up to
    noise), ``rel < 0`` tests ``lambda_min > |rel| * scale`` (positive definite beyond noise)."""
    k = cuda.grid(1)
    if k < C.shape[0]:
        d = C.shape[1]
        top = 0.0
        for i in range(d):
            for j in range(d):
                top = max(top, abs(C[k, i, j]))
        shift = rel * top
        for i in range(d):
            for j in range(d):
                work[k, i, j] = C[k, i, j]
            work[k, i, i] += shift
        good = 1
        for j in range(d):
            s = work[k, j, j]
            for p in range(j):
                s -= work[k, j, p] * work[k, j, p]
            if not s > 0.0:
                good = 0
                break
            r = math.sqrt(s)
            work[k, j, j] = r
            for i in range(j + 1, d):
                v = work[k, i, j]
                for p in range(j):
                    v -= work[k, i, p] * work[k, j, p]
                work[k, i, j] = v / r
        if top == 0.0 and rel > 0.0:
            good = 1  # the zero matrix is PSD
        ok[k] = good


def cholesky_ok_cuda(C, rel, stream):
    """Host int array (K,): 1 where ``C[k] + rel * max|C[k]| I`` is positive definite (see the kernel)."""
    K, d = int(C.shape[0]), int(C.shape[1])
    work = _launch.empty((K, d, d), np.float64, stream)
    ok = _launch.empty(K, np.int64, stream)
    blocks, threads = _launch.grid_1d(K)
    _cholesky_kernel[blocks, threads, stream](C, float(rel), work, ok)
    return _launch.small_to_host(ok, stream)


# ----------------------------------------------------------------------------------------------- Newton-Schulz
@cuda.jit(device=True)
def _block_sum(buf, value):
    """The sum over the block of each thread's ``value``, returned to every thread (same order: same bits)."""
    tid = cuda.threadIdx.x
    buf[tid] = value
    cuda.syncthreads()
    total = 0.0
    for r in range(cuda.blockDim.x):
        total += buf[r]
    cuda.syncthreads()
    return total


@cuda.jit(device=True)
def _entry(A, B, i, j):
    """``(A @ B)[i, j]`` of two (d, d) matrices (k in increasing order)."""
    acc = 0.0
    for k in range(A.shape[1]):
        acc += A[i, k] * B[k, j]
    return acc


@cuda.jit(device=True)
def _block_product(A, B, scale, diagonal, out):
    """``out = scale A @ B + diagonal I``, the block's threads striding over the d^2 entries (no barrier: the
    caller synchronises before reading ``out``)."""
    d = out.shape[0]
    for e in range(cuda.threadIdx.x, d * d, cuda.blockDim.x):
        i = e // d
        j = e - i * d
        out[i, j] = scale * _entry(A, B, i, j) + (diagonal if i == j else 0.0)


@cuda.jit
def _newton_schulz_kernel(A, root, inv, trace, work, tol, max_iter, status, iters):
    """``root[b] = A[b]^{1/2}``, ``inv[b] = A[b]^{-1/2}`` (valid when A[b] is positive definite), ``trace[b]`` the
    trace of the root, by coupled Newton-Schulz iterations; one block per matrix (see the module docstring)."""
    buf = cuda.shared.array(_BUF, float64)
    b = cuda.blockIdx.x
    if b >= A.shape[0]:
        return
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    d = A.shape[1]
    dd = d * d
    Y = work[b, 0]
    Z = work[b, 1]
    T = work[b, 2]
    Yn = work[b, 3]
    Zn = work[b, 4]
    acc = 0.0
    for e in range(tid, dd, nt):
        i = e // d
        x = A[b, i, e - i * d]
        acc += x * x
    s = math.sqrt(_block_sum(buf, acc))
    if s == 0.0 or not math.isfinite(s):
        for e in range(tid, dd, nt):
            i = e // d
            root[b, i, e - i * d] = 0.0
            inv[b, i, e - i * d] = 0.0
        if tid == 0:
            trace[b] = 0.0
            status[b] = OPTIMAL if s == 0.0 else NUMERICAL_ERROR
            iters[b] = 0
        return
    for e in range(tid, dd, nt):
        i = e // d
        j = e - i * d
        Y[i, j] = A[b, i, j] / s
        Z[i, j] = 1.0 if i == j else 0.0
    cuda.syncthreads()
    state = MAX_ITER_REACHED
    it = 0
    while it < max_iter:
        _block_product(Z, Y, -0.5, 1.5, T)
        cuda.syncthreads()
        change = 0.0
        for e in range(tid, dd, nt):
            i = e // d
            j = e - i * d
            acc_y = _entry(Y, T, i, j)
            acc_z = _entry(T, Z, i, j)
            Yn[i, j] = acc_y
            Zn[i, j] = acc_z
            diff = acc_y - Y[i, j]
            change += diff * diff
        change = math.sqrt(_block_sum(buf, change))  # also a barrier: every Yn, Zn entry is written
        for e in range(tid, dd, nt):
            i = e // d
            j = e - i * d
            Y[i, j] = Yn[i, j]
            Z[i, j] = Zn[i, j]
        cuda.syncthreads()
        it += 1
        if not math.isfinite(change):
            state = NUMERICAL_ERROR
            break
        if change <= tol:
            state = OPTIMAL
            break
    r = math.sqrt(s)
    part = 0.0
    for e in range(tid, dd, nt):
        i = e // d
        j = e - i * d
        root[b, i, j] = 0.5 * r * (Y[i, j] + Y[j, i])
        inv[b, i, j] = 0.5 * (Z[i, j] + Z[j, i]) / r
        if i == j:
            part += Y[i, i]
    total = _block_sum(buf, part)
    if tid == 0:
        trace[b] = r * total
        status[b] = state
        iters[b] = it


def sqrtm_cuda(A, stream, tol=NS_TOL, max_iter=NS_MAX_ITER):
    """Square roots of the symmetric PSD matrices ``A`` (B, d, d) (float64 device array).

    Returns device arrays ``(root (B, d, d), inv_root (B, d, d), trace (B,), status (B,), iters (B,))``;
    ``inv_root`` is meaningful only for positive definite matrices.
    """
    B, d = int(A.shape[0]), int(A.shape[1])
    root = _launch.empty((B, d, d), np.float64, stream)
    inv = _launch.empty((B, d, d), np.float64, stream)
    trace = _launch.empty(B, np.float64, stream)
    status = _launch.empty(B, np.int64, stream)
    iters = _launch.empty(B, np.int64, stream)
    work = _launch.empty((B, 5, d, d), np.float64, stream)
    threads = max(1, min(_launch.threads_per_block(), _BUF, d * d))
    _newton_schulz_kernel[B, threads, stream](A, root, inv, trace, work, float(tol), int(max_iter), status, iters)
    return root, inv, trace, status, iters


def worst_status(status, stream) -> int:
    """The worst entry of a device status array (NUMERICAL_ERROR over MAX_ITER_REACHED over OPTIMAL)."""
    host = _launch.small_to_host(status, stream)
    if np.any(host == NUMERICAL_ERROR):
        return NUMERICAL_ERROR
    if np.any(host == MAX_ITER_REACHED):
        return MAX_ITER_REACHED
    return OPTIMAL


# ------------------------------------------------------------------------------------------ batched products
@cuda.jit
def _bmm_kernel(X, ix, Y, iy, out):
    """``out[p] = X[ix[p]] @ Y[iy[p]]`` (one thread per entry)."""
    t = cuda.grid(1)
    d = out.shape[1]
    if t < out.shape[0] * d * d:
        p, i, j = _stack_index(t, d)
        a = ix[p]
        c = iy[p]
        acc = 0.0
        for k in range(d):
            acc += X[a, i, k] * Y[c, k, j]
        out[p, i, j] = acc


def bmm_cuda(X, ix, Y, iy, stream, out=None):
    """``X[ix[p]] @ Y[iy[p]]`` for every p (index arrays on the device)."""
    P, d = int(ix.shape[0]), int(X.shape[1])
    if out is None:
        out = _launch.empty((P, d, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(P * d * d)
    _bmm_kernel[blocks, threads, stream](X, ix, Y, iy, out)
    return out


def _index(values, stream):
    return cuda.to_device(np.ascontiguousarray(values, dtype=np.int64), stream=stream)


def sandwich_cuda(R, ir, C, ic, stream):
    """``R[ir[p]] @ C[ic[p]] @ R[ir[p]]``, symmetrised, for every p."""
    P = int(ir.shape[0])
    left = bmm_cuda(R, ir, C, ic, stream)
    out = bmm_cuda(left, _index(np.arange(P), stream), R, ir, stream)
    symmetrize_cuda(out, stream)
    return out


# ----------------------------------------------------------------------------------------------- distances
@cuda.jit
def _bures_value_kernel(ms, mt, Cs, Ct, ix, iy, cross, base, out):
    """``out[base + p] = max(|ms_i - mt_j|^2 + tr Cs_i + tr Ct_j - 2 cross[p], 0)`` for the pair p = (ix, iy)."""
    p = cuda.grid(1)
    if p < ix.shape[0]:
        i = ix[p]
        j = iy[p]
        gap = 0.0
        tr = 0.0
        for k in range(ms.shape[1]):
            diff = ms[i, k] - mt[j, k]
            gap += diff * diff
            tr += Cs[i, k, k] + Ct[j, k, k]
        out[base + p] = max(gap + tr - 2.0 * cross[p], 0.0)


def bures_squared_cuda(ms, mt, Cs, Ct, paired, stream, tol=NS_TOL, max_iter=NS_MAX_ITER):
    """Squared Bures-Wasserstein distances (float64 device array, (n*m,) or (n,) when ``paired``) between the
    checked float64 device stacks; and the worst Newton-Schulz status."""
    n, m = int(ms.shape[0]), int(mt.shape[0])
    roots, _, _, status, _ = sqrtm_cuda(Cs, stream, tol, max_iter)
    worst = worst_status(status, stream)
    if paired:
        pairs_i, pairs_j = np.arange(n), np.arange(n)
    else:
        pairs_i, pairs_j = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    total = pairs_i.shape[0]
    out = _launch.empty(total, np.float64, stream)
    for start in range(0, total, _PAIRS_PER_BATCH):
        ir = _index(pairs_i[start:start + _PAIRS_PER_BATCH], stream)
        ic = _index(pairs_j[start:start + _PAIRS_PER_BATCH], stream)
        middle = sandwich_cuda(roots, ir, Ct, ic, stream)
        _, _, cross, status, _ = sqrtm_cuda(middle, stream, tol, max_iter)
        worst = max(worst, worst_status(status, stream), key=_severity)
        blocks, threads = _launch.grid_1d(int(ir.shape[0]))
        _bures_value_kernel[blocks, threads, stream](ms, mt, Cs, Ct, ir, ic, cross, start, out)
    return out, worst


def _severity(status):
    return {OPTIMAL: 0, MAX_ITER_REACHED: 1, NUMERICAL_ERROR: 2}.get(int(status), 2)


@cuda.jit
def _sqrt_kernel(x, out):
    t = cuda.grid(1)
    if t < x.shape[0]:
        out[t] = math.sqrt(x[t])


def sqrt_vector_cuda(x, stream):
    out = _launch.empty(int(x.shape[0]), np.float64, stream)
    blocks, threads = _launch.grid_1d(int(x.shape[0]))
    _sqrt_kernel[blocks, threads, stream](x, out)
    return out


# ---------------------------------------------------------------------------------------------------- mapping
@cuda.jit
def _translation_kernel(ms, mt, A, out):
    """``out[j] = mt[0, j] - sum_i ms[0, i] A[0, i, j]``."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        acc = 0.0
        for i in range(ms.shape[1]):
            acc += ms[0, i] * A[0, i, j]
        out[j] = mt[0, j] - acc


def bures_map_cuda(ms, mt, Cs, Ct, stream, tol=NS_TOL, max_iter=NS_MAX_ITER):
    """``(A (1, d, d), b (d,), worst status)`` of the Monge map between one pair of checked device Gaussians
    (``Cs`` positive definite: checked by the caller)."""
    zero = _index([0], stream)
    root, inv, _, status, _ = sqrtm_cuda(Cs, stream, tol, max_iter)
    worst = worst_status(status, stream)
    middle = sandwich_cuda(root, zero, Ct, zero, stream)
    mroot, _, _, status, _ = sqrtm_cuda(middle, stream, tol, max_iter)
    worst = max(worst, worst_status(status, stream), key=_severity)
    A = sandwich_cuda(inv, zero, mroot, zero, stream)
    d = int(Cs.shape[1])
    b = _launch.empty(d, np.float64, stream)
    blocks, threads = _launch.grid_1d(d)
    _translation_kernel[blocks, threads, stream](ms, mt, A, b)
    return A, b, worst


# -------------------------------------------------------------------------------------------------- moments
@cuda.jit
def _mean_partials_kernel(x, w, uniform, rows, partial):
    """``partial[r, k] = sum over the rows of chunk r of w_i x[i, k]`` (w_i = 1 when ``uniform``)."""
    t = cuda.grid(1)
    d = x.shape[1]
    if t < partial.shape[0] * d:
        r = t // d
        k = t - r * d
        acc = 0.0
        for i in range(r * rows, min(x.shape[0], (r + 1) * rows)):
            acc += x[i, k] if uniform else w[i, 0] * x[i, k]
        partial[r, k] = acc


@cuda.jit
def _cov_partials_kernel(x, w, uniform, mean, rows, partial):
    """``partial[r, a, c] = sum over chunk r of w_i (x_ia - mean_a)(x_ic - mean_c)`` for a <= c."""
    t = cuda.grid(1)
    d = x.shape[1]
    if t < partial.shape[0] * d * d:
        r, a, c = _stack_index(t, d)
        if a <= c:
            acc = 0.0
            for i in range(r * rows, min(x.shape[0], (r + 1) * rows)):
                v = (x[i, a] - mean[0, a]) * (x[i, c] - mean[0, c])
                acc += v if uniform else w[i, 0] * v
            partial[r, a, c] = acc


@cuda.jit
def _finish_mean_kernel(partial, total, out):
    k = cuda.grid(1)
    if k < out.shape[1]:
        acc = 0.0
        for r in range(partial.shape[0]):
            acc += partial[r, k]
        out[0, k] = acc / total


@cuda.jit
def _finish_cov_kernel(partial, total, reg, out):
    t = cuda.grid(1)
    d = out.shape[1]
    if t < d * d:
        a = t // d
        c = t - a * d
        lo = min(a, c)
        hi = max(a, c)
        acc = 0.0
        for r in range(partial.shape[0]):
            acc += partial[r, lo, hi]
        v = acc / total
        if a == c:
            v += reg
        out[0, a, c] = v


#: Rows summed by one thread of the moment kernels.
_ROWS_PER_THREAD = 256


def moments_cuda(x, w, total, bias, reg, stream):
    """Mean (1, d) and covariance + reg I (1, d, d) of the rows of the float64 (n, d) device array ``x``, weighted
    by the float64 (n, 1) device array ``w`` (None: uniform) of sum ``total``; ``bias=False``: mean 0."""
    n, d = int(x.shape[0]), int(x.shape[1])
    chunks = max(1, -(-n // _ROWS_PER_THREAD))
    uniform = w is None
    weights = w if w is not None else _launch.empty((1, 1), np.float64, stream)
    mean = _launch.empty((1, d), np.float64, stream)
    if bias:
        partial = _launch.empty((chunks, d), np.float64, stream)
        blocks, threads = _launch.grid_1d(chunks * d)
        _mean_partials_kernel[blocks, threads, stream](x, weights, uniform, _ROWS_PER_THREAD, partial)
        blocks, threads = _launch.grid_1d(d)
        _finish_mean_kernel[blocks, threads, stream](partial, float(total), mean)
    else:
        mean = cuda.to_device(np.zeros((1, d)), stream=stream)
    partial = _launch.empty((chunks, d, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(chunks * d * d)
    _cov_partials_kernel[blocks, threads, stream](x, weights, uniform, mean, _ROWS_PER_THREAD, partial)
    cov = _launch.empty((1, d, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(d * d)
    _finish_cov_kernel[blocks, threads, stream](partial, float(total), float(reg), cov)
    return mean, cov


# ------------------------------------------------------------------------------------------------ barycenter
@cuda.jit
def _weighted_sum_kernel(X, weights, out):
    """``out[0] = sum_k weights[k] X[k]``."""
    t = cuda.grid(1)
    d = X.shape[1]
    if t < d * d:
        i = t // d
        j = t - i * d
        acc = 0.0
        for k in range(X.shape[0]):
            acc += weights[k] * X[k, i, j]
        out[0, i, j] = acc


@cuda.jit
def _weighted_mean_rows_kernel(m, weights, out):
    """``out[j] = sum_k weights[k] m[k, j]``."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        acc = 0.0
        for k in range(m.shape[0]):
            acc += weights[k] * m[k, j]
        out[j] = acc


@cuda.jit
def _barycenter_step_kernel(T, S, step, G, GS, change):
    """One block: ``G = step T + (1 - step) I``, ``S <- sym(G S G)``, ``change[0] = ||S_new - S||_F``."""
    buf = cuda.shared.array(_BUF, float64)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    d = S.shape[1]
    dd = d * d
    for e in range(tid, dd, nt):
        i = e // d
        j = e - i * d
        G[i, j] = step * T[0, i, j] + ((1.0 - step) if i == j else 0.0)
    cuda.syncthreads()
    _block_product(G, S[0], 1.0, 0.0, GS)
    cuda.syncthreads()
    part = 0.0
    for e in range(tid, dd, nt):
        i = e // d
        j = e - i * d
        v = 0.5 * (_entry(GS, G, i, j) + _entry(GS, G, j, i))
        diff = v - S[0, i, j]
        part += diff * diff
        T[0, i, j] = v  # T is free now: it holds S_new until every thread has read S
    total = _block_sum(buf, part)
    for e in range(tid, dd, nt):
        i = e // d
        S[0, i, e - i * d] = T[0, i, e - i * d]
    if tid == 0:
        change[0] = math.sqrt(total)


def barycenter_cuda(m, C, weights, start, step, max_iter, tol, stream, ns_tol=NS_TOL, ns_max_iter=NS_MAX_ITER):
    """Bures-Wasserstein barycenter of the checked device stacks ``m`` (K, d), ``C`` (K, d, d) with host weights.

    ``start`` (1, d, d) is the initial covariance (positive definite: checked by the caller). Each iteration maps S
    to ``G S G`` with ``G = step T + (1 - step) I`` and ``T = S^{-1/2} (sum_k w_k (S^{1/2} C_k S^{1/2})^{1/2})
    S^{-1/2}`` (as ``gaussian._bures.bures_barycenter_core``). Returns ``(mb (d,), Cb (d, d), status, n_iter,
    change)``, status NUMERICAL_ERROR when the iterate stops being positive definite or a square root fails.
    """
    K, d = int(C.shape[0]), int(C.shape[1])
    w = cuda.to_device(np.ascontiguousarray(weights, dtype=np.float64), stream=stream)
    mb = _launch.empty(d, np.float64, stream)
    blocks, threads = _launch.grid_1d(d)
    _weighted_mean_rows_kernel[blocks, threads, stream](m, w, mb)
    S = start
    zero = _index([0], stream)
    all_k = _index(np.arange(K), stream)
    zeros_k = _index(np.zeros(K), stream)
    Sum = _launch.empty((1, d, d), np.float64, stream)
    G = _launch.empty((d, d), np.float64, stream)
    GS = _launch.empty((d, d), np.float64, stream)
    change_d = _launch.empty(1, np.float64, stream)
    block = max(1, min(_launch.threads_per_block(), _BUF, d * d))
    change = math.inf
    for it in range(max_iter):
        ok = cholesky_ok_cuda(S, -1e-14, stream)
        root, inv, _, status, _ = sqrtm_cuda(S, stream, ns_tol, ns_max_iter)
        if not ok[0] or worst_status(status, stream) == NUMERICAL_ERROR:
            return mb, S[0], NUMERICAL_ERROR, it, change
        left = bmm_cuda(root, zeros_k, C, all_k, stream)
        middle = bmm_cuda(left, all_k, root, zeros_k, stream)
        symmetrize_cuda(middle, stream)
        roots, _, _, status, _ = sqrtm_cuda(middle, stream, ns_tol, ns_max_iter)
        if worst_status(status, stream) == NUMERICAL_ERROR:
            return mb, S[0], NUMERICAL_ERROR, it, change
        blocks, threads = _launch.grid_1d(d * d)
        _weighted_sum_kernel[blocks, threads, stream](roots, w, Sum)
        T = sandwich_cuda(inv, zero, Sum, zero, stream)
        _barycenter_step_kernel[1, block, stream](T, S, float(step), G, GS, change_d)
        change = float(_launch.small_to_host(change_d, stream)[0])
        if not math.isfinite(change):
            return mb, S[0], NUMERICAL_ERROR, it + 1, change
        if change <= tol:
            return mb, S[0], OPTIMAL, it + 1, change
    return mb, S[0], MAX_ITER_REACHED, max_iter, change
