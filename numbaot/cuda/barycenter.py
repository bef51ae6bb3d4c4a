"""Fixed-support and convolutional barycenters on the GPU: the CUDA twin of the host loop under the barycentric
rule (``entropic._rules.Barycentric``, driven by ``barycenters._bregman``), balanced or with KL-penalised inputs.

Each iteration: the K row half-steps (one thread per row of every input, ``softmin_row`` of ``entropic._softmin``
compiled for CUDA, as the dense Sinkhorn kernels do), the K column half-steps towards the current barycenter, then
the barycenter's update (one thread per cell: the weighted geometric mean of the plans' column marginals, a power
mean for penalised inputs). Dense costs are one (n, m) matrix shared by the K inputs, read through Fortran views
so that neighbouring threads read neighbouring addresses; on a grid the log-sum-exp over the cells is one along
each axis in turn (one thread per output cell and axis: O(K N (D + H + W)) per half-step, never N x N). The error
is checked every ``check_every`` iterations from per-cell partials copied back (m floats).

Debiased (Janati et al. 2020, square costs or a grid: the barycenter shares the inputs' support): the update adds
the debiasing potential ``c`` to the log barycenter, then ``c`` takes the host rule's ten fixed-point steps
``c = (c + log_bar - lse(c - C / eps)) / 2``, each one column half-step of one problem through the same kernels;
the error adds the barycenter's L1 change since the last check, as on the host.

The inputs are checked before the loop runs: :func:`histograms_cuda` and :func:`costs_cuda` (device reductions
judged with the host's rules and messages; the front-end judges the masses), then :func:`barycenter_cuda` takes the
checked inputs and the front-end's options and returns a ``_finish.BarycenterAnswer``.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
from numba import cuda

from .. import _validation as V
from .._finish import BarycenterAnswer
from .._status import Status
from ..entropic._rules import barycenter_entry
from ..entropic._softmin import softmin_row, softmin_row_shifted
from . import _checks, _launch
from ._checks import _transpose_kernel
from .loop import launch_flat as _launch_flat
from .sinkhorn import _prep_kernel, _weights_kernel

_softmin = softmin_row.cuda
_softmin_shifted = softmin_row_shifted.cuda
_entry = barycenter_entry.cuda


# ---------------------------------------------------------------------------------------------------- kernels
@cuda.jit
def _shared_half_step_kernel(X, h, shift, eps, tau, prev, out):
    """``out[k, i] = tau eps (shift[k, i] - log sum_j exp(h[k, j] - X[i, j] / eps))`` for the K inputs sharing the
    costs ``X`` (n, m), one thread per (k, i); one pass shifted by the previous value where that guess serves."""
    t = cuda.grid(1)
    B, n = out.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        s = shift[k, i]
        if s == -math.inf:
            out[k, i] = -math.inf
        else:
            inv_eps = 1.0 / eps
            low = _softmin_shifted(X, i, h[k], inv_eps, s - prev[k, i] * inv_eps / tau)
            if low != low:
                low = _softmin(X, i, h[k], inv_eps)
            out[k, i] = tau * eps * (s - low)


@cuda.jit
def _grid_axis_kernel(src, dst, cost, inv_eps, size, inner):
    """``dst[k, r] = log sum_q exp(src[k, r'(q)] - cost[c, q] inv_eps)`` along one axis of the grid (cells in C
    order, ``size`` along the axis, ``inner`` the stride of one step along it; ``c`` the axis index of cell r)."""
    t = cuda.grid(1)
    B, N = src.shape
    if t < B * N:
        k = t // N
        r = t - k * N
        c = (r // inner) % size
        base = r - c * inner
        top = -math.inf
        for q in range(size):
            v = src[k, base + q * inner] - cost[c, q] * inv_eps
            if v > top:
                top = v
        if top == -math.inf:
            dst[k, r] = -math.inf
        else:
            total = 0.0
            for q in range(size):
                total += math.exp(src[k, base + q * inner] - cost[c, q] * inv_eps - top)
            dst[k, r] = top + math.log(total)


@cuda.jit
def _finish_half_step_kernel(lse, shift, eps, tau, out):
    t = cuda.grid(1)
    B, N = out.shape
    if t < B * N:
        k = t // N
        i = t - k * N
        s = shift[k, i]
        out[k, i] = -math.inf if s == -math.inf else tau * eps * (s - lse[k, i])


@cuda.jit
def _update_kernel(g_new, weights, log_bar, debias, eps, tau):
    """The barycenter at cell j from the K column half-steps ``g_new[k, j] = tau eps (log_bar - lse_k)`` (the host
    rule's body, ``entropic._rules.barycenter_entry``) plus the debiasing potential ``debias[j]`` (zeros unless
    debiased), and each ``g_new[k, j]`` moved to aim at it."""
    j = cuda.grid(1)
    B, m = g_new.shape
    if j < m:
        old = log_bar[0, j]
        new = _entry(weights, g_new, j, old, tau, eps) + debias[j]
        for k in range(B):
            g_new[k, j] += tau * eps * (new - old)
            log_bar[k, j] = new


@cuda.jit
def _debias_start_kernel(c, log_bar, eps, c_pot, lse):
    """Before a fixed-point step of the debiasing potential: ``c_pot = eps c`` (the potential the half-step reads)
    and ``lse = -eps (log_bar - c)``, the half-step's first guess (c's own fixed point), as the host rule."""
    j = cuda.grid(1)
    if j < c.shape[0]:
        c_pot[0, j] = eps * c[j]
        lse[0, j] = -eps * (log_bar[0, j] - c[j])


@cuda.jit
def _debias_finish_kernel(c, log_bar, lse, eps):
    """``c = (c + log_bar + lse / eps) / 2`` from the half-step ``lse = -eps log sum_i exp(c_i - C_ij / eps)``."""
    j = cuda.grid(1)
    if j < c.shape[0]:
        c[j] = 0.5 * (c[j] + log_bar[0, j] + lse[0, j] / eps)


@cuda.jit
def _bar_change_kernel(log_bar, bar_prev, out):
    """``out[j] = |bar_j - bar_prev_j|`` with ``bar = exp(log_bar[0])``, and ``bar_prev = bar`` (debiased error)."""
    j = cuda.grid(1)
    if j < out.shape[0]:
        bar = math.exp(log_bar[0, j])
        out[j] = abs(bar - bar_prev[j])
        bar_prev[j] = bar


@cuda.jit
def _spread_kernel(g, g_new, log_bar, inv_eps, out):
    """``out[j]``: the standard deviation over the inputs of the plans' column marginals at cell j."""
    j = cuda.grid(1)
    B, m = g.shape
    if j < m:
        mean = 0.0
        for k in range(B):
            mean += math.exp(log_bar[0, j] + (g[k, j] - g_new[k, j]) * inv_eps)
        mean /= B
        var = 0.0
        for k in range(B):
            d = math.exp(log_bar[0, j] + (g[k, j] - g_new[k, j]) * inv_eps) - mean
            var += d * d
        out[j] = math.sqrt(var / B)


@cuda.jit
def _change_kernel(new, old, log_w, inv_eps, out):
    """``out[i] = max_k |new[k, i] - old[k, i]| / eps`` over the entries of positive weight (NaN propagates)."""
    i = cuda.grid(1)
    B, n = new.shape
    if i < n:
        d = 0.0
        for k in range(B):
            if log_w[k, i] > -math.inf:
                v = abs(new[k, i] - old[k, i]) * inv_eps
                if not v <= d:
                    d = v
        out[i] = d


@cuda.jit
def _exp_row_kernel(log_bar, out):
    j = cuda.grid(1)
    if j < out.shape[0]:
        out[j] = math.exp(log_bar[0, j])


# ------------------------------------------------------------------------------------------------------ driver
def _grid_costs(shape, stream):
    out = []
    for size in shape:
        t = np.linspace(0.0, 1.0, size)
        out.append(cuda.to_device(np.ascontiguousarray((t[:, None] - t[None, :]) ** 2), stream=stream))
    return out


class BarycenterInputs(NamedTuple):
    """The device inputs of a barycenter after their checks: ``cols`` the histograms as float64 columns (n, K)
    (noise negatives clipped), their sums (K,) on the host, ``C`` the float64 (n, m) costs (None on a grid, or
    until :func:`costs_cuda`), ``grid_shape`` (grids) or None, the caller's ``stream`` and ``kind`` of array, and
    ``out_dtype`` the barycenter's dtype."""

    cols: object
    sums: np.ndarray
    C: object
    grid_shape: Optional[tuple]
    stream: object
    kind: str
    out_dtype: np.dtype


def histograms_cuda(A, M, grid_shape) -> BarycenterInputs:
    """The first device checks of a barycenter: the values of the histograms ``A`` ((n, K) with dense costs ``M``,
    or (K, *grid_shape) with ``M`` None), judged by ``_validation`` through ``_checks`` (the host's messages).
    Their masses (balanced runs) are left to the front-end (``_validation.check_histogram_masses``)."""
    stream = _launch.stream_of(A, M)
    kind = _launch.caller_kind(A, M)
    A = _launch.wrap(A)
    out_dtype = V.result_dtype(A) if M is None else V.result_dtype(A, _launch.wrap(M))
    if M is None:
        K = int(A.shape[0])
        n = int(np.prod(grid_shape))
        flat = A.reshape(K, n)
        cols = _launch.empty((n, K), np.float64, stream)
        _launch_flat(_transpose_kernel, K * n, stream, _launch.as_float64_2d(flat, stream), cols)
        original = flat.T
    else:
        n, K = int(A.shape[0]), int(A.shape[1])
        cols = _launch.as_float64_2d(A, stream)  # (n, K)
        original = A
    sums = _checks.check_weight_columns(cols, original, [f"A (histogram {k})" for k in range(K)], stream)
    return BarycenterInputs(cols, sums, None, None if grid_shape is None else tuple(grid_shape), stream, kind,
                            out_dtype)


def costs_cuda(inputs: BarycenterInputs, M) -> BarycenterInputs:
    """``inputs`` with the dense costs ``M`` (device, (n, m)) as a float64 copy, checked finite on the device."""
    C = _launch.as_float64_2d(_launch.wrap(M), inputs.stream)  # (n, m) float64, C order
    _checks.check_points_cuda(C, _launch.wrap(M), "M", inputs.stream)
    return inputs._replace(C=C)


def barycenter_cuda(inputs: BarycenterInputs, weights, opts) -> BarycenterAnswer:
    """The barycenter of checked device inputs (:func:`histograms_cuda`, then :func:`costs_cuda` for dense costs;
    on the grid ``[0, 1]^d`` when ``inputs.C`` is None). ``weights`` (K,) host, validated; ``opts`` the front-end's
    options: ``reg``, ``rho`` (the KL penalty; inf: balanced), ``max_iter``, ``tol``, ``check_every`` and
    ``debiased`` (square costs, checked by the caller). Returns a ``BarycenterAnswer``: the barycenter a device
    array of the caller's kind, shape (m,) or grid_shape, in ``inputs.out_dtype``; nothing here raises."""
    stream, kind, out_dtype = inputs.stream, inputs.kind, inputs.out_dtype
    reg, rho, debiased = opts.reg, opts.rho, opts.debiased
    max_iter, tol, check_every = opts.max_iter, opts.tol, opts.check_every
    grid_shape = inputs.grid_shape
    balanced = math.isinf(rho)
    cols = inputs.cols
    n, K = int(cols.shape[0]), int(cols.shape[1])
    m = n
    dense = inputs.C is not None
    # log A (K, n), and zeros for the half-steps' reference (the entropy reference: P = exp((f + g - C) / eps))
    log_A, zeros_n, same = (_launch.empty((K, n), np.float64, stream) for _ in range(3))
    _launch_flat(_weights_kernel, n * K, stream, cols, log_A, zeros_n, same, True)

    if not dense:
        costs = _grid_costs(grid_shape, stream)
    else:
        C = inputs.C
        m = int(C.shape[1])
        CT = _launch.empty((m, n), np.float64, stream)
        _launch_flat(_transpose_kernel, n * m, stream, C, CT)
        rows_view, cols_view = CT.T, C.T  # (n, m) and (m, n) Fortran views: row i contiguous across threads

    tau = 1.0 if balanced else rho / (rho + reg)
    inv_eps = 1.0 / reg
    w_dev = cuda.to_device(np.ascontiguousarray(weights, dtype=np.float64), stream=stream)
    zeros_m = _launch.empty((K, m), np.float64, stream)
    f, f_prev = _launch.empty((K, n), np.float64, stream), _launch.empty((K, n), np.float64, stream)
    g, g_new, log_bar = (_launch.empty((K, m), np.float64, stream) for _ in range(3))
    h_rows, h_cols = _launch.empty((K, m), np.float64, stream), _launch.empty((K, n), np.float64, stream)
    for x in (zeros_m, f, g, g_new, log_bar):
        _launch.fill(x, 0.0, stream)
    active = cuda.to_device(np.ones(K, np.uint8), stream=stream)
    work = None if dense else [_launch.empty((K, n), np.float64, stream) for _ in range(2)]
    part_m, part_n = _launch.empty(m, np.float64, stream), _launch.empty(n, np.float64, stream)

    def half_step(side_view, h, shift, out, size, step_tau=tau):
        B = int(h.shape[0])  # K problems, or 1 (the debiasing potential)
        if dense:
            _launch_flat(_shared_half_step_kernel, B * size, stream, side_view, h, shift, reg, step_tau, out, out)
            return
        w0, w1 = (work[0], work[1]) if B == K else (work[0][:B], work[1][:B])
        src, dst = h, w0
        for axis in range(len(grid_shape) - 1, -1, -1):  # the last axis first, as the host kernel
            inner = int(np.prod(grid_shape[axis + 1:]))
            _launch_flat(_grid_axis_kernel, B * size, stream, src, dst, costs[axis], inv_eps, grid_shape[axis],
                         inner)
            src, dst = dst, (w1 if dst is w0 else w0)
        _launch_flat(_finish_half_step_kernel, B * size, stream, src, shift, reg, step_tau, out)

    # the debiasing potential c (m,), its half-step's buffers (one problem) and the barycenter at the last check
    debias = _launch.empty(m, np.float64, stream)
    _launch.fill(debias, 0.0, stream)
    if debiased:
        c_pot, c_h, c_lse, zeros_1 = (_launch.empty((1, m), np.float64, stream) for _ in range(4))
        _launch.fill(zeros_1, 0.0, stream)
        one = cuda.to_device(np.ones(1, np.uint8), stream=stream)
        bar_prev, part_bar = _launch.empty(m, np.float64, stream), _launch.empty(m, np.float64, stream)
        _launch.fill(bar_prev, 0.0, stream)

    def debias_steps():
        for _ in range(10):  # the host rule's ten fixed-point steps
            _launch_flat(_debias_start_kernel, m, stream, debias, log_bar, reg, c_pot, c_lse)
            _launch_flat(_prep_kernel, m, stream, c_pot, zeros_1, inv_eps, one, c_h)
            half_step(cols_view if dense else None, c_h, zeros_1, c_lse, m, 1.0)
            _launch_flat(_debias_finish_kernel, m, stream, debias, log_bar, c_lse, reg)

    status, errors, it = Status.MAX_ITER_REACHED, [], 0
    while it < max_iter:
        it += 1
        check = it % check_every == 0 or it == max_iter
        if check and not balanced:
            f_prev.copy_to_device(f, stream=stream)
        _launch_flat(_prep_kernel, K * m, stream, g, zeros_m, inv_eps, active, h_rows)
        half_step(rows_view if dense else None, h_rows, log_A, f, n)
        _launch_flat(_prep_kernel, K * n, stream, f, zeros_n, inv_eps, active, h_cols)
        half_step(cols_view if dense else None, h_cols, log_bar, g_new, m)
        _launch_flat(_update_kernel, m, stream, g_new, w_dev, log_bar, debias, reg, tau)
        if debiased:
            debias_steps()
        if check:
            if balanced:
                _launch_flat(_spread_kernel, m, stream, g, g_new, log_bar, inv_eps, part_m)
                err = float(np.sum(_launch.small_to_host(part_m, stream)))
                if debiased:
                    _launch_flat(_bar_change_kernel, m, stream, log_bar, bar_prev, part_bar)
                    err += float(np.sum(_launch.small_to_host(part_bar, stream)))
            else:
                _launch_flat(_change_kernel, n, stream, f, f_prev, log_A, inv_eps, part_n)
                _launch_flat(_change_kernel, m, stream, g_new, g, zeros_m, inv_eps, part_m)
                err = max(float(np.max(_launch.small_to_host(part_n, stream))),
                          float(np.max(_launch.small_to_host(part_m, stream))))
            errors.append(err)
        g.copy_to_device(g_new, stream=stream)
        if check:
            if not math.isfinite(err):
                status = Status.NUMERICAL_ERROR
                break
            if err <= tol:
                status = Status.OPTIMAL
                break
    bar64 = _launch.empty(m, np.float64, stream)
    _launch_flat(_exp_row_kernel, m, stream, log_bar, bar64)
    bar = _launch.cast(bar64, out_dtype, stream)
    if not dense:
        bar = bar.reshape(tuple(int(s) for s in grid_shape))
    return BarycenterAnswer(_launch.to_caller(bar, kind), status, it, np.array(errors, dtype=np.float64))

