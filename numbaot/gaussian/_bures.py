"""Bures-Wasserstein cores: matrix square roots by symmetric eigendecomposition, all pairs of Gaussians in
parallel, the affine map between two Gaussians, and the barycenter's fixed point.

Everything is float64 on C-contiguous arrays (the front-end normalises them, so each core compiles once). The
square root of a symmetric PSD matrix ``C = V diag(w) V^T`` is ``V diag(sqrt(max(w, 0))) V^T``: eigenvalues that
rounding pushed below zero are clipped.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import cpu_jit
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL


@cpu_jit
def _symmetrize(M):
    d = M.shape[0]
    for i in range(d):
        for j in range(i + 1, d):
            s = 0.5 * (M[i, j] + M[j, i])
            M[i, j] = s
            M[j, i] = s
    return M


@cpu_jit
def sqrtm_and_inverse(C):
    """``(C^{1/2}, C^{-1/2}, smallest eigenvalue)`` of a symmetric matrix; the inverse is only valid when the
    smallest eigenvalue is positive (the caller checks)."""
    w, V = np.linalg.eigh(C)
    d = C.shape[0]
    root = np.empty((d, d))
    inv = np.empty((d, d))
    s = np.sqrt(np.maximum(w, 0.0))
    si = np.empty(d)
    for k in range(d):
        si[k] = 1.0 / s[k] if s[k] > 0.0 else 0.0
    for i in range(d):
        for j in range(i, d):
            acc = 0.0
            acc_inv = 0.0
            for k in range(d):
                vv = V[i, k] * V[j, k]
                acc += vv * s[k]
                acc_inv += vv * si[k]
            root[i, j] = acc
            root[j, i] = acc
            inv[i, j] = acc_inv
            inv[j, i] = acc_inv
    return root, inv, w[0]


@cpu_jit
def sqrtm_sym(C):
    """``C^{1/2}`` of a symmetric PSD matrix."""
    w, V = np.linalg.eigh(C)
    s = np.sqrt(np.maximum(w, 0.0))
    return _symmetrize(np.dot(V * s, V.T.copy()))


@cpu_jit
def _trace_sqrt_product(root_s, Ct):
    """``tr((S^{1/2} C_t S^{1/2})^{1/2})``: the sum of the square roots of the eigenvalues (no eigenvectors)."""
    M = _symmetrize(np.dot(np.dot(root_s, Ct), root_s))
    w = np.linalg.eigvalsh(M)
    total = 0.0
    for k in range(w.shape[0]):
        if w[k] > 0.0:
            total += np.sqrt(w[k])
    return total


@cpu_jit(parallel=True)
def bures_squared_core(ms, mt, Cs, Ct, paired):
    """Squared Bures-Wasserstein distances between Gaussians ``N(ms[i], Cs[i])`` and ``N(mt[j], Ct[j])``.

    ``ms`` (n, d), ``Cs`` (n, d, d), ``mt`` (m, d), ``Ct`` (m, d, d). Returns (n, m), or (n,) for the pairs
    ``(i, i)`` when ``paired``. Parallel over sources for the square roots, then over pairs.
    """
    n, d = ms.shape
    m = mt.shape[0]
    roots = np.empty((n, d, d))
    for i in prange(n):
        roots[i] = sqrtm_sym(Cs[i])
    count = n if paired else n * m
    out = np.empty(count)
    for t in prange(count):
        flat = np.int64(t)  # prange's index is unsigned: keep the arithmetic in int64
        i = flat if paired else flat // m
        j = flat if paired else flat - i * m
        cross = _trace_sqrt_product(roots[i], Ct[j])
        trace = 0.0
        gap = 0.0
        for k in range(d):
            trace += Cs[i, k, k] + Ct[j, k, k]
            diff = ms[i, k] - mt[j, k]
            gap += diff * diff
        out[t] = max(gap + trace - 2.0 * cross, 0.0)
    return out


@cpu_jit
def bures_map_core(Cs, Ct):
    """The symmetric matrix ``A = Cs^{-1/2} (Cs^{1/2} Ct Cs^{1/2})^{1/2} Cs^{-1/2}`` of the Monge map between
    centred Gaussians, and the smallest eigenvalue of ``Cs`` (A is valid only when it is positive)."""
    root, inv, smallest = sqrtm_and_inverse(Cs)
    middle = sqrtm_sym(_symmetrize(np.dot(np.dot(root, Ct), root)))
    return _symmetrize(np.dot(np.dot(inv, middle), inv)), smallest


@cpu_jit(parallel=True)
def _weighted_root_sum(root, C, weights, chunks):
    """``sum_k weights[k] (R C_k R)^{1/2}``: parallel over ``chunks`` slices of the Gaussians, one buffer each."""
    K, d = C.shape[0], C.shape[1]
    buffers = np.zeros((chunks, d, d))
    per = (K + chunks - 1) // chunks
    for c in prange(chunks):
        for k in range(c * per, min(K, (c + 1) * per)):
            if weights[k] != 0.0:
                buffers[c] += weights[k] * sqrtm_sym(_symmetrize(np.dot(np.dot(root, C[k]), root)))
    total = np.zeros((d, d))
    for c in range(chunks):
        total += buffers[c]
    return total


@cpu_jit
def bures_barycenter_core(C, weights, S, step, max_iter, tol, chunks):
    """Covariance of the Bures-Wasserstein barycenter of ``C`` (K, d, d) with ``weights`` (K,), from ``S``.

    Each step maps S to ``G S G`` with ``G = (1 - step) I + step T`` and ``T = S^{-1/2} (sum_k w_k (S^{1/2} C_k
    S^{1/2})^{1/2}) S^{-1/2}`` the weighted mean of the Monge maps from N(0, S) to the N(0, C_k): ``step = 1`` is
    the fixed point of Alvarez-Esteban et al. (2016), other steps Riemannian gradient descent (Chewi et al. 2020).
    Stops when ``||S_new - S||_F <= tol``. Returns ``(S, status, n_iter, last change)``.
    """
    d = S.shape[0]
    change = np.inf
    for it in range(max_iter):
        root, inv, smallest = sqrtm_and_inverse(S)
        if not smallest > 0.0:
            return S, NUMERICAL_ERROR, it, change
        T = _symmetrize(np.dot(np.dot(inv, _weighted_root_sum(root, C, weights, chunks)), inv))
        G = step * T
        for k in range(d):
            G[k, k] += 1.0 - step
        S_new = _symmetrize(np.dot(np.dot(G, S), G))
        change = np.sqrt(np.sum((S_new - S) ** 2))
        S = S_new
        if not np.isfinite(change):
            return S, NUMERICAL_ERROR, it + 1, change
        if change <= tol:
            return S, OPTIMAL, it + 1, change
    return S, MAX_ITER_REACHED, max_iter, change


@cpu_jit(parallel=True)
def eigenvalue_range(C):
    """Smallest and largest eigenvalue of each symmetric matrix of ``C`` (K, d, d): an array (K, 2)."""
    K = C.shape[0]
    out = np.empty((K, 2))
    for k in prange(K):
        w = np.linalg.eigvalsh(C[k])
        out[k, 0] = w[0]
        out[k, 1] = w[w.shape[0] - 1]
    return out


@cpu_jit
def clip_negative_eigenvalues(C):
    """``C`` (symmetric) with its negative eigenvalues set to 0."""
    w, V = np.linalg.eigh(C)
    return _symmetrize(np.dot(V * np.maximum(w, 0.0), V.T.copy()))
