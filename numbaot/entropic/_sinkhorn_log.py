"""Log-domain Sinkhorn on a dense cost matrix, parallel over rows (and over columns via the transposed costs).

Potentials ``f`` (n,) and ``g`` (m,) define the plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)``. A half-step
sets ``f_i = -eps * log sum_j b_j exp((g_j - C_ij) / eps)`` (rows of P then sum to a exactly), the other half the
same for ``g`` (columns sum to b). The marginal error costs nothing extra: on a check iteration the column sums of
the plan *before* the g-update are ``b_j exp((g_j - g_new_j) / eps)``, read off the update itself.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import cpu_jit
from ._softmin import softmin_row

OPTIMAL = 0
MAX_ITER_REACHED = 1
NUMERICAL_ERROR = 4

_softmin = softmin_row.cpu


@cpu_jit(parallel=True)
def _half_step(C, log_w, other, eps, out):
    """``out[i] = -eps * log sum_j w_j exp((other_j - C_ij) / eps)`` for every row i of C, in parallel."""
    inv_eps = 1.0 / eps
    m = C.shape[1]
    h = np.empty(m)
    for j in range(m):
        h[j] = other[j] * inv_eps + log_w[j]
    for i in prange(C.shape[0]):
        out[i] = -eps * _softmin(C, i, h, inv_eps)


@cpu_jit
def sinkhorn_log_core(C, CT, log_a, log_b, eps, f, g, max_iter, tol, check_every, errors):
    """Iterate from the potentials in ``f``, ``g`` (updated in place) until the L1 marginal error is below ``tol``.

    Returns ``(status, n_iter, n_errors)``: ``errors[:n_errors]`` holds the error at each check.
    """
    m = CT.shape[0]
    g_new = np.empty(m)
    n_errors = 0
    status = MAX_ITER_REACHED
    n_iter = 0
    while n_iter < max_iter:
        _half_step(C, log_b, g, eps, f)
        _half_step(CT, log_a, f, eps, g_new)
        n_iter += 1
        check = n_iter % check_every == 0 or n_iter == max_iter
        if check:
            err = 0.0
            for j in range(m):
                if log_b[j] > -math.inf:
                    err += abs(math.exp(log_b[j] + (g[j] - g_new[j]) / eps) - math.exp(log_b[j]))
            if n_errors < errors.shape[0]:
                errors[n_errors] = err
                n_errors += 1
        for j in range(m):
            g[j] = g_new[j]
        if check:
            if not (err == err) or not math.isfinite(err):
                status = NUMERICAL_ERROR
                break
            if err <= tol:
                status = OPTIMAL
                break
    for i in range(f.shape[0]):
        if not math.isfinite(f[i]) and log_a[i] > -math.inf:
            status = NUMERICAL_ERROR
    for j in range(m):
        if not math.isfinite(g[j]) and log_b[j] > -math.inf:
            status = NUMERICAL_ERROR
    return status, n_iter, n_errors


@cpu_jit(parallel=True)
def plan_from_potentials(C, log_a, log_b, f, g, eps, out):
    """``out[i, j] = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)``, in parallel over rows."""
    inv_eps = 1.0 / eps
    for i in prange(C.shape[0]):
        for j in range(C.shape[1]):
            out[i, j] = math.exp(log_a[i] + log_b[j] + (f[i] + g[j] - C[i, j]) * inv_eps)
