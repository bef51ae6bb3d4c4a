"""Compiled passes of the conditional gradient loops (``optim.api``): each is one sweep over an (n, m) array.

The vertices of the transport polytope (linear oracle of ``cg``) and of the semi-relaxed polytope (``semirelaxed_cg``)
are sparse, given as COO triples ``(rows, cols, vals)`` with distinct ``(row, col)`` pairs; a step towards one
touches the dense iterate once (scale) plus its non-zeros.
"""
from __future__ import annotations

import numpy as np

from .._jit import cpu_jit


@cpu_jit
def linearize(M, dfG, reg, Mi):
    """``Mi = M + reg dfG`` (all (n, m), C order); returns ``max |Mi|`` (NaN propagates: checked by the caller)."""
    n, m = M.shape
    top = 0.0
    for i in range(n):
        Mr, Dr, Or = M[i], dfG[i], Mi[i]
        row_top = 0.0
        for j in range(m):
            v = Mr[j] + reg * Dr[j]
            Or[j] = v
            av = abs(v)
            row_top = av if (av > row_top or av != av) else row_top
        top = row_top if (row_top > top or row_top != row_top) else top
    return top


@cpu_jit
def dense_dot(A, B):
    """``<A, B>`` of two (n, m) arrays, with per-row partial sums."""
    total = 0.0
    for i in range(A.shape[0]):
        Ar, Br = A[i], B[i]
        s = 0.0
        for j in range(A.shape[1]):
            s += Ar[j] * Br[j]
        total += s
    return total


@cpu_jit
def sparse_dot(C, rows, cols, vals):
    """``<C, S>`` for S given by its COO triples."""
    total = 0.0
    for k in range(vals.shape[0]):
        total += C[rows[k], cols[k]] * vals[k]
    return total


@cpu_jit
def mix_into(G, rows, cols, vals, t, out):
    """``out = (1 - t) G + t S`` (S sparse): a trial point of the line search."""
    s = 1.0 - t
    for i in range(G.shape[0]):
        Gr, Or = G[i], out[i]
        for j in range(G.shape[1]):
            Or[j] = s * Gr[j]
    for k in range(vals.shape[0]):
        out[rows[k], cols[k]] += t * vals[k]


@cpu_jit
def step(G, rows, cols, vals, t):
    """``G <- (1 - t) G + t S`` in place (S sparse)."""
    if t == 0.0:
        return
    s = 1.0 - t
    for i in range(G.shape[0]):
        Gr = G[i]
        for j in range(G.shape[1]):
            Gr[j] *= s
    for k in range(vals.shape[0]):
        G[rows[k], cols[k]] += t * vals[k]


@cpu_jit
def scatter(rows, cols, vals, S, scale):
    """``S[rows, cols] = scale * vals`` (scale 0 clears the support again)."""
    for k in range(vals.shape[0]):
        S[rows[k], cols[k]] = scale * vals[k]


@cpu_jit
def row_min_vertex(Mi, a, margin):
    """The semi-relaxed linear oracle: in each row i, the mass ``a[i]`` split evenly over the columns whose cost is
    within ``margin`` of the row's minimum (POT's tie rule). Returns COO triples."""
    n, m = Mi.shape
    count = 0
    lows = np.empty(n)
    ties = np.empty(n, dtype=np.int64)
    for i in range(n):
        row = Mi[i]
        low = np.inf
        for j in range(m):
            if row[j] < low:
                low = row[j]
        c = 0
        for j in range(m):
            if row[j] <= low + margin:
                c += 1
        lows[i] = low
        ties[i] = c
        count += c
    rows = np.empty(count, dtype=np.int64)
    cols = np.empty(count, dtype=np.int64)
    vals = np.empty(count)
    k = 0
    for i in range(n):
        row = Mi[i]
        share = a[i] / ties[i]
        for j in range(m):
            if row[j] <= lows[i] + margin:
                rows[k] = i
                cols[k] = j
                vals[k] = share
                k += 1
    return rows, cols, vals
