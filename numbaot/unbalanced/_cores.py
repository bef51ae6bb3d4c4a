"""Compiled cores of unbalanced OT without entropy: the majorization-minimization iteration (Chapel et al. 2021)
and the objective and gradient that L-BFGS-B minimises.

Both read the plan in row blocks, one per thread, with per-thread column sums reduced serially afterwards.

MM (``mm_core``), for ``min <G, M> + rho_a D(G 1 | a) + rho_b D(G^T 1 | b) + reg D(G | c)``:

* KL: ``G = K * G^p / (r^(rho_a / s) c^(rho_b / s) + 1e-16)`` with ``s = rho_a + rho_b + reg``, ``p = (rho_a +
  rho_b) / s``, row sums r, column sums c and the fixed ``K = a^(rho_a / s) b^(rho_b / s) c^(reg / s) exp(-M / s)``;
* L2: ``G = G * K / (rho_a r + rho_b c + reg G + 1e-16)`` with ``K = max(rho_a a + rho_b b + reg c - M, 0)``.

Each iteration is one pass over G and K that also takes the new sums and the Frobenius norm of the change (POT's
stopping rule). When POT's rule holds (at most every ``check_every`` iterations) and at the last iteration ``_mm_gap`` certifies
the plan by a duality gap (one more pass):
the Fenchel dual of the problem is ``max -rho_a D*(-f / rho_a | a) - rho_b D*(-g / rho_b | b) - reg R*(f + g - M)``
(with ``f_i + g_j <= M_ij`` instead of the last term when ``reg = 0``), and the potentials read off the plan's
marginals (``f = -rho_a log(r / a)`` for KL, ``-rho_a (r - a)`` for L2; the same for g; with ``reg = 0`` g is
then the c-transform of f, clipped at ``rho_b b`` for L2, which makes it feasible) give a dual value D with
``F(G) - F* <= F(G) - D``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL

_exp = fast_exp.cpu

KL, L2, TV = 0, 1, 2
#: The regulariser of the plan in the L-BFGS-B objective: none, KL(G | c), sum G log G - G, or |G - c|^2 / 2.
REG_NONE, REG_KL, REG_ENTROPY, REG_L2 = 0, 1, 2, 3


class MMOptions(NamedTuple):
    """The scalars of one MM solve (``mm_core``), built once by the front-end: the divergence (``KL`` or ``L2``),
    the update's exponents (``power``, ``scale_r``, ``scale_c``; see the module's docstring), the penalties, and the
    stopping rule. The front-end casts each field to its type, so that every solve shares one specialisation."""

    div: int
    power: float
    scale_r: float
    scale_c: float
    rho_a: float
    rho_b: float
    reg: float
    max_iter: int
    tol: float
    tol_gap: float
    gap_floor: float
    check_every: int


@cpu_jit(parallel=True)
def _sums(G, rows, col_parts, n_threads):
    n, m = G.shape
    for t in prange(n_threads):
        lo = t * n // n_threads
        hi = (t + 1) * n // n_threads
        for j in range(m):
            col_parts[t, j] = 0.0
        for i in range(lo, hi):
            s = 0.0
            for j in range(m):
                s += G[i, j]
                col_parts[t, j] += G[i, j]
            rows[i] = s


@cpu_jit(parallel=True)
def _mm_pass(K, G, opts, rows, cols, new_rows, col_parts, diff_parts, n_threads):
    """One MM update of G in place; new row sums, per-thread column sums and squared changes (``opts`` an
    ``MMOptions``)."""
    n, m = G.shape
    div, power, scale_r, rho_a, reg = opts.div, opts.power, opts.scale_r, opts.rho_a, opts.reg
    for t in prange(n_threads):
        lo = t * n // n_threads
        hi = (t + 1) * n // n_threads
        for j in range(m):
            col_parts[t, j] = 0.0
        d2 = 0.0
        for i in range(lo, hi):
            s = 0.0
            if div == KL:
                ri = rows[i] ** scale_r if rows[i] > 0.0 else 0.0
                for j in range(m):
                    old = G[i, j]
                    gp = old if power == 1.0 else (math.exp(power * math.log(old)) if old > 0.0 else 0.0)
                    new = K[i, j] * gp / (ri * cols[j] + 1e-16)
                    G[i, j] = new
                    s += new
                    col_parts[t, j] += new
                    d2 += (new - old) * (new - old)
            else:
                ri = rho_a * rows[i]
                for j in range(m):
                    old = G[i, j]
                    new = old * K[i, j] / (ri + cols[j] + reg * old + 1e-16)
                    G[i, j] = new
                    s += new
                    col_parts[t, j] += new
                    d2 += (new - old) * (new - old)
            new_rows[i] = s
        diff_parts[t] = d2


@cpu_jit(parallel=True)
def _mm_pass_log(logK, L, G, power, row_log, col_log, new_rows, col_parts, diff_parts, n_threads):
    """The KL update with ``reg > 0`` (``power < 1``) on ``L = log G``: ``L = log K + power L - r1 log r_i - r2 log
    c_j`` (the denominator's 1e-16 left out: it only guards a division by 0, which cannot happen here, and it
    keeps the update separable), then ``G = exp(L)`` by the vectorised ``fast_exp``: one exponential per entry
    where the plain update takes a power (a logarithm and an exponential)."""
    n, m = G.shape
    for t in prange(n_threads):
        lo = t * n // n_threads
        hi = (t + 1) * n // n_threads
        for j in range(m):
            col_parts[t, j] = 0.0
        d2 = 0.0
        for i in range(lo, hi):
            s = 0.0
            ri = row_log[i]
            for j in range(m):
                x = logK[i, j] + power * L[i, j] - ri - col_log[j]
                L[i, j] = x
                new = _exp(x)
                old = G[i, j]
                G[i, j] = new
                s += new
                col_parts[t, j] += new
                d2 += (new - old) * (new - old)
            new_rows[i] = s
        diff_parts[t] = d2


@cpu_jit
def _mm_gap(G, M, a, b, c, opts, rows, cols, f, g):
    """``(F(G), F(G) - D)``: the objective and its duality gap (module docstring) from the plan's row and column
    sums ``rows``, ``cols``; ``f``, ``g`` are work buffers (the dual potentials on return); ``opts`` an
    ``MMOptions``.

    One serial pass over G and M: it runs once or a few times per solve (see ``mm_core``); a parallel pass
    doubled ``mm_core``'s cold compile time for no measurable gain."""
    n, m = G.shape
    div, rho_a, rho_b, reg = opts.div, opts.rho_a, opts.rho_b, opts.reg
    primal, dual = 0.0, 0.0
    for side in range(2):
        w = a if side == 0 else b
        s = rows if side == 0 else cols
        pot = f if side == 0 else g
        rho = rho_a if side == 0 else rho_b
        for i in range(w.shape[0]):
            x, y = s[i], w[i]
            if div == KL:
                if y > 0.0:
                    primal += rho * ((x * math.log(x / y) if x > 0.0 else 0.0) - x + y)
                    pot[i] = -rho * math.log(x / y) if x > 0.0 else math.inf
                else:
                    primal += rho * x
                    pot[i] = -math.inf  # D*(. | 0) = 0: the potential is free; -inf constrains nothing
            else:
                primal += 0.5 * rho * (x - y) * (x - y)
                pot[i] = -rho * (x - y)
    if reg == 0.0:  # g becomes the c-transform of f: g_j = min_i M_ij - f_i (rows with f_i = -inf left out)
        for j in range(m):
            g[j] = math.inf
    lin, rv, conj = 0.0, 0.0, 0.0
    for i in range(n):
        fi = f[i]
        for j in range(m):
            x = G[i, j]
            cost = M[i, j]
            lin += x * cost
            if reg == 0.0:
                if fi > -math.inf and cost - fi < g[j]:
                    g[j] = cost - fi
            else:
                y = fi + g[j] - cost
                cij = c[i, j]
                if div == KL:
                    if cij > 0.0:
                        rv += (x * math.log(x / cij) if x > 0.0 else 0.0) - x + cij
                        conj += cij * (math.exp(y / reg) - 1.0)
                    else:
                        rv += x
                else:
                    rv += 0.5 * (x - cij) * (x - cij)
                    conj += cij * y + y * y / (2.0 * reg) if cij + y / reg > 0.0 else -0.5 * reg * cij * cij
    if reg == 0.0 and div != KL:
        for j in range(m):
            g[j] = min(g[j], rho_b * b[j])
    primal += lin + reg * rv
    for side in range(2):
        w = a if side == 0 else b
        pot = f if side == 0 else g
        rho = rho_a if side == 0 else rho_b
        for i in range(w.shape[0]):
            if div == KL:
                if w[i] > 0.0:
                    dual -= rho * w[i] * (math.exp(-pot[i] / rho) - 1.0)
            else:
                dual += pot[i] * w[i] - pot[i] * pot[i] / (2.0 * rho)
    if reg > 0.0:
        dual -= reg * conj if div == KL else conj
    return primal, primal - dual


@cpu_jit
def mm_core(K, G, M, a, b, c, opts, errors, n_threads):
    """Run MM from G (updated in place) until the Frobenius change of an iteration is below ``tol`` (POT's rule)
    and the duality gap certifies the plan (``gap <= tol_gap max(|F(G)|, gap_floor)``, computed when POT's rule holds, at most
    every ``check_every`` iterations, and at the last iteration); at ``max_iter`` the status is OPTIMAL if the last check certified the plan. For KL with
    ``power != 1`` (``reg > 0``) ``K`` must hold ``log K``.

    Returns ``(status, n_iter, gap / max(|F(G)|, gap_floor) at the last check)``; ``errors[k]`` is the change at iteration k + 1.
    ``opts`` (an ``MMOptions``) holds the scalars. The caller sets Numba's thread count to ``n_threads``."""
    div, power, scale_r, scale_c = opts.div, opts.power, opts.scale_r, opts.scale_c
    rho_b, max_iter, tol, tol_gap = opts.rho_b, opts.max_iter, opts.tol, opts.tol_gap
    gap_floor, check_every = opts.gap_floor, opts.check_every
    n, m = G.shape
    rows = np.empty(n)
    new_rows = np.empty(n)
    cols = np.empty(m)
    col_parts = np.empty((n_threads, m))
    diff_parts = np.empty(n_threads)
    log_domain = div == KL and power != 1.0  # then K holds log K (see _mm_pass_log)
    row_log = np.empty(n)
    L = np.empty((n, m)) if log_domain else np.empty((1, 1))
    if log_domain:
        for i in range(n):
            for j in range(m):
                L[i, j] = math.log(G[i, j]) if G[i, j] > 0.0 else -math.inf
    _sums(G, rows, col_parts, n_threads)
    sums = np.zeros(m)
    for t in range(n_threads):
        for j in range(m):
            sums[j] += col_parts[t, j]
    status = MAX_ITER_REACHED
    gap_f = np.empty(n)
    gap_g = np.empty(m)
    rel_gap = math.inf
    last_check = -check_every
    it = 0
    while it < max_iter:
        it += 1
        if log_domain:
            # K holds log K and L log G; a zero row or column stays zero (its logs are -inf: no shift for it)
            for i in range(n):
                row_log[i] = scale_r * math.log(rows[i]) if rows[i] > 0.0 else 0.0
            for j in range(m):
                cols[j] = scale_c * math.log(sums[j]) if sums[j] > 0.0 else 0.0
            _mm_pass_log(K, L, G, power, row_log, cols, new_rows, col_parts, diff_parts, n_threads)
        else:
            # the column factor of the denominator: c_j^(rho_b / s) for KL, rho_b c_j for L2
            for j in range(m):
                if div == KL:
                    cols[j] = sums[j] ** scale_c if sums[j] > 0.0 else 0.0
                else:
                    cols[j] = rho_b * sums[j]
            _mm_pass(K, G, opts, rows, cols, new_rows, col_parts, diff_parts, n_threads)
        d2 = 0.0
        for t in range(n_threads):
            d2 += diff_parts[t]
        for j in range(m):
            s = 0.0
            for t in range(n_threads):
                s += col_parts[t, j]
            sums[j] = s
        for i in range(n):
            rows[i] = new_rows[i]
        err = math.sqrt(d2)
        if it - 1 < errors.shape[0]:
            errors[it - 1] = err
        if not math.isfinite(err):
            status = NUMERICAL_ERROR
            break
        # the gap (one more pass, with a log and an exp per entry for KL with reg > 0) only where it can decide:
        # when POT's rule holds (at most every check_every iterations) and at the last iteration
        if (err < tol and it - last_check >= check_every) or it == max_iter:
            last_check = it
            value, gap = _mm_gap(G, M, a, b, c, opts, rows, sums, gap_f, gap_g)
            scale = max(abs(value), gap_floor)
            rel_gap = gap / scale if scale > 0.0 else (0.0 if gap <= 0.0 else math.inf)
            if not math.isfinite(rel_gap):
                rel_gap = math.inf
            if err < tol and rel_gap <= tol_gap:
                status = OPTIMAL
                break
    if status == MAX_ITER_REACHED and rel_gap <= tol_gap:
        status = OPTIMAL
    return status, it, rel_gap


@cpu_jit(parallel=True)
def objective_grad(G, M, a, b, c, div, reg_code, reg, rho_a, rho_b, grad, n_threads):
    """``<G, M> + rho_a D(G 1 | a) + rho_b D(G^T 1 | b) + reg R(G)`` and its gradient (written to ``grad``) for
    the marginal divergence ``div`` (KL: generalised KL; L2: half squared norm; TV: L1 norm, whose gradient is the
    sign) and the plan's regulariser ``reg_code`` (as POT's, with its 1e-16 guards in the logarithms). Rows and
    columns of weight 0 under KL contribute no gradient: their variables are held at 0 by the bounds."""
    n, m = G.shape
    rows = np.empty(n)
    col_parts = np.empty((n_threads, m))
    _sums(G, rows, col_parts, n_threads)
    cols = np.zeros(m)
    for t in range(n_threads):
        for j in range(m):
            cols[j] += col_parts[t, j]
    du = np.empty(n)  # d/d(row sum) of the marginal term, times rho
    dv = np.empty(m)
    value = 0.0
    for side in range(2):
        w = a if side == 0 else b
        s = rows if side == 0 else cols
        d = du if side == 0 else dv
        rho = rho_a if side == 0 else rho_b
        term = 0.0
        for i in range(w.shape[0]):
            x, y = s[i], w[i]
            if div == KL:
                if y > 0.0:
                    term += (x * math.log(x / y) if x > 0.0 else 0.0) - x + y
                    d[i] = rho * math.log(x / y + 1e-16)
                else:
                    term += x
                    d[i] = 0.0
            elif div == L2:
                term += 0.5 * (x - y) * (x - y)
                d[i] = rho * (x - y)
            else:
                term += abs(x - y)
                d[i] = rho * (1.0 if x > y else (-1.0 if x < y else 0.0))
        value += rho * term
    parts = np.zeros(n_threads)
    for t in prange(n_threads):
        lo = t * n // n_threads
        hi = (t + 1) * n // n_threads
        acc = 0.0
        for i in range(lo, hi):
            for j in range(m):
                x = G[i, j]
                gr = M[i, j] + du[i] + dv[j]
                acc += x * M[i, j]
                if reg_code == REG_KL:
                    cij = c[i, j]
                    if cij > 0.0:
                        acc += reg * ((x * math.log(x / cij) if x > 0.0 else 0.0) - x + cij)
                        gr += reg * math.log(x / cij + 1e-16)
                    else:
                        acc += reg * x
                elif reg_code == REG_ENTROPY:
                    acc += reg * (x * math.log(x + 1e-16) - x)
                    gr += reg * math.log(x + 1e-16)
                elif reg_code == REG_L2:
                    acc += reg * 0.5 * (x - c[i, j]) * (x - c[i, j])
                    gr += reg * (x - c[i, j])
                grad[i, j] = gr
        parts[t] = acc
    for t in range(n_threads):
        value += parts[t]
    return value
