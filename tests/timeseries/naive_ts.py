"""Slow references for the time-series tests: plain numpy/scipy recursions and brute force over all alignments."""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def as2d(X):
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(-1, 1) if X.ndim == 1 else X


def cost_matrix(X, Y, metric="sqeuclidean"):
    X, Y = as2d(X), as2d(Y)
    diff = X[:, None, :] - Y[None, :, :]
    if metric == "sqeuclidean":
        return (diff**2).sum(-1)
    if metric == "euclidean":
        return np.sqrt((diff**2).sum(-1))
    return np.abs(diff).sum(-1)


def in_band(i, j, n, m, window):
    if window is None:
        return True
    return -max(0, m - n) - window <= i - j <= max(0, n - m) + window


def dtw_naive(C, window=None):
    n, m = C.shape
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if in_band(i - 1, j - 1, n, m, window):
                D[i, j] = C[i - 1, j - 1] + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    return D[n, m]


def soft_dtw_naive(C, gamma):
    n, m = C.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            z = -np.array([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]]) / gamma
            R[i, j] = C[i - 1, j - 1] - gamma * logsumexp(z)
    return R[n, m]


def all_paths(n, m):
    """Every monotone, contiguous path from (0, 0) to (n - 1, m - 1), as lists of cells (small n, m only)."""
    def walk(i, j):
        if (i, j) == (n - 1, m - 1):
            yield [(i, j)]
            return
        for di, dj in ((1, 1), (1, 0), (0, 1)):
            if i + di < n and j + dj < m:
                for rest in walk(i + di, j + dj):
                    yield [(i, j)] + rest
    return list(walk(0, 0))


def brute_force(C, gamma=None):
    """min over paths of the summed cost (gamma None) or -gamma log sum exp(-cost / gamma)."""
    costs = np.array([sum(C[i, j] for i, j in p) for p in all_paths(*C.shape)])
    if gamma is None:
        return costs.min()
    return -gamma * logsumexp(-costs / gamma)


def expected_alignment_brute(C, gamma):
    """E = sum_A p(A) A with p(A) proportional to exp(-<A, C> / gamma)."""
    paths = all_paths(*C.shape)
    costs = np.array([sum(C[i, j] for i, j in p) for p in paths])
    w = np.exp(-(costs - costs.min()) / gamma)
    w /= w.sum()
    E = np.zeros(C.shape)
    for weight, p in zip(w, paths):
        for i, j in p:
            E[i, j] += weight
    return E




def dtw_path_naive(C):
    """An optimal DTW path by the full recursion and a backtrack (ties: diagonal, then up, then left)."""
    n, m = C.shape
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = C[i - 1, j - 1] + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    i, j, path = n, m, [(n - 1, m - 1)]
    while (i, j) != (1, 1):
        moves = [(D[i - 1, j - 1], i - 1, j - 1), (D[i - 1, j], i - 1, j), (D[i, j - 1], i, j - 1)]
        _, i, j = min(moves, key=lambda t: t[0])  # min keeps the first of equal values: diagonal, up, left
        path.append((i - 1, j - 1))
    return path[::-1]


def dba_step_naive(Z, series, weights):
    """One DTW barycenter averaging update (Petitjean et al. 2011): each frame of Z becomes the weighted mean of
    the frames aligned to it."""
    Z = as2d(Z)
    sums, counts = np.zeros_like(Z), np.zeros(len(Z))
    for w, S in zip(weights, series):
        S = as2d(S)
        for i, j in dtw_path_naive(cost_matrix(Z, S)):
            sums[i] += w * S[j]
            counts[i] += w
    return sums / counts[:, None]
