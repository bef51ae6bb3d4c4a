"""The frame costs of the spatio-temporal alignment on a regular grid: Sinkhorn divergences whose log-sum-exps are
taken along the grid's axes.

``sta`` needs T_x T_y Sinkhorn divergences between histograms on one shared support. When the support is a
product grid (every point ``(u_j, v_i)`` of a 1D or 2D grid, in C order; the axes' coordinates need not be evenly
spaced), the squared Euclidean cost separates, ``C((i, j), (i', j')) = (v_i - v_i')^2 + (u_j - u_j')^2``, and each
softmin of the Sinkhorn loop is one along each axis (Solomon et al. 2015): O(N (H + W)) per half-step for N = H W
bins instead of O(N^2), through the entropic family's :class:`~numbaot.entropic._geometry.SeparableGrid` kernel.

The divergence itself is :func:`numbaot.entropic.divergence.solve_divergence`'s: the same annealed symmetric loop
(``_symmetric.symmetric_sinkhorn``), schedule (``_schedules.annealing_schedule``, scaling 1/2) and value
(``_symmetric.divergence_value``), with :class:`GridSoftmins` as its operations. Only where the log-sum-exps are
computed differs, so the values agree with ``solve_sample(..., debias=True)`` to rounding.
"""
from __future__ import annotations

import numpy as np

from ..entropic._geometry import ROWS, SeparableGrid, half_step
from ..entropic._schedules import annealing_schedule
from ..entropic._symmetric import HostSoftmins, divergence_value, symmetric_sinkhorn


def grid_geometry(support):
    """The :class:`SeparableGrid` of ``support`` (N, k) if it is a 1D support (any points) or a 2D product grid
    in C order (one coordinate constant along each row of the grid, the other along each column), else None."""
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


class GridSoftmins(HostSoftmins):
    """The softmins of the symmetric loop on a :class:`SeparableGrid`: the same operator for all four pairs (both
    clouds are the grid)."""

    def __init__(self, geom):
        self.geom = geom
        self.active = np.ones(1, np.uint8)

    def _softmin(self, pair, log_w, other, eps, prev):
        N = log_w.shape[0]
        out = np.empty((1, N))
        half_step(self.geom, ROWS, np.ascontiguousarray(other, dtype=np.float64)[None, :],
                  np.ascontiguousarray(log_w, dtype=np.float64)[None, :], np.zeros((1, N)), self.active, eps, 1.0, out)
        return out[0]


def grid_divergence(ops, support, a, b, reg, max_iter, tol):
    """The Sinkhorn divergence between the histograms a and b on the grid of ``ops`` (a :class:`GridSoftmins`),
    ``(value, debiased potential of a, status, n_iter, last error)``, as ``solve_divergence`` computes them."""
    eps_list = annealing_schedule(support.min(axis=0), support.max(axis=0), "sqeuclidean", 2.0, reg, 0.5)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f_aa, g_bb, g_ab, f_ba, status, n_iter, errors = symmetric_sinkhorn(ops, log_a, log_b, eps_list, None, True,
                                                                         max_iter, tol)
    value = divergence_value(a, b, f_aa, g_bb, g_ab, f_ba, reg, None, True)
    return value, f_ba - f_aa, status, n_iter, errors[-1] if errors.size else 0.0
