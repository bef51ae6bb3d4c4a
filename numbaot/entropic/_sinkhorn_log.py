"""The dense log-domain half-step of one problem and the plan and values read from potentials; the iterations
themselves are the one loop of :mod:`numbaot.entropic._loop` (this half-step serves the stabilized method, the
symmetric loop and the potentials of zero weights).

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
from .._status import CONTINUE, NUMERICAL_ERROR, OPTIMAL
from ._geometry import ROWS, DenseCosts
from ._geometry import half_step as geometry_half_step

_exp = fast_exp.cpu


@cpu_jit(inline="always")
def half_step(C, log_w, other, eps, guess, out):
    """``out[i] = -eps * log sum_j w_j exp((other_j - C_ij) / eps)`` for every row i of C (contiguous), in parallel.

    ``guess`` (n,) holds a previous value of ``out`` (it may be ``out`` itself): it seeds the one-pass
    log-sum-exp of each row. The batched kernel of the dense geometry with B = 1, so float32 costs run in float32.
    For jitted callers (inlined: no layer between them and the kernel); Python calls :func:`host_half_step`.
    """
    n, m = C.shape
    for i in range(n):
        out[i] = guess[i]
    C3 = C.reshape((1, n, m))
    geometry_half_step(DenseCosts(C3, C3), ROWS, other.reshape((1, m)), log_w.reshape((1, m)), np.zeros((1, n)),
                       np.ones(1, np.uint8), eps, 1.0, out.reshape((1, n)))


def host_half_step(C, log_w, other, eps, guess, out):
    """:func:`half_step` called from Python: the arrays prepared with numpy, the dense kernel called directly."""
    n = C.shape[0]
    out[:] = guess
    C3 = np.ascontiguousarray(C)[None]
    other = np.ascontiguousarray(other, dtype=np.float64)[None, :]
    log_w = np.ascontiguousarray(log_w, dtype=np.float64)[None, :]
    geometry_half_step(DenseCosts(C3, C3), ROWS, other, log_w, np.zeros((1, n)), np.ones(1, np.uint8), eps, 1.0,
                       out[None, :])


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


@cpu_jit(parallel=True)
def plan_from_potentials(C, log_a, log_b, f, g, eps, out):
    """``out[i, j] = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)``, in parallel over rows."""
    inv_eps = 1.0 / eps
    for i in prange(C.shape[0]):
        for j in range(C.shape[1]):
            out[i, j] = _exp(log_a[i] + log_b[j] + (f[i] + g[j] - C[i, j]) * inv_eps)


@cpu_jit(parallel=True)
def plan_and_values(C, log_a, log_b, f, g, eps, entropy, out):
    """The plan ``out[i, j] = exp(log a_i + log_b_j + (f_i + g_j - C_ij) / eps)`` and its ``(<P, C>, R(P))``, in
    one parallel pass over rows (one compiled kernel for both): ``R = KL(P | a b^T) = sum P log(P / (a_i b_j)) -
    sum P + sum a_i b_j`` or, with ``entropy``, ``sum P log P``. Both are summed in float64 from each entry's
    float64 value, whose log is its exponent (no logarithm per entry: a float32 plan's rounding, ~6e-8 relative,
    is below the values' float32 precision). Zero entries count 0 (also where C is +inf)."""
    n, m = C.shape
    inv_eps = 1.0 / eps
    linear = np.zeros(n)
    reg = np.zeros(n)
    for i in prange(n):
        lin_i = 0.0
        reg_i = 0.0
        for j in range(m):
            c = np.float64(C[i, j])
            scaled = (f[i] + g[j] - c) * inv_eps  # log P_ij - log a_i - log b_j
            x = log_a[i] + log_b[j] + scaled
            p = _exp(x)
            out[i, j] = p
            if p > 0.0:
                lin_i += p * c
                reg_i += p * x if entropy else p * (scaled - 1.0)
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


#: Plans of at most this many entries are read out by numpy (:func:`plan_and_values_numpy`): a millisecond at most,
#: against the half second that compiling the parallel kernel adds to a small problem's first call.
NUMPY_PLAN_MAX = 1 << 16


def plan_and_values_numpy(C, log_a, log_b, f, g, eps, entropy, out):
    """:func:`plan_and_values` in numpy (same arguments and answer, up to rounding), for small plans: nothing to
    compile. ``log P_ij`` is the exponent itself, the entries float64 before ``out`` rounds them."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scaled = (f[:, None] + g[None, :] - C.astype(np.float64, copy=False)) * (1.0 / eps)  # log P - log a b^T
        log_p = scaled + (log_a[:, None] + log_b[None, :])
        P = np.exp(log_p)
        out[...] = P
        kept = P > 0.0  # zero entries count 0 (also where C is +inf)
        linear = float(np.sum(P * C, where=kept))
        if entropy:
            reg = float(np.sum(P * log_p, where=kept))
        else:  # KL(P | a b^T) = sum P (log P - log a_i - log b_j) - sum P + sum a_i b_j
            reg = float(np.sum(P * (scaled - 1.0), where=kept))
            reg += float(np.sum(np.exp(log_a))) * float(np.sum(np.exp(log_b)))
    return linear, reg


#: Rows of :func:`plan_linear`'s blocks: about this many plan entries each (8 MiB of float64).
PLAN_BLOCK = 1 << 20


def plan_linear(C, log_a, log_b, f, g, eps, n_threads=None):
    """``<P, C>`` for the plan ``P_ij = exp(log a_i + log b_j + (f_i + g_j - C_ij) / eps)`` of one problem (``C``
    (n, m), float64 or float32; zero entries count 0, also where C is +inf), without keeping the plan (the Sinkhorn
    divergence's ``value_linear``): :func:`plan_and_values` (numpy for small plans), the dense solver's read-out and
    its compiled signature, over blocks of rows that reuse one buffer of the costs' dtype."""
    from .._threads import run_parallel

    n, m = C.shape
    rows = max(1, PLAN_BLOCK // max(m, 1))
    buf = np.empty((min(rows, n), m), dtype=C.dtype)
    log_a, log_b, f, g = (np.ascontiguousarray(v, dtype=np.float64) for v in (log_a, log_b, f, g))
    total = 0.0
    for i0 in range(0, n, rows):
        block = np.ascontiguousarray(C[i0:i0 + rows])
        out = buf[:block.shape[0]]
        if block.size <= NUMPY_PLAN_MAX:
            linear, _ = plan_and_values_numpy(block, log_a[i0:i0 + rows], log_b, f[i0:i0 + rows], g, eps, False, out)
        else:
            linear, _ = run_parallel(plan_and_values, n_threads, block, log_a[i0:i0 + rows], log_b,
                                     f[i0:i0 + rows], g, float(eps), False, out)
        total += linear
    return float(total)
