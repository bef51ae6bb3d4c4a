"""Entropic partial OT on the GPU: the twin of ``partial._entropic.entropic_partial_core`` (log domain).

The iterates are the host's: per iteration a row half-step (one thread per row: the log-sum-exp of ``(g_j - M_ij)
/ eps`` in two passes, max then sum), the row projection and the mass update (one block: each thread clips its
rows by the shared body ``partial._entropic.clip_entry``, then the block reduces the largest log-mass and the sum
that restores the mass), then the same for the columns (one thread per column, reading M down its column). The
mass potential ``h`` and the error stay on the device; every ``check_every`` iterations two scalars come back.
Every method runs these log-domain iterations on the GPU ('sinkhorn' on the host iterates the same values on the
kernel's scalings, equal up to rounding where the kernel does not underflow).

The driver takes checked inputs: the front-end (``partial.api``) checks them on the device first, with the host's
rules and messages and in its order (``cuda._checks``' dispatch steps: the weights, then the costs' per-row and
per-column statistics judged by ``_validation.judge_cost_rows``). The computation is in float64; the plan and
potentials come back in M's dtype, on the caller's device, as the caller's kind of array.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from .._finish import SinkhornAnswer
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..partial._entropic import clip_entry
from . import _launch

_clip = clip_entry.cuda
#: Threads of the one-block projection kernel (a power of two).
_RED = 64


_flat = _launch.launch_flat


@cuda.jit
def _log_kernel(w, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = math.log(w[i, 0]) if w[i, 0] > 0.0 else -math.inf


@cuda.jit
def _half_kernel(C, other, log_w, state, eps, transpose, raw):
    """``raw_t = eps (log w_t - h / eps - log sum_k exp((other_k - C_tk) / eps))`` along row (column) t; -inf for
    a line of weight 0. ``state[0]`` holds h."""
    t = cuda.grid(1)
    lines = C.shape[1] if transpose else C.shape[0]
    if t < lines:
        if log_w[t] == -math.inf:
            raw[t] = -math.inf
            return
        length = C.shape[0] if transpose else C.shape[1]
        top = -math.inf
        for k in range(length):
            x = (other[k] - (C[k, t] if transpose else C[t, k])) / eps
            if x > top:
                top = x
        if top == -math.inf:
            raw[t] = math.inf  # no finite cost against a weighted line: the host's checks refuse this before
            return
        s = 0.0
        for k in range(length):
            s += math.exp((other[k] - (C[k, t] if transpose else C[t, k])) / eps - top)
        raw[t] = eps * (log_w[t] - state[0] / eps - (top + math.log(s)))


@cuda.jit
def _project_kernel(log_w, raw, pot, eps, log_mass, state, want_error):
    """One block of ``_RED`` threads: ``pot = min(raw, 0)`` (``clip_entry``), ``state[0]`` (h) updated to restore
    the mass m, the L1 change of the marginal added to ``state[1]`` (if ``want_error``)."""
    tid = cuda.threadIdx.x
    top_sh = cuda.shared.array(_RED, float64)
    acc_sh = cuda.shared.array(_RED, float64)
    err_sh = cuda.shared.array(_RED, float64)
    n = pot.shape[0]
    h = state[0]
    top = -math.inf
    err = 0.0
    for i in range(tid, n, _RED):
        if log_w[i] == -math.inf:
            pot[i] = -math.inf
            continue
        new, e, t = _clip(log_w[i], pot[i], raw[i], eps, want_error)
        err += e
        pot[i] = new
        if t > top:
            top = t
    top_sh[tid] = top
    err_sh[tid] = err
    cuda.syncthreads()
    best = -math.inf
    for k in range(_RED):
        if top_sh[k] > best:
            best = top_sh[k]
    total = 0.0
    if best > -math.inf and not (best != best) and best != math.inf:
        for i in range(tid, n, _RED):
            if log_w[i] > -math.inf:
                total += math.exp(log_w[i] + (pot[i] - raw[i]) / eps - best)
    acc_sh[tid] = total
    cuda.syncthreads()
    if tid == 0:
        s, e = 0.0, 0.0
        for k in range(_RED):
            s += acc_sh[k]
            e += err_sh[k]
        if best > -math.inf and not (best != best) and best != math.inf:
            state[0] = h + eps * (log_mass - best - math.log(s))
        if want_error:
            state[1] += e


@cuda.jit
def _reset_kernel(state):
    if cuda.grid(1) == 0:
        state[1] = 0.0


@cuda.jit
def _plan_kernel(C, f, g, state, eps, plan, rows, lin):
    """``P_ij = exp((f_i + h + g_j - C_ij) / eps)`` (one thread per row), the row sums and the row's ``<P, C>``
    (entries with P = 0 skipped: +inf costs carry no mass); ``f`` becomes ``f + h``."""
    i = cuda.grid(1)
    if i < C.shape[0]:
        fi = f[i] + state[0]
        r, acc = 0.0, 0.0
        for j in range(C.shape[1]):
            p = math.exp((fi + g[j] - C[i, j]) / eps)
            plan[i, j] = p
            r += p
            if p > 0.0:
                acc += p * C[i, j]
        f[i] = fi
        rows[i] = r
        lin[i] = acc


@cuda.jit
def _column_sums_kernel(plan, cols):
    j = cuda.grid(1)
    if j < plan.shape[1]:
        s = 0.0
        for i in range(plan.shape[0]):
            s += plan[i, j]
        cols[j] = s


def _cast(x, dtype, stream):
    return x if np.dtype(dtype) == np.float64 else _launch.cast(x, dtype, stream)


def entropic_partial_cuda(C, wa, wb, reg, mass, max_iter, tol, check_every, out_dtype, placement):
    """Entropic partial OT of checked device inputs, in the log domain.

    ``C`` (n, m) and ``wa`` (n, 1), ``wb`` (m, 1) are the front-end's float64 device copies (the
    ``entropic_partial.costs`` and ``entropic_partial.weights`` dispatch steps: judged there with the host's
    rules), ``mass`` the checked mass to move, ``out_dtype`` the result's dtype, ``placement`` the caller's stream
    and kind of array. Returns ``(SinkhornAnswer, out_dtype)``; nothing here raises on the input."""
    stream, kind = placement.stream, placement.kind
    n, nm = int(C.shape[0]), int(C.shape[1])
    log_a = _launch.empty(n, np.float64, stream)
    log_b = _launch.empty(nm, np.float64, stream)
    _flat(_log_kernel, n, stream, wa, log_a)
    _flat(_log_kernel, nm, stream, wb, log_b)

    # h0: the kernel scaled to mass m (as the host): from the row log-sum-exps of -M / eps, one n-vector copied
    zeros_a = cuda.to_device(np.zeros(n), stream=stream)
    zeros_b = cuda.to_device(np.zeros(nm), stream=stream)
    state = cuda.to_device(np.zeros(2), stream=stream)
    raw_f = _launch.empty(n, np.float64, stream)
    raw_g = _launch.empty(nm, np.float64, stream)
    _flat(_half_kernel, n, stream, C, zeros_b, zeros_a, state, float(reg), False, raw_f)
    lse = -_launch.small_to_host(raw_f, stream) / reg  # log sum_j exp(-M_ij / eps), per row
    top = float(np.max(lse))
    h0 = reg * (math.log(mass) - (top + math.log(float(np.sum(np.exp(lse - top))))))
    state = cuda.to_device(np.array([h0, 0.0]), stream=stream)
    f = cuda.to_device(np.zeros(n), stream=stream)
    g = cuda.to_device(np.zeros(nm), stream=stream)
    log_mass = math.log(mass)
    errors = []
    status = MAX_ITER_REACHED
    it = 0
    while it < max_iter:
        it += 1
        check = it % check_every == 0 or it == max_iter
        if check:
            _reset_kernel[1, 1, stream](state)
        _flat(_half_kernel, n, stream, C, g, log_a, state, float(reg), False, raw_f)
        _project_kernel[1, _RED, stream](log_a, raw_f, f, float(reg), log_mass, state, check)
        _flat(_half_kernel, nm, stream, C, f, log_b, state, float(reg), True, raw_g)
        _project_kernel[1, _RED, stream](log_b, raw_g, g, float(reg), log_mass, state, check)
        if check:
            h, err = (float(x) for x in _launch.small_to_host(state, stream))
            errors.append(err)
            if not (math.isfinite(h) and math.isfinite(err)):
                status = NUMERICAL_ERROR
                break
            if err <= tol:
                status = OPTIMAL
                break
    plan = _launch.empty((n, nm), np.float64, stream)
    rows = _launch.empty(n, np.float64, stream)
    lin_rows = _launch.empty(n, np.float64, stream)
    cols = _launch.empty(nm, np.float64, stream)
    _flat(_plan_kernel, n, stream, C, f, g, state, float(reg), plan, rows, lin_rows)
    _flat(_column_sums_kernel, nm, stream, plan, cols)
    r, c = _launch.small_to_host(rows, stream), _launch.small_to_host(cols, stream)
    fh, gh = _launch.small_to_host(f, stream), _launch.small_to_host(g, stream)
    lin = float(np.sum(_launch.small_to_host(lin_rows, stream)))
    value = float(np.dot(r[r > 0], fh[r > 0]) + np.dot(c[c > 0], gh[c > 0]))
    if not (math.isfinite(lin) and math.isfinite(value)) and status == OPTIMAL:
        status = NUMERICAL_ERROR
    answer = SinkhornAnswer(_launch.to_caller(_cast(plan, out_dtype, stream).reshape(1, n, nm), kind),
                            _launch.to_caller(_cast(f, out_dtype, stream).reshape(1, n), kind),
                            _launch.to_caller(_cast(g, out_dtype, stream).reshape(1, nm), kind),
                            np.array([value]), np.array([lin]), np.array([status]), np.array([it]),
                            np.array([errors], dtype=np.float64).reshape(1, len(errors)), np.array([len(errors)]))
    return answer, out_dtype
