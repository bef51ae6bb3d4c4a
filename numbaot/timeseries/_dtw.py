"""Dynamic time warping cores (Sakoe and Chiba 1978): the value with two rolling rows, the accumulated matrix and
its optimal path, pairwise matrices over collections, and DTW barycenter averaging's update (Petitjean et al. 2011).

Series are (n, d) float64 arrays; collections are one flat (sum of lengths, d) array with int64 offsets, so that
equal and unequal lengths share one compiled core. Frame costs come from ``_bodies.frame_cost`` (metric codes in
``_bodies.METRIC_CODES``). The band: cell (i, j) is allowed when ``lo(i) <= j <= hi(i)`` with
``lo(i) = i - max(0, n - m) - r`` and ``hi(i) = i + max(0, m - n) + r`` (a Sakoe-Chiba band of radius r around
the diagonal, widened by the length difference so the corner (n - 1, m - 1) stays reachable); r < 0 means no band.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import cpu_jit
from ._bodies import frame_cost

_cost = frame_cost.cpu


@cpu_jit
def band_limits(n, m, radius):
    """(lo, hi) offsets: row i may use columns i - lo .. i + hi (clipped to [0, m - 1])."""
    if radius < 0:
        return n, m  # wider than any row: no band
    return max(0, n - m) + radius, max(0, m - n) + radius


@cpu_jit
def dtw_row(X, Y, code, radius, row):
    """DTW value of X (n, d) against Y (m, d) with one rolling row ``row`` of length >= m + 1: before row i is
    swept, ``row[j + 1]`` holds D(i - 1, j) and ``row[0]`` the border D(i - 1, -1)."""
    n, m, d = X.shape[0], Y.shape[0], X.shape[1]
    lo, hi = band_limits(n, m, radius)
    inf = np.inf
    for j in range(m + 1):
        row[j] = inf
    row[0] = 0.0
    for i in range(n):
        j0 = max(0, i - lo)
        j1 = min(m - 1, i + hi)
        diag = row[j0]  # D(i - 1, j0 - 1)
        left = inf  # D(i, j0 - 1)
        for j in range(j0, j1 + 1):
            up = row[j + 1]
            best = diag
            if up < best:
                best = up
            if left < best:
                best = left
            if d == 1:  # the common univariate case without the loop over features
                diff = X[i, 0] - Y[j, 0]
                c = diff * diff if code == 0 else abs(diff)
            else:
                c = _cost(X, i, Y, j, code)
            left = best + c
            row[j + 1] = left
            diag = up
        # this row's cells outside the band are unreachable from the next row
        for j in range(0, j0 + 1):
            row[j] = inf
        for j in range(j1 + 2, m + 1):
            row[j] = inf
    return row[m]


@cpu_jit
def dtw_value_core(X, Y, code, radius):
    return dtw_row(X, Y, code, radius, np.empty(Y.shape[0] + 1))


@cpu_jit
def dtw_accumulated_core(X, Y, code, radius):
    """The accumulated cost D (n, m): D[i, j] = c(i, j) + min(D[i-1, j-1], D[i-1, j], D[i, j-1]), +inf off band."""
    n, m = X.shape[0], Y.shape[0]
    lo, hi = band_limits(n, m, radius)
    D = np.full((n, m), np.inf)
    for i in range(n):
        j0 = max(0, i - lo)
        j1 = min(m - 1, i + hi)
        for j in range(j0, j1 + 1):
            c = _cost(X, i, Y, j, code)
            if i == 0 and j == 0:
                D[i, j] = c
                continue
            best = np.inf
            if i > 0 and j > 0:
                best = D[i - 1, j - 1]
            if i > 0 and D[i - 1, j] < best:
                best = D[i - 1, j]
            if j > 0 and D[i, j - 1] < best:
                best = D[i, j - 1]
            D[i, j] = best + c
    return D


@cpu_jit
def dtw_backtrack(D):
    """The optimal path from (0, 0) to (n - 1, m - 1) as an (L, 2) int64 array (ties: diagonal, then up, left)."""
    n, m = D.shape
    path = np.empty((n + m - 1, 2), dtype=np.int64)
    i, j = n - 1, m - 1
    k = 0
    path[0, 0] = i
    path[0, 1] = j
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            diag, up, left = D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]
            if diag <= up and diag <= left:
                i -= 1
                j -= 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        k += 1
        path[k, 0] = i
        path[k, 1] = j
    return path[k::-1].copy()


@cpu_jit(parallel=True)
def cdist_dtw_core(A, offsets_a, B, offsets_b, code, radius, symmetric, n_threads):
    """DTW between every series of A (flat, offsets) and every series of B: (N, M), pairs spread over threads,
    each thread with its own rolling rows. ``symmetric``: A is B, only i < j is computed (the diagonal is 0)."""
    N, M = offsets_a.shape[0] - 1, offsets_b.shape[0] - 1
    width = 1
    for k in range(M):
        width = max(width, offsets_b[k + 1] - offsets_b[k] + 1)
    out = np.zeros((N, M))
    n_pairs = N * M
    for t in prange(n_threads):
        row = np.empty(width)
        for p in range(t, n_pairs, n_threads):
            i = p // M
            j = p - i * M
            if symmetric and j <= i:
                continue
            value = dtw_row(A[offsets_a[i]:offsets_a[i + 1]], B[offsets_b[j]:offsets_b[j + 1]], code, radius, row)
            out[i, j] = value
            if symmetric:
                out[j, i] = value
    return out


@cpu_jit(parallel=True)
def dba_step_core(Z, flat, offsets, weights, code, radius, n_threads):
    """One DBA update: align Z (n, d) to every series by DTW, average the frames aligned to each frame of Z with
    the series' weights. Returns (new Z, weighted sum of the DTW values before the update)."""
    K = offsets.shape[0] - 1
    n, d = Z.shape
    sums = np.zeros((n_threads, n, d))
    counts = np.zeros((n_threads, n))
    costs = np.zeros(n_threads)
    for t in prange(n_threads):
        for k in range(t, K, n_threads):
            Xk = flat[offsets[k]:offsets[k + 1]]
            D = dtw_accumulated_core(Z, Xk, code, radius)
            path = dtw_backtrack(D)
            w = weights[k]
            costs[t] += w * D[n - 1, Xk.shape[0] - 1]
            for s in range(path.shape[0]):
                i, j = path[s, 0], path[s, 1]
                counts[t, i] += w
                for q in range(d):
                    sums[t, i, q] += w * Xk[j, q]
    new = np.zeros((n, d))
    total_counts = np.zeros(n)
    cost = 0.0
    for t in range(n_threads):  # serial reduction: the same result for any thread count's split
        cost += costs[t]
        for i in range(n):
            total_counts[i] += counts[t, i]
            for q in range(d):
                new[i, q] += sums[t, i, q]
    for i in range(n):
        for q in range(d):
            new[i, q] /= total_counts[i]
    return new, cost
