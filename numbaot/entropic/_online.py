"""Log-domain Sinkhorn between point clouds with costs computed on the fly: O(n + m) memory, parallel over rows.

The potentials ``f`` (n,) and ``g`` (m,) define the plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)`` with
``C_ij = c(x_i, y_j)`` the ground cost of ``_costs.pair_cost`` (the same body the dense cost matrix is built from).
Nothing of size n x m is ever stored: every half-step, the value, the plan's products with vectors and the dense
plan (on request) recompute the costs from the points.

The row softmin (:func:`softmin_points`) is one pass over the other cloud. It shifts the exponentials by a guess of
the answer (the previous iterate's potential, which moves little from one iteration to the next) instead of the
row's maximum, so the exponentials need no branch and no second pass, and their loop vectorises; when the guess is
so far off that the sum overflows or underflows (the first iterations, mostly), the row is redone exactly with its
maximum (two passes).

The iterations are the one Sinkhorn loop of :mod:`numbaot.entropic._loop` over the point-cloud geometry
(``_costs.PointClouds``, whose half-step in ``_geometry`` runs :func:`softmin_points` on every row in parallel; the
Sinkhorn divergence's symmetric updates take the same half-step); the front-end
:func:`numbaot.entropic.online.solve_online` is what ``numbaot.solve_sample(..., reg=..., lazy=True)`` calls.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange
from numba.extending import overload

from .._costs import (CITYBLOCK, COSINE, EUCLIDEAN, MINKOWSKI, SQEUCLIDEAN, PointClouds, cost_finish, cost_term,
                      pair_cost, pair_costs_numpy)
from .._fastexp import fast_exp as exp_term  # the vectorisable exponential of the dense cores
from .._jit import cpu_jit, twin


#: Costs of a row are computed in chunks of this many points into a scratch buffer, then exponentiated and summed
#: in a loop of its own: that loop has no call and no branch, so LLVM vectorises it when ``exp_term`` allows.
CHUNK = 256

_pair_cost = pair_cost.cpu
_cost_term = cost_term.cpu
_cost_finish = cost_finish.cpu
_exp_term = exp_term.cpu


@twin(deps={"_cost_term": cost_term, "_cost_finish": cost_finish})
def chunk_costs(X, i, Y, start, stop, metric, p, norm_x, norms_y, buf):
    """``buf[j - start] = C(x_i, y_j)`` for ``start <= j < stop``: ``pair_cost``'s terms, coordinate by coordinate
    for the whole chunk, so that the loops run over points and vectorise.

    Slices, not ``Y[start + j, k]``: Numba cannot prove ``start + j >= 0``, and the negative-index wraparound it
    then emits keeps LLVM from vectorising (10 ns per pair instead of 3). With Y in Fortran order (the CPU
    front-end's layout) each coordinate's slice is contiguous.
    """
    size = stop - start
    for j in range(size):
        buf[j] = 0.0
    for k in range(X.shape[1]):
        xk = X[i, k]
        y_k = Y[start:stop, k]
        # the metric's branch outside the loops over points, with literal codes for the common costs: each loop
        # is straight-line code and vectorises, and the body compiles once (not once per metric)
        if metric <= 1:
            for j in range(size):
                buf[j] += _cost_term(xk, y_k[j], 0, p)
        elif metric == 2:
            for j in range(size):
                buf[j] += _cost_term(xk, y_k[j], 2, p)
        else:
            for j in range(size):
                buf[j] += _cost_term(xk, y_k[j], metric, p)
    if metric == 1:  # the other costs but 0 and 2 are not the plain sum of their terms
        for j in range(size):
            buf[j] = _cost_finish(buf[j], 1, p, norm_x, 1.0)
    elif metric > 2:
        ny_chunk = norms_y[start:stop]
        for j in range(size):
            buf[j] = _cost_finish(buf[j], metric, p, norm_x, ny_chunk[j])


_chunk_costs = chunk_costs.cpu


# Not inlined on the CPU: rarely run (first iterations, bad guesses), and one copy compiles faster than one per caller.
@twin(deps={"_pair_cost": pair_cost}, inline="never")
def softmin_points_exact(X, i, Y, h, inv_eps, metric, p, norm_x, norms_y):
    """``log sum_j exp(h[j] - c(x_i, y_j) * inv_eps)`` in two passes shifted by the row's maximum: exact for any
    input (``-inf`` when every term is; non-finite when a NaN or ``+inf`` is among them)."""
    m = Y.shape[0]
    top = -math.inf
    for j in range(m):
        t = h[j] - _pair_cost(X, i, Y, j, metric, p, norm_x, norms_y[j]) * inv_eps
        if t > top:
            top = t
    if top == -math.inf or not math.isfinite(top):
        return top
    total = 0.0
    for j in range(m):
        t = h[j] - _pair_cost(X, i, Y, j, metric, p, norm_x, norms_y[j]) * inv_eps
        total += math.exp(t - top)
    return top + math.log(total)


_softmin_points_exact = softmin_points_exact.cpu


# Not inlined on the CPU: the parallel loop that calls it stays small (Numba's parfor passes are slow on big bodies)
# and a call per row costs nothing against the row's m costs.
@twin(deps={"_chunk_costs": chunk_costs, "_exp_term": exp_term, "_softmin_points_exact": softmin_points_exact},
      inline="never")
def softmin_points(X, i, Y, h, inv_eps, metric, p, norms_x, norms_y, guess, buf):
    """``log sum_j exp(h[j] - c(x_i, y_j) * inv_eps)`` over the rows of ``Y``, costs from the points.

    ``guess`` is an estimate of the answer (any finite number; the previous iterate's value is a good one): the
    exponentials are shifted by it, in one pass. ``buf`` is scratch space (its length sets the chunk size; the CUDA
    kernels pass a small local array). Rows whose terms are all ``-inf`` (every weight zero) return ``-inf``; a NaN
    anywhere gives a non-finite answer.
    """
    m = Y.shape[0]
    chunk = buf.shape[0]
    nx = norms_x[i]
    total = 0.0
    for start in range(0, m, chunk):
        stop = start + chunk if m - start > chunk else m  # not min(): a compiled overload of its own
        _chunk_costs(X, i, Y, start, stop, metric, p, nx, norms_y, buf)
        h_chunk = h[start:stop]
        for j in range(stop - start):
            buf[j] = h_chunk[j] - buf[j] * inv_eps - guess
        for j in range(stop - start):
            total += _exp_term(buf[j])
    if total > 1e-250 and total < 1e250:  # far from overflow and from subnormals: the guess was good enough
        return guess + math.log(total)
    # The guess was too far off (or the input holds NaN): the exact two-pass log-sum-exp.
    return _softmin_points_exact(X, i, Y, h, inv_eps, metric, p, nx, norms_y)


@twin(deps={"_pair_cost": pair_cost})
def plan_entry(X, i, Y, j, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps):
    """``(P_ij, C_ij)`` with ``P_ij = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)``."""
    c = _pair_cost(X, i, Y, j, metric, p, norms_x[i], norms_y[j])
    return math.exp(log_a[i] + log_b[j] + (f[i] + g[j] - c) * inv_eps), c


_softmin_points = softmin_points.cpu


# Not inlined: the parallel loops that call it stay small (Numba's parfor passes are slow on big bodies); one call
# per chunk of CHUNK entries costs nothing against their costs and exponentials.
@cpu_jit
def _plan_chunk(X, i, Y, start, stop, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps, costs, weights):
    """``costs[j - start] = C_ij`` and ``weights[j - start] = P_ij`` for ``start <= j < stop`` (vectorised loops)."""
    _chunk_costs(X, i, Y, start, stop, metric, p, norms_x[i], norms_y, costs)
    base = log_a[i] + f[i] * inv_eps
    lb = log_b[start:stop]
    gb = g[start:stop]
    for j in range(stop - start):
        weights[j] = _exp_term(base + lb[j] + (gb[j] - costs[j]) * inv_eps)


@cpu_jit(parallel=True)
def row_sums(clouds, log_a, log_b, f, g, eps, mass, cost):
    """``mass[i] = sum_j P_ij`` and ``cost[i] = sum_j P_ij C_ij`` (0 * inf counts as 0) between the clouds of
    ``clouds`` (a ``PointClouds``, its metric pinned or not), in parallel over the rows of X."""
    X, Y, p, norms_x, norms_y = clouds.X, clouds.Y, clouds.p, clouds.norms_x, clouds.norms_y
    inv_eps = 1.0 / eps
    m = Y.shape[0]
    for i in prange(X.shape[0]):
        costs = np.empty(CHUNK)
        weights = np.empty(CHUNK)
        r = 0.0
        s = 0.0
        for start in range(0, m, CHUNK):
            stop = start + CHUNK if m - start > CHUNK else m
            _plan_chunk(X, np.int64(i), Y, start, stop, cloud_metric(clouds), p, norms_x, norms_y, log_a, log_b, f,
                        g, inv_eps, costs, weights)
            for j in range(stop - start):
                w = weights[j]
                r += w
                s += w * costs[j] if w > 0.0 else 0.0
        mass[i] = r
        cost[i] = s


def plan_sums(geom, log_a, log_b, f, g, eps, n_threads, swapped=False):
    """``(mass, cost)``: :func:`row_sums` of the plan of potentials ``(f, g)`` between the clouds of the
    :class:`PointGeometry` ``geom`` (``swapped``: its columns, with the arguments of the swapped problem), by
    numpy for small clouds (no kernel to compile for a first call), else by the parallel kernel."""
    from .. import _costs
    from .._threads import run_parallel

    clouds = geom.clouds(swapped=swapped)
    n, m = clouds.X.shape[0], clouds.Y.shape[0]
    mass, cost = np.empty(n), np.empty(n)
    if n * m * clouds.X.shape[1] <= _costs.NUMPY_COSTS_MAX:
        row_sums_numpy(clouds, log_a, log_b, f, g, eps, mass, cost)
    else:
        run_parallel(row_sums, n_threads, clouds, log_a, log_b, f, g, eps, mass, cost)
    return mass, cost


def row_sums_numpy(clouds, log_a, log_b, f, g, eps, mass, cost):
    """:func:`row_sums` in numpy (same arguments and answer, up to rounding), for small clouds: nothing to compile.
    The costs are ``pair_cost``'s (``_costs.pair_costs_numpy``)."""
    acc = pair_costs_numpy(clouds.X, clouds.Y, clouds.metric, clouds.p, clouds.norms_x, clouds.norms_y)
    inv_eps = 1.0 / eps
    with np.errstate(invalid="ignore", over="ignore"):
        P = np.exp((log_a + f * inv_eps)[:, None] + log_b[None, :] + (g[None, :] - acc) * inv_eps)
        mass[:] = P.sum(axis=1)
        cost[:] = np.where(P > 0.0, P * acc, 0.0).sum(axis=1)  # 0 * inf counts as 0


@cpu_jit(parallel=True)
def apply_plan(X, Y, metric, p, norms_x, norms_y, log_a, log_b, f, g, eps, V, out):
    """``out = P @ V`` for V of shape (m, k), the plan's entries recomputed from the points; parallel over rows.

    ``P^T @ U`` is the same call with the two clouds (and their weights and potentials) swapped.
    """
    inv_eps = 1.0 / eps
    m, k = V.shape
    for i in prange(X.shape[0]):
        costs = np.empty(CHUNK)
        weights = np.empty(CHUNK)
        for c in range(k):
            out[i, c] = 0.0
        for start in range(0, m, CHUNK):
            stop = start + CHUNK if m - start > CHUNK else m
            _plan_chunk(X, np.int64(i), Y, start, stop, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps,
                        costs, weights)
            for c in range(k):
                v_c = V[start:stop, c]
                acc = 0.0
                for j in range(stop - start):
                    acc += weights[j] * v_c[j]
                out[i, c] += acc


@cpu_jit(parallel=True)
def dense_plan(X, Y, metric, p, norms_x, norms_y, log_a, log_b, f, g, eps, out):
    """``out[i, j] = P_ij`` (n, m), in parallel over rows."""
    inv_eps = 1.0 / eps
    m = Y.shape[0]
    for i in prange(X.shape[0]):
        costs = np.empty(CHUNK)
        for start in range(0, m, CHUNK):
            stop = start + CHUNK if m - start > CHUNK else m
            _plan_chunk(X, np.int64(i), Y, start, stop, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps,
                        costs, out[i, start:stop])


# ------------------------------------------------------------------------------------------------ pinned metrics
# ``PointClouds`` whose class fixes the metric (``METRIC``): the kernels read it as a constant (:func:`cloud_metric`)
# and pass it on to the row bodies as a literal, so that LLVM keeps that metric's loops only. Compile cost: the
# loops of every metric, each vectorised, and optimised again at every level above the row softmin, were a fifth of
# the online solve's cold compile (issue 13); a second metric now compiles its own kernels. One class per metric, at
# module level (Numba's cache pickles the class by name).
class SqEuclideanClouds(PointClouds):
    __slots__ = ()
    METRIC = SQEUCLIDEAN


class EuclideanClouds(PointClouds):
    __slots__ = ()
    METRIC = EUCLIDEAN


class CityblockClouds(PointClouds):
    __slots__ = ()
    METRIC = CITYBLOCK


class MinkowskiClouds(PointClouds):
    __slots__ = ()
    METRIC = MINKOWSKI


class CosineClouds(PointClouds):
    __slots__ = ()
    METRIC = COSINE


PINNED_CLOUDS = {cls.METRIC: cls for cls in (SqEuclideanClouds, EuclideanClouds, CityblockClouds, MinkowskiClouds,
                                             CosineClouds)}


def cloud_metric(clouds):
    """The metric code of a ``PointClouds``: in jitted code a constant when the class pins it."""
    return clouds.metric


@overload(cloud_metric, inline="always")
def _ol_cloud_metric(clouds):
    code = getattr(getattr(clouds, "instance_class", None), "METRIC", None)
    if code is None:
        return lambda clouds: clouds.metric
    return lambda clouds: code


# ------------------------------------------------------------------------------------------------------ front-end
class PointGeometry:
    """Two host point clouds (float64, Fortran order), their metric, and what the jitted cores need of them.

    ``swap()`` gives the geometry seen from the other cloud (for column updates and ``P^T``).
    """

    def __init__(self, X, Y, metric, p):
        from .._costs import METRIC_CODES
        from .._costs import cosine_norms

        # Fortran order: the softmin reads one coordinate of many points at a time (contiguous, vectorised loads);
        # a C-ordered input is copied once (O((n + m) d), like the float64 conversion)
        self.X = np.asfortranarray(X, dtype=np.float64)
        self.Y = np.asfortranarray(Y, dtype=np.float64)
        self.metric = metric
        self.code = METRIC_CODES[metric]
        self.p = float(2.0 if p is None else p)
        self.norms_x, self.norms_y = cosine_norms(self.X, self.Y, metric, names=("X_a", "X_b"))

    @property
    def shape(self):
        return self.X.shape[0], self.Y.shape[0]

    def args(self):
        """The leading arguments of every core: ``X, Y, metric, p, norms_x, norms_y``."""
        return self.X, self.Y, self.code, self.p, self.norms_x, self.norms_y

    def swapped_args(self):
        return self.Y, self.X, self.code, self.p, self.norms_y, self.norms_x

    def clouds(self, swapped=False):
        """The clouds (X, Y; Y, X when ``swapped``) as a ``PointClouds`` whose class pins the metric."""
        return PINNED_CLOUDS[self.code](*(self.swapped_args() if swapped else self.args()))


def online_plan_parts(geom, log_a, log_b, f, g, eps, out_dtype, n_threads):
    """``(plan_operator, densify)`` for the plan of potentials (f, g) between the clouds of ``geom``."""
    from .._result import LinearOperator
    from .._threads import run_parallel

    n, m = geom.shape

    def _apply(args, la, lb, fa, gb, rows, V):
        V = np.asarray(V, dtype=np.float64)
        if V.ndim not in (1, 2) or V.shape[0] != len(lb):
            raise ValueError(f"the plan operator takes a vector or matrix with {len(lb)} rows, got shape {V.shape}")
        W = np.ascontiguousarray(V.reshape(len(lb), -1))
        out = np.empty((rows, W.shape[1]))
        run_parallel(apply_plan, n_threads, *args, la, lb, fa, gb, eps, W, out)
        out = out.astype(out_dtype, copy=False)
        return out[:, 0] if V.ndim == 1 else out

    def matvec(v):
        return _apply(geom.args(), log_a, log_b, f, g, n, v)

    def rmatvec(u):
        return _apply(geom.swapped_args(), log_b, log_a, g, f, m, u)

    def densify():
        out = np.empty((n, m))
        run_parallel(dense_plan, n_threads, *geom.args(), log_a, log_b, f, g, eps, out)
        return out.astype(out_dtype, copy=False)

    return LinearOperator((n, m), out_dtype, matvec, rmatvec), densify
