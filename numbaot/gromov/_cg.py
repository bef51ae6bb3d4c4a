"""Conditional gradient (Frank-Wolfe) for (fused) Gromov-Wasserstein, with an exact line search.

Objective, over plans T with marginals p and q (``s`` the :class:`~numbaot.gromov._tensor.Split` of ``L``):

    F(T) = w_lin <M, T> + w_quad E(T),    E(T) = <u, p> + <v, q> - <X(T), T>,    X(T) = h1 T h2^T.

Each iteration (Vayer et al. 2019, Alg. 2):

1. linearise: ``grad = w_lin M + w_quad (u 1^T + 1 v^T + ut 1^T + 1 vt^T - X(T) - Y(T))`` with
   ``Y(T) = h1^T T h2`` (= X(T) for symmetric matrices);
2. linear oracle: the vertex ``S = argmin <grad, S>`` of the transport polytope, by our network simplex,
   started from the previous iteration's optimal spanning tree (:class:`LinearOracle`): about a third of the
   pivots of a cold start on random clouds at n = 300 and 1000;
3. exact line search: with ``D = S - T`` (zero marginals) ``F(T + t D) = F(T) + b t + a t^2`` where
   ``a = -w_quad <X(D), D>`` and ``b = w_lin <M, D> - w_quad (<X(T), D> + <Y(T), D>)``; the best ``t`` in [0, 1]
   is closed-form (:func:`quadratic_step`);
4. ``T <- T + t D``; ``X`` and ``Y`` are linear in T, so ``X(T + t D) = (1 - t) X(T) + t X(S)``: one product with
   the sparse vertex S (n + m - 1 non-zeros) per iteration, never a dense one after the first; and consecutive
   vertices differ in fewer and fewer rows, so ``X(S)`` is the previous vertex's plus the product of the change
   when that is cheaper (:class:`~numbaot.gromov._tensor.VertexProducts`).

It stops when the objective changes by less than ``tol_rel`` relative or ``tol_abs`` absolute (POT's
``tol_rel``/``tol_abs``), or after ``max_iter`` iterations (status MAX_ITER_REACHED).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from .._jit import cpu_jit
from .._scaling import SAFE_RANGE
from .._status import (CONTINUE as _CONTINUE, MAX_ITER_REACHED as _MAX_ITER_REACHED,
                       NUMERICAL_ERROR as _NUMERICAL_ERROR, OPTIMAL as _OPTIMAL, Status)
from ..exact._network_simplex import pricing_threads, readonly, solve, staircase_basis
from .._threads import numba_threads
from . import _tensor

#: Below this many plan entries the O(n m) kernels run on one thread. Two reasons: a parallel region's start-up
#: (~10 us on an idle machine, milliseconds on a loaded one) outweighs a pass over a small matrix, and, above all,
#: the dense n^3 products run in BLAS with its own threads, which Numba's workers (spinning for a while after each
#: parallel region) take the cores from: on 2 cores, GW at n = 300 took 187 ms with the kernels parallel above
#: 2^16 entries and 64 ms with them serial (2.1 s against 2.4 s at n = 1000).
PARALLEL_MIN_ENTRIES = 1 << 22
#: The oracle's pricing block, in units of sqrt(n m): warm solves sit near the optimum, where most blocks hold no
#: entering arc and a block's fixed cost (~0.1 us) matters. Measured over the oracle calls of GW on the bench's
#: clouds: at n = 100, 2.16 / 1.88 / 1.69 ms for factors 0.5 / 1 / 2; at n = 300, 20.8 / 19.6 / 22.2 ms.
ORACLE_BLOCK_FACTOR = 1.0


@cpu_jit(inline="always")
def quadratic_step(a, b):
    """The ``t`` in [0, 1] that minimises ``a t^2 + b t`` (ties go to the smaller step)."""
    if a > 0.0:
        return min(1.0, max(0.0, -b / (2.0 * a)))
    # concave or linear: the minimum is at an end of [0, 1]
    return 1.0 if a + b < 0.0 else 0.0


# The O(n m) kernels below are row-range bodies (``*_rows``) written so that LLVM vectorises them: one array
# expression per inner loop over rows taken as 1D views, sums in per-row partials (the ``reassoc`` of
# ``_jit.SAFE_FASTMATH`` lets them vectorise) and the maximum kept per column (an element-wise max vectorises,
# a max-reduction does not). At n = 100 that took the step from 45 to 10 us and the dots from 20 to 12. The
# wrappers call a body once on all rows (``n_chunks`` 1: no parallel region, whose start-up costs more than a
# small pass) or on ``n_chunks`` row chunks in parallel; the result does not depend on the chunking (per-row
# partials reduced serially, an order-free maximum).


@cpu_jit
def _dots_rows(lo, hi, G, S, XG, XS, YG, M, symmetric, has_m, part):
    """Rows ``lo:hi`` of :func:`_direction_dots`: their partials of the four dot products into ``part[i]``."""
    m = G.shape[1]
    for i in range(lo, hi):
        Gi, Si, XGi, XSi = G[i], S[i], XG[i], XS[i]
        xdd = 0.0
        xgd = 0.0
        for j in range(m):
            d = Si[j] - Gi[j]
            xdd += (XSi[j] - XGi[j]) * d
            xgd += XGi[j] * d
        ygd = xgd
        if not symmetric:
            YGi = YG[i]
            ygd = 0.0
            for j in range(m):
                ygd += YGi[j] * (Si[j] - Gi[j])
        md = 0.0
        if has_m:
            Mi = M[i]
            for j in range(m):
                md += Mi[j] * (Si[j] - Gi[j])
        part[i, 0] = xdd
        part[i, 1] = xgd
        part[i, 2] = ygd
        part[i, 3] = md


@cpu_jit(parallel=True)
def _dots_chunks(n_chunks, G, S, XG, XS, YG, M, symmetric, has_m, part):
    n = G.shape[0]
    for c in prange(n_chunks):
        _dots_rows(c * n // n_chunks, (c + 1) * n // n_chunks, G, S, XG, XS, YG, M, symmetric, has_m, part)


@cpu_jit(inline="always")
def _sum_parts(part, out):
    """``out[k] = sum_i part[i, k]``, serially in row order (the result does not depend on the chunking)."""
    for k in range(out.shape[0]):
        out[k] = 0.0
    for i in range(part.shape[0]):
        for k in range(out.shape[0]):
            out[k] += part[i, k]


def _direction_dots(G, S, XG, XS, YG, M, symmetric, has_m, out, n_chunks):
    """``<X(D), D>``, ``<X(T), D>``, ``<Y(T), D>``, ``<M, D>`` with ``D = S - G`` (``XS - XG = X(D)``) into out."""
    n = G.shape[0]
    part = np.empty((n, 4))
    if n_chunks <= 1:
        _dots_rows(0, n, G, S, XG, XS, YG, M, symmetric, has_m, part)
    else:
        _dots_chunks(n_chunks, G, S, XG, XS, YG, M, symmetric, has_m, part)
    _sum_parts(part, out)


@cpu_jit(inline="always")
def _gradient_rows(lo, hi, XG, YG, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad, col_top):
    """Rows ``lo:hi`` of the gradient (see :func:`gradient`); ``col_top[j]`` gets max |grad[lo:hi, j]| (NaN
    propagates)."""
    m = grad.shape[1]
    col_top[:] = 0.0
    for i in range(lo, hi):
        gi, XGi = grad[i], XG[i]
        if symmetric:
            ui = u[i]
            for j in range(m):
                gi[j] = w_quad * (2.0 * (ui + v[j] - XGi[j]))
        else:
            YGi = YG[i]
            ui = u[i] + ut[i]
            for j in range(m):
                gi[j] = w_quad * (ui + v[j] + vt[j] - XGi[j] - YGi[j])
        if has_m:
            Mi = M[i]
            for j in range(m):
                gi[j] += w_lin * Mi[j]
        for j in range(m):
            a = abs(gi[j])
            c = col_top[j]
            col_top[j] = a if (a > c or a != a) else c  # a NaN, once in, stays


@cpu_jit(inline="always")
def _mix_rows(lo, hi, A, B, t):
    """``A[lo:hi] += t (B[lo:hi] - A[lo:hi])``."""
    for i in range(lo, hi):
        Ai, Bi = A[i], B[i]
        for j in range(A.shape[1]):
            Ai[j] += t * (Bi[j] - Ai[j])


@cpu_jit
def _step_rows(lo, hi, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad, col_top):
    """Rows ``lo:hi`` of :func:`_step_and_gradient` (t = 0 moves nothing: the gradient only)."""
    if t != 0.0:
        _mix_rows(lo, hi, G, S, t)
        _mix_rows(lo, hi, XG, XS, t)
        if not symmetric:
            _mix_rows(lo, hi, YG, YS, t)
    _gradient_rows(lo, hi, XG, YG, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad, col_top)


@cpu_jit(parallel=True)
def _step_chunks(n_chunks, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
                 col_top):
    n = G.shape[0]
    for c in prange(n_chunks):
        _step_rows(c * n // n_chunks, (c + 1) * n // n_chunks, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v,
                   ut, vt, symmetric, has_m, grad, col_top[c])


@cpu_jit(inline="always")
def _top(col_top):
    """The maximum of the per-chunk, per-column maxima (NaN propagates)."""
    top = 0.0
    for c in range(col_top.shape[0]):
        for j in range(col_top.shape[1]):
            a = col_top[c, j]
            top = a if (a > top or a != a) else top
    return top


# The parallel kernels (``*_chunks``) are called from Python only, for plans of PARALLEL_MIN_ENTRIES entries or
# more: a compiled caller would link them, and each caller re-optimises a linked parallel kernel, seconds of a cold
# compile that small problems (one chunk) never use.
def _step_and_gradient(G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad, n_chunks):
    """``G += t (S - G)``, the same for X and Y, then the gradient at the new G (see the module docstring).

    Returns ``max |grad|`` (NaN propagates): the magnitude the linear oracle needs, found here for free."""
    n, m = G.shape
    col_top = np.empty((max(1, n_chunks), m))
    if n_chunks <= 1:
        _step_rows(0, n, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
                   col_top[0])
    else:
        _step_chunks(n_chunks, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
                     col_top)
    return _top(col_top)


def gradient(XG, YG, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad, n_chunks):
    """``grad = w_lin M + w_quad (u 1^T + 1 v^T + ut 1^T + 1 vt^T - X - Y)`` (Y = X when symmetric); returns
    ``max |grad|``.

    One chunk: ``_step_rows`` called from here with no step, the very row body (and the same compiled
    specialisation) that :func:`_vertex_step` runs, so that no compiled function of its own is needed for it."""
    if n_chunks <= 1:
        col_top = np.empty((1, grad.shape[1]))
        _step_rows(0, grad.shape[0], XG, XG, XG, XG, YG, YG, 0.0, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m,
                   grad, col_top[0])
        return float(np.max(col_top, initial=0.0))  # as _top: the per-column maxima are >= 0 or NaN
    return _step_and_gradient(XG, XG, XG, XG, YG, YG, 0.0, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
                              n_chunks)


@cpu_jit(inline="always")
def _line_search(dots, w_lin, w_quad, cost, tol_rel, tol_abs):
    """Step 3 of the module docstring from the four dot products of :func:`_direction_dots`: ``(t, new, code)``,
    the step, the objective after it, and OPTIMAL when it changed by less than the tolerances, NUMERICAL_ERROR
    when it is not finite, else _CONTINUE."""
    a = -w_quad * dots[0]
    b = w_lin * dots[3] - w_quad * (dots[1] + dots[2])
    t = quadratic_step(a, b)
    new = cost + a * t * t + b * t
    if not math.isfinite(new):
        return t, new, _NUMERICAL_ERROR
    change = abs(new - cost)
    if change < tol_abs or (new != 0.0 and change / abs(new) < tol_rel):
        return t, new, _OPTIMAL
    return t, new, _CONTINUE


class LinearOracle:
    """``argmin <C, S>`` over plans with marginals p, q: our network simplex, each solve starting from the previous
    optimal spanning tree (``state``).

    Consecutive conditional gradient costs differ little, so the previous optimal basis is a primal feasible
    start close to the new optimum: its potentials are recomputed for the new costs and the pivots continue from
    there (far fewer than from the all-artificial tree, or from dual warm starts). The artificial arcs' big-M is
    recomputed from each cost's magnitude; the ones left in the tree carry no flow. Weights with zeros, or costs
    outside ``_scaling.SAFE_RANGE``, go through ``exact._driver.network_simplex`` (which removes zero rows and
    rescales) with the previous duals as warm start instead (:meth:`solve_host`).

    ``basis``: ``(rows, cols, flows, root_sink)``, a strongly feasible spanning tree to start the first solve from
    (see ``_network_simplex.init_tree_from_arcs``); the all-artificial tree if None or if it is not one.
    """

    def __init__(self, p, q, n_threads, basis=None):
        from .. import _config
        from ..exact import _network_simplex as NS

        # the core's arguments in the exact front-end's forms (float64, C order, writable weights, read-only
        # costs), so that GW and emd share one compiled simplex
        self.p, self.q = np.array(p, dtype=np.float64), np.array(q, dtype=np.float64)
        self.n_threads = _config.n_threads(n_threads)
        n, m = len(p), len(q)
        self.tree_ok = bool(np.all(p > 0) and np.all(q > 0))
        self.block = int(min(max(_config.NS_MIN_BLOCK, ORACLE_BLOCK_FACTOR * math.isqrt(n * m)), n * m))
        self.guard = max(10**7, 1000 * (n + m))  # a stall guard only, as in exact.api
        self.state = NS.new_state(n, m) if self.tree_ok else None
        self.has_tree = bool(self.tree_ok and basis is not None
                             and NS.init_tree_from_arcs(*basis[:3], n, m, basis[3], self.state))
        self.duals = None
        self.pivots = 0
        # the core's fixed arguments, read once (solve runs once per iteration)
        self._limits = (int(self.guard), self.block, float(_config.NS_TOL), int(_config.NS_PARALLEL_MIN_BLOCK))
        self._threads = pricing_threads(self.n_threads, self.block, _config.NS_PARALLEL_MIN_BLOCK)
        self._art_cost = np.zeros(n + m)

    def solve(self, C, top):
        """``(status, rows, cols, values)`` of an optimal vertex for the costs C, ``top = max |C|``: from the
        previous tree while the artificial arcs can take costs of that magnitude, else by :meth:`solve_host`.
        The artificial arcs cost 0 (sources) and ``2 top (n + m)`` (sinks), as a cold start of the exact solver."""
        if not (self.tree_ok and (top == 0.0 or _SAFE_LOW < top < _SAFE_HIGH)):
            return self.solve_host(C)
        n = len(self.p)
        self._art_cost[n:] = 2.0 * (top if top > 0.0 else 1.0) * len(self._art_cost)
        status, n_iter, (rows, cols, vals), _ = solve(readonly(C), self.p, self.q, self._art_cost, self.state,
                                                      self.has_tree, self._limits, self._threads)
        self.pivots += n_iter
        self.has_tree = status == Status.OPTIMAL
        return status, rows, cols, vals

    def solve_host(self, C):
        """``(status, rows, cols, values)`` of an optimal vertex, by the host front-end of the network simplex."""
        from ..exact._driver import network_simplex

        status, n_iter, (rows, cols, vals), f, g, _ = network_simplex(C, self.p, self.q, None, self.n_threads,
                                                                       self.duals)
        self.duals = (f, g)
        self.pivots += n_iter
        return status, rows, cols, vals


class Outcome(NamedTuple):
    plan: np.ndarray
    value: float  # w_lin value_linear + w_quad value_quad
    value_linear: float  # <M, T> (0 without M)
    value_quad: float  # E(T)
    status: int
    n_iter: int
    history: np.ndarray  # CG: F after each iteration (F(G0) first); mirror descent: |T_k - T_{k-1}|_F
    inner: object  # CG: network simplex pivots in all; mirror descent: the last Sinkhorn potentials (f, g)


def conditional_gradient(s, p, q, M, w_lin, w_quad, G0, max_iter, tol_rel, tol_abs, n_threads,
                         product_start=False) -> Outcome:
    """Minimise ``w_lin <M, T> + w_quad E(T)`` from the feasible plan ``G0`` (float64 host arrays, validated).

    ``product_start``: G0 is ``p q^T``. Then ``X(G0) = (h1 p)(h2 q)^T`` has rank one (no dense product), and for
    plain symmetric GW the first linear problem, ``min -<x y^T, S>`` up to terms constant on the polytope, is
    solved by the monotone coupling of ``x = h1 p`` and ``y = h2 q`` (a staircase; the network simplex starts from
    it and only confirms it, where from the all-artificial tree it would take thousands of pivots).
    """
    n, m = G0.shape
    if n * m < PARALLEL_MIN_ENTRIES:
        n_threads = 1
    has_m = M is not None
    Mc = M if has_m else _NO_M
    # a product start is the caller's fresh p q^T, updated in place; a given plan is copied
    G = G0 if product_start else np.array(G0, dtype=np.float64, order="C", copy=True)
    basis = None
    if product_start:
        x, y = s.h1 @ p, s.h2 @ q
        XG = np.outer(x, y)
        YG = XG if s.symmetric else np.outer(s.h1t @ p, s.h2t @ q)
        if s.symmetric and not has_m and w_quad > 0:
            order_a, order_b = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
            basis = (*staircase_basis(p, q, order_a, order_b), order_b[0])
    else:
        XG = _tensor.quad_dense(s.h1, G, s.h2)
        YG = XG if s.symmetric else _tensor.quad_dense(s.h1t, G, s.h2t)
    grad = np.empty((n, m))
    oracle = LinearOracle(p, q, n_threads, basis)
    lin = float(np.vdot(Mc, G)) if has_m else 0.0
    cost = w_lin * lin + w_quad * _tensor.objective(s, G, XG)
    if n_threads == 1:  # no parallel region: Numba's setting does not matter
        status, n_iter, losses = _iterate(s, oracle, G, XG, YG, Mc, has_m, w_lin, w_quad, grad, max_iter, tol_rel,
                                          tol_abs, cost)
    else:
        with numba_threads(n_threads):  # once here, not around each kernel call
            status, n_iter, losses = _iterate(s, oracle, G, XG, YG, Mc, has_m, w_lin, w_quad, grad, max_iter,
                                              tol_rel, tol_abs, cost)
    # The values are recomputed from the plan (and the maintained X(T)), not taken from the line search's sum.
    value_linear = float(np.vdot(Mc, G)) if has_m else 0.0
    value_quad = _tensor.objective(s, G, XG)
    value = w_lin * value_linear + w_quad * value_quad
    if not (math.isfinite(value) and np.isfinite(G).all()):
        status = Status.NUMERICAL_ERROR
    return Outcome(G, value, value_linear, value_quad, int(status), n_iter, losses, oracle.pivots)


_SAFE_LOW, _SAFE_HIGH = SAFE_RANGE
_NO_M = np.zeros((1, 1))  # the placeholder for M in plain GW (read by no kernel: has_m is False)
#: Plans of at most this many entries take the vertex products and the step in one compiled call with the
#: products in plain loops (:func:`_vertex_step`); larger ones take the products from BLAS. At 30 x 50 the loop
#: had spent half its time in Python between compiled calls.
SMALL_ENTRIES = 64 * 64
_NO_VERTEX = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0), False)


@cpu_jit(inline="always")
def _towards_vertex(rows, cols, vals, XS, YS, G, S, XG, YG, u, v, ut, vt, symmetric, M, has_m, w_lin, w_quad, grad,
                    dots, cost, tol_rel, tol_abs):
    """Steps 3 and 4 of the module docstring towards the vertex S given as COO triples, with ``XS = X(S)`` and
    ``YS = Y(S)``, on one chunk; ``S`` is an all-zero (n, m) scratch (left all zero). Returns ``(code, cost,
    top)``: OPTIMAL when the objective changed by less than the tolerances, NUMERICAL_ERROR when it is not finite,
    else _CONTINUE; the new objective; ``max |grad|``. (Inlined into :func:`_vertex_step`.)"""
    n, m = G.shape
    for k in range(vals.shape[0]):  # tree arcs are distinct (i, j) pairs
        S[rows[k], cols[k]] = vals[k]
    part = np.empty((n, 4))
    _dots_rows(np.int64(0), n, G, S, XG, XS, YG, M, symmetric, has_m, part)
    _sum_parts(part, dots)
    t, new, code = _line_search(dots, w_lin, w_quad, cost, tol_rel, tol_abs)
    col_top = np.empty((1, m))
    _step_rows(np.int64(0), n, G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
               col_top[0])
    for k in range(vals.shape[0]):
        S[rows[k], cols[k]] = 0.0
    return code, new, _top(col_top)


def _towards_vertex_chunks(rows, cols, vals, XS, YS, G, S, XG, YG, u, v, ut, vt, symmetric, M, has_m, w_lin, w_quad,
                           grad, dots, cost, tol_rel, tol_abs, n_chunks):
    """:func:`_towards_vertex` with the row kernels run in ``n_chunks`` parallel chunks (the same results)."""
    S[rows, cols] = vals
    _direction_dots(G, S, XG, XS, YG, M, symmetric, has_m, dots, n_chunks)
    t, new, code = _line_search(dots, w_lin, w_quad, cost, tol_rel, tol_abs)
    top = _step_and_gradient(G, S, XG, XS, YG, YS, t, M, w_lin, w_quad, u, v, ut, vt, symmetric, has_m, grad,
                             n_chunks)
    S[rows, cols] = 0.0
    return code, new, top


@cpu_jit
def _vertex_step(h1, h2, h1t, h2t, u, v, ut, vt, symmetric, M, has_m, w_lin, w_quad, G, XG, YG, grad, S, XS, YS,
                 rows0, cols0, vals0, has_last, rows, cols, vals, share, dots, cost, tol_rel, tol_abs):
    """One iteration after the oracle, for small plans, in one compiled call: the vertex products
    (:func:`_tensor.vertex_products`, plain loops) and :func:`_towards_vertex`."""
    _tensor.vertex_products(h1, h2, h1t, h2t, symmetric, rows0, cols0, vals0, has_last, rows, cols, vals, S, XS,
                            YS, share)
    return _towards_vertex(rows, cols, vals, XS, YS, G, S, XG, YG, u, v, ut, vt, symmetric, M, has_m, w_lin, w_quad,
                           grad, dots, cost, tol_rel, tol_abs)


def _iterate(s, oracle, G, XG, YG, Mc, has_m, w_lin, w_quad, grad, max_iter, tol_rel, tol_abs, cost):
    """The conditional gradient loop, in place on G, XG, YG, grad, from the objective ``cost`` at G. Returns
    ``(status, n_iter, history)``, the objective before the first and after each iteration in ``history``.

    Per iteration: the oracle (one compiled call), ``X(S)`` and the line search with the step. Small plans (one
    chunk, at most SMALL_ENTRIES entries) do the last two in one compiled call (:func:`_vertex_step`, whose
    products are plain loops). Larger ones take ``X(S)`` from compiled scatters and numpy's BLAS product, then one
    compiled call for the step. The product stays with numpy on purpose: BLAS called from Numba is scipy's
    OpenBLAS, a second thread pool whose workers, spinning next to numpy's after its calls, took the cores from the
    serial simplex (GW at n = 300: 98 ms per solve against 53 ms with one pool).
    """
    n, m = G.shape
    n_chunks = oracle.n_threads  # 1 below PARALLEL_MIN_ENTRIES (see conditional_gradient)
    top = gradient(XG, YG, Mc, w_lin, w_quad, s.u, s.v, s.ut, s.vt, s.symmetric, has_m, grad, n_chunks)
    history = [cost]
    S = np.zeros((n, m))
    dots = np.empty(4)
    small = n_chunks <= 1 and n * m <= SMALL_ENTRIES
    if small:
        XS = np.empty((n, m))
        YS = XS if s.symmetric else np.empty((n, m))
        last = _NO_VERTEX
        share = _tensor.INCREMENTAL_SHARE
    else:
        vertex_products = _tensor.VertexProducts(s.h1, s.h2, s.h1t, s.h2t, s.symmetric)
    n_iter = 0
    while n_iter < max_iter:
        if not math.isfinite(cost):
            return Status.NUMERICAL_ERROR, n_iter, np.array(history)
        n_iter += 1
        status, rows, cols, vals = oracle.solve(grad, top)
        if status != Status.OPTIMAL:
            return Status.NUMERICAL_ERROR, n_iter, np.array(history)
        if small:
            code, cost, top = _vertex_step(s.h1, s.h2, s.h1t, s.h2t, s.u, s.v, s.ut, s.vt, s.symmetric, Mc, has_m,
                                           w_lin, w_quad, G, XG, YG, grad, S, XS, YS, *last, rows, cols, vals, share,
                                           dots, cost, tol_rel, tol_abs)
            last = (rows, cols, vals, True)
        else:
            XS, YS = vertex_products.at(rows, cols, vals, S)
            args = (rows, cols, vals, XS, YS, G, S, XG, YG, s.u, s.v, s.ut, s.vt, s.symmetric, Mc, has_m, w_lin,
                    w_quad, grad, dots, cost, tol_rel, tol_abs)
            code, cost, top = _towards_vertex(*args) if n_chunks <= 1 else _towards_vertex_chunks(*args, n_chunks)
        history.append(cost)
        if code != _CONTINUE:
            return Status(code), n_iter, np.array(history)
    return Status.MAX_ITER_REACHED, n_iter, np.array(history)


def _run(core, n_threads, *args):
    from .._threads import run_parallel

    return run_parallel(core, n_threads, *args)
