"""The geometries of the log-domain Sinkhorn loop (:func:`numbaot.entropic._loop.sinkhorn_loop`): where a half-step
reads its costs from.

A half-step sets, for every row i of every active problem k,

    out[k, i] = tau * eps * (shift[k, i] - log sum_j exp(h[k, j] - C_ij / eps))

with ``h = other potential / eps + log reference weight``, computed by the kernel. Only the log-sum-exp depends on
where the costs come from, so a geometry is a NamedTuple of arrays and :func:`half_step` picks its kernel by the
tuple's class when Numba types the loop (an ``overload``: each geometry compiles only its own kernel, and the
loop's source is written once):

* :class:`DenseCosts`: a batch of cost matrices ``C`` (B, n, m) and their transposes (rows of ``C^T`` are the
  columns' half-step, read contiguously), float64 or float32 (float32 costs are read and exponentiated in float32,
  the potentials kept in float64); ``C`` of shape (1, n, m) is shared by every problem of the batch (barycenters:
  K inputs against one support, without K copies of the costs);
* ``_costs.PointClouds``: two point clouds and a metric, costs recomputed at every pass (O(n + m) memory; B = 1;
  the network simplex takes the same tuple); its subclasses in ``_online`` pin the metric, which the kernel then
  compiles alone;
* :class:`SeparableGrid`: histograms on a regular 2D or 3D grid with the squared Euclidean cost, which separates
  along the axes: ``C_ij = sum_axis (t_i - t_j)^2``, so the log-sum-exp over the grid is one along each axis in turn
  (Solomon et al. 2015): O(N (D + H + W)) per half-step for N = D H W cells, never an N x N matrix.

A new geometry is a NamedTuple, a kernel and one more entry in ``_KERNELS`` and an overload's class list.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange
from numba.core import types
from numba.extending import overload

from .._costs import PointClouds
from .._jit import SAFE_FASTMATH, cpu_jit
from ._online import CHUNK as _CHUNK, cloud_metric, row_mass_cost, softmin_points
from .._fastexp import fast_exp
from ._softmin import softmin_row, softmin_row_shifted

_exp = fast_exp.cpu
_softmin = softmin_row.cpu
_softmin_shifted = softmin_row_shifted.cpu
_softmin_points = softmin_points.cpu

#: The two sides of a half-step: the rows of ``C`` (updates f) or the rows of ``C^T`` (updates g).
ROWS, COLUMNS = 0, 1


class DenseCosts(NamedTuple):
    """Cost matrices ``C`` (B, n, m) and their contiguous transposes ``CT`` (B, m, n), of one float dtype; a
    leading axis of length 1 shares the one matrix among all the problems of the batch."""

    C: np.ndarray
    CT: np.ndarray


class SeparableGrid(NamedTuple):
    """A regular grid of ``D x H x W`` cells (``D = 1`` for images), each problem's measure flattened in C order
    (length N = D H W): the per-axis squared distances ``cost_d`` (D, D), ``cost_h`` (H, H), ``cost_w`` (W, W),
    float64. Both sides of every problem live on the grid, so the half-step is the same on rows and columns."""

    cost_d: np.ndarray
    cost_h: np.ndarray
    cost_w: np.ndarray


def _dense(geom, side, other, ref, shift, active, eps, tau, out):
    """The half-step on the rows of ``C`` (B, n, m) for every active problem, in one parallel loop over the B * n
    rows (so that a single problem and a batch of small ones both keep every thread busy).

    Each row's log-sum-exp is one pass shifted by the previous value of ``out`` (a good guess once the iterates
    settle; a poor one is refused and the row takes the two-pass softmin). ``h = other / eps + ref`` and the
    shifts are computed in C's dtype, so float32 costs run in float32.
    """
    C = geom.C if side != COLUMNS else geom.CT
    n, m = C.shape[1], C.shape[2]
    B = out.shape[0]
    shared = C.shape[0] == 1
    hc = np.empty((B, m), dtype=C.dtype)
    guess = np.empty((B, n), dtype=C.dtype)
    inv64 = 1.0 / eps
    for k in range(B):
        if active[k]:
            for j in range(m):
                hc[k, j] = other[k, j] * inv64 + ref[k, j]
            for i in range(n):
                guess[k, i] = shift[k, i] - out[k, i] / (tau * eps)
    inv_eps = hc[0, :1].copy()  # a scalar of C's dtype (numba has no dtype constructor in nopython code)
    inv_eps[0] = 1.0 / eps
    for t in prange(B * n):
        # shared costs: the B problems of one row run one after the other, so that the row is read from memory
        # once (the half-step is memory-bound); otherwise one problem's rows after the other
        k = t - (t // B) * B if shared else t // n
        i = t // B if shared else t - k * n
        if active[k]:
            Ck = C[0] if shared else C[k]
            if shift[k, i] == -math.inf:  # a zero weight under reg_type='entropy': the row carries no mass
                out[k, i] = -math.inf
            else:
                lse = _softmin_shifted(Ck, i, hc[k], inv_eps[0], guess[k, i])
                if lse != lse:
                    lse = _softmin(Ck, i, hc[k], inv_eps[0])
                out[k, i] = tau * eps * (shift[k, i] - lse)


@cpu_jit
def _finish_row(lse, shift, eps, tau, out):
    """``out = tau eps (shift - lse)``, ``-inf`` where the weight is 0 (``shift = -inf``)."""
    for i in range(out.shape[0]):
        out[i] = -math.inf if shift[i] == -math.inf else tau * eps * (shift[i] - lse[i])


def _points(geom, side, other, ref, shift, active, eps, tau, out):
    """The half-step on the points of one cloud against the other (one problem: row 0 of ``other``, ``ref``,
    ``shift``, ``out``), in parallel over the points: each row's log-sum-exp by ``_online.softmin_points``, seeded
    by its previous value. It sits right under the loop (no jitted level between them, and the loop's body stays
    small); two calls rather than clouds chosen by a branch, whose layouts may differ."""
    X, Y, p, norms_x, norms_y = geom.X, geom.Y, geom.p, geom.norms_x, geom.norms_y
    metric = cloud_metric(geom)  # a constant for clouds of a pinned metric
    size, m = out.shape[1], other.shape[1]
    inv_eps = 1.0 / eps
    scale = tau * eps
    h = np.empty(m)
    for j in range(m):
        h[j] = other[0, j] * inv_eps + ref[0, j]
    for t in prange(size):
        i = np.int64(t)  # the parallel loop's index may be typed uint64: a second compilation of the callee
        buf = np.empty(_CHUNK)  # per row (so per thread): one small allocation against m cost evaluations
        s = shift[0, i]
        guess = s - out[0, i] / scale
        if not math.isfinite(guess):
            guess = 0.0
        if side == ROWS:
            lse = _softmin_points(X, i, Y, h, inv_eps, metric, p, norms_x, norms_y, guess, buf)
        else:
            lse = _softmin_points(Y, i, X, h, inv_eps, metric, p, norms_y, norms_x, guess, buf)
        out[0, i] = -math.inf if s == -math.inf else scale * (s - lse)


@cpu_jit(parallel=True)
def _axis_softmin(src, dst, cost, inv_eps, outer, size, inner):
    """``dst[a, c, b] = log sum_c' exp(src[a, c', b] - cost[c, c'] inv_eps)`` for arrays viewed as (outer, size,
    inner) in C order: the log-sum-exp along one axis of the grid, in parallel over the lines."""
    for t in prange(outer * inner):
        a = t // inner
        b = t - a * inner
        base = a * size * inner + b
        line = np.empty(size)
        for c in range(size):
            line[c] = src[base + c * inner]
        for c in range(size):
            dst[base + c * inner] = _softmin(cost, c, line, inv_eps)


def _grid(geom, side, other, ref, shift, active, eps, tau, out):
    """The half-step on a :class:`SeparableGrid`: the log-sum-exp over the grid as three along its axes (W, then H,
    then D; an axis of length 1 costs one copy), each problem's h = other / eps + ref flattened in C order."""
    D, H, W = geom.cost_d.shape[0], geom.cost_h.shape[0], geom.cost_w.shape[0]
    B, N = out.shape
    inv_eps = 1.0 / eps
    h = np.empty(N)
    along_w = np.empty(N)
    along_h = np.empty(N)
    for k in range(B):
        if active[k]:
            for i in range(N):
                h[i] = other[k, i] * inv_eps + ref[k, i]
            _axis_softmin(h, along_w, geom.cost_w, inv_eps, D * H, W, 1)
            _axis_softmin(along_w, along_h, geom.cost_h, inv_eps, D, H, W)
            _axis_softmin(along_h, h, geom.cost_d, inv_eps, 1, D, H * W)
            _finish_row(h, shift[k], eps, tau, out[k])


_KERNELS = {DenseCosts: _dense, PointClouds: _points, SeparableGrid: _grid}
#: The same bodies compiled on their own, for calls from Python (the jitted loop takes them through the overloads).
_HOST_KERNELS = {DenseCosts: cpu_jit(parallel=True)(_dense), PointClouds: cpu_jit(parallel=True)(_points),
                 SeparableGrid: cpu_jit(_grid)}


def half_step(geom, side, other, ref, shift, active, eps, tau, out):
    """``out[k, i] = tau * eps * (shift[k, i] - log sum_j exp(other[k, j] / eps + ref[k, j] - C_ij / eps))`` on the
    rows of ``side`` (ROWS: C, COLUMNS: C^T) of every active problem of ``geom``: ``other`` is the other side's
    potential, ``ref`` the log of the reference measure's factor on that side. Callable from Python and from
    jitted code."""
    return _HOST_KERNELS[_kernel_class(type(geom))](geom, side, other, ref, shift, active, eps, tau, out)


def _kernel_class(cls):
    """The geometry class of ``_KERNELS`` that ``cls`` is (or derives from: clouds of a pinned metric), or None."""
    return next((base for base in cls.__mro__ if base in _KERNELS), None) if isinstance(cls, type) else None


def _typed_kernel(geom, classes):
    """The kernel of ``geom``'s Numba type if its class is one of ``classes``, else None (another overload's)."""
    cls = _kernel_class(getattr(geom, "instance_class", None)) if isinstance(geom, types.BaseNamedTuple) else None
    return _KERNELS[cls] if cls in classes else None


# Compile cost: every jitted function between the loop and a large kernel re-optimises the kernel's code when it is
# linked (about a second each at these sizes), so the kernels sit right under the loop: the dense and point-cloud
# ones are the overload's own (parallel) implementations (an inlined overload that called a kernel would still be
# compiled on its own, one more level), the grid one is inlined into the loop and calls its parallel parts
# directly. (Measured: a values pass run by the loop through its kernel costs as much compilation as a kernel of
# its own, since its code is then optimised again at every level above it.)
@overload(half_step, jit_options={"nogil": True, "parallel": True, "fastmath": set(SAFE_FASTMATH)})
def _select_parallel(geom, side, other, ref, shift, active, eps, tau, out):
    return _typed_kernel(geom, (DenseCosts, PointClouds))


@overload(half_step, inline="always")
def _select_inline(geom, side, other, ref, shift, active, eps, tau, out):
    return _typed_kernel(geom, (SeparableGrid,))


# --------------------------------------------- ragged batches: the Sinkhorn divergence's softmins, from Python
# The divergence's softmins of one step (a-b both ways, a-a, b-b) are independent problems of different sizes: one
# parallel region runs them all (one barrier per step, not four: on a busy machine each barrier waits for a
# descheduled thread), over the rows of every request in turn. The per-request vectors come padded to a common
# length L as (B, L) arrays; the same kernels give the divergence's values (``values``: one kernel compiled for
# both).
@cpu_jit
def _row_linear(C, i, g, log_b, f_i, log_a_i, inv_eps):
    """``<P_i, C_i> = sum_j P_ij C_ij`` for row i of the plan ``P_ij = exp(log a_i + log b_j + (f_i + g_j - C_ij) /
    eps)``, in one pass over the row and in float64, storing nothing (the divergence needs the scalar, not an n x m
    plan); zero entries count 0 (also where C is +inf)."""
    lin = 0.0
    for j in range(C.shape[1]):
        c = np.float64(C[i, j])
        p = _exp(log_a_i + log_b[j] + (f_i + g[j] - c) * inv_eps)
        lin += p * c if p > 0.0 else 0.0
    return lin


@cpu_jit(parallel=True)
def ragged_dense(mats, which, starts, other, ref, prev, eps, values, out):
    """Request k on the rows of the matrix ``mats[which[k]]`` (n_k, m_k; a tuple of C-contiguous matrices of one
    dtype), rows ``starts[k]`` to ``starts[k + 1]`` of the batch: ``out[k, i] = -eps log sum_j exp(other[k, j] /
    eps + ref[k, j] - C_ij / eps)`` for i < n_k, each row's log-sum-exp one pass shifted by ``-prev[k, i] / eps``
    (its previous value; refused when far off, as in the loop's dense half-step, whose arithmetic this is), float32
    costs read in float32.

    ``values``: each row's ``<P_i, C_i>`` of ``P_ij = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)`` instead
    (``other`` g, ``ref`` log b, ``prev`` f, ``out`` log a on the way in; no plan stored, float64 sums)."""
    B, L = out.shape
    hc = np.empty((B, L), dtype=mats[0].dtype)
    guess = np.empty((B, L), dtype=mats[0].dtype)
    inv64 = 1.0 / eps
    for k in range(B):
        n, m = mats[which[k]].shape
        if not values:
            for j in range(m):
                hc[k, j] = other[k, j] * inv64 + ref[k, j]
            for i in range(n):
                guess[k, i] = -prev[k, i] / eps
    inv_eps = hc[0, :1].copy()  # a scalar of the costs' dtype
    inv_eps[0] = 1.0 / eps
    for t in prange(starts[B]):
        k = 0
        while t >= starts[k + 1]:
            k += 1
        i = np.int64(t - starts[k])
        C = mats[which[k]]
        if values:
            out[k, i] = _row_linear(C, i, other[k], ref[k], prev[k, i], out[k, i], inv64)
        else:
            lse = _softmin_shifted(C, i, hc[k], inv_eps[0], guess[k, i])
            if lse != lse:
                lse = _softmin(C, i, hc[k], inv_eps[0])
            out[k, i] = -eps * lse


@cpu_jit(parallel=True)
def ragged_clouds(clouds, sides, starts, other, ref, prev, eps, values, out):
    """Request k on the points of one cloud of ``clouds`` (``sides[k, 0]``: 0 for X, 1 for Y) against one
    (``sides[k, 1]``), rows ``starts[k]`` to ``starts[k + 1]`` of the batch: ``out[k, i] = -eps log sum_j
    exp(other[k, j] / eps + ref[k, j] - c(z_i, z_j) / eps)``, each row's log-sum-exp by
    ``_online.softmin_points`` seeded by ``-prev[k, i] / eps`` (the arithmetic of the loop's point-cloud
    half-step).

    ``values`` (X against Y or Y against X only): each row's plan mass into ``out`` and ``<P_i, C_i>`` into
    ``prev`` (``other`` the other side's potential, ``ref`` its log weights, ``prev`` the row's potential, ``out``
    its log weight on the way in)."""
    X, Y, p, norms_x, norms_y = clouds.X, clouds.Y, clouds.p, clouds.norms_x, clouds.norms_y
    metric = cloud_metric(clouds)  # a constant for clouds of a pinned metric
    B, L = out.shape
    inv_eps = 1.0 / eps
    h = np.empty((B, L))
    for k in range(B):
        if not values:
            for j in range(X.shape[0] if sides[k, 1] == 0 else Y.shape[0]):
                h[k, j] = other[k, j] * inv_eps + ref[k, j]
    for t in prange(starts[B]):
        k = 0
        while t >= starts[k + 1]:
            k += 1
        i = np.int64(t - starts[k])
        buf = np.empty(_CHUNK)  # per row (so per thread): one small allocation against m cost evaluations
        # the clouds by explicit calls, not chosen by a branch: X and Y may differ in layout
        if values:
            base = out[k, i] + prev[k, i] * inv_eps
            if sides[k, 0] == 0:
                mass, cost = row_mass_cost(X, i, Y, metric, p, norms_x[i], norms_y, base, ref[k], other[k], inv_eps,
                                           buf)
            else:
                mass, cost = row_mass_cost(Y, i, X, metric, p, norms_y[i], norms_x, base, ref[k], other[k], inv_eps,
                                           buf)
            out[k, i] = mass
            prev[k, i] = cost
        else:
            guess = -prev[k, i] / eps
            if not math.isfinite(guess):
                guess = 0.0
            hk = h[k]
            if sides[k, 0] == 0:
                if sides[k, 1] == 1:
                    lse = _softmin_points(X, i, Y, hk, inv_eps, metric, p, norms_x, norms_y, guess, buf)
                else:
                    lse = _softmin_points(X, i, X, hk, inv_eps, metric, p, norms_x, norms_x, guess, buf)
            elif sides[k, 1] == 0:
                lse = _softmin_points(Y, i, X, hk, inv_eps, metric, p, norms_y, norms_x, guess, buf)
            else:
                lse = _softmin_points(Y, i, Y, hk, inv_eps, metric, p, norms_y, norms_y, guess, buf)
            out[k, i] = -eps * lse


def plan_linear(C, log_a, log_b, f, g, eps, n_threads=None):
    """``<P, C> = sum_ij P_ij C_ij`` for the plan ``P_ij = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)`` of one
    problem (``C`` (n, m) float64 or float32; +inf entries count 0), by :func:`ragged_dense`'s ``values`` pass
    (parallel over rows; ``C`` in a tuple of four, the divergence's type): the plan is never stored, each row is
    summed in float64, the rows in order."""
    from .._threads import run_parallel

    C = np.ascontiguousarray(C)
    lin = np.array(log_a, dtype=np.float64)[None, :]  # in: log a; out: <P_i, C_i>
    run_parallel(ragged_dense, n_threads, (C, C, C, C), np.zeros(1, np.int64),
                 np.array([0, C.shape[0]], np.int64),
                 np.ascontiguousarray(g, dtype=np.float64)[None, :],
                 np.ascontiguousarray(log_b, dtype=np.float64)[None, :], np.array(f, dtype=np.float64)[None, :],
                 float(eps), True, lin)
    return float(np.cumsum(lin[0])[-1])


def row_values(clouds, side, log_a, log_b, f, g, eps, n_threads=None):
    """``(mass, cost)``: the plan's sums ``sum_j P_ij`` and ``sum_j P_ij C_ij`` (0 * inf counts as 0) along the
    rows (``side = ROWS``: the points of X) or the columns (``COLUMNS``) of the plan ``P_ij = a_i b_j exp((f_i +
    g_j - C_ij) / eps)`` between the clouds of ``clouds`` (a ``PointClouds``), by :func:`ragged_clouds`' ``values``
    pass (parallel over the points)."""
    from .._threads import run_parallel

    (log_w, pot, log_other, other) = (log_a, f, log_b, g) if side == ROWS else (log_b, g, log_a, f)
    mass = np.array(log_w, dtype=np.float64)[None, :]  # in: log weights; out: masses
    cost = np.array(pot, dtype=np.float64)[None, :]  # in: potentials; out: costs
    sides = np.array([[0, 1] if side == ROWS else [1, 0]], np.int64)
    run_parallel(ragged_clouds, n_threads, clouds, sides, np.array([0, mass.shape[1]], np.int64),
                 np.ascontiguousarray(other, dtype=np.float64)[None, :],
                 np.ascontiguousarray(log_other, dtype=np.float64)[None, :], cost, float(eps), True, mass)
    return mass[0], cost[0]
