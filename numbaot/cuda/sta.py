"""The spatio-temporal alignment on the GPU: the frame costs (Sinkhorn divergences between histograms on a grid) and
the soft-DTW over them, device arrays in, device arrays out; the CUDA twin of ``timeseries._sta``.

One block per problem: the self-problems ``OT(x_i, x_i)`` (one block per frame) and then the cross problems
``OT(x_i, y_j)`` (one block per pair, in chunks so that the scratch stays bounded) each run their whole annealed
solve inside one kernel launch, the threads of the block sharing the bins of every half-step; the decisions of the
loop (the errors, the over-relaxation factor, when to stop) are block reductions that every thread reads alike, so
the threads take the same branches without a broadcast. The loops are the CPU cores' (``_sta._solve_self``,
``_sta._solve_cross``) step for step, and the math inside them is the CPU's own bodies (twins): the log-sum-exp of
one output of a grid line (``_sta.line_lse``), one bin's fixed-point error (``_sta.fixed_point_term``) and the
over-relaxation rule (``_sta.observe``). The soft-DTW over the frame costs is the time-series kernels' anti-diagonal
wavefront (``soft_cell``, a twin) on the (T_x, T_y) matrix, its backward pass ``cuda.timeseries._backward_kernel``.

Everything runs in float64. The drivers take checked inputs: the front-end (``timeseries.api``) has the frames
copied to float64 and checked on the device (the ``sta.frames`` dispatch step, ``cuda._checks.frames_cuda``: the
host's messages), judges their masses there (``_validation.check_frame_masses``) and passes the factors that
rescale every frame to the first one's mass; only per-problem statuses and the value come back.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda, float64

from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..timeseries._bodies import soft_cell
from ..timeseries._sta import fixed_point_term, line_lse, observe, relaxed
from . import _launch
from .timeseries import _backward_kernel, _init_border_kernel

_line_lse = line_lse.cuda  # kernels resolve module globals, not attributes
_term = fixed_point_term.cuda
_observe = observe.cuda
_relaxed = relaxed.cuda
_soft_cell = soft_cell.cuda

_BUF = _launch.MAX_THREADS_PER_BLOCK
#: Scratch rows per problem: h, t, e, the lines' maxima, and two updates (the cross problem's f and g besides).
_SCRATCH = 6
#: Bound on the cross problems' scratch per launch, in float64 entries (256 MiB).
SCRATCH_FLOATS = 2**25


# ----------------------------------------------------------------------------------------- block-level helpers
@cuda.jit(device=True)
def _add(x, y):
    return x + y


@cuda.jit(device=True)
def _larger(x, y):
    return max(x, y)


def _block_reduction(combine):
    """A device function ``(value, buf) -> combine of every thread's value over the block``, returned to all of
    them: a tree in the shared buffer ``buf``, ``combine`` an associative device function."""

    @cuda.jit(device=True)
    def reduce(value, buf):
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        buf[tid] = value
        cuda.syncthreads()
        step = 1
        while step < nt:
            if tid % (2 * step) == 0 and tid + step < nt:
                buf[tid] = combine(buf[tid], buf[tid + step])
            step *= 2
            cuda.syncthreads()
        out = buf[0]
        cuda.syncthreads()
        return out

    return reduce


_block_sum = _block_reduction(_add)
_block_max = _block_reduction(_larger)


@cuda.jit(device=True)
def _axis_pass(src, dst, e, tops, K, cost, inv_eps, lines, size):
    """``dst[c * lines + l] = log sum_q exp(src[l * size + q] - cost[c, q] inv_eps)`` (the CPU's ``_axis_pass``):
    the lines' maxima, their exponentials, then one output per thread."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    ln = tid
    while ln < lines:
        base = ln * size
        top = -math.inf
        for q in range(size):
            if src[base + q] > top:
                top = src[base + q]
        tops[ln] = top
        ln += nt
    cuda.syncthreads()
    N = lines * size
    i = tid
    while i < N:
        top = tops[i // size]
        e[i] = math.exp(src[i] - top) if top > -math.inf else 0.0
        i += nt
    cuda.syncthreads()
    i = tid
    while i < N:
        ln = i // size
        c = i - ln * size
        dst[c * lines + ln] = _line_lse(src, e, ln * size, size, tops[ln], K, cost, inv_eps, c)
        i += nt
    cuda.syncthreads()


@cuda.jit(device=True)
def _softmin(log_w, other, eps, Kh, Kw, cost_h, cost_w, h, t, e, tops, out):
    """``out = -eps log sum_j w_j exp((other_j - C_ij) / eps)`` on the grid (the CPU's ``_softmin``)."""
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    H, W = cost_h.shape[0], cost_w.shape[0]
    N = H * W
    inv_eps = 1.0 / eps
    i = tid
    while i < N:
        h[i] = other[i] * inv_eps + log_w[i]
        i += nt
    cuda.syncthreads()
    _axis_pass(h, t, e, tops, Kw, cost_w, inv_eps, H, W)
    _axis_pass(t, h, e, tops, Kh, cost_h, inv_eps, W, H)
    i = tid
    while i < N:
        out[i] = eps * (0.0 - h[i])
        i += nt
    cuda.syncthreads()


@cuda.jit(device=True)
def _error(w, old, new, eps, buf):
    inv_eps = 1.0 / eps
    partial = 0.0
    i = cuda.threadIdx.x
    while i < w.shape[0]:
        partial += _term(w[i], old[i], new[i], inv_eps)
        i += cuda.blockDim.x
    return _block_sum(partial, buf)


@cuda.jit(device=True)
def _relax(old, new, weight):
    """``old + weight (new - old)`` into ``old``, ``new`` itself at 1 (``_sta.relaxed``, the host's arithmetic)."""
    i = cuda.threadIdx.x
    while i < old.shape[0]:
        old[i] = _relaxed(old[i], new[i], weight)
        i += cuda.blockDim.x
    cuda.syncthreads()


@cuda.jit(device=True)
def _fill(x, value):
    i = cuda.threadIdx.x
    while i < x.shape[0]:
        x[i] = value
        i += cuda.blockDim.x
    cuda.syncthreads()


@cuda.jit(device=True)
def _nonfinite(v, w, buf):
    """How many entries of v are not finite where w > 0 (over the block)."""
    count = 0.0
    i = cuda.threadIdx.x
    while i < v.shape[0]:
        if w[i] > 0.0 and not math.isfinite(v[i]):
            count += 1.0
        i += cuda.blockDim.x
    return _block_sum(count, buf)


@cuda.jit(device=True)
def _dot_diff(w, u, v, buf):
    """``sum_i w_i (u_i - v_i)`` over the positive weights (over the block)."""
    partial = 0.0
    i = cuda.threadIdx.x
    while i < w.shape[0]:
        if w[i] > 0.0:
            partial += w[i] * (u[i] - v[i])
        i += cuda.blockDim.x
    return _block_sum(partial, buf)


# ------------------------------------------------------------------------------------------------------ kernels
@cuda.jit
def _log_kernel(A, out):
    t = cuda.grid(1)
    T, N = A.shape
    if t < T * N:
        k = t // N
        i = t - k * N
        out[k, i] = math.log(A[k, i]) if A[k, i] > 0.0 else -math.inf


@cuda.jit
def _self_kernel(A, logA, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, F, work, status, n_iter, errors):
    """Block k: the self-problem OT(A[k], A[k]), its symmetric potential into F[k] (``_sta._solve_self``)."""
    buf = cuda.shared.array(_BUF, float64)
    k = cuda.blockIdx.x
    a, la, f = A[k], logA[k], F[k]
    h, t, e, tops, new = work[k, 0], work[k, 1], work[k, 2], work[k, 3], work[k, 4]
    S = eps_list.shape[0]
    _fill(new, 0.0)
    _softmin(la, new, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, tops, f)
    n = 0
    err = 0.0
    for s in range(S):
        _softmin(la, f, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, tops, new)
        err = _error(a, f, new, eps_list[s], buf)
        _relax(f, new, 0.5)
        n += 1
    eps = eps_list[S - 1]
    st = MAX_ITER_REACHED
    while n < max_iter:
        _softmin(la, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, new)
        err = _error(a, f, new, eps, buf)
        _relax(f, new, 0.5)
        n += 1
        if not math.isfinite(err):
            st = NUMERICAL_ERROR
            break
        if err <= tol:
            st = OPTIMAL
            break
    _softmin(la, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, new)
    _relax(f, new, 1.0)
    n += 1
    if _nonfinite(f, a, buf) > 0.0:
        st = NUMERICAL_ERROR
    if cuda.threadIdx.x == 0:
        status[k] = st
        n_iter[k] = n
        errors[k] = err


@cuda.jit
def _cross_kernel(A, B, logA, logB, fa, gb, pairs, first, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol,
                  work, values, potentials, keep, status, n_iter, errors):
    """Block b: the pair p = first + b of ``pairs``: the divergence between A[i] and B[j] into values[p] from the
    self-potentials, and with ``keep`` its debiased potential on A[i]'s bins into potentials[p]
    (``_sta._solve_cross`` and ``cross_divergences_core``)."""
    buf = cuda.shared.array(_BUF, float64)
    state = cuda.local.array(5, float64)
    b = cuda.blockIdx.x
    p = first + b
    if p >= pairs.shape[0]:
        return
    i, j = pairs[p, 0], pairs[p, 1]
    a, b_, la, lb = A[i], B[j], logA[i], logB[j]
    h, t, e, tops = work[b, 0], work[b, 1], work[b, 2], work[b, 3]
    ft, gt, f, g = work[b, 4], work[b, 5], work[b, 6], work[b, 7]
    S = eps_list.shape[0]
    _fill(ft, 0.0)
    _softmin(la, ft, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, tops, g)
    _softmin(lb, ft, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, tops, f)
    n = 0
    err = 0.0
    for s in range(S):  # annealing: averaged updates, every side from the old values
        _softmin(lb, g, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, tops, ft)
        _softmin(la, f, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, tops, gt)
        err = _error(a, f, ft, eps_list[s], buf) + _error(b_, g, gt, eps_list[s], buf)
        _relax(f, ft, 0.5)
        _relax(g, gt, 0.5)
        n += 1
    eps = eps_list[S - 1]
    state[0] = 1.0
    state[1] = 1.0
    state[2] = math.nan
    state[3] = 0.0
    state[4] = 0.0
    st = MAX_ITER_REACHED
    while n < max_iter:  # alternate updates, over-relaxed by omega (every thread keeps the same state)
        omega = state[0]
        _softmin(lb, g, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, ft)
        _relax(f, ft, omega)
        _softmin(la, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, gt)
        err = _error(b_, g, gt, eps, buf)
        _relax(g, gt, omega)
        n += 1
        _observe(state, err)
        if not math.isfinite(err):
            st = NUMERICAL_ERROR
            break
        if err <= tol:
            st = OPTIMAL
            break
    _softmin(lb, g, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, ft)  # a last full update
    _softmin(la, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, tops, gt)
    _relax(f, ft, 1.0)
    _relax(g, gt, 1.0)
    n += 1
    if _nonfinite(f, a, buf) + _nonfinite(g, b_, buf) > 0.0:
        st = NUMERICAL_ERROR
    value = _dot_diff(a, f, fa[i], buf) + _dot_diff(b_, g, gb[j], buf)
    if keep:
        q = cuda.threadIdx.x
        while q < f.shape[0]:
            potentials[p, q] = f[q] - fa[i, q]
            q += cuda.blockDim.x
    if cuda.threadIdx.x == 0:
        values[p] = value
        status[p] = st
        n_iter[p] = n
        errors[p] = err


@cuda.jit
def _forward_matrix_kernel(D, gamma, R, P):
    """One block: soft-DTW's R[i + 1, j + 1] over the cost matrix D (n, m), anti-diagonal by anti-diagonal, and P
    the softmin weights (``cuda.timeseries._forward_kernel`` with the costs read from D)."""
    n, m = D.shape
    for k in range(n + m - 1):
        i_lo = max(0, k - m + 1)
        i_hi = min(n - 1, k)
        i = i_lo + cuda.threadIdx.x
        while i <= i_hi:
            j = k - i
            value, w_diag, w_up, w_left = _soft_cell(R[i, j], R[i, j + 1], R[i + 1, j], D[i, j], gamma)
            P[i, j, 0] = w_diag
            P[i, j, 1] = w_up
            P[i, j, 2] = w_left
            R[i + 1, j + 1] = value
            i += cuda.blockDim.x
        cuda.syncthreads()


@cuda.jit
def _weight_grad_kernel(E, potentials, weight, accumulate, G):
    """G[i, q] (+)= weight sum_j E[i, j] potentials[i * m + j, q] (the pairs in row-major order), one thread per
    (i, q)."""
    t = cuda.grid(1)
    n, N = G.shape
    m = E.shape[1]
    if t < n * N:
        i = t // N
        q = t - i * N
        total = 0.0
        for j in range(m):
            if E[i, j] != 0.0:
                total += E[i, j] * potentials[i * m + j, q]
        if accumulate:
            G[i, q] += weight * total
        else:
            G[i, q] = weight * total


@cuda.jit
def _scale_rows_kernel(A, factors, out):
    """out[t, q] = A[t, q] factors[t] (``out`` of any float dtype; it may be A)."""
    k = cuda.grid(1)
    T, N = A.shape
    if k < T * N:
        t = k // N
        out[t, k - t * N] = A[t, k - t * N] * factors[t]


@cuda.jit
def _axpy_kernel(out, alpha, A):
    """out += alpha A (2D, same shape)."""
    k = cuda.grid(1)
    T, N = A.shape
    if k < T * N:
        t = k // N
        out[t, k - t * N] += alpha * A[t, k - t * N]


@cuda.jit
def _centre_kernel(G, Z, mass, C, top, scale):
    """Block t, frame t: C[t] = G[t] - <G[t], Z[t]> / mass (the part of the gradient that changes the frame), its
    largest entry ``top[t]`` and its largest |entry| where Z > 0 ``scale[t]`` (``_HostDescent.centre``)."""
    buf = cuda.shared.array(_BUF, float64)
    t = cuda.blockIdx.x
    N = G.shape[1]
    partial = 0.0
    q = cuda.threadIdx.x
    while q < N:
        partial += G[t, q] * Z[t, q]
        q += cuda.blockDim.x
    dot = _block_sum(partial, buf) / mass
    high = -math.inf
    size = 0.0
    q = cuda.threadIdx.x
    while q < N:
        c = G[t, q] - dot
        C[t, q] = c
        high = max(high, c)
        if Z[t, q] > 0.0:
            size = max(size, abs(c))
        q += cuda.blockDim.x
    high = _block_max(high, buf)
    size = _block_max(size, buf)
    if cuda.threadIdx.x == 0:
        top[t] = high
        scale[t] = size


@cuda.jit
def _trial_kernel(Z, C, top, step, mass, out):
    """Block t: out[t] = Z[t] exp(-step (C[t] - top[t])), rescaled to ``mass`` (``_HostDescent.trial``)."""
    buf = cuda.shared.array(_BUF, float64)
    t = cuda.blockIdx.x
    N = Z.shape[1]
    partial = 0.0
    q = cuda.threadIdx.x
    while q < N:
        v = Z[t, q] * math.exp(-step * (C[t, q] - top[t]))
        out[t, q] = v
        partial += v
        q += cuda.blockDim.x
    total = _block_sum(partial, buf)
    factor = mass / total
    q = cuda.threadIdx.x
    while q < N:
        out[t, q] *= factor
        q += cuda.blockDim.x


@cuda.jit
def _scatter_kernel(values, pairs, D, symmetric):
    p = cuda.grid(1)
    if p < pairs.shape[0]:
        D[pairs[p, 0], pairs[p, 1]] = values[p]
        if symmetric:
            D[pairs[p, 1], pairs[p, 0]] = values[p]


# ------------------------------------------------------------------------------------------------------ drivers
def _block(N):
    return max(1, min(_launch.threads_per_block(), int(N)))


class DeviceGrid:
    """A ``_sta.GridProblem`` on the device: the schedule, the per-axis costs and their kernels."""

    def __init__(self, problem, stream):
        self.eps_list = problem.eps_list
        self.args = tuple(cuda.to_device(np.ascontiguousarray(x), stream=stream)
                          for x in (problem.eps_list, problem.Kh, problem.Kw, problem.cost_h, problem.cost_w))
        self.N = problem.cost_h.shape[0] * problem.cost_w.shape[0]


def _logs(A, stream):
    out = _launch.empty(A.shape, np.float64, stream)
    blocks, threads = _launch.grid_1d(A.shape[0] * A.shape[1])
    _log_kernel[blocks, threads, stream](A, out)
    return out


def self_potentials_cuda(grid, A, logA, max_iter, tol, stream):
    """The self-problems of the frames A (T, N): (potentials (T, N) on the device, (status, n_iter, errors) host)."""
    T, N = int(A.shape[0]), int(A.shape[1])
    F = _launch.empty((T, N), np.float64, stream)
    work = _launch.empty((T, _SCRATCH, N), np.float64, stream)
    status = _launch.empty(T, np.int64, stream)
    n_iter = _launch.empty(T, np.int64, stream)
    errors = _launch.empty(T, np.float64, stream)
    _self_kernel[T, _block(N), stream](A, logA, *grid.args, max_iter, tol, F, work, status, n_iter, errors)
    return F, tuple(_launch.small_to_host(x, stream) for x in (status, n_iter, errors))


def cross_divergences_cuda(grid, A, B, logA, logB, fa, gb, pairs, max_iter, tol, want_potentials, stream):
    """The divergences of the frame pairs (P, 2) (a device array): (values (P,), potentials (P, N) or None, on the
    device; (status, n_iter, errors) on the host)."""
    P, N = int(pairs.shape[0]), int(A.shape[1])
    values = _launch.empty(P, np.float64, stream)
    potentials = _launch.empty((P if want_potentials else 1, N), np.float64, stream)
    status = _launch.empty(P, np.int64, stream)
    n_iter = _launch.empty(P, np.int64, stream)
    errors = _launch.empty(P, np.float64, stream)
    chunk = max(1, min(P, SCRATCH_FLOATS // (8 * N)))
    work = _launch.empty((chunk, 8, N), np.float64, stream)
    for first in range(0, P, chunk):
        _cross_kernel[min(chunk, P - first), _block(N), stream](
            A, B, logA, logB, fa, gb, pairs, first, *grid.args, max_iter, tol, work, values, potentials,
            want_potentials, status, n_iter, errors)
    return values, (potentials if want_potentials else None), tuple(
        _launch.small_to_host(x, stream) for x in (status, n_iter, errors))


def frame_matrix_cuda(values, pairs, Ta, Tb, symmetric, stream):
    """The (Ta, Tb) device matrix of the pairs' values (zeros elsewhere; mirrored with ``symmetric``)."""
    D = cuda.to_device(np.zeros((Ta, Tb)), stream=stream)
    blocks, threads = _launch.grid_1d(int(pairs.shape[0]))
    _scatter_kernel[blocks, threads, stream](values, pairs, D, symmetric)
    return D


def soft_dtw_matrix_cuda(D, gamma, want_alignment, stream):
    """soft-DTW over the device cost matrix D (n, m): (value, E (n, m) on the device or None)."""
    n, m = int(D.shape[0]), int(D.shape[1])
    R = _launch.empty((n + 1, m + 1), np.float64, stream)
    P = _launch.empty((n, m, 3), np.float64, stream)
    blocks, threads = _launch.grid_1d(max(n, m) + 1)
    _init_border_kernel[blocks, threads, stream](R)
    width = max(1, min(_launch.threads_per_block(), min(n, m)))
    _forward_matrix_kernel[1, width, stream](D, gamma, R, P)
    value = float(_launch.scalar_to_host(R[n], m, stream))
    if not want_alignment:
        return value, None
    E = _launch.empty((n, m), np.float64, stream)
    _backward_kernel[1, width, stream](P, E)
    return value, E


def _launch_rows(kernel, A, stream, *args):
    blocks, threads = _launch.grid_1d(int(A.shape[0]) * int(A.shape[1]))
    kernel[blocks, threads, stream](*args)


def rescale_frames_cuda(frames, factors, stream):
    """Every frame (row) of the float64 device copies ``frames`` multiplied in place by its factor (``factors``:
    host arrays, one per copy, judged by the front-end with ``_validation.check_frame_masses``): the frames of the
    common mass. Returns ``frames``."""
    for A, c in zip(frames, factors):
        if np.any(c != 1.0):
            _launch_rows(_scale_rows_kernel, A, stream, A, cuda.to_device(np.asarray(c, np.float64), stream=stream),
                         A)
    return frames


def _frame_costs_cuda(grid, x, y, symmetric, want, max_iter, tol, reports, stream):
    """The (Ta, Tb) device matrix of the frame divergences between the sides ``x`` and ``y``, each ``(frames, their
    logs, their self-potentials)`` (:func:`_self_cuda`), and the pairs' potentials with ``want``."""
    from ..timeseries._sta import all_pairs

    (A, logA, fa), (B, logB, fb) = x, y
    pairs = cuda.to_device(all_pairs(int(A.shape[0]), int(B.shape[0]), upper=symmetric), stream=stream)
    values, pots, rep = cross_divergences_cuda(grid, A, B, logA, logB, fa, fb, pairs, max_iter, tol, want, stream)
    reports.append(("frame pairs", *rep))
    return frame_matrix_cuda(values, pairs, int(A.shape[0]), int(B.shape[0]), symmetric, stream), pots


def _self_cuda(grid, A, max_iter, tol, reports, stream):
    """The side of the frames A for :func:`_frame_costs_cuda`: ``(A, logs of A, self-potentials of A)`` (device
    arrays)."""
    logA = _logs(A, stream)
    fa, rep = self_potentials_cuda(grid, A, logA, max_iter, tol, stream)
    reports.append(("self-problems (OT of a frame with itself)", *rep))
    return A, logA, fa


def assemble_cuda(frame_costs, x, y, factors, gamma, return_grad, divergence, out_dtype, placement):
    """What ``sta`` and ``sta_divergence`` make of the frame costs, for the grid path (:func:`sta_cuda`) and the
    point-cloud / any-support path (``cuda.sta_clouds``) alike: soft-DTW over the frame divergences, on the device.

    ``frame_costs(x, y, symmetric, want)`` gives the (T_x, T_y) device matrix of the divergences between the frames
    of the sides ``x`` and ``y`` (whatever the path calls a side; with ``symmetric`` a side against itself, only
    the upper pairs solved) and, with ``want``, the pairs' debiased potentials (T_x T_y, N) on x's bins, in
    row-major order; it appends its problems' reports. ``factors`` (T_x,) host: what x's frames were multiplied by
    to reach the common mass (the gradient is scaled by them). Returns ``(value, gradient (T_x, N) in
    ``out_dtype`` on the caller's device or None)``; with ``divergence`` the debiased value and no gradient."""
    stream = placement.stream
    Dxy, pots = frame_costs(x, y, False, return_grad)
    if divergence:
        Dxx, _ = frame_costs(x, x, True, False)
        Dyy, _ = frame_costs(y, y, True, False)
        value = (soft_dtw_matrix_cuda(Dxy, gamma, False, stream)[0]
                 - 0.5 * (soft_dtw_matrix_cuda(Dxx, gamma, False, stream)[0]
                          + soft_dtw_matrix_cuda(Dyy, gamma, False, stream)[0]))
        return value, None
    value, E = soft_dtw_matrix_cuda(Dxy, gamma, return_grad, stream)
    if not return_grad:
        return value, None
    Ta, N = int(Dxy.shape[0]), int(pots.shape[1])
    G = _launch.empty((Ta, N), np.float64, stream)
    _launch_rows(_weight_grad_kernel, G, stream, E, pots, 1.0, False, G)
    out = _launch.empty((Ta, N), out_dtype, stream)  # d/dx of Delta(c x, y) is c times the gradient
    _launch_rows(_scale_rows_kernel, G, stream, G, cuda.to_device(np.asarray(factors, np.float64), stream=stream),
                 out)
    return value, _launch.to_caller(out, placement.kind)


def sta_cuda(A, B, factors, problem, gamma, max_iter, tol, return_grad, divergence, out_dtype, placement):
    """``sta`` (or with ``divergence`` ``sta_divergence``) of the checked histograms A (T_x, N), B (T_y, N) (float64
    device copies, the front-end's ``sta.frames`` step) on the grid of ``problem`` (a ``_sta.GridProblem``), their
    frames rescaled here by ``factors`` (two host arrays, judged by the front-end) to X[0]'s mass. Returns
    ``(value, gradient (T_x, N) in ``out_dtype`` on the caller's device or None, reports)`` with ``reports`` the
    problems' ``(what, status, n_iter, errors)`` for the front-end's warning."""
    stream = placement.stream
    A, B = rescale_frames_cuda((A, B), factors, stream)
    cx = factors[0]
    grid = DeviceGrid(problem, stream)
    reports = []
    x = _self_cuda(grid, A, max_iter, tol, reports, stream)
    y = _self_cuda(grid, B, max_iter, tol, reports, stream)
    frame_costs = functools.partial(_frame_costs_cuda, grid, max_iter=max_iter, tol=tol, reports=reports,
                                    stream=stream)
    value, grad = assemble_cuda(frame_costs, x, y, cx, gamma, return_grad, divergence, out_dtype, placement)
    return value, grad, reports


class DeviceDescent:
    """The steps of the STA barycenter's mirror descent (``timeseries.api._mirror_descent``) on the GPU, the twin of
    ``timeseries.api._HostDescent``: the iterate Z (T, N), the gradient and every frame cost stay on the device;
    the objective's value and each frame's largest gradient entry come back (a few scalars per step).

    ``series`` and ``init`` (or None) are the checked float64 device copies (the front-end's ``sta.frames`` step),
    ``factors`` what rescales their frames to the common mass (host arrays, one per copy, ``init``'s last; judged by
    the front-end). ``Z0`` is the starting iterate; ``reports`` the series' self-problems, for the front-end's
    warning."""

    def __init__(self, series, init, factors, weights, problem, gamma, max_iter, tol, placement):
        self.stream = stream = placement.stream
        self.kind, self.gamma, self.max_iter, self.tol = placement.kind, gamma, max_iter, tol
        frames = rescale_frames_cuda(list(series) + ([] if init is None else [init]), factors, stream)
        self.grid = DeviceGrid(problem, stream)
        self.reports = []
        self.series = []
        for wk, A in zip(weights, frames[:len(series)]):
            if wk > 0:
                self.series.append((float(wk), _self_cuda(self.grid, A, max_iter, tol, self.reports, stream)))
        self.mass = float(histograms_mass(frames[0], stream))
        T = [int(A.shape[0]) for A in frames[:len(series)]]
        if init is not None:
            self.Z0 = frames[-1]
        elif all(t == T[0] for t in T):
            self.Z0 = cuda.to_device(np.zeros((T[0], int(frames[0].shape[1]))), stream=stream)
            for wk, A in zip(weights, frames[:len(series)]):
                _launch_rows(_axpy_kernel, A, stream, self.Z0, float(wk), A)
        else:
            self.Z0 = frames[0]

    def objective(self, Z):
        """``(F(Z), grad F(Z) on the device, reports)``."""
        stream, grid = self.stream, self.grid
        reports = []
        z = _self_cuda(grid, Z, self.max_iter, self.tol, reports, stream)
        G = cuda.to_device(np.zeros(Z.shape), stream=stream)
        total = 0.0
        for wk, side in self.series:
            D, pots = _frame_costs_cuda(grid, z, side, False, True, self.max_iter, self.tol, reports, stream)
            value, E = soft_dtw_matrix_cuda(D, self.gamma, True, stream)
            total += wk * value
            _launch_rows(_weight_grad_kernel, G, stream, E, pots, wk, True, G)
        return total, G, reports

    def centre(self, G, Z):
        T, N = int(Z.shape[0]), int(Z.shape[1])
        C = _launch.empty((T, N), np.float64, self.stream)
        top = _launch.empty(T, np.float64, self.stream)
        scale = _launch.empty(T, np.float64, self.stream)
        _centre_kernel[T, _block(N), self.stream](G, Z, self.mass, C, top, scale)
        return (C, top), float(_launch.small_to_host(scale, self.stream).max())

    def trial(self, Z, centred, step):
        C, top = centred
        T, N = int(Z.shape[0]), int(Z.shape[1])
        out = _launch.empty((T, N), np.float64, self.stream)
        _trial_kernel[T, _block(N), self.stream](Z, C, top, float(step), self.mass, out)
        return out

    def finish(self, Z, out_dtype):
        """Z in ``out_dtype``, as the caller's kind of array."""
        out = Z
        if np.dtype(out_dtype) != np.float64:
            out = _launch.empty(Z.shape, out_dtype, self.stream)
            ones = cuda.to_device(np.ones(int(Z.shape[0])), stream=self.stream)
            _launch_rows(_scale_rows_kernel, Z, self.stream, Z, ones, out)
        return _launch.to_caller(out, self.kind)


def histograms_mass(A, stream):
    """The mass of the first frame of the float64 device histograms A (one row copied back)."""
    return float(_launch.small_to_host(A[0], stream).sum())


def sta_barycenter_cuda(series, init, factors, weights, problem, gamma, max_iter, tol, placement):
    """The GPU steps of ``sta_barycenter`` (a :class:`DeviceDescent`) for the checked device histograms ``series``
    (and ``init``, or None) and their mass factors on the grid of ``problem``; ``max_iter``, ``tol`` of each frame
    divergence."""
    return DeviceDescent(series, init, factors, weights, problem, gamma, max_iter, tol, placement)
