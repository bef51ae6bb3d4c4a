"""Compiled dual and semi-dual objectives of smooth OT (Blondel, Seguy and Rolet 2018), with their gradients.

Regularisers (``kind``): 0 squared L2 ``Omega(T) = gamma/2 |T|^2``; 1 negentropy ``gamma sum T log T``;
2 sparsity-constrained squared L2 (at most ``max_nz`` non-zeros per column, Liu et al. 2023).

Dual (maximised; scipy minimises its negative): ``D(alpha, beta) = <alpha, a> + <beta, b> - sum_ij
delta(alpha_i + beta_j - C_ij)`` with ``delta`` the conjugate of the regulariser on R_+: ``max(x, 0)^2 / (2 gamma)``
(L2), ``gamma exp(x / gamma - 1)`` (negentropy); the plan is ``delta'(x)``. Semi-dual:
``S(alpha) = <alpha, a> - sum_j b_j maxOmega_j(alpha - C_j)``, whose plan's column j is ``b_j`` times the
regularised argmax over the simplex (the Euclidean projection onto the simplex for L2, a softmax for negentropy).

Every pass is column-wise over ``CT = C^T`` (m, n), C-contiguous, so that column j is a contiguous row: chunks of
columns run in parallel, each chunk with its own row-sum buffer (``part``), reduced serially afterwards (the result
does not depend on the chunking).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit

_exp = fast_exp.cpu  # vectorisable exp (libm's math.exp is not: ~10 ns per entry)

L2 = 0
NEGENTROPY = 1
SPARSITY = 2


@cpu_jit
def _kth_largest(values, count, k, work):
    """The k-th largest (1-based) of ``values[:count]``, by quickselect on the scratch ``work``."""
    for i in range(count):
        work[i] = values[i]
    lo = 0
    hi = count - 1
    target = k - 1  # index in descending order
    while lo < hi:
        pivot = work[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while work[i] > pivot:
                i += 1
            while work[j] < pivot:
                j -= 1
            if i <= j:
                t = work[i]
                work[i] = work[j]
                work[j] = t
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            break
    return work[target]


@cpu_jit
def _column_threshold(x, n, max_nz, buf, work):
    """The value below which the entries of column x are dropped when only the ``max_nz`` largest may stay:
    -inf when x has at most max_nz positive entries (then every positive entry stays). Ties at the threshold keep
    the first ones (``_keep`` counts them)."""
    count = 0
    for i in range(n):
        if x[i] > 0.0:
            buf[count] = x[i]
            count += 1
    if count <= max_nz:
        return -np.inf
    return _kth_largest(buf, count, max_nz, work)


@cpu_jit
def _dual_columns(lo, hi, alpha, beta, CT, gamma, kind, max_nz, row_part, grad_beta, b, buf, work):
    """Columns lo:hi of the dual: their objective part (returned), ``grad_beta[j] = b_j - sum_i T_ij`` and the row
    sums of T added into ``row_part``."""
    n = CT.shape[1]
    obj = 0.0
    x = np.empty(n)
    inv = 1.0 / gamma
    for j in range(lo, hi):
        Cj = CT[j]
        bj = beta[j]
        col = 0.0
        if kind == L2:  # branch-free, so that LLVM vectorises it: the hot loop of smooth_ot_dual
            sq = 0.0
            for i in range(n):
                xi = max(alpha[i] + bj - Cj[i], 0.0)
                sq += xi * xi
                col += xi
                row_part[i] += xi * inv
            obj += 0.5 * inv * sq
            col *= inv
        elif kind == NEGENTROPY:
            for i in range(n):
                t = _exp((alpha[i] + bj - Cj[i]) * inv - 1.0)
                obj += gamma * t
                col += t
                row_part[i] += t
        else:
            for i in range(n):
                x[i] = alpha[i] + bj - Cj[i]
            thr = -np.inf
            if kind == SPARSITY:
                thr = _column_threshold(x, n, max_nz, buf, work)
            kept = 0
            above = 0
            if thr > -np.inf:
                for i in range(n):
                    if x[i] > thr:
                        above += 1
            for i in range(n):
                xi = x[i]
                if xi > 0.0:
                    if thr > -np.inf:
                        if xi < thr:
                            continue
                        if xi == thr:  # ties at the threshold: as many as the budget allows, first come
                            if above + kept >= max_nz:
                                continue
                            kept += 1
                    t = xi / gamma
                    obj += 0.5 * xi * t
                    col += t
                    row_part[i] += t
        grad_beta[j] = b[j] - col
    return obj


#: tasks of the one parallel region (:func:`_chunks`): one ``prange`` compiled once for the three passes
_TASK_DUAL = 0
_TASK_SEMI = 1
_TASK_PLAN = 2


@cpu_jit(parallel=True)
def _chunks(task, n_chunks, alpha, beta, b, CT, gamma, kind, max_nz, row_part, col_out, obj_part, plan_T):
    """Columns split into ``n_chunks`` chunks run in parallel, each with its own row buffer ``row_part[c]``:
    the dual pass (``obj_part[c]``, ``col_out`` = the beta gradient), the semi-dual pass (``col_out`` = the
    per-column values; the plan into ``plan_T`` when it has rows) or the dual plan into ``plan_T``."""
    m, n = CT.shape
    for c in prange(n_chunks):
        lo = c * m // n_chunks
        hi = (c + 1) * m // n_chunks
        rp = row_part[c]
        rp[:] = 0.0
        buf = np.empty(n)
        work = np.empty(n)
        if task == _TASK_DUAL:
            obj_part[c] = _dual_columns(lo, hi, alpha, beta, CT, gamma, kind, max_nz, rp, col_out, b, buf, work)
        elif task == _TASK_SEMI:
            _semi_columns(lo, hi, alpha, CT, b, gamma, kind, max_nz, rp, col_out, plan_T, buf, work)
        else:
            _plan_columns(lo, hi, alpha, beta, CT, gamma, kind, max_nz, plan_T, buf, work)


def dual_obj_grad(alpha, beta, a, b, CT, gamma, kind, max_nz, n_chunks, row_part, obj_part, grad):
    """``-D(alpha, beta)`` (returned) and its gradient into ``grad`` = ``(-grad_alpha, -grad_beta)`` (n + m).

    Plain Python around the one parallel region: its reductions are O(n + m) numpy calls, and a jitted wrapper
    would re-optimise the parallel kernel when linking it (seconds of compile per wrapper)."""
    n = CT.shape[1]
    _chunks(_TASK_DUAL, n_chunks, alpha, beta, b, CT, gamma, kind, max_nz, row_part, grad[n:], obj_part,
            _NO_PLAN[n] if n in _NO_PLAN else _no_plan(n))
    total = float(alpha @ a) + float(beta @ b) - float(obj_part.sum())
    np.subtract(row_part.sum(axis=0), a, out=grad[:n])
    np.negative(grad[n:], out=grad[n:])
    return -total


_NO_PLAN = {}


def _no_plan(n):
    """A (0, n) array: "no plan wanted" (one per n, so that each call does not allocate one)."""
    _NO_PLAN[n] = np.empty((0, n))
    return _NO_PLAN[n]


@cpu_jit
def _project_simplex(y, n, out, active):
    """``out`` = the Euclidean projection of ``y[:n]`` onto the unit simplex (Michelot's algorithm: drop the
    entries below the current threshold until none is; n >= 1); ``active`` a boolean scratch. Returns the
    threshold."""
    # the threshold is at least max(y) - 1 (the largest entry is projected to at most 1): start from the entries
    # above it only, a superset of the support (Michelot's iteration is exact from any superset)
    top = -np.inf
    for i in range(n):
        top = max(top, y[i])
    s = 0.0
    count = 0
    for i in range(n):
        active[i] = y[i] > top - 1.0
        if active[i]:
            s += y[i]
            count += 1
    tau = (s - 1.0) / count
    while True:
        changed = False
        s = 0.0
        c = 0
        for i in range(n):
            if active[i]:
                if y[i] <= tau:
                    active[i] = False
                    changed = True
                else:
                    s += y[i]
                    c += 1
        if not changed or c == 0:
            break
        count = c
        tau = (s - 1.0) / count
    for i in range(n):
        v = y[i] - tau
        out[i] = v if (active[i] and v > 0.0) else 0.0
    return tau


@cpu_jit
def _semi_columns(lo, hi, alpha, CT, b, gamma, kind, max_nz, row_part, val_out, plan_T, buf, work):
    """Columns lo:hi of the semi-dual: ``val_out[j] = maxOmega_j`` per unit of b_j, ``b_j g_j`` added into
    ``row_part`` (g_j the column's argmax on the simplex); when ``plan_T`` has rows, ``plan_T[j] = b_j g_j``."""
    n = CT.shape[1]
    x = np.empty(n)
    y = np.empty(n)
    g = np.empty(n)
    active = np.empty(n, dtype=np.bool_)
    idx = np.empty(n, dtype=np.int64)
    for j in range(lo, hi):
        Cj = CT[j]
        bj = b[j]
        for i in range(n):
            x[i] = alpha[i] - Cj[i]
        val = 0.0
        if bj <= 0.0:
            for i in range(n):
                g[i] = 0.0
            val = 0.0
        elif kind == NEGENTROPY:
            top = -np.inf
            for i in range(n):
                top = max(top, x[i] / gamma)
            s = 0.0
            for i in range(n):
                g[i] = _exp(x[i] / gamma - top)
                s += g[i]
            for i in range(n):
                g[i] /= s
            val = gamma * (math.log(s) + top) - gamma * math.log(bj)
        else:
            scale = 1.0 / (bj * gamma)
            for i in range(n):
                y[i] = x[i] * scale
            if kind == SPARSITY and max_nz < n:
                # the sparse projection: the max_nz largest entries projected, the others 0 (Kyrillidis et al.)
                thr = _kth_largest(y, n, max_nz, work)
                k = 0
                for i in range(n):
                    if y[i] > thr:
                        idx[k] = i
                        k += 1
                for i in range(n):
                    if k < max_nz and y[i] == thr:
                        idx[k] = i
                        k += 1
                for t in range(k):
                    buf[t] = y[idx[t]]
                _project_simplex(buf, k, work, active)
                for i in range(n):
                    g[i] = 0.0
                for t in range(k):
                    g[idx[t]] = work[t]
            else:
                _project_simplex(y, n, g, active)
            sq = 0.0
            for i in range(n):
                val += x[i] * g[i]
                sq += g[i] * g[i]
            val -= 0.5 * gamma * bj * sq
        val_out[j] = val
        for i in range(n):
            row_part[i] += bj * g[i]
        if plan_T.shape[0] > 0:
            P = plan_T[j]
            for i in range(n):
                P[i] = bj * g[i]


def semi_dual_obj_grad(alpha, a, b, CT, gamma, kind, max_nz, n_chunks, row_part, val_out, grad, plan_T):
    """``-S(alpha)`` (returned) and its gradient ``-(a - T 1)`` into ``grad`` (n); the per-column values into
    ``val_out`` (the smoothed c-transform is ``beta_j = -val_out[j]``); ``plan_T`` (m, n) or (0, n)."""
    _chunks(_TASK_SEMI, n_chunks, alpha, alpha, b, CT, gamma, kind, max_nz, row_part, val_out, val_out, plan_T)
    total = float(alpha @ a) - float(b @ val_out)
    np.subtract(row_part.sum(axis=0), a, out=grad)
    return -total


@cpu_jit
def _plan_columns(lo, hi, alpha, beta, CT, gamma, kind, max_nz, plan_T, buf, work):
    """Columns lo:hi of the dual's plan ``delta'(alpha_i + beta_j - C_ij)``, transposed."""
    n = CT.shape[1]
    x = np.empty(n)
    for j in range(lo, hi):
        Cj = CT[j]
        P = plan_T[j]
        for i in range(n):
            x[i] = alpha[i] + beta[j] - Cj[i]
        if kind == NEGENTROPY:
            for i in range(n):
                P[i] = _exp(x[i] / gamma - 1.0)
            continue
        thr = -np.inf
        if kind == SPARSITY:
            thr = _column_threshold(x, n, max_nz, buf, work)
        above = 0
        if thr > -np.inf:
            for i in range(n):
                if x[i] > thr:
                    above += 1
        kept = 0
        for i in range(n):
            xi = x[i]
            v = 0.0
            if xi > 0.0:
                v = xi / gamma
                if thr > -np.inf:
                    if xi < thr:
                        v = 0.0
                    elif xi == thr:
                        if above + kept >= max_nz:
                            v = 0.0
                        else:
                            kept += 1
            P[i] = v


def dual_plan(alpha, beta, CT, gamma, kind, max_nz, n_chunks, plan_T):
    """The plan of the dual, transposed (m, n), into ``plan_T``."""
    n = CT.shape[1]
    _chunks(_TASK_PLAN, n_chunks, alpha, beta, beta, CT, gamma, kind, max_nz, np.empty((n_chunks, n)), beta, beta,
            plan_T)
