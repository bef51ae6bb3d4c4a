"""Ground costs between points, as scalar bodies shared by the CPU cores and the CUDA kernels (``_jit.twin``), and
the gradient of a plan's cost in the points (for ``numbaot.autodiff``)."""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from typing import NamedTuple

from ._fastexp import fast_exp
from ._jit import cpu_jit, twin

_exp = fast_exp.cpu

class PointClouds(NamedTuple):
    """Two point clouds ``X`` (n, d), ``Y`` (m, d) (float64) and their ground cost (a metric code, the exponent,
    and the rows' norms for 'cosine', else unused): the costs of every solver that computes them on the fly,
    O(n + m) memory (the network simplex, the online Sinkhorn). Jitted code tells it from a dense matrix by its
    type, at compile time."""

    X: np.ndarray
    Y: np.ndarray
    metric: int
    p: float
    norms_x: np.ndarray
    norms_y: np.ndarray


# Metric codes passed into jitted code (strings are checked on the host).
SQEUCLIDEAN = 0
EUCLIDEAN = 1
CITYBLOCK = 2
MINKOWSKI = 3
COSINE = 4
METRIC_CODES = {"sqeuclidean": SQEUCLIDEAN, "euclidean": EUCLIDEAN, "cityblock": CITYBLOCK,
                "minkowski": MINKOWSKI, "cosine": COSINE}


@twin(fastmath=False)
def cost_term(xk, yk, metric, p):
    """One coordinate's contribution to the accumulated cost (``pair_cost`` sums these over the coordinates)."""
    if metric == 4:
        return xk * yk
    diff = abs(xk - yk)
    if metric <= 1:
        return diff * diff
    if metric == 2:
        return diff
    return diff**p


@twin(fastmath=False)
def cost_finish(acc, metric, p, norm_x, norm_y):
    """The cost from the sum of the coordinates' terms (``norm_x``/``norm_y``: 'cosine' only)."""
    if metric == 4:
        return 1.0 - acc / (norm_x * norm_y)
    if metric == 1:
        return math.sqrt(acc)
    if metric == 3:
        return acc ** (1.0 / p)
    return acc


_cost_term = cost_term.cpu
_cost_finish = cost_finish.cpu


# the network simplex needs bit-identical costs wherever an arc is priced
@twin(fastmath=False, deps={"_cost_term": cost_term, "_cost_finish": cost_finish})
def pair_cost(X, i, Y, j, metric, p, norm_x, norm_y):
    """Cost between row ``i`` of ``X`` (n, d) and row ``j`` of ``Y`` (m, d).

    ``norm_x``/``norm_y`` are the rows' Euclidean norms, used by 'cosine' only. Differences are taken coordinate
    by coordinate (no ``|x|^2 + |y|^2 - 2 x.y`` shortcut), so squared distances are never negative. The sum of
    ``cost_term`` over the coordinates, then ``cost_finish``: loops that compute many costs at once (the online
    Sinkhorn) accumulate the same terms in the same order, coordinate by coordinate.
    """
    acc = 0.0
    for k in range(X.shape[1]):
        acc += _cost_term(X[i, k], Y[j, k], metric, p)
    return _cost_finish(acc, metric, p, norm_x, norm_y)


_pair_cost = pair_cost.cpu


@cpu_jit(parallel=True)
def dist_core(X, Y, metric, p, norms_x, norms_y, out):
    """Fill ``out`` (n, m) with the costs between the rows of X (n, d) and Y (m, d); parallel over rows."""
    n = X.shape[0]
    m = Y.shape[0]
    for i in prange(n):
        for j in range(m):
            out[i, j] = _pair_cost(X, i, Y, j, metric, p, norms_x[i], norms_y[j])


def cosine_norms(X, Y, metric, names=("x1", "x2")):
    """Row norms for 'cosine' (refusing zero rows, whose angle is undefined); dummies for other metrics."""
    if metric != "cosine":
        return np.ones(X.shape[0]), np.ones(Y.shape[0])
    norms = []
    for name, Z in zip(names, (X, Y)):
        z = np.sqrt(np.einsum("ij,ij->i", Z, Z, dtype=np.float64))
        if np.any(z == 0):
            raise ValueError(f"row {int(np.argmin(z))} of {name} is zero: the cosine distance is undefined for it")
        norms.append(z)
    return norms[0], norms[1]


#: Clouds of at most this many (pair, coordinate) terms may get their costs from numpy (:func:`cost_matrix_numpy`;
#: the online solver's plan sums too, ``_online.plan_sums``): a millisecond or two, against about a second that
#: compiling a parallel kernel adds to a first call.
NUMPY_COSTS_MAX = 1 << 17


def pair_costs_numpy(X, Y, code, p, norms_x, norms_y):
    """The (n, m) float64 costs of ``pair_cost`` between float64 clouds by numpy, nothing to compile: its coordinate
    terms (``cost_term``'s Python body, run on whole columns) accumulated in the same order, then its finish (the
    same values; 'minkowski''s power may round differently)."""
    acc = np.zeros((X.shape[0], Y.shape[0]))
    for k in range(X.shape[1]):
        acc += cost_term.py(X[:, k, None], Y[None, :, k], code, p)
    if code == COSINE:
        return 1.0 - acc / (norms_x[:, None] * norms_y[None, :])
    if code == EUCLIDEAN:
        return np.sqrt(acc)
    if code == MINKOWSKI:
        acc **= 1.0 / p
    return acc


def cost_matrix_numpy(X, Y, metric, p, out_dtype=np.float64):
    """:func:`cost_matrix` by numpy (:func:`pair_costs_numpy`), for small clouds (:data:`NUMPY_COSTS_MAX`)."""
    norms_x, norms_y = cosine_norms(X, Y, metric)
    return pair_costs_numpy(X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False), METRIC_CODES[metric],
                            float(2.0 if p is None else p), norms_x, norms_y).astype(out_dtype, copy=False)


def cost_matrix(X, Y, metric, p, n_threads, out_dtype=np.float64):
    """The (n, m) costs between validated host clouds ``X`` (n, d) and ``Y`` (m, d), in parallel, as ``out_dtype``
    (what :func:`numbaot.dist` returns; the solvers that build cost matrices call this directly)."""
    from ._threads import run_parallel

    norms_x, norms_y = cosine_norms(X, Y, metric)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=out_dtype)
    run_parallel(dist_core, n_threads, X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False),
                 METRIC_CODES[metric], float(2.0 if p is None else p), norms_x, norms_y, out)
    return out


#: metrics with a gradient in the positions: code for :func:`plan_cost_grad`
POINT_GRAD_METRICS = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2}


#: rows of X per task of :func:`plan_cost_grad` (each task owns two buffers of length m)
_GRAD_BLOCK = 32


@cpu_jit(parallel=True)
def plan_cost_grad(X, YT, f, g, log_a, log_b, eps, kind, normalise, out):
    """``out[i] = sum_j P_ij d c(x_i, y_j) / d x_i``, costs recomputed from the points (O(n + m) memory), in
    parallel over blocks of rows of X; ``YT`` is Y transposed (d, m), contiguous, so that every inner loop runs
    along j and vectorises (``fast_exp``). The plan is ``P_ij = exp((f_i + g_j - c_ij) / eps + log a_i + log b_j)``
    or, with ``normalise`` (balanced OT), ``a_i softmax_j(log b_j + (g_j - c_ij) / eps)``: the same at convergence,
    and the plan whose rows carry exactly ``a`` otherwise (GeomLoss's last extrapolation ``f = softmin(g)``).
    kind: 0 ``|x - y|^2``, 1 ``|x - y|``, 2 ``|x - y|_1``."""
    n, d = X.shape
    m = YT.shape[1]
    inv_eps = 1.0 / eps
    h = np.empty(m)
    for j in range(m):
        h[j] = log_b[j] + g[j] * inv_eps
    for t in prange((n + _GRAD_BLOCK - 1) // _GRAD_BLOCK):
        cost = np.empty(m)
        w = np.empty(m)
        for i in range(t * _GRAD_BLOCK, min(n, (t + 1) * _GRAD_BLOCK)):
            for k in range(d):
                out[i, k] = 0.0
            if log_a[i] == -np.inf:
                continue
            for j in range(m):
                cost[j] = 0.0
            for k in range(d):
                xk = float(X[i, k])
                for j in range(m):
                    u = xk - YT[k, j]
                    cost[j] += u * u if kind != 2 else abs(u)
            if kind == 1:
                for j in range(m):
                    cost[j] = math.sqrt(cost[j])
            top = -np.inf
            for j in range(m):
                w[j] = h[j] - cost[j] * inv_eps  # -inf where b_j = 0
                top = max(top, w[j])
            if top == -np.inf:
                continue
            # normalised: the row's softmax (shifted by its maximum); else the plan's entries themselves
            shift = top if normalise else -(f[i] * inv_eps + log_a[i])
            total = 0.0
            for j in range(m):
                w[j] = _exp(w[j] - shift)
                total += w[j]
            if kind == 1:  # d|x - y| / dx = (x - y) / |x - y|, and 0 where the points coincide
                for j in range(m):
                    w[j] = w[j] / cost[j] if cost[j] > 0.0 else 0.0
            scale = math.exp(log_a[i]) / total if normalise else 1.0
            for k in range(d):
                xk = float(X[i, k])
                acc = 0.0
                if kind == 2:
                    for j in range(m):
                        u = xk - YT[k, j]
                        acc += w[j] * ((u > 0.0) - (u < 0.0))
                else:
                    for j in range(m):
                        acc += w[j] * (xk - YT[k, j])
                out[i, k] = scale * (2.0 * acc if kind == 0 else acc)
