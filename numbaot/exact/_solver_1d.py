"""Exact 1D optimal transport: the monotone (north-west corner) merge of two sorted measures.

For a cost ``c(x - y)`` with ``c`` convex (|d|, d^2, |d|^p with p >= 1) the cost matrix of sorted points is Monge,
so the monotone coupling is optimal. Walking the two cumulative distributions together visits a staircase of
``n + m - 1`` cells that is a spanning tree of the bipartite graph; the duals computed along it
(``f_i + g_j = C_ij`` on every cell of the staircase) are feasible because every reduced cost off the staircase is a
sum of 2x2 Monge inequalities. Primal mass and dual potentials therefore come out of one O(n + m) pass.

Inputs are sorted by the front-end (numpy's SIMD sorts beat any sort compiled here, see bench/); everything below
is float64.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import cpu_jit, twin

# Ground-cost codes shared by the CPU cores and the CUDA kernels.
SQEUCLIDEAN = 0
ABSOLUTE = 1  # 'euclidean' and 'cityblock' coincide in 1D
POWER = 2  # 'minkowski': |x - y|^p, POT's convention for 1D solvers

METRIC_CODES = {"sqeuclidean": SQEUCLIDEAN, "euclidean": ABSOLUTE, "cityblock": ABSOLUTE, "minkowski": POWER}


@twin
def ground_cost_1d(x, y, metric, p):
    """Cost between two reals: (x - y)^2, |x - y| or |x - y|^p."""
    d = abs(x - y)
    if metric == 0:
        return d * d
    if metric == 1:
        return d
    if p == 1.0:
        return d
    if p == 2.0:
        return d * d
    return d**p


_cost = ground_cost_1d.cpu  # Numba resolves module globals, not attributes of a Python object


@twin(deps={"_cost": ground_cost_1d}, inline="never")
def merge_value(xs, wa, ys, wb, metric, p):
    """Optimal cost between sorted ``(xs, wa)`` and ``(ys, wb)`` of equal mass. Serial, O(n + m).

    The walk tracks the mass left on the current atom of each side rather than two running cumulative sums:
    adding the same 1/n a million times drifts by ~1e-11 relative, the residuals do not drift at all.
    """
    n = xs.shape[0]
    m = ys.shape[0]
    i = 0
    j = 0
    ra = max(wa[0], 0.0)
    rb = max(wb[0], 0.0)
    total = 0.0
    while i < n - 1 or j < m - 1:
        if j == m - 1 or (i < n - 1 and ra <= rb):
            total += ra * _cost(xs[i], ys[j], metric, p)
            rb -= ra
            i += 1
            ra = max(wa[i], 0.0)
        else:
            total += rb * _cost(xs[i], ys[j], metric, p)
            ra -= rb
            j += 1
            rb = max(wb[j], 0.0)
    return total + max(ra, rb) * _cost(xs[n - 1], ys[m - 1], metric, p)


_merge_value = merge_value.cpu


@cpu_jit
def emd_1d_sorted_core(xs, wa, ys, wb, metric, p):
    """Plan, duals and cost of the 1D problem on sorted inputs (indices refer to the sorted order).

    The same walk as ``merge_value``: on a tie (``ra == rb``) the a side advances, and the cell the walk enters
    next carries zero mass but still belongs to the staircase tree, which fixes the next potential.

    Returns
    -------
    rows, cols : int64 arrays of length nnz
        The staircase cells that carry positive mass.
    mass : float64 array of length nnz
    f, g : float64 arrays of shape (n,) and (m,)
        Uncentred dual potentials, ``f[0] = 0``.
    cost : float
    """
    n = xs.shape[0]
    m = ys.shape[0]
    rows = np.empty(n + m - 1, dtype=np.int64)
    cols = np.empty(n + m - 1, dtype=np.int64)
    mass = np.empty(n + m - 1, dtype=np.float64)
    f = np.empty(n, dtype=np.float64)
    g = np.empty(m, dtype=np.float64)
    f[0] = 0.0
    g[0] = _cost(xs[0], ys[0], metric, p)
    nnz = 0
    i = 0
    j = 0
    ra = max(wa[0], 0.0)
    rb = max(wb[0], 0.0)
    total = 0.0
    while i < n - 1 or j < m - 1:
        advance_i = j == m - 1 or (i < n - 1 and ra <= rb)
        step = ra if advance_i else rb
        if step > 0.0:
            rows[nnz] = i
            cols[nnz] = j
            mass[nnz] = step
            nnz += 1
            total += step * _cost(xs[i], ys[j], metric, p)
        # Move along the staircase; the new cell is a tree arc, which fixes one new potential.
        if advance_i:
            rb -= step
            i += 1
            ra = max(wa[i], 0.0)
            f[i] = _cost(xs[i], ys[j], metric, p) - g[j]
        else:
            ra -= step
            j += 1
            rb = max(wb[j], 0.0)
            g[j] = _cost(xs[i], ys[j], metric, p) - f[i]
    step = max(ra, rb)
    if step > 0.0 or nnz == 0:
        rows[nnz] = n - 1
        cols[nnz] = m - 1
        mass[nnz] = step
        nnz += 1
        total += step * _cost(xs[n - 1], ys[m - 1], metric, p)
    return rows[:nnz], cols[:nnz], mass[:nnz], f, g, total


@cpu_jit(parallel=True)
def wasserstein_1d_batch_core(xs, wa, ys, wb, metric, p):
    """Optimal costs of ``k`` independent sorted problems, one per row of ``xs`` (k, n) and ``ys`` (k, m).

    ``wa`` and ``wb`` have one row per problem, or a single row shared by all. Parallel over problems; each thread
    writes only its own output entry, so no reduction is needed.
    """
    k = xs.shape[0]
    out = np.empty(k, dtype=np.float64)
    last_a = wa.shape[0] - 1
    last_b = wb.shape[0] - 1
    for t in prange(k):
        row = np.int64(t)
        out[t] = _merge_value(xs[row], wa[min(row, last_a)], ys[row], wb[min(row, last_b)], metric, p)
    return out


@cpu_jit
def wasserstein_1d_core(xs, wa, ys, wb, metric, p):
    """Optimal cost of one sorted problem (serial: the merge is a dependency chain)."""
    return _merge_value(xs, wa, ys, wb, metric, p)
