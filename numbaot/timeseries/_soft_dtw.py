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

Anti-diagonal sweeps
--------------------
Along a row each cell waits for its left neighbour (a chain of exp, log and adds), but the cells of an
anti-diagonal ``i + j = k`` depend only on the anti-diagonals ``k - 1`` and ``k - 2``. So both passes sweep
anti-diagonals, and the loop over the cells of one is straight-line arithmetic (``_bodies.soft_cell``: ``fast_exp``,
``fast_log``, selects) that LLVM turns into SIMD code, the same sweep as the CUDA kernels' (one thread per cell).
Indexed by the row i, the three neighbours of cell i on diagonal k sit at i - 1 and i of the two diagonals before,
so every access is contiguous:

* R keeps three diagonals, ``R[K % 3, I]`` with padded indices ``I = i + 1``, ``K = k + 2`` (row 0 and column 0 of
  the padded table are the borders);
* the costs of a diagonal come from the series transposed, ``Xt = X.T`` (d, n) and ``Yrt = Y[::-1].T`` (d, m):
  cell i of diagonal k pairs ``Xt[:, i]`` with ``Yrt[:, m - 1 - k + i]``, both increasing with i (skewed access);
* the weights are stored diagonal after diagonal (the cells of diagonal k at ``start(k) + i - lo(k)``, n m in all,
  one array per predecessor);
* the backward pass pushes each final ``E`` of diagonal k into accumulators of diagonals k - 1 and k - 2 (three
  contiguous multiply-add loops), and accumulates the gradient with respect to X, ``Gt`` (d, n), as it goes.

Frame costs: the metric codes of ``_bodies.METRIC_CODES``, or ``PRECOMPUTED`` to read them from a matrix C (n, m).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import cpu_jit
from ._bodies import soft_cell

_soft_cell = soft_cell.cpu

#: Metric code meaning "the costs are the matrix C (n, m)" rather than computed from the series.
PRECOMPUTED = -1

# error_model="numpy": no zero-division check on each float division (it would stop the vectorisation)
_SWEEP = dict(error_model="numpy")


@cpu_jit(**_SWEEP)
def transposed_blocks(flat, offsets, reverse):
    """The series of a collection (flat (sum of lengths, d), offsets (N + 1,)) transposed, one after the other: the
    block of series k is its (d, n_k) transpose, C-ordered, at ``offsets[k] * d``; with ``reverse`` its frames
    in reverse order (``Yrt``)."""
    d = flat.shape[1]
    out = np.empty(flat.shape[0] * d)
    for k in range(offsets.shape[0] - 1):
        o, n = offsets[k], offsets[k + 1] - offsets[k]
        for q in range(d):
            base = o * d + q * n
            for i in range(n):
                out[base + i] = flat[o + (n - 1 - i if reverse else i), q]
    return out


@cpu_jit(**_SWEEP)
def block(blocks, offsets, d, k):
    """Series k of ``transposed_blocks`` as a (d, n_k) array (a view)."""
    return blocks[offsets[k] * d:offsets[k + 1] * d].reshape((d, offsets[k + 1] - offsets[k]))


@cpu_jit(inline="always", **_SWEEP)
def _diag_costs(Xt, Yrt, C, code, k, lo, L, out):
    """out[t] = cost of cell (lo + t, k - lo - t) for t < L."""
    if code == PRECOMPUTED:
        for t in range(L):
            out[t] = C[lo + t, k - lo - t]
        return
    m = Yrt.shape[1]
    y0 = m - 1 - k + lo
    for t in range(L):
        out[t] = 0.0
    for q in range(Xt.shape[0]):  # features outer, cells inner: both rows contiguous in t
        x = Xt[q, lo:lo + L]
        y = Yrt[q, y0:y0 + L]
        if code == 2:
            for t in range(L):
                out[t] += abs(x[t] - y[t])
        else:
            for t in range(L):
                diff = x[t] - y[t]
                out[t] += diff * diff
    if code == 1:
        for t in range(L):
            out[t] = math.sqrt(out[t])


@cpu_jit(**_SWEEP)
def sweep_forward(Xt, Yrt, C, code, n, m, gamma, store, Pd, Pu, Pl, R, cbuf):
    """The forward recursion by anti-diagonals on an (n, m) table; returns the value R(n-1, m-1).

    Costs from the series ``Xt`` (d, n) and ``Yrt`` (d, m) for a metric ``code``, or from ``C`` (n, m) with
    ``code = PRECOMPUTED``. ``R`` (3, >= n + 1) and ``cbuf`` (>= n) are scratch. If ``store``, the softmin weights
    of each cell's predecessors go to ``Pd``, ``Pu``, ``Pl`` (>= n m each, diagonal after diagonal)."""
    inf = math.inf
    for t in range(n + 1):
        R[0, t] = inf
        R[1, t] = inf
        R[2, t] = inf
    R[0, 0] = 0.0  # padded diagonal K = 0: R(-1, -1); K = 1 holds borders only
    s = 0
    for k in range(n + m - 1):
        K = k + 2
        cur = R[K % 3]
        prev = R[(K - 1) % 3]
        prev2 = R[(K - 2) % 3]
        lo = max(0, k - m + 1)
        L = min(n - 1, k) - lo + 1
        _diag_costs(Xt, Yrt, C, code, k, lo, L, cbuf)
        # cell (i, j) = (lo + t, k - lo - t) at padded I = lo + 1 + t: diag R(I-1, J-1) = prev2[I - 1],
        # up R(I-1, J) = prev[I - 1], left R(I, J-1) = prev[I]
        d2 = prev2[lo:lo + L]
        up = prev[lo:lo + L]
        left = prev[lo + 1:lo + 1 + L]
        new = cur[lo + 1:lo + 1 + L]
        if store:
            wd = Pd[s:s + L]
            wu = Pu[s:s + L]
            wl = Pl[s:s + L]
            for t in range(L):
                new[t], wd[t], wu[t], wl[t] = _soft_cell(d2[t], up[t], left[t], cbuf[t], gamma)
        else:
            for t in range(L):
                new[t] = _soft_cell(d2[t], up[t], left[t], cbuf[t], gamma)[0]
        cur[0] = inf  # borders of this diagonal, read by the next two: row -1 and, while K <= n, column -1
        if K <= n:
            cur[K] = inf
        s += L
    return R[(n + m) % 3, n]


@cpu_jit(**_SWEEP)
def sweep_backward(Xt, Yrt, C, code, n, m, Pd, Pu, Pl, A, cbuf, want_E, E, want_G, Gt):
    """The backward recursion by anti-diagonals from the weights of ``sweep_forward(..., store=True)``.

    ``A`` (3, >= n + 1) is scratch (E of three diagonals by padded row i + 1). If ``want_E``, E (n, m) receives the
    expected alignment; if ``want_G``, ``Gt`` (d, n) accumulates the gradient with respect to X (transposed) through
    the metric ``code`` (costs from the series; not with ``PRECOMPUTED``)."""
    for r in range(3):
        for t in range(n + 1):
            A[r, t] = 0.0
    A[(n + m - 2) % 3, n] = 1.0  # the last cell
    s = n * m
    for k in range(n + m - 2, -1, -1):
        a0 = A[k % 3]
        a1 = A[(k + 2) % 3]  # diagonal k - 1
        a2 = A[(k + 1) % 3]  # diagonal k - 2
        lo = max(0, k - m + 1)
        L = min(n - 1, k) - lo + 1
        s -= L
        e = a0[lo + 1:lo + 1 + L]  # final: every successor has pushed into it
        if want_E:
            for t in range(L):
                E[lo + t, k - lo - t] = e[t]
        if want_G:
            y0 = m - 1 - k + lo
            if code == 1:
                _diag_costs(Xt, Yrt, C, code, k, lo, L, cbuf)
            for q in range(Xt.shape[0]):
                x = Xt[q, lo:lo + L]
                y = Yrt[q, y0:y0 + L]
                g = Gt[q, lo:lo + L]
                if code == 0:
                    for t in range(L):
                        g[t] += 2.0 * e[t] * (x[t] - y[t])
                elif code == 1:
                    for t in range(L):
                        norm = cbuf[t]
                        # at x_i = y_j the subgradient 0 is taken
                        g[t] += e[t] * (x[t] - y[t]) / norm if norm > 0.0 else 0.0
                else:
                    for t in range(L):
                        diff = x[t] - y[t]
                        g[t] += e[t] if diff > 0.0 else (-e[t] if diff < 0.0 else 0.0)
        # push into the predecessors (pushes to borders land in slots that are never read)
        wu = Pu[s:s + L]
        wl = Pl[s:s + L]
        wd = Pd[s:s + L]
        to_up = a1[lo:lo + L]  # (i - 1, j) on diagonal k - 1
        for t in range(L):
            to_up[t] += e[t] * wu[t]
        to_left = a1[lo + 1:lo + 1 + L]  # (i, j - 1) on diagonal k - 1
        for t in range(L):
            to_left[t] += e[t] * wl[t]
        to_diag = a2[lo:lo + L]  # (i - 1, j - 1) on diagonal k - 2
        for t in range(L):
            to_diag[t] += e[t] * wd[t]
        for t in range(n + 1):  # this buffer serves diagonal k - 3 next
            a0[t] = 0.0


@cpu_jit(**_SWEEP)
def _weights(size):
    """Three arrays of ``size`` floats for the weights, cut from one block: a single large allocation that the C
    allocator keeps for the next call (three separate ones were returned to the system and page-faulted in again
    on every call: a third of the time of a 512 x 512 gradient)."""
    P = np.empty(3 * size)
    return P[:size], P[size:2 * size], P[2 * size:]


@cpu_jit(**_SWEEP)
def soft_dtw_alignment_core(C, gamma):
    """(value, E (n, m)) from a cost matrix C (n, m)."""
    n, m = C.shape
    Pd, Pu, Pl = _weights(n * m)
    R = np.empty((3, n + 1))
    cbuf = np.empty(n)
    none = np.empty((0, 0))
    value = sweep_forward(none, none, C, PRECOMPUTED, n, m, gamma, True, Pd, Pu, Pl, R, cbuf)
    E = np.empty((n, m))
    sweep_backward(none, none, C, PRECOMPUTED, n, m, Pd, Pu, Pl, R, cbuf, True, E, False, none)
    return value, E


@cpu_jit(**_SWEEP)
def soft_dtw_matrix_value_core(C, gamma):
    """The soft-DTW value from a cost matrix C (n, m), in O(n) memory besides C."""
    n, m = C.shape
    none, no_weights = np.empty((0, 0)), np.empty(0)
    return sweep_forward(none, none, C, PRECOMPUTED, n, m, gamma, False, no_weights, no_weights, no_weights,
                         np.empty((3, n + 1)), np.empty(n))


@cpu_jit(**_SWEEP)
def _transposes(X, Y):
    return np.ascontiguousarray(X.T), np.ascontiguousarray(Y[::-1].T)


@cpu_jit(**_SWEEP)
def soft_dtw_series_core(Xt, Yrt, code, gamma, want_E, want_G, Pd, Pu, Pl, R, cbuf, E, Gt):
    """Forward and backward on the series ``Xt`` (d, n), ``Yrt`` (d, m) with caller-provided buffers; returns the
    value (E and Gt filled as asked; Gt is accumulated into)."""
    n, m = Xt.shape[1], Yrt.shape[1]
    value = sweep_forward(Xt, Yrt, np.empty((0, 0)), code, n, m, gamma, True, Pd, Pu, Pl, R, cbuf)
    sweep_backward(Xt, Yrt, np.empty((0, 0)), code, n, m, Pd, Pu, Pl, R, cbuf, want_E, E, want_G, Gt)
    return value


@cpu_jit(**_SWEEP)
def soft_dtw_alignment_series_core(X, Y, code, gamma):
    """(value, E (n, m)) of the series X (n, d), Y (m, d)."""
    n, m = X.shape[0], Y.shape[0]
    Xt, Yrt = _transposes(X, Y)
    Pd, Pu, Pl = _weights(n * m)
    E = np.empty((n, m))
    value = soft_dtw_series_core(Xt, Yrt, code, gamma, True, False, Pd, Pu, Pl, np.empty((3, n + 1)), np.empty(n),
                                 E, np.empty((0, 0)))
    return value, E


@cpu_jit(**_SWEEP)
def soft_dtw_grad_core(X, Y, code, gamma):
    """(value, G): soft-DTW and its gradient with respect to X (n, d)."""
    n, m = X.shape[0], Y.shape[0]
    Xt, Yrt = _transposes(X, Y)
    Pd, Pu, Pl = _weights(n * m)
    Gt = np.zeros(Xt.shape)
    value = soft_dtw_series_core(Xt, Yrt, code, gamma, False, True, Pd, Pu, Pl, np.empty((3, n + 1)), np.empty(n),
                                 np.empty((0, 0)), Gt)
    return value, np.ascontiguousarray(Gt.T)


@cpu_jit(**_SWEEP)
def soft_dtw_value_core(X, Y, code, gamma):
    """The soft-DTW value of the series X (n, d), Y (m, d), in O(n + m) memory besides the transposes."""
    n, m = X.shape[0], Y.shape[0]
    Xt, Yrt = _transposes(X, Y)
    no_weights = np.empty(0)
    return sweep_forward(Xt, Yrt, np.empty((0, 0)), code, n, m, gamma, False, no_weights, no_weights, no_weights,
                         np.empty((3, n + 1)), np.empty(n))


@cpu_jit(parallel=True, **_SWEEP)
def cdist_soft_dtw_core(A, offsets_a, B, offsets_b, code, gamma, symmetric, n_threads):
    """soft-DTW between every series of A and every series of B (flat arrays with offsets), pairs spread over
    threads, each with its own buffers. ``symmetric``: A is B, only i <= j is computed (soft-DTW(x, x) != 0)."""
    N, M = offsets_a.shape[0] - 1, offsets_b.shape[0] - 1
    d = A.shape[1]
    n_max = 1
    for k in range(N):
        n_max = max(n_max, offsets_a[k + 1] - offsets_a[k])
    At = transposed_blocks(A, offsets_a, False)
    Brt = transposed_blocks(B, offsets_b, True)
    out = np.zeros((N, M))
    n_pairs = N * M
    no_weights = np.empty(0)
    none = np.empty((0, 0))
    for t in prange(n_threads):
        R = np.empty((3, n_max + 1))
        cbuf = np.empty(n_max)
        for p in range(t, n_pairs, n_threads):
            i = p // M
            j = p - i * M
            if symmetric and j < i:
                continue
            Xt = block(At, offsets_a, d, i)
            Yrt = block(Brt, offsets_b, d, j)
            value = sweep_forward(Xt, Yrt, none, code, Xt.shape[1], Yrt.shape[1], gamma, False, no_weights, no_weights,
                                  no_weights, R, cbuf)
            out[i, j] = value
            if symmetric:
                out[j, i] = value
    return out


@cpu_jit(parallel=True, **_SWEEP)
def barycenter_objective_core(Z, flat, offsets, weights, code, gamma, n_threads):
    """sum_k w_k soft-DTW(Z, X_k) and its gradient with respect to Z (n, d), series spread over threads with
    per-thread buffers and gradients summed serially."""
    K = offsets.shape[0] - 1
    n, d = Z.shape
    m_max = 1
    for k in range(K):
        m_max = max(m_max, offsets[k + 1] - offsets[k])
    Zt = np.ascontiguousarray(Z.T)
    Srt = transposed_blocks(flat, offsets, True)
    values = np.zeros(n_threads)
    grads = np.zeros((n_threads, d, n))
    for t in prange(n_threads):
        Pd, Pu, Pl = _weights(n * m_max)
        R = np.empty((3, n + 1))
        cbuf = np.empty(n)
        Gt = np.empty((d, n))
        for k in range(t, K, n_threads):
            Gt[:] = 0.0
            value = soft_dtw_series_core(Zt, block(Srt, offsets, d, k), code, gamma, False, True, Pd, Pu, Pl, R,
                                         cbuf, np.empty((0, 0)), Gt)
            values[t] += weights[k] * value
            grads[t] += weights[k] * Gt
    total = 0.0
    Gt = np.zeros((d, n))
    for t in range(n_threads):
        total += values[t]
        Gt += grads[t]
    return total, np.ascontiguousarray(Gt.T)
