"""The compiled loop of entropic partial OT: Bregman (Dykstra) projections in the log domain.

The problem (Benamou et al. 2015, prop. 5)::

    min_P <P, M> + eps sum P (log P - 1)   s.t.   P 1 <= a,   P^T 1 <= b,   sum P = m,   P >= 0

Its dual has one potential per row (``f <= 0``), per column (``g <= 0``) and one for the mass (``h``); the plan is
``P_ij = exp((f_i + g_j + h - M_ij) / eps)``. Dykstra's projections onto the three constraints, as POT iterates them
on the plan, are block-coordinate ascent on this dual; in the log domain each is a Sinkhorn half-step clipped at 0:

    f_i = min(eps (log a_i - h / eps - log sum_j exp((g_j - M_ij) / eps)), 0)          (rows, then the mass)
    g_j = min(eps (log b_j - h / eps - log sum_i exp((f_i - M_ij) / eps)), 0)          (columns, then the mass)
    h   = h + eps (log m - log sum_ij P_ij)

The half-steps are the Sinkhorn loop's own (``entropic._geometry.half_step``: parallel, one pass per row); the
mass update needs no pass of its own, since a half-step's log-sum-exps give every row's (column's) mass. The error
at a check is the L1 change of the row and column marginals made by the two projections (0 at the fixed point), as
the balanced Sinkhorn's marginal error.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import cpu_jit
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..entropic._geometry import COLUMNS, ROWS, half_step


@cpu_jit
def _project(log_w, shift, raw, pot, h, eps, log_mass, want_error):
    """After a half-step ``raw`` (the unclipped potential): clip ``pot = min(raw, 0)``, return the new ``h`` that
    restores the mass and the L1 change of the marginal (if ``want_error``).

    With ``lse_i = shift_i - raw_i / eps`` the marginal before the projection is ``exp(log w_i + (pot_i - raw_i) /
    eps)``, and after it the same with the clipped potential."""
    err = 0.0
    top = -math.inf
    n = pot.shape[0]
    for i in range(n):
        if log_w[i] == -math.inf:
            pot[i] = -math.inf
            continue
        new = min(raw[i], 0.0)
        if want_error:
            err += abs(math.exp(log_w[i] + (pot[i] - raw[i]) / eps) - math.exp(log_w[i] + (new - raw[i]) / eps))
        pot[i] = new
        t = log_w[i] + (new - raw[i]) / eps  # log of row i's mass after the projection
        if t > top:
            top = t
    if top == -math.inf or not math.isfinite(top):
        return h, err
    total = 0.0
    for i in range(n):
        if log_w[i] > -math.inf:
            total += math.exp(log_w[i] + (pot[i] - raw[i]) / eps - top)
    return h + eps * (log_mass - top - math.log(total)), err


@cpu_jit
def entropic_partial_core(geom, log_a, log_b, log_mass, eps, f, g, h0, max_iter, tol, check_every, errors):
    """Run the projections from ``f`` (1, n), ``g`` (1, m) (updated in place) and the mass potential ``h0``.

    Returns ``(status, n_iter, n_errors, h)``; ``errors[:n_errors]`` holds the error at each check."""
    n, m = f.shape[1], g.shape[1]
    f_raw = np.zeros((1, n))
    g_raw = np.zeros((1, m))
    shift_a = np.empty((1, n))
    shift_b = np.empty((1, m))
    zeros_a = np.zeros((1, n))
    zeros_b = np.zeros((1, m))
    active = np.ones(1, np.uint8)
    h = h0
    status = MAX_ITER_REACHED
    n_errors = 0
    it = 0
    while it < max_iter:
        it += 1
        check = it % check_every == 0 or it == max_iter
        for i in range(n):
            shift_a[0, i] = log_a[i] - h / eps
        half_step(geom, ROWS, g, zeros_b, shift_a, active, eps, 1.0, f_raw)
        h, err_a = _project(log_a, shift_a[0], f_raw[0], f[0], h, eps, log_mass, check)
        for j in range(m):
            shift_b[0, j] = log_b[j] - h / eps
        half_step(geom, COLUMNS, f, zeros_a, shift_b, active, eps, 1.0, g_raw)
        h, err_b = _project(log_b, shift_b[0], g_raw[0], g[0], h, eps, log_mass, check)
        if not math.isfinite(h):
            status = NUMERICAL_ERROR
            break
        if check:
            err = err_a + err_b
            if n_errors < errors.shape[0]:
                errors[n_errors] = err
                n_errors += 1
            if not math.isfinite(err):
                status = NUMERICAL_ERROR
                break
            if err <= tol:
                status = OPTIMAL
                break
    return status, it, n_errors, h


@cpu_jit
def entropy_terms(plan, M):
    """``(<P, M>, sum P log P)`` of a plan (``0 log 0 = 0``; +inf costs carry no mass)."""
    lin = 0.0
    ent = 0.0
    n, m = plan.shape
    for i in range(n):
        for j in range(m):
            p = plan[i, j]
            if p > 0.0:
                lin += p * M[i, j]
                ent += p * math.log(p)
    return lin, ent
