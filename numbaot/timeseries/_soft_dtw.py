"""soft-DTW cores (Cuturi and Blondel 2017): the forward recursion, the expected alignment by the backward
recursion, the gradient through the frame cost, pairwise matrices and the barycenter objective.

Forward: ``R(i, j) = C(i, j) + softmin_gamma(R(i-1, j-1), R(i-1, j), R(i, j-1))`` with ``R(-1, -1) = 0`` and
the other borders ``+inf``; the value is ``R(n-1, m-1)``. The softmin is shifted by its minimum, so it is stable
for any gamma > 0 and tends to the minimum (DTW) as gamma -> 0.

Backward (Alg. 2 of the paper): ``E = d R(n-1, m-1) / d C`` satisfies
``E(i, j) = E(i+1, j) p_up(i+1, j) + E(i, j+1) p_left(i, j+1) + E(i+1, j+1) p_diag(i+1, j+1)``, where
``p_*(k, l)`` is the weight the softmin at cell (k, l) gives its predecessor: ``exp((R(i, j) - R(k, l) + C(k, l))
/ -gamma)``, the ratio the paper's Alg. 2 exponentiates. The forward pass already computes these normalised
weights, so it stores them (three per cell) and the backward pass is multiply-adds only: half the exponentials of
the paper's form, and no ``inf - inf`` on borders (their weights are exactly 0).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit
from ._bodies import frame_cost, softmin3

_cost = frame_cost.cpu
_softmin3 = softmin3.cpu
_exp = fast_exp.cpu

DIAG, UP, LEFT = 0, 1, 2


@cpu_jit
def cost_matrix_into(X, Y, code, C):
    n, m = X.shape[0], Y.shape[0]
    for i in range(n):
        for j in range(m):
            C[i, j] = _cost(X, i, Y, j, code)
    return C


@cpu_jit
def cost_matrix_core(X, Y, code):
    return cost_matrix_into(X, Y, code, np.empty((X.shape[0], Y.shape[0])))


@cpu_jit(refcount=False)
def _cell(diag, up, left, c, gamma, P, i, j, store):
    """R at cell (i, j) from its three predecessors and its cost; stores the softmin weights in P if ``store``.
    Compiled without reference counting: no incref and decref of P on each of the n m calls."""
    # selects, not min(): which predecessor is lowest varies at random, and a mispredicted branch per cell cost
    # as much as the rest of the cell (bench_timeseries.py)
    low = diag if diag < up else up
    low = low if low < left else left
    inv_gamma = 1.0 / gamma  # loop-invariant: hoisted by LLVM
    e_diag = _exp((low - diag) * inv_gamma)
    e_up = _exp((low - up) * inv_gamma)
    e_left = _exp((low - left) * inv_gamma)
    total = e_diag + e_up + e_left
    if store:
        inv_total = 1.0 / total
        P[i, j, DIAG] = e_diag * inv_total
        P[i, j, UP] = e_up * inv_total
        P[i, j, LEFT] = e_left * inv_total
    return c + low - gamma * math.log(total)


@cpu_jit
def soft_dtw_forward(C, gamma, P, store, row, fresh):
    """Forward recursion on the cost C (n, m), with ``row`` (length >= m + 1) as scratch; returns the value
    R(n-1, m-1) and, if ``store``, fills P (n, m, 3) with the softmin weights of each cell's predecessors (diag,
    up, left). ``fresh=False`` continues from the rows before (``row`` as a previous call left it): C is then the
    next block of rows of the cost, so that the value needs costs for a block of rows at a time only.

    Each cell waits for its left neighbour (a chain of exp, log and adds), so rows are swept four at a time,
    staggered by one column (row r of a strip is at column s - r at step s): the four cells of a step are
    independent, and the CPU overlaps their chains. ``row[j + 1]`` holds R(i - 1, j) for the strip's first row i
    and ``row[0]`` the border R(i - 1, -1)."""
    n, m = C.shape
    inf = math.inf
    if fresh:
        for j in range(m + 1):
            row[j] = inf
        row[0] = 0.0
    i0 = 0
    while i0 + 4 <= n:
        last0 = last1 = last2 = last3 = inf  # R(i0 + r, j - 1) of row r before its step
        prev0 = prev1 = prev2 = inf  # R(i0 + r, j - 2): the diagonal predecessor of row r + 1
        for s in range(m + 3):
            new0, new1, new2 = last0, last1, last2
            j = s
            if j < m:
                new0 = _cell(row[j], row[j + 1], last0, C[i0, j], gamma, P, i0, j, store)
            j = s - 1
            if 0 <= j < m:
                new1 = _cell(prev0, last0, last1, C[i0 + 1, j], gamma, P, i0 + 1, j, store)
            j = s - 2
            if 0 <= j < m:
                new2 = _cell(prev1, last1, last2, C[i0 + 2, j], gamma, P, i0 + 2, j, store)
            j = s - 3
            if 0 <= j < m:
                last3 = _cell(prev2, last2, last3, C[i0 + 3, j], gamma, P, i0 + 3, j, store)
                row[j + 1] = last3
            prev0, prev1, prev2 = last0, last1, last2
            last0, last1, last2 = new0, new1, new2
        row[0] = inf
        i0 += 4
    for i in range(i0, n):  # the last n % 4 rows one at a time
        diag = row[0]
        left = inf
        for j in range(m):
            up = row[j + 1]
            left = _cell(diag, up, left, C[i, j], gamma, P, i, j, store)
            row[j + 1] = left
            diag = up
        row[0] = inf
    return row[m]


@cpu_jit
def soft_dtw_backward(P):
    """The expected alignment E (n, m) = d value / d C from the forward pass's weights P (n, m, 3)."""
    n, m = P.shape[0], P.shape[1]
    E = np.zeros((n, m))
    E[n - 1, m - 1] = 1.0
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if i == n - 1 and j == m - 1:
                continue
            total = 0.0
            if i + 1 < n:
                total += E[i + 1, j] * P[i + 1, j, UP]
                if j + 1 < m:
                    total += E[i + 1, j + 1] * P[i + 1, j + 1, DIAG]
            if j + 1 < m:
                total += E[i, j + 1] * P[i, j + 1, LEFT]
            E[i, j] = total
    return E


@cpu_jit
def soft_dtw_alignment_core(C, gamma):
    n, m = C.shape
    P = np.empty((n, m, 3))
    value = soft_dtw_forward(C, gamma, P, True, np.empty(m + 1), True)
    return value, soft_dtw_backward(P)


@cpu_jit
def cost_gradient(X, Y, E, code, G):
    """G (n, d) += sum_j E[i, j] * d cost(x_i, y_j) / d x_i for the metric ``code``."""
    n, m, d = X.shape[0], Y.shape[0], X.shape[1]
    for i in range(n):
        for j in range(m):
            e = E[i, j]
            if e == 0.0:
                continue
            if code == 0:
                for k in range(d):
                    G[i, k] += 2.0 * e * (X[i, k] - Y[j, k])
            elif code == 1:
                norm = _cost(X, i, Y, j, 1)
                if norm > 0.0:  # at x_i = y_j the subgradient 0 is taken
                    for k in range(d):
                        G[i, k] += e * (X[i, k] - Y[j, k]) / norm
            else:
                for k in range(d):
                    diff = X[i, k] - Y[j, k]
                    if diff > 0.0:
                        G[i, k] += e
                    elif diff < 0.0:
                        G[i, k] -= e


@cpu_jit
def soft_dtw_grad_core(X, Y, code, gamma):
    """(value, E, G): soft-DTW, its expected alignment, and its gradient with respect to X (n, d)."""
    value, E = soft_dtw_alignment_core(cost_matrix_core(X, Y, code), gamma)
    G = np.zeros(X.shape)
    cost_gradient(X, Y, E, code, G)
    return value, E, G


#: Rows of costs computed at a time by the value-only recursions: O(BLOCK_ROWS m) memory instead of O(n m).
BLOCK_ROWS = 64


@cpu_jit
def soft_dtw_blocks(X, Y, code, gamma, costs, row):
    """The soft-DTW value alone: costs for BLOCK_ROWS rows at a time in ``costs`` (>= BLOCK_ROWS m floats)."""
    n, m = X.shape[0], Y.shape[0]
    no_weights = np.empty((0, 0, 3))
    value = 0.0
    for i0 in range(0, n, BLOCK_ROWS):
        i1 = min(n, i0 + BLOCK_ROWS)
        C = cost_matrix_into(X[i0:i1], Y, code, costs[:(i1 - i0) * m].reshape((i1 - i0, m)))
        value = soft_dtw_forward(C, gamma, no_weights, False, row, i0 == 0)
    return value


@cpu_jit
def soft_dtw_value_core(X, Y, code, gamma):
    m = Y.shape[0]
    return soft_dtw_blocks(X, Y, code, gamma, np.empty(BLOCK_ROWS * m), np.empty(m + 1))


@cpu_jit(parallel=True)
def cdist_soft_dtw_core(A, offsets_a, B, offsets_b, code, gamma, symmetric, n_threads):
    """soft-DTW between every series of A and every series of B (flat arrays with offsets), pairs spread over
    threads, each with its own cost and row buffers. ``symmetric``: A is B, only i <= j is computed
    (soft-DTW(x, x) != 0)."""
    N, M = offsets_a.shape[0] - 1, offsets_b.shape[0] - 1
    m_max = 1
    for k in range(M):
        m_max = max(m_max, offsets_b[k + 1] - offsets_b[k])
    out = np.zeros((N, M))
    n_pairs = N * M
    for t in prange(n_threads):
        row = np.empty(m_max + 1)
        costs = np.empty(BLOCK_ROWS * m_max)
        for p in range(t, n_pairs, n_threads):
            i = p // M
            j = p - i * M
            if symmetric and j < i:
                continue
            value = soft_dtw_blocks(A[offsets_a[i]:offsets_a[i + 1]], B[offsets_b[j]:offsets_b[j + 1]], code, gamma,
                                    costs, row)
            out[i, j] = value
            if symmetric:
                out[j, i] = value
    return out


@cpu_jit(parallel=True)
def barycenter_objective_core(Z, flat, offsets, weights, code, gamma, n_threads):
    """sum_k w_k soft-DTW(Z, X_k) and its gradient with respect to Z (n, d), series spread over threads with
    per-thread gradients summed serially."""
    K = offsets.shape[0] - 1
    values = np.zeros(n_threads)
    grads = np.zeros((n_threads, Z.shape[0], Z.shape[1]))
    for t in prange(n_threads):
        for k in range(t, K, n_threads):
            Xk = flat[offsets[k]:offsets[k + 1]]
            value, E = soft_dtw_alignment_core(cost_matrix_core(Z, Xk, code), gamma)
            values[t] += weights[k] * value
            E *= weights[k]
            cost_gradient(Z, Xk, E, code, grads[t])
    total = 0.0
    G = np.zeros(Z.shape)
    for t in range(n_threads):
        total += values[t]
        G += grads[t]
    return total, G
