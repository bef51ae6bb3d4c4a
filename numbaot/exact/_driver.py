"""The host driver of the network simplex, shared by every caller of the exact solver (``exact.api``'s front-ends,
the Gromov-Wasserstein conditional gradient): zero-weight rows and columns dropped and given feasible duals, costs
scaled by a power of two, the artificial start (cold or warm), the core run, the plan and centred duals read off.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _config, _validation as V
from .._costs import PointClouds
from .._scaling import pow2_exponent, scale_up
from . import _network_simplex as NS


def center_duals(f, g, a, b):
    """Shift ``(f, g)`` to ``(f + c, g - c)`` so that ``a @ f == b @ g``; ``f_i + g_j`` is unchanged."""
    c = (b @ g - a @ f) / (a.sum() + b.sum())
    return f + c, g - c


def network_simplex(costs, a, b, max_iter, n_threads, warm=None):
    """Solve one balanced problem on the host: ``(status, n_iter, (rows, cols, values), f, g, value)``.

    ``costs`` is a dense (n, m) matrix or a ``PointClouds`` (costs computed on the fly, O(n + m) memory).
    The core (``_network_simplex.solve_tree``) compiles once per cost type: every argument it gets is normalised
    here (float64, C order, a read-only view; Python ints and floats in ``limits``).
    ``warm`` is None or duals ``(f, g)`` to start from (see ``_network_simplex._init_artificial``). Zero-weight rows and columns
    are removed before the core runs and get feasible duals afterwards. Dense costs whose magnitude could overflow
    the artificial cost are scaled by a power of two (exact).
    """
    n, m = len(a), len(b)
    rows_kept = np.flatnonzero(a > 0)
    cols_kept = np.flatnonzero(b > 0)
    dropped = len(rows_kept) < n or len(cols_kept) < m
    e = 0
    if isinstance(costs, PointClouds):
        kept = costs._replace(X=costs.X[rows_kept], Y=costs.Y[cols_kept], norms_x=costs.norms_x[rows_kept],
                              norms_y=costs.norms_y[cols_kept]) if dropped else costs
        top = _point_cost_bound(kept)
    else:
        kept = NS.readonly(np.ascontiguousarray(costs[np.ix_(rows_kept, cols_kept)] if dropped else costs,
                                                dtype=np.float64))
        top = _max_abs_finite(kept)
        _warn_if_costs_unresolvable(kept, top, len(rows_kept) + len(cols_kept))
        e = pow2_exponent(top)
        if e:
            kept = NS.readonly(np.ldexp(kept, -e))
            top = math.ldexp(top, -e)
    ak = np.ascontiguousarray(a[rows_kept], dtype=np.float64)
    bk = np.ascontiguousarray(b[cols_kept], dtype=np.float64)
    nk, mk = len(ak), len(bk)
    art_cost = _artificial_costs(top, nk, mk, None if warm is None else _scaled_warm_duals(
        warm[0][rows_kept], warm[1][cols_kept], math.ldexp(top, e), e))
    state = NS.new_state(nk, mk)
    block = int(min(max(_config.NS_MIN_BLOCK, _config.NS_BLOCK_FACTOR * math.isqrt(nk * mk)), nk * mk))
    threads = _config.n_threads(n_threads)
    if max_iter is None:  # a guard against a stall only: n = m = 10000 needs ~3e5 pivots
        max_iter = max(10**7, 1000 * (nk + mk))
    limits = (int(max_iter), block, float(_config.NS_TOL), int(_config.NS_PARALLEL_MIN_BLOCK))
    status, n_iter, (rows, cols, values), value = NS.solve(
        kept, ak, bk, art_cost, state, False, limits, NS.pricing_threads(threads, block, _config.NS_PARALLEL_MIN_BLOCK))
    pi = state.pi
    f = np.zeros(n)
    g = np.zeros(m)
    f[rows_kept] = scale_up(-pi[:nk], e, 1.0)
    g[cols_kept] = scale_up(pi[nk:nk + mk], e, 1.0)
    if dropped:
        NS.complete_duals(costs, f, g, rows_kept, cols_kept, np.setdiff1d(np.arange(n), rows_kept),
                          np.setdiff1d(np.arange(m), cols_kept))
    f, g = center_duals(f, g, a, b)
    if dropped:
        rows, cols = rows_kept[rows], cols_kept[cols]
    # the value was summed on the kept costs in the plan's order; scaled costs may have lost tiny entries to
    # underflow, so those sum the given costs again
    value = NS.support_value(costs, rows, cols, values) if e else value
    return status, n_iter, (rows, cols, values), f, g, value


def _max_abs_finite(C) -> float:
    """The largest |c| over the finite entries of C: numpy's min and max (vectorised, no temporary) when every
    entry is finite, the compiled loop only where +inf marks forbidden arcs (so that most first calls compile one
    function less)."""
    if C.size:
        high, low = float(C.max()), float(C.min())
        if math.isfinite(high) and math.isfinite(low):
            return max(abs(high), abs(low))
    return NS.max_abs_finite(C)


def _warn_if_costs_unresolvable(C, top, nodes):
    """Bad input 9: potentials reach ~top * (n + m), where float64 resolves ~2e-16 of that. Warn when this
    resolution exceeds 1e-9 of a typical cost (the median |cost| of a sample of at most ~4096 entries): the
    optimum is then only known to worse than 1e-9 relative (e.g. one cost of 1e15 among costs of 1)."""
    resolution = top * 2.0**-52 * nodes  # in this order: top * nodes may overflow
    flat = C.ravel()
    sample = np.abs(flat[:: max(1, flat.size // 4096)])
    sample = sample[np.isfinite(sample)]
    typical = float(np.median(sample)) if sample.size else 0.0
    if typical > 0 and resolution > 1e-9 * typical:
        warnings.warn(
            f"the costs reach {top:.3g} while a typical cost is {typical:.3g}: with {nodes} nodes the dual "
            f"potentials reach ~{nodes} x {top:.3g}, where float64 resolves only {resolution:.3g}, so the plan may "
            "be suboptimal; clip or rescale the largest costs (or forbid those arcs with +inf)",
            V.InputWarning,
            stacklevel=6,
        )


def _scaled_warm_duals(f, g, top, e):
    """Warm duals in the core's units: shifted by their medians (which cannot overflow, unlike a mean; a shift of
    (f, g) by constants ranks the arcs the same), clipped to +-2 top (n + m) (optimal duals never spread wider,
    larger values only cost precision), then divided by 2**e like the costs."""
    bound = 2.0 * (top if top > 0 else 1.0) * (len(f) + len(g))
    f = np.clip(f - np.median(f), -bound, bound)
    g = np.clip(g - np.median(g), -bound, bound)
    return np.ldexp(f, -e), np.ldexp(g, -e)


def _artificial_costs(top, n, m, warm):
    """Costs of the artificial arcs: sources 0 and sinks M (cold), or sources f and sinks g + M (warm).

    M = 2 top (n + m) exceeds the cost of any path of real arcs, whatever the scale of the costs (a "+1" there
    would swamp costs below ~1e-13), plus the spread of the warm duals (see ``_scaled_warm_duals``), so that the
    shortcut source -> root -> sink never beats real arcs.
    """
    big = 2.0 * (top if top > 0 else 1.0) * (n + m)
    costs = np.zeros(n + m)
    if warm is None:
        costs[n:] = big
        return costs
    f, g = warm
    big += 2.0 * (np.max(np.abs(f), initial=0.0) + np.max(np.abs(g), initial=0.0))
    costs[:n] = f
    costs[n:] = g + big
    return costs


def _point_cost_bound(costs) -> float:
    """An upper bound of every cost between the two clouds, from their joint bounding box: O((n + m) d)."""
    from .._costs import COSINE, EUCLIDEAN, MINKOWSKI, SQEUCLIDEAN

    if costs.metric == COSINE:
        return 2.0
    span = np.maximum(costs.X.max(axis=0), costs.Y.max(axis=0)) - np.minimum(costs.X.min(axis=0),
                                                                              costs.Y.min(axis=0))
    if costs.metric == SQEUCLIDEAN:
        return float(np.sum(span**2))
    if costs.metric == EUCLIDEAN:
        return float(np.sqrt(np.sum(span**2)))
    if costs.metric == MINKOWSKI:
        return float(np.sum(span**costs.p) ** (1.0 / costs.p))
    return float(np.sum(span))
