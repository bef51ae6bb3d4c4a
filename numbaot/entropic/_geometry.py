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
from ._online import CHUNK as _CHUNK, cloud_metric, softmin_points
from ._softmin import softmin_row, softmin_row_shifted

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
