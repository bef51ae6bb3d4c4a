"""The frame costs of the spatio-temporal alignment on a regular grid: all the Sinkhorn divergences between the frames
of two series in one batched solve, whose log-sum-exps are taken along the grid's axes.

``sta`` needs the T_x T_y Sinkhorn divergences

    S(a, b) = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2 = <a, f_ba - f_aa> + <b, g_ab - g_bb>

between histograms on one shared support. Two savings over one divergence solve per pair:

* **Self-problems once per frame.** ``f_aa`` (the symmetric potential of OT(a, a)) depends on frame a alone: the
  T_x + T_y self-problems are solved once (:func:`self_potentials`), not once per pair. The cross problems then
  take two softmins per step instead of four.
* **One compiled loop over all pairs** (:func:`cross_divergences`): the whole annealed solve of a pair runs in one
  thread, pairs across threads (``prange``), with no Python between steps.

The loops are :func:`numbaot.entropic._symmetric.symmetric_sinkhorn`'s, step for step, so that at a tight ``tol``
the values equal ``solve_sample(..., debias=True)``'s to rounding: the same annealing schedule
(``_schedules.annealing_schedule``, scaling 1/2), averaged updates while annealing, alternate over-relaxed updates
for the cross problem at the last temperature (the same ``_Overrelaxation`` rule, here :func:`observe`), averaged
ones for a self-problem, the same fixed-point error and stopping rule, and a last full update. They differ only in
that each problem stops on its own error (the joint solve stopped on the sum of the cross and self errors), so at a
loose ``tol`` the values differ from the per-pair solve's by about ``tol`` times the costs' scale.

**The grid softmin.** When the support is a product grid (points ``(u_j, v_i)`` in C order, or any 1D support) the
squared Euclidean cost separates, ``C((i, j), (i', j')) = (v_i - v_i')^2 + (u_j - u_j')^2``, and the log-sum-exp
over the grid is one along each axis (Solomon et al. 2015). Along a line of length n: with ``top`` the line's
largest value and ``e_q = exp(src_q - top)``,

    log sum_q exp(src_q - cost[c, q] / eps) = top + log sum_q K[c, q] e_q,    K = exp(-cost / eps),

n exponentials and an n x n matrix-vector product per line instead of n^2 exponentials. Every term is at most 1 and
the largest e_q is 1, so the sum is exact to rounding unless it is tiny: when it is below ``TINY`` (1e-200) the
terms it dropped to underflow could matter, and that output takes the exact two-pass log-sum-exp instead
(:func:`line_lse`). The first pass writes its output transposed, so both passes read contiguous lines.

:func:`line_lse`, :func:`fixed_point_term` and :func:`observe` are twins (``_jit.twin``): the CUDA frame-cost
kernels (``numbaot.cuda.sta``) run the same bodies, one block per problem.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit, twin
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ._fastlog import fast_log

_exp = fast_exp.cpu  # Numba resolves module globals; the CUDA build rebinds _exp to fast_exp.cuda

#: Below this, a kernel sum along a line may have lost terms to underflow: the exact log-sum-exp is taken instead.
TINY = 1e-200


def grid_geometry(support):
    """The :class:`~numbaot.entropic._geometry.SeparableGrid` of ``support`` (N, k) if it is a 1D support (any
    points) or a 2D product grid in C order (one coordinate constant along each row of the grid, the other along
    each column), else None."""
    from ..entropic._geometry import SeparableGrid

    N, k = support.shape
    if k == 1:
        u = support[:, 0]
        return SeparableGrid(np.zeros((1, 1)), np.zeros((1, 1)), np.ascontiguousarray((u[:, None] - u[None, :]) ** 2))
    if k != 2 or N < 2:
        return None
    for c in (0, 1):  # c: the coordinate constant along a row (the grid's H axis)
        first = support[:, c]
        W = int(np.argmax(first != first[0])) if np.any(first != first[0]) else N
        if W < 1 or N % W:
            continue
        grid = support.reshape(N // W, W, 2)
        if np.all(grid[:, :, c] == grid[:, :1, c]) and np.all(grid[:, :, 1 - c] == grid[:1, :, 1 - c]):
            v, u = grid[:, 0, c], grid[0, :, 1 - c]
            return SeparableGrid(np.zeros((1, 1)), np.ascontiguousarray((v[:, None] - v[None, :]) ** 2),
                                 np.ascontiguousarray((u[:, None] - u[None, :]) ** 2))
    return None


def schedule(support, reg):
    """The Sinkhorn divergence's temperatures for histograms on ``support`` (``annealing_schedule``'s, float64)."""
    from ..entropic._schedules import annealing_schedule

    return np.asarray(annealing_schedule(support.min(axis=0), support.max(axis=0), "sqeuclidean", 2.0, reg, 0.5),
                      dtype=np.float64)


def kernels(cost, eps_list):
    """``exp(-cost / eps)`` for every temperature: (S, n, n)."""
    return np.ascontiguousarray(np.exp(-cost[None, :, :] / eps_list[:, None, None]))


# ------------------------------------------------------------------------------------------------ twin bodies
@twin
def kernel_sum(K, e, base, size, c):
    """``sum_q K[c, q] e[base + q]``: output c's kernel sum along the line starting at ``base``."""
    total = 0.0
    for q in range(size):
        total += K[c, q] * e[base + q]
    return total


@twin(deps={"_exp": fast_exp})
def exact_lse(src, base, size, cost, inv_eps, c):
    """``log sum_q exp(src[base + q] - cost[c, q] inv_eps)`` by two passes (its largest term, then the shifted
    sum); ``-inf`` when every term is."""
    best = -math.inf
    for q in range(size):
        t = src[base + q] - cost[c, q] * inv_eps
        if t > best:
            best = t
    if best == -math.inf:
        return -math.inf
    total = 0.0
    for q in range(size):
        total += _exp(src[base + q] - cost[c, q] * inv_eps - best)
    return best + math.log(total)


@twin(deps={"_kernel_sum": kernel_sum, "_exact_lse": exact_lse})
def line_lse(src, e, base, size, top, K, cost, inv_eps, c):
    """``log sum_q exp(src[base + q] - cost[c, q] inv_eps)`` for output c of the line ``src[base: base + size]``,
    given its largest value ``top`` and ``e[base + q] = exp(src[base + q] - top)``: ``top`` plus the log of the
    kernel sum, or the exact two-pass log-sum-exp where the kernel sum is not above ``TINY``."""
    if top == -math.inf:
        return -math.inf
    total = _kernel_sum(K, e, base, size, c)
    if total > 1e-200:  # TINY
        return top + math.log(total)
    return _exact_lse(src, base, size, cost, inv_eps, c)


@twin(deps={"_exp": fast_exp})
def fixed_point_term(w, old, new, inv_eps):
    """``w |exp((old - new) / eps) - 1|`` (0 where w = 0): one bin's share of the L1 marginal error that the update
    ``new`` makes exact (the fixed-point error of the divergence's steps in ``_loop.sinkhorn_loop``)."""
    if w > 0.0:
        return w * abs(math.expm1((old - new) * inv_eps))
    return 0.0


@twin
def relaxed(old, new, weight):
    """``old + weight (new - old)``, and ``new`` itself at weight 1 (an exact copy, not ``old + (new - old)``): one
    entry of a potential's averaged or over-relaxed update (``_sta_clouds._relax``'s arithmetic)."""
    if weight == 1.0:
        return new
    return old + (new - old) * weight


@twin
def observe(state, err):
    """The over-relaxation factor's update after a step of error ``err`` (``_symmetric._Overrelaxation.observe``,
    its window of 10 steps and largest factor 1.99) on a state array of 5: omega (1 to start), enabled (1), lam
    (NaN: no estimate yet), the window's first error and how many errors the window holds (0)."""
    if state[1] == 0.0:
        return
    if state[4] == 0.0:
        state[3] = err
        state[4] = 1.0
        return
    state[4] += 1.0
    if state[4] <= 10.0:  # WINDOW
        return
    first = state[3]
    state[3] = err  # the window restarts from its last error
    state[4] = 1.0
    if not (first > 0.0 and err <= 10.0 * first):
        state[0] = 1.0
        state[1] = 0.0
        return
    rho = (err / first) ** 0.1  # 1 / WINDOW
    if rho >= 1.0:
        return
    omega = state[0]
    lam = min((rho + omega - 1.0) ** 2 / (rho * omega * omega), 1.0)
    previous = state[2]
    state[2] = lam
    if previous != previous or abs(lam - previous) > 0.2 * (1.0 - lam) or lam < 0.25:
        return
    state[0] = max(omega, min(1.99, 2.0 / (1.0 + math.sqrt(1.0 - lam))))


_kernel_sum = kernel_sum.cpu
_exact_lse = exact_lse.cpu
_line_lse = line_lse.cpu
_log = fast_log.cpu
#: ``log(TINY)``: the CPU pass compares the kernel sums' logarithms.
LOG_TINY = math.log(TINY)
_term = fixed_point_term.cpu
_relaxed = relaxed.cpu
_observe = observe.cpu


# ---------------------------------------------------------------------------------------------- CPU cores
@cpu_jit
def _axis_pass(src, dst, e, sums, tops, K, cost, inv_eps, lines, size):
    """``dst[c * lines + l] = log sum_q exp(src[l * size + q] - cost[c, q] inv_eps)``: the log-sum-exp along
    every line of ``src`` (lines, size), written transposed (size, lines). :func:`line_lse` split into loops that
    vectorise: the lines' maxima and exponentials, the kernel sums, their logarithms, then the rare exact ones."""
    for ln in range(lines):
        base = ln * size
        top = -math.inf
        for q in range(size):
            if src[base + q] > top:
                top = src[base + q]
        tops[ln] = top
        for q in range(size):
            e[base + q] = _exp(src[base + q] - top)
    for ln in range(lines):
        base = ln * size
        for c in range(size):
            sums[base + c] = _kernel_sum(K, e, base, size, c)
    for i in range(lines * size):
        sums[i] = _log(sums[i])
    for ln in range(lines):
        base = ln * size
        top = tops[ln]
        for c in range(size):
            if top > -math.inf and sums[base + c] > LOG_TINY:
                dst[c * lines + ln] = top + sums[base + c]
            else:
                dst[c * lines + ln] = -math.inf if top == -math.inf else _exact_lse(src, base, size, cost, inv_eps, c)


@cpu_jit
def _softmin(log_w, other, eps, Kh, Kw, cost_h, cost_w, h, t, e, out):
    """``out = -eps log sum_j w_j exp((other_j - C_ij) / eps)`` on the grid (H, W) flattened in C order: the
    log-sum-exp along W (written transposed, (W, H)), then along H (written back as (H, W)). ``out`` doubles as
    the kernel sums' buffer, and ``e[N:]`` holds the lines' maxima (``e`` has 2 N entries)."""
    H, W = cost_h.shape[0], cost_w.shape[0]
    N = H * W
    inv_eps = 1.0 / eps
    for i in range(N):
        h[i] = other[i] * inv_eps + log_w[i]
    ex, tops = e[:N], e[N:]
    _axis_pass(h, t, ex, out, tops, Kw, cost_w, inv_eps, H, W)
    _axis_pass(t, h, ex, out, tops, Kh, cost_h, inv_eps, W, H)
    for i in range(N):
        out[i] = eps * (0.0 - h[i])


@cpu_jit(inline="always")
def _error(w, old, new, eps):
    inv_eps = 1.0 / eps
    err = 0.0
    for i in range(w.shape[0]):
        err += _term(w[i], old[i], new[i], inv_eps)
    return err


@cpu_jit(inline="always")
def _relax(old, new, weight):
    """``old + weight (new - old)`` into ``old``, ``new`` itself at 1 (:func:`relaxed`)."""
    for i in range(old.shape[0]):
        old[i] = _relaxed(old[i], new[i], weight)


@cpu_jit(inline="always")
def _finite(v, w):
    for i in range(v.shape[0]):
        if w[i] > 0.0 and not math.isfinite(v[i]):
            return False
    return True


@cpu_jit
def _solve_self(a, log_a, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, f, h, t, e, new):
    """The self-problem OT(a, a): its symmetric potential into ``f``; (status, steps, last error)."""
    S = eps_list.shape[0]
    N = f.shape[0]
    for i in range(N):
        new[i] = 0.0
    _softmin(log_a, new, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, f)
    n_iter = 0
    err = 0.0
    for s in range(S):
        _softmin(log_a, f, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, new)
        err = _error(a, f, new, eps_list[s])
        _relax(f, new, 0.5)
        n_iter += 1
    eps = eps_list[S - 1]
    status = MAX_ITER_REACHED
    while n_iter < max_iter:
        _softmin(log_a, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, new)
        err = _error(a, f, new, eps)
        _relax(f, new, 0.5)
        n_iter += 1
        if not math.isfinite(err):
            status = NUMERICAL_ERROR
            break
        if err <= tol:
            status = OPTIMAL
            break
    _softmin(log_a, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, new)
    f[:] = new
    n_iter += 1
    if not _finite(f, a):
        status = NUMERICAL_ERROR
    return status, n_iter, err


@cpu_jit
def _solve_cross(a, b, log_a, log_b, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, f, g, h, t, e, ft, gt, state):
    """The cross problem OT(a, b): its potentials f (on a's bins) and g (on b's) as ``symmetric_sinkhorn``
    computes them without the self-problems; (status, steps, last error)."""
    S = eps_list.shape[0]
    N = f.shape[0]
    for i in range(N):
        ft[i] = 0.0
    _softmin(log_a, ft, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, g)
    _softmin(log_b, ft, eps_list[0], Kh[0], Kw[0], cost_h, cost_w, h, t, e, f)
    n_iter = 0
    err = 0.0
    for s in range(S):  # annealing: averaged updates, every side from the old values
        _softmin(log_b, g, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, ft)
        _softmin(log_a, f, eps_list[s], Kh[s], Kw[s], cost_h, cost_w, h, t, e, gt)
        err = _error(a, f, ft, eps_list[s]) + _error(b, g, gt, eps_list[s])
        _relax(f, ft, 0.5)
        _relax(g, gt, 0.5)
        n_iter += 1
    eps = eps_list[S - 1]
    state[0], state[1], state[2], state[3], state[4] = 1.0, 1.0, math.nan, 0.0, 0.0
    status = MAX_ITER_REACHED
    while n_iter < max_iter:  # alternate updates, over-relaxed by omega
        omega = state[0]
        _softmin(log_b, g, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, ft)
        _relax(f, ft, omega)
        _softmin(log_a, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, gt)
        err = _error(b, g, gt, eps)
        _relax(g, gt, omega)
        n_iter += 1
        _observe(state, err)
        if not math.isfinite(err):
            status = NUMERICAL_ERROR
            break
        if err <= tol:
            status = OPTIMAL
            break
    _softmin(log_b, g, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, ft)  # a last full update
    _softmin(log_a, f, eps, Kh[S - 1], Kw[S - 1], cost_h, cost_w, h, t, e, gt)
    f[:] = ft
    g[:] = gt
    n_iter += 1
    if not (_finite(f, a) and _finite(g, b)):
        status = NUMERICAL_ERROR
    return status, n_iter, err


@cpu_jit
def observe_all(states, errors, active):
    """:func:`observe` for every active problem k: ``states`` (B, 5), its error ``errors[k]`` (the batched loops of
    ``_sta_clouds``: one compiled call per step rather than one per problem)."""
    for k in range(states.shape[0]):
        if active[k]:
            _observe(states[k], errors[k])


@cpu_jit(inline="always")
def _log_weights(w):
    out = np.empty_like(w)
    for i in range(w.shape[0]):
        out[i] = math.log(w[i]) if w[i] > 0.0 else -math.inf
    return out


@cpu_jit
def self_potentials_core(A, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, potentials, status, n_iter, errors):
    """The symmetric potential of OT(a, a) for every frame a (row) of A (T, N), one frame after the other (T
    problems against T_x T_y pairs: threads would save little and cost a parallel compile)."""
    T, N = A.shape
    for k in range(T):
        h, t, e, new = np.empty(N), np.empty(N), np.empty(2 * N), np.empty(N)
        f = np.empty(N)
        st, it, err = _solve_self(A[k], _log_weights(A[k]), eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, f, h, t, e,
                                  new)
        potentials[k, :] = f
        status[k], n_iter[k], errors[k] = st, it, err


@cpu_jit(parallel=True)
def cross_divergences_core(A, B, fa, gb, pairs, eps_list, Kh, Kw, cost_h, cost_w, max_iter, tol, values,
                           potentials, status, n_iter, errors):
    """For each pair p = (i, j) of ``pairs`` (P, 2): the Sinkhorn divergence between A[i] and B[j] into
    ``values[p]``, from the self-potentials ``fa[i]``, ``gb[j]``, and (when ``potentials`` has P rows) the
    debiased potential ``f_ba - f_aa`` on A[i]'s bins. Pairs across threads."""
    P = pairs.shape[0]
    N = A.shape[1]
    keep = potentials.shape[0] == P
    for p in prange(P):
        i, j = pairs[p, 0], pairs[p, 1]
        a, b = A[i], B[j]
        f, g = np.empty(N), np.empty(N)
        h, t, e, ft, gt = np.empty(N), np.empty(N), np.empty(2 * N), np.empty(N), np.empty(N)
        state = np.empty(5)
        st, it, err = _solve_cross(a, b, _log_weights(a), _log_weights(b), eps_list, Kh, Kw, cost_h, cost_w,
                                   max_iter, tol, f, g, h, t, e, ft, gt, state)
        value = 0.0
        for q in range(N):
            if a[q] > 0.0:
                value += a[q] * (f[q] - fa[i, q])
        total_b = 0.0
        for q in range(N):
            if b[q] > 0.0:
                total_b += b[q] * (g[q] - gb[j, q])
        values[p] = value + total_b
        if keep:
            for q in range(N):
                potentials[p, q] = f[q] - fa[i, q]
        status[p], n_iter[p], errors[p] = st, it, err


# ------------------------------------------------------------------------------------------------ host driver
class GridProblem:
    """The shared pieces of every solve on one grid and temperature schedule: the per-axis costs, the schedule and
    the kernels ``exp(-cost / eps)`` at each temperature."""

    def __init__(self, geom, support, reg):
        self.cost_h = np.ascontiguousarray(geom.cost_h, dtype=np.float64)
        self.cost_w = np.ascontiguousarray(geom.cost_w, dtype=np.float64)
        self.eps_list = schedule(support, reg)
        self.Kh = kernels(self.cost_h, self.eps_list)
        self.Kw = kernels(self.cost_w, self.eps_list)

    @property
    def args(self):
        return self.eps_list, self.Kh, self.Kw, self.cost_h, self.cost_w


def self_potentials(problem, A, max_iter, tol, n_threads):
    """``(potentials (T, N), status (T,), n_iter (T,), errors (T,))`` of the self-problems of the frames A (T, N)."""
    from .._threads import run_parallel

    T, N = A.shape
    potentials = np.empty((T, N))
    status, n_iter, errors = np.zeros(T, np.int64), np.zeros(T, np.int64), np.zeros(T)
    run_parallel(self_potentials_core, n_threads, A, *problem.args, max_iter, tol, potentials, status, n_iter,
                 errors)
    return potentials, status, n_iter, errors


def cross_divergences(problem, A, B, fa, gb, pairs, max_iter, tol, n_threads, want_potentials):
    """``(values (P,), potentials (P, N) or None, status, n_iter, errors)`` of the pairs (P, 2) of frames."""
    from .._threads import run_parallel

    P, N = pairs.shape[0], A.shape[1]
    values = np.zeros(P)
    potentials = np.empty((P if want_potentials else 0, N))
    status, n_iter, errors = np.zeros(P, np.int64), np.zeros(P, np.int64), np.zeros(P)
    run_parallel(cross_divergences_core, n_threads, A, B, fa, gb, pairs, *problem.args, max_iter, tol, values,
                 potentials, status, n_iter, errors)
    return values, (potentials if want_potentials else None), status, n_iter, errors


def all_pairs(Ta, Tb, upper=False):
    """The (i, j) index pairs, (P, 2) int64: every pair, or with ``upper`` those with i < j."""
    i, j = np.meshgrid(np.arange(Ta, dtype=np.int64), np.arange(Tb, dtype=np.int64), indexing="ij")
    keep = (i < j) if upper else np.ones_like(i, dtype=bool)
    return np.ascontiguousarray(np.stack([i[keep], j[keep]], axis=1))
