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
  the potentials kept in float64);
* ``_costs.PointClouds``: two point clouds and a metric, costs recomputed at every pass (O(n + m) memory; B = 1;
  the network simplex takes the same tuple).

A new geometry (a separable kernel on a grid, for convolutional barycenters) is a NamedTuple, a kernel and one
more branch in ``_select``.
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
from ._online import softmin_rows
from ._softmin import softmin_row, softmin_row_shifted

_softmin = softmin_row.cpu
_softmin_shifted = softmin_row_shifted.cpu

#: The two sides of a half-step: the rows of ``C`` (updates f) or the rows of ``C^T`` (updates g).
ROWS, COLUMNS = 0, 1


class DenseCosts(NamedTuple):
    """Cost matrices ``C`` (B, n, m) and their contiguous transposes ``CT`` (B, m, n), of one float dtype."""

    C: np.ndarray
    CT: np.ndarray


def _dense(geom, side, other, ref, shift, active, eps, tau, out):
    """The half-step on the rows of ``C`` (B, n, m) for every active problem, in one parallel loop over the B * n
    rows (so that a single problem and a batch of small ones both keep every thread busy).

    Each row's log-sum-exp is one pass shifted by the previous value of ``out`` (a good guess once the iterates
    settle; a poor one is refused and the row takes the two-pass softmin). ``h = other / eps + ref`` and the
    shifts are computed in C's dtype, so float32 costs run in float32.
    """
    C = geom.C if side == ROWS else geom.CT
    B, n, m = C.shape
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
        k = t // n
        if active[k]:
            i = t - k * n
            s = shift[k, i]
            if s == -math.inf:  # a zero weight under reg_type='entropy': the row carries no mass
                out[k, i] = -math.inf
            else:
                lse = _softmin_shifted(C[k], i, hc[k], inv_eps[0], guess[k, i])
                if lse != lse:
                    lse = _softmin(C[k], i, hc[k], inv_eps[0])
                out[k, i] = tau * eps * (s - lse)


def _points(geom, side, other, ref, shift, active, eps, tau, out):
    """The half-step on the points of one cloud against the other (one problem: row 0 of ``h``, ``shift``,
    ``out``): the log-sum-exps by ``_online.softmin_rows``, seeded by the previous values."""
    if side == ROWS:
        X, Y, norms_x, norms_y = geom.X, geom.Y, geom.norms_x, geom.norms_y
    else:
        X, Y, norms_x, norms_y = geom.Y, geom.X, geom.norms_y, geom.norms_x
    n, m = X.shape[0], Y.shape[0]
    h = np.empty(m)
    for j in range(m):
        h[j] = other[0, j] / eps + ref[0, j]
    guess = np.empty(n)
    for i in range(n):
        guess[i] = shift[0, i] - out[0, i] / (tau * eps)
    lse = np.empty(n)
    softmin_rows(X, Y, geom.metric, geom.p, norms_x, norms_y, h, 1.0 / eps, guess, lse)
    for i in range(n):
        out[0, i] = -math.inf if shift[0, i] == -math.inf else tau * eps * (shift[0, i] - lse[i])


_KERNELS = {DenseCosts: _dense, PointClouds: _points}
#: The same bodies compiled on their own, for calls from Python (the jitted loop takes them through the overloads).
_HOST_KERNELS = {DenseCosts: cpu_jit(parallel=True)(_dense), PointClouds: cpu_jit(_points)}


def half_step(geom, side, other, ref, shift, active, eps, tau, out):
    """``out[k, i] = tau * eps * (shift[k, i] - log sum_j exp(other[k, j] / eps + ref[k, j] - C_ij / eps))`` on the
    rows of ``side`` (ROWS: C, COLUMNS: C^T) of every active problem of ``geom``: ``other`` is the other side's
    potential, ``ref`` the log of the reference measure's factor on that side. Callable from Python and from
    jitted code."""
    return _HOST_KERNELS[type(geom)](geom, side, other, ref, shift, active, eps, tau, out)


def _typed_kernel(geom, classes):
    """The kernel of ``geom``'s Numba type if its class is one of ``classes``, else None (another overload's)."""
    cls = getattr(geom, "instance_class", None) if isinstance(geom, types.BaseNamedTuple) else None
    return _KERNELS[cls] if cls in classes else None


# Compile cost: every jitted function between the loop and a large kernel re-optimises the kernel's code when it is
# linked (about a second each at these sizes), so the kernels sit right under the loop: the dense one is the
# overload's own (parallel) implementation, the point-cloud one is inlined into the loop and calls its parallel
# softmin directly.
@overload(half_step, jit_options={"nogil": True, "parallel": True, "fastmath": set(SAFE_FASTMATH)})
def _select_parallel(geom, side, other, ref, shift, active, eps, tau, out):
    return _typed_kernel(geom, (DenseCosts,))


@overload(half_step, inline="always")
def _select_inline(geom, side, other, ref, shift, active, eps, tau, out):
    return _typed_kernel(geom, (PointClouds,))
