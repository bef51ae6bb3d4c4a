"""Sparse transport plans on the device: the dense plan and the marginals built from ``(rows, cols, values)``.

Shared by every solver whose plan comes as triples (1D merge, network simplex results moved to the device).
"""
from __future__ import annotations

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
