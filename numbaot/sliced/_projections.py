"""Sliced OT cores: all projections in one batched 1D solve, and the value and gradient along one direction.

The projections themselves are one BLAS product (``P^T X^T``, problems as rows) done by the front-end; the sorts are
numpy's (see ``exact._sort``); the merges run in parallel over projections in the exact family's batched core.
"""
from __future__ import annotations

import numba
import numpy as np

from .._jit import cpu_jit
from .._scaling import max_abs, pow2_exponent
from ..exact._solver_1d import POWER, wasserstein_1d_batch_core
from ..exact._sort import sort_pair


#: Projected values held at once (float64 entries, both clouds): the directions are taken in chunks so that memory
#: stays ~O(CHUNK_VALUES) whatever L (n = 1e6 points on 200 directions would otherwise hold 3.2 GB, twice).
CHUNK_VALUES = 2**26


def projected_values(X_s, X_t, a, b, P, p: float, uniform_a: bool, uniform_b: bool, threads: int):
    """``W_p^p`` of the projections of ``X_s`` (n, d) and ``X_t`` (m, d) on each column of ``P`` (d, L), in float64,
    as ``(values / 2**(e * p), e)``: the clouds are first divided by a power of two ``2**e`` (exact) when their
    projections could overflow or underflow (bad input 9), and the caller scales the root back by ``2**e``.

    ``a`` (n,) and ``b`` (m,) are checked weights of equal mass; ``uniform_*`` says that they are ``1/n`` (they then
    need not travel with the sorts, which are several times faster without them).
    """
    L = P.shape[1]
    # |theta . x| <= |theta| |x| <= |theta| sqrt(d) max|x_k|: a bound on every projection, without computing them
    top = max_abs(X_s, X_t) * np.sqrt(X_s.shape[1]) * float(np.sqrt(np.max(np.sum(P * P, axis=0))))
    e = pow2_exponent(top)
    if e:
        X_s, X_t = np.ldexp(X_s, -e), np.ldexp(X_t, -e)
    per_chunk = max(1, CHUNK_VALUES // (X_s.shape[0] + X_t.shape[0]))
    values = np.empty(L)
    for start in range(0, L, per_chunk):
        stop = min(L, start + per_chunk)
        values[start:stop] = _chunk_values(X_s, X_t, a, b, np.ascontiguousarray(P[:, start:stop]), p, uniform_a,
                                           uniform_b, threads)
    return values, e


def _chunk_values(X_s, X_t, a, b, P, p, uniform_a, uniform_b, threads):
    ps = P.T @ X_s.T  # (L, n): one row per problem, C-contiguous
    pt = P.T @ X_t.T  # (L, m)
    (xs, ws, _), (ys, vs, _) = sort_pair(ps, None if uniform_a else a, pt, None if uniform_b else b,
                                         need_perm=False, threads=threads)
    del ps, pt
    ws = a[None, :] if ws is None else ws
    vs = b[None, :] if vs is None else vs
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return wasserstein_1d_batch_core(xs, ws, ys, vs, POWER, p)
    finally:
        numba.set_num_threads(previous)


@cpu_jit
def direction_value_grad(X_s, X_t, order_s, order_t, u, v, a, b, p):
    """``W_p^p`` between the projections ``u = X_s theta`` and ``v = X_t theta``, and its gradient in ``theta``.

    ``order_s``/``order_t`` sort ``u``/``v``; ``a``/``b`` are the weights in the points' order. The monotone
    coupling is walked as in ``exact._solver_1d.merge_value`` (residual masses, no drifting cumulative sums); each
    cell (i, j) of mass w adds ``w |u_i - v_j|^p`` to the value and ``w p |u_i - v_j|^(p-1) sign(u_i - v_j)
    (x_i - y_j)`` to the gradient (the coupling is locally constant in theta, so this is the gradient wherever
    the projected points are distinct).
    """
    n = order_s.shape[0]
    m = order_t.shape[0]
    d = X_s.shape[1]
    grad = np.zeros(d)
    i = 0
    j = 0
    ia = order_s[0]
    jb = order_t[0]
    ra = max(a[ia], 0.0)
    rb = max(b[jb], 0.0)
    total = 0.0
    while True:
        last = i == n - 1 and j == m - 1
        advance_i = (not last) and (j == m - 1 or (i < n - 1 and ra <= rb))
        w = max(ra, rb) if last else (ra if advance_i else rb)
        if w > 0.0:
            diff = u[ia] - v[jb]
            dist = abs(diff)
            if p == 1.0:
                total += w * dist
                slope = w * (1.0 if diff > 0 else (-1.0 if diff < 0 else 0.0))
            else:
                total += w * dist ** p
                slope = w * p * dist ** (p - 1.0) * (1.0 if diff > 0 else -1.0) if dist > 0 else 0.0
            if slope != 0.0:
                for k in range(d):
                    grad[k] += slope * (X_s[ia, k] - X_t[jb, k])
        if last:
            break
        if advance_i:
            rb -= ra
            i += 1
            ia = order_s[i]
            ra = max(a[ia], 0.0)
        else:
            ra -= rb
            j += 1
            jb = order_t[j]
            rb = max(b[jb], 0.0)
    return total, grad
