"""Sparse transport plans on the device: the dense plan and the marginals built from ``(rows, cols, values)``.

Shared by every solver whose plan comes as triples (1D merge, network simplex results moved to the device). Also the
products ``P v`` and ``P^T u`` with a dense device plan (:func:`matvec_cuda`, behind ``LinearOperator.from_dense``).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from . import _launch


@cuda.jit
def _zero_kernel(out):
    t = cuda.grid(1)
    if t < out.size:
        i = t // out.shape[1]
        out[i, t - i * out.shape[1]] = 0


@cuda.jit
def _densify_kernel(rows, cols, values, plan):
    # The cells of a basic plan (staircase, spanning tree) are distinct, so plain stores suffice (no atomics).
    k = cuda.grid(1)
    if k < values.shape[0]:
        plan[rows[k], cols[k]] = values[k]


@cuda.jit
def fill_zero_1d_kernel(out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = 0


@cuda.jit
def _marginals_kernel(rows, cols, values, row_sums, col_sums):
    k = cuda.grid(1)
    if k < values.shape[0]:
        cuda.atomic.add(row_sums, rows[k], values[k])
        cuda.atomic.add(col_sums, cols[k], values[k])


def densify_cuda(coo, shape, stream, kind):
    """A callable building the dense (n, m) plan on the device from the triples (for ``OTResult.plan``)."""
    def densify():
        rows, cols, values = (_launch.wrap(a) for a in coo)
        plan = _launch.empty(shape, values.dtype, stream)
        blocks, threads = _launch.grid_1d(shape[0] * shape[1])
        _zero_kernel[blocks, threads, stream](plan)
        blocks, threads = _launch.grid_1d(values.shape[0])
        _densify_kernel[blocks, threads, stream](rows, cols, values, plan)
        return _launch.to_caller(plan, kind)

    return densify


def marginals_cuda(coo, shape, stream, kind):
    """A callable giving the plan's row and column sums, reduced on the device from the triples."""
    def marginals():
        rows, cols, values = (_launch.wrap(a) for a in coo)
        sums = []
        for length in shape:
            out = _launch.empty(length, values.dtype, stream)
            blocks, threads = _launch.grid_1d(length)
            fill_zero_1d_kernel[blocks, threads, stream](out)
            sums.append(out)
        blocks, threads = _launch.grid_1d(values.shape[0])
        _marginals_kernel[blocks, threads, stream](rows, cols, values, sums[0], sums[1])
        return _launch.to_caller(sums[0], kind), _launch.to_caller(sums[1], kind)

    return marginals


# ------------------------------------------------------------------------------- products with a dense device plan
# ``out = P v`` (or ``P^T v`` when ``transpose``), one thread per output row, accumulated in float64. Four kernels
# (one plan or a batch; a vector or k columns) rather than reshapes, which Numba device arrays allow only when
# contiguous.
@cuda.jit
def _matvec_kernel(P, v, out, transpose):
    # P (n, m); v (m,) -> out (n,), or v (n,) -> out (m,) when transposed
    i = cuda.grid(1)
    if i < out.shape[0]:
        acc = 0.0
        for j in range(v.shape[0]):
            acc += (P[j, i] if transpose else P[i, j]) * v[j]
        out[i] = acc


@cuda.jit
def _matmat_kernel(P, V, out, transpose):
    # P (n, m); V (m, k) -> out (n, k), or V (n, k) -> out (m, k) when transposed
    i = cuda.grid(1)
    if i < out.shape[0]:
        for c in range(out.shape[1]):
            acc = 0.0
            for j in range(V.shape[0]):
                acc += (P[j, i] if transpose else P[i, j]) * V[j, c]
            out[i, c] = acc


@cuda.jit
def _batch_matvec_kernel(P, V, out, transpose):
    # P (B, n, m); V (B, m) -> out (B, n), or V (B, n) -> out (B, m) when transposed: a thread per (problem, row)
    t = cuda.grid(1)
    rows = out.shape[1]
    if t < out.shape[0] * rows:
        b = t // rows
        i = t - b * rows
        acc = 0.0
        for j in range(V.shape[1]):
            acc += (P[b, j, i] if transpose else P[b, i, j]) * V[b, j]
        out[b, i] = acc


@cuda.jit
def _batch_matmat_kernel(P, V, out, transpose):
    # P (B, n, m); V (B, m, k) -> out (B, n, k), or V (B, n, k) -> out (B, m, k) when transposed
    t = cuda.grid(1)
    rows = out.shape[1]
    if t < out.shape[0] * rows:
        b = t // rows
        i = t - b * rows
        for c in range(out.shape[2]):
            acc = 0.0
            for j in range(V.shape[1]):
                acc += (P[b, j, i] if transpose else P[b, i, j]) * V[b, j, c]
            out[b, i, c] = acc


def matvec_cuda(P, v, transpose=False):
    """``P v`` (``P^T v`` when ``transpose``) for a dense plan on the device: the products of
    ``LinearOperator.from_dense`` for Numba device arrays (which have no ``@``).

    ``P`` is (n, m) or a batch (B, n, m); ``v`` a CUDA array of shape (m,) or (m, k) (a batch: (B, m) or
    (B, m, k); rows n instead of m when transposed). The answer is a new device array of the caller's kind (a Numba
    device array for Numba inputs) in ``result_type(P, v)``, launched on the caller's stream.

    ``v``'s kind and shape were checked by the caller (``_validation.check_plan_operand``).
    """
    kind = _launch.caller_kind(P, v)
    stream = _launch.stream_of(P, v)
    P, v = _launch.wrap(P), _launch.wrap(v)
    p_shape = tuple(int(s) for s in P.shape)  # (the simulator's shapes take no negative indices)
    lead, (n, m) = p_shape[:-2], p_shape[-2:]
    rows = m if transpose else n
    shape = tuple(int(s) for s in v.shape)
    columns = len(shape) == len(lead) + 2
    out = _launch.empty(lead + (rows,) + shape[len(lead) + 1:], np.result_type(P.dtype, v.dtype), stream)
    if lead:
        kernel = _batch_matmat_kernel if columns else _batch_matvec_kernel
        blocks, threads = _launch.grid_1d(lead[0] * rows)
    else:
        kernel = _matmat_kernel if columns else _matvec_kernel
        blocks, threads = _launch.grid_1d(rows)
    kernel[blocks, threads, stream](P, v, out, bool(transpose))
    return _launch.to_caller(out, kind)
