"""Log-domain Sinkhorn on a dense cost matrix, parallel over rows (and over columns via the transposed costs).

Potentials ``f`` (n,) and ``g`` (m,) define the plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)``. A half-step
sets ``f_i = -eps * log sum_j b_j exp((g_j - C_ij) / eps)`` (rows of P then sum to a exactly), the other half the
same for ``g`` (columns sum to b). The marginal error costs nothing extra: on a check iteration the column sums of
the plan *before* the g-update are ``b_j exp((g_j - g_new_j) / eps)``, read off the update itself.

Speed: each row's log-sum-exp is one pass over the row, shifted by the row's previous potential (a good guess once
the iterates settle), with a vectorised exponential (``softmin_row_shifted``); only rows where the guess is far off
take the two-pass ``softmin_row``. ``C`` may be float32 (the caller asked for float32): the rows are then read and
exponentiated in float32, the potentials kept in float64.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit
from .._status import CONTINUE, MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL  # noqa: F401 - CONTINUE re-exported
from ._softmin import softmin_row, softmin_row_shifted

_softmin = softmin_row.cpu
_softmin_shifted = softmin_row_shifted.cpu
_exp = fast_exp.cpu


@cpu_jit(parallel=True)
def half_step(C, log_w, other, eps, guess, out):
    """``out[i] = -eps * log sum_j w_j exp((other_j - C_ij) / eps)`` for every row i of C, in parallel.

    ``guess`` (n,) holds a previous value of ``out`` (it may be ``out`` itself): ``-guess[i] / eps`` shifts the
    one-pass log-sum-exp of row i. ``h`` and the shifts take C's dtype, so float32 costs run in float32.
    """
    n, m = C.shape
    inv64 = 1.0 / eps
    h = np.empty(m, dtype=C.dtype)
    for j in range(m):
        h[j] = other[j] * inv64 + log_w[j]
    shifts = np.empty(n, dtype=C.dtype)
    for i in range(n):
        shifts[i] = -guess[i] * inv64
    inv_eps = h[:1].copy()  # a scalar of C's dtype (numba has no dtype constructor in nopython code)
    inv_eps[0] = inv64
    for i in prange(n):
        s = _softmin_shifted(C, i, h, inv_eps[0], shifts[i])
        if s != s:
            s = _softmin(C, i, h, inv_eps[0])
        out[i] = -eps * s


@cpu_jit
def column_error(log_b, g, g_new, eps):
    """L1 error of the column marginals before the update ``g -> g_new``: the column sums were
    ``b_j exp((g_j - g_new_j) / eps)``, read off the update for free."""
    err = 0.0
    for j in range(g.shape[0]):
        if log_b[j] > -math.inf:
            err += abs(math.exp(log_b[j] + (g[j] - g_new[j]) / eps) - math.exp(log_b[j]))
    return err


@cpu_jit
def final_status(status, log_a, log_b, f, g):
    """NUMERICAL_ERROR if a potential of a positive weight is not finite, else ``status``."""
    for i in range(f.shape[0]):
        if not math.isfinite(f[i]) and log_a[i] > -math.inf:
            return NUMERICAL_ERROR
    for j in range(g.shape[0]):
        if not math.isfinite(g[j]) and log_b[j] > -math.inf:
            return NUMERICAL_ERROR
    return status



@cpu_jit
def record_check(err, tol, errors, n_errors):
    """A convergence check of the Sinkhorn cores: ``err`` goes into ``errors`` while there is room, and the code is
    NUMERICAL_ERROR for a non-finite error (NaN included), OPTIMAL when it is at most ``tol``, else CONTINUE.
    Returns ``(code, n_errors)``."""
    if n_errors < errors.shape[0]:
        errors[n_errors] = err
        n_errors += 1
    if not math.isfinite(err):
        return NUMERICAL_ERROR, n_errors
    if err <= tol:
        return OPTIMAL, n_errors
    return CONTINUE, n_errors


@cpu_jit
def sinkhorn_log_core(C, CT, log_a, log_b, eps, f, g, max_iter, tol, check_every, errors):
    """Iterate from the potentials in ``f``, ``g`` (updated in place) until the L1 marginal error is below ``tol``.

    ``C`` (n, m) and ``CT`` (its transpose, contiguous) may be float64 or float32; ``f``, ``g`` are float64.
    Returns ``(status, n_iter, n_errors)``: ``errors[:n_errors]`` holds the error at each check.
    """
    m = CT.shape[0]
    g_new = np.empty(m)
    n_errors = 0
    status = MAX_ITER_REACHED
    n_iter = 0
    while n_iter < max_iter:
        half_step(C, log_b, g, eps, f, f)
        half_step(CT, log_a, f, eps, g, g_new)
        n_iter += 1
        code = CONTINUE
        if n_iter % check_every == 0 or n_iter == max_iter:
            code, n_errors = record_check(column_error(log_b, g, g_new, eps), tol, errors, n_errors)
        for j in range(m):
            g[j] = g_new[j]
        if code != CONTINUE:
            status = code
            break
    return final_status(status, log_a, log_b, f, g), n_iter, n_errors


@cpu_jit(parallel=True)
def plan_from_potentials(C, log_a, log_b, f, g, eps, out):
    """``out[i, j] = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)``, in parallel over rows."""
    inv_eps = 1.0 / eps
    for i in prange(C.shape[0]):
        for j in range(C.shape[1]):
            out[i, j] = _exp(log_a[i] + log_b[j] + (f[i] + g[j] - C[i, j]) * inv_eps)


@cpu_jit(parallel=True)
def plan_values(P, C, log_a, log_b, entropy):
    """``(<P, C>, R(P))`` in one parallel pass, no temporaries: ``R = KL(P | a b^T) = sum P log(P / (a_i b_j)) -
    sum P + sum a_i b_j`` or, with ``entropy``, ``sum P log P``. Zero entries count 0 (also where C is +inf)."""
    n, m = P.shape
    linear = np.zeros(n)
    reg = np.zeros(n)
    for i in prange(n):
        lin_i = 0.0
        reg_i = 0.0
        for j in range(m):
            p = np.float64(P[i, j])
            if p > 0.0:
                lin_i += p * C[i, j]
                if entropy:
                    reg_i += p * math.log(p)
                else:
                    reg_i += p * (math.log(p) - log_a[i] - log_b[j]) - p
        linear[i] = lin_i
        reg[i] = reg_i
    total_linear = 0.0
    total_reg = 0.0
    for i in range(n):
        total_linear += linear[i]
        total_reg += reg[i]
    if not entropy:  # + sum_ij a_i b_j
        sa = 0.0
        for i in range(n):
            sa += math.exp(log_a[i])
        sb = 0.0
        for j in range(m):
            sb += math.exp(log_b[j])
        total_reg += sa * sb
    return total_linear, total_reg
