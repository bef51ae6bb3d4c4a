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

The scaling-domain form (``entropic_partial_scaling_core``, method 'sinkhorn', POT's default) iterates ``u =
exp(f / eps)``, ``v = exp(g / eps)`` and ``z = exp(h / eps)`` on the kernel ``K = exp(-(M - min M) / eps)``: one
pass over K per iteration and no exponential, the same iterates up to rounding, but only where K does not
underflow. Both inner loops of that pass (the row product ``K_i. v`` and the update of the thread's share of ``K^T
u``) compile to unrolled AVX-512 FMAs (checked with ``inspect_asm``): at n = 1000 an iteration reads K's 8 MB once
in ~0.2 ms on 2 cores, near the memory bandwidth, so it is bound by reading K, not by its arithmetic.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import cpu_jit, twin
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..entropic._geometry import COLUMNS, ROWS, half_step


@twin
def clip_entry(log_w, pot, raw, eps, want_error):
    """One entry of a projection (the body shared with the CUDA kernel ``cuda.partial._project_kernel``): the
    clipped potential ``new = min(raw, 0)``, the change of the entry's marginal (if ``want_error``) and the log of
    its mass after the projection, ``log w + (new - raw) / eps``."""
    new = min(raw, 0.0)
    err = 0.0
    if want_error:
        err = abs(math.exp(log_w + (pot - raw) / eps) - math.exp(log_w + (new - raw) / eps))
    return new, err, log_w + (new - raw) / eps


_clip_entry = clip_entry.cpu


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
        new, e, t = _clip_entry(log_w[i], pot[i], raw[i], eps, want_error)
        err += e
        pot[i] = new
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

    Start from the kernel scaled to mass m (``f = g = 0``, ``h0 = eps (log m - log sum exp(-M / eps))``, as POT):
    from ``h0 = 0`` with more mass than m, every row and column sits at its cap and the projections crawl.

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
def plan_sums(plan, C, rows, parts, lins, n_threads):
    """One pass over a plan: its row sums ``rows`` (n,), thread t's column sums ``parts[t]`` and share
    ``lins[t]`` of ``<P, C>`` (entries with ``P = 0`` skipped: +inf costs carry no mass). The caller reduces
    ``parts`` and ``lins`` serially. With ``P_ij = exp((f_i + g_j - C_ij) / eps)`` the entropic value ``<P, C> +
    eps sum P log P`` is then ``rows . f + cols . g``: no logarithm per entry."""
    n, m = plan.shape
    for t in range(n_threads):  # serial (once per solve, ~1 ms at n = 1000): no parallel region to compile
        for j in range(m):
            parts[t, j] = 0.0
        lin = 0.0
        for i in range(t * n // n_threads, (t + 1) * n // n_threads):
            r = 0.0
            for j in range(m):
                p = plan[i, j]
                r += p
                parts[t, j] += p
                lin += p * C[i, j] if p > 0.0 else 0.0
            rows[i] = r
        lins[t] = lin


# ------------------------------------------------------------------------------------------------ scaling domain
@cpu_jit(parallel=True)
def _scale_rows_and_sum_columns(K, v, a, z, u, parts, sums, n_threads, want_error):
    """One pass over K for the row half of an iteration and the column products the column half needs: for each
    row, ``s_i = K_i. v`` and the capped scaling ``u_i = min(a_i / (z s_i), 1)`` (0 where a_i = 0), then, while
    the row is in cache, ``parts[t] += K_i. u_i`` (thread t's share of ``K^T u``). Per thread, ``sums[t]`` gets
    the row masses ``sum u_i s_i`` (z restores the mass from them), the L1 change of the row marginal ``z u_i s_i``
    (if ``want_error``) and a flag for a weighted row whose product is not positive (the kernel underflowed there:
    the scaling domain cannot go on)."""
    n, m = K.shape
    for t in prange(n_threads):
        for j in range(m):
            parts[t, j] = 0.0
        total, err, bad = 0.0, 0.0, 0.0
        for i in range(t * n // n_threads, (t + 1) * n // n_threads):
            s = 0.0
            for j in range(m):
                s += K[i, j] * v[j]
            new = 0.0
            if a[i] > 0.0:
                if s > 0.0:
                    new = min(a[i] / (z * s), 1.0)
                else:
                    bad = 1.0
            if want_error:
                err += abs(z * s * (u[i] - new))
            u[i] = new
            total += new * s
            if new != 0.0:
                for j in range(m):
                    parts[t, j] += K[i, j] * new
        sums[t, 0] = total
        sums[t, 1] = err
        sums[t, 2] = bad


@cpu_jit
def _scale(w, s, x, z, mass, want_error):
    """``x_i = min(w_i / (z s_i), 1)`` (0 where w_i = 0); returns the new z restoring the mass and the L1 change
    of the marginal ``z x_i s_i`` (NaN for both when a weighted row's product ``s_i`` is 0: K underflowed)."""
    err = 0.0
    total = 0.0
    for i in range(x.shape[0]):
        if w[i] > 0.0:
            if not s[i] > 0.0:  # the kernel underflowed on this whole row (or NaN): the scaling domain cannot go on
                return math.nan, math.nan
            new = min(w[i] / (z * s[i]), 1.0)
        else:
            new = 0.0
        if want_error:
            err += abs(z * s[i] * (x[i] - new))
        x[i] = new
        total += new * s[i]
    return mass / total, err


@cpu_jit
def entropic_partial_scaling_core(K, a, b, mass, u, v, z0, max_iter, tol, check_every, errors, n_threads):
    """The projections of :func:`entropic_partial_core` on the scalings ``u = exp(f / eps) <= 1``, ``v = exp(g /
    eps) <= 1`` and ``z = exp(h / eps)`` of a kernel K: the plan is ``z u_i K_ij v_j``. One pass over K per
    iteration (rows scaled and column products summed together) and no exponential. Returns ``(status, n_iter,
    n_errors, z)``."""
    n, m = K.shape
    t = np.empty(m)
    parts = np.empty((n_threads, m))
    sums = np.empty((n_threads, 3))
    z = z0
    status = MAX_ITER_REACHED
    n_errors = 0
    it = 0
    while it < max_iter:
        it += 1
        check = it % check_every == 0 or it == max_iter
        _scale_rows_and_sum_columns(K, v, a, z, u, parts, sums, n_threads, check)
        total, err_a, bad = 0.0, 0.0, 0.0
        for q in range(n_threads):
            total += sums[q, 0]
            err_a += sums[q, 1]
            bad += sums[q, 2]
        z = math.nan if bad > 0.0 else mass / total
        for j in range(m):
            acc = 0.0
            for q in range(n_threads):
                acc += parts[q, j]
            t[j] = acc
        z, err_b = _scale(b, t, v, z, mass, check)
        if not (math.isfinite(z) and z > 0.0):
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
    return status, it, n_errors, z


@cpu_jit(parallel=True)
def scaled_plan(K, u, v, z, out, n_threads):
    """``out = z u_i K_ij v_j``."""
    n, m = K.shape
    for t in prange(n_threads):
        for i in range(t * n // n_threads, (t + 1) * n // n_threads):
            c = z * u[i]
            for j in range(m):
                out[i, j] = c * K[i, j] * v[j]
