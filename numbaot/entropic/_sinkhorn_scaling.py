"""Scaling-domain Sinkhorn cores: plain ("sinkhorn"), stabilized by absorption ("sinkhorn_stabilized"), and
greedy coordinate updates ("greenkhorn").

The plan is ``P = diag(u) K diag(v)`` with a Gibbs kernel ``K``; an iteration is two matrix-vector products,
``u = a / K v`` then ``v = b / K^T u``, done in ONE pass over K (``sinkhorn_pass``): each thread takes a chunk of
rows, and for each row i forms ``(K v)_i``, then ``u_i``, then adds ``u_i K[i, :]`` into its own partial sum of
``K^T u`` while the row is still in cache (four rows at a time); the partial sums are reduced serially. Large
kernels are thus read from memory once per iteration instead of twice (memory bandwidth is the bound from
n ~ 2000 on), and no transposed copy of K is kept. No exponential is taken per iteration, which is what makes
these methods fast, and what makes the plain one fragile: ``exp(-C / eps)`` underflows to 0 when ``C / eps``
exceeds about 745, and the scalings then overflow. Every core checks for that and stops with NUMERICAL_ERROR
instead of iterating on garbage.

The stabilized core keeps ``K_ij = exp((alpha_i + beta_j - C_ij) / eps)`` with absorbed potentials ``alpha``,
``beta``: when a scaling leaves ``[1 / tau, tau]`` it is folded into the potentials (``alpha += eps log u``, u = 1)
and K is rebuilt. Unlike the textbook method it also rescues a half-step whose products underflow (a row of K all
zeros, as happens at small eps before any absorption): that half-step is done in the log domain instead
(``half_step``), the result absorbed, and K rebuilt, so small eps converges rather than collapsing to a zero plan.
Inputs here have strictly positive weights (the front-end drops zero-weight rows and columns).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._fastexp import fast_exp
from .._jit import cpu_jit
from .._status import CONTINUE, MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ._sinkhorn_log import half_step, record_check

_exp = fast_exp.cpu

# Scalings are absorbed into the potentials when they leave [1/ABSORB, ABSORB] (Schmitzer's tau).
ABSORB = 1e3
# A product K v outside [TINY, 1/TINY] means K has (nearly) underflowed on that row: rescue in the log domain.
TINY = 1e-200


# The passes below run their row-range bodies directly on one chunk: a parallel region costs ~2 us to start even
# on one thread, and a Sinkhorn solve starts several per iteration (small problems only; at n = 100 one warm
# mirror-descent step with one inner iteration took 60.7 us before and 59.4 us after, within noise).


@cpu_jit
def _gibbs_rows(C, alpha, beta, inv_eps, out, first, stop):
    """Rows ``first:stop`` of :func:`gibbs_kernel`."""
    for i in range(first, stop):
        Ci, oi, ai = C[i], out[i], alpha[i]
        for j in range(C.shape[1]):
            oi[j] = _exp((ai + beta[j] - Ci[j]) * inv_eps)


@cpu_jit(parallel=True)
def _gibbs_parallel(C, alpha, beta, inv_eps, out):
    for i in prange(C.shape[0]):
        _gibbs_rows(C, alpha, beta, inv_eps, out, i, i + 1)


@cpu_jit
def gibbs_kernel(C, alpha, beta, eps, out, n_chunks):
    """``out[i, j] = exp((alpha_i + beta_j - C_ij) / eps)``: in parallel over rows when ``n_chunks`` (the caller's
    thread count) is above 1, else in a plain loop. (The count comes in as an argument: ``numba.get_num_threads()``
    called in here would make this function, and every compiled caller, uncacheable.)"""
    if n_chunks <= 1:
        _gibbs_rows(C, alpha, beta, 1.0 / eps, out, 0, C.shape[0])
    else:
        _gibbs_parallel(C, alpha, beta, 1.0 / eps, out)


@cpu_jit(parallel=True)
def rmatvec(K, u, out, n_chunks):
    """``out = K^T u`` alone (the stabilized core's rescue, after a row half-step done in the log domain): rows of
    K streamed in ``n_chunks`` parallel chunks (one per thread), one partial sum per chunk, reduced serially."""
    n, m = K.shape
    n_chunks = max(1, min(n_chunks, n))
    partial = np.zeros((n_chunks, m))
    for c in prange(n_chunks):
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            ui = u[i]
            for j in range(m):
                partial[c, j] += K[i, j] * ui
    reduce_partial(partial, out)


@cpu_jit
def _new_scaling(w, tau, s, lo, hi):
    """``w / s`` (``w s^-tau`` for a damped update), or -1.0 when the product ``s`` lies outside ``[lo, hi]``
    (NaN included): its row of K has underflowed or overflowed."""
    if s >= lo and s <= hi:
        return w / s if tau == 1.0 else w * s ** -tau
    return -1.0


@cpu_jit
def _accept(u, i, ui):
    """Store a new scaling ``ui`` in ``u[i]``; returns ``(ui, 0)``, or ``(0.0, 1)`` for the -1.0 of a failed row
    (``u[i]`` is then left as it was)."""
    if ui >= 0.0:
        u[i] = ui
        return ui, 0
    return 0.0, 1


@cpu_jit
def _pass_rows(K, w, tau, v, lo, hi, u, acc, first, stop):
    """Rows ``first:stop`` of :func:`sinkhorn_pass`, their ``u_i K[i, :]`` summed into ``acc`` (set here);
    returns how many of them fell outside ``[lo, hi]``."""
    m = K.shape[1]
    bad = 0
    for j in range(m):
        acc[j] = 0.0
    i = first
    while i + 4 <= stop:
        K0, K1, K2, K3 = K[i], K[i + 1], K[i + 2], K[i + 3]
        s0 = s1 = s2 = s3 = 0.0
        for j in range(m):
            vj = v[j]
            s0 += K0[j] * vj
            s1 += K1[j] * vj
            s2 += K2[j] * vj
            s3 += K3[j] * vj
        u0, b0 = _accept(u, i, _new_scaling(w[i], tau, s0, lo, hi))
        u1, b1 = _accept(u, i + 1, _new_scaling(w[i + 1], tau, s1, lo, hi))
        u2, b2 = _accept(u, i + 2, _new_scaling(w[i + 2], tau, s2, lo, hi))
        u3, b3 = _accept(u, i + 3, _new_scaling(w[i + 3], tau, s3, lo, hi))
        bad += b0 + b1 + b2 + b3
        for j in range(m):
            acc[j] += K0[j] * u0 + K1[j] * u1 + K2[j] * u2 + K3[j] * u3
        i += 4
    while i < stop:  # the last rows, one at a time
        Ki = K[i]
        s0 = 0.0
        for j in range(m):
            s0 += Ki[j] * v[j]
        u0, b0 = _accept(u, i, _new_scaling(w[i], tau, s0, lo, hi))
        bad += b0
        for j in range(m):
            acc[j] += Ki[j] * u0
        i += 1
    return bad


@cpu_jit(parallel=True)
def _pass_chunks(K, w, tau, v, lo, hi, u, partial):
    n = K.shape[0]
    n_chunks = partial.shape[0]
    bad = np.zeros(n_chunks, np.int64)
    for c in prange(n_chunks):
        bad[c] = _pass_rows(K, w, tau, v, lo, hi, u, partial[c], c * n // n_chunks, (c + 1) * n // n_chunks)
    n_bad = 0
    for c in range(n_chunks):
        n_bad += bad[c]
    return n_bad


@cpu_jit
def sinkhorn_pass(K, w, tau, v, lo, hi, u, partial):
    """One fused Sinkhorn iteration's pass over K: ``u = w / K v`` (``u = w (K v)^-tau`` for a damped, unbalanced
    update, ``tau < 1``) and the partial sums of ``K^T u``.

    Rows are split into ``partial.shape[0]`` chunks, one per thread asked for (a busy machine may run them on
    fewer, ``_threads.short_region_threads``: the chunking, hence the summation order, is fixed by that count
    alone). Chunk c takes its rows four at a time: the four products with v, the four new
    scalings, then ``u_i K[i, :]`` of the four rows added into ``partial[c]`` while they are still in cache. Each
    row of K is thus read from memory once, and v and the partial sums once per four rows. ``K^T u`` is then
    ``partial.sum(axis=0)`` (``reduce_partial``). A row whose product falls outside ``[lo, hi]`` (underflow,
    overflow, NaN) gets no new scaling (``u[i]`` is left as it was); returns the number of such rows, and when it
    is not 0 the caller must not use ``partial`` as ``K^T u``.
    """
    if partial.shape[0] == 1:  # one chunk: no parallel region
        return _pass_rows(K, w, tau, v, lo, hi, u, partial[0], 0, K.shape[0])
    return _pass_chunks(K, w, tau, v, lo, hi, u, partial)


@cpu_jit
def reduce_partial(partial, out):
    """``out = partial.sum(axis=0)``, summed in chunk order (the result does not depend on which thread ran which
    chunk)."""
    n_chunks, m = partial.shape
    for j in range(m):
        acc = 0.0
        for c in range(n_chunks):
            acc += partial[c, j]
        out[j] = acc


@cpu_jit
def _all_in_range(x, lo, hi):
    for k in range(x.shape[0]):
        if not (x[k] >= lo and x[k] <= hi):  # NaN fails
            return False
    return True


@cpu_jit
def sinkhorn_scaling_core(K, a, b, u, v, max_iter, tol, check_every, errors, n_chunks):
    """Plain Sinkhorn: ``u = a / K v``, ``v = b / K^T u`` from the scalings in ``u``, ``v`` (updated in place),
    one fused pass over K per iteration (``sinkhorn_pass``).

    Stops at an L1 column-marginal error ``<= tol`` (the column sums before the v-update are ``v * K^T u``, read
    off the update) or with NUMERICAL_ERROR as soon as a product underflows or overflows (the scalings are then
    left at their last finite values). ``n_chunks``: the thread count asked for (the chunking; Numba's count may
    be lower, see ``_threads.short_region_threads``). Returns ``(status, n_iter, n_errors)``.
    """
    n, m = K.shape
    KTu = np.empty(m)
    u_new = u.copy()  # the pass writes here: on failure u keeps the last finite values
    partial = np.empty((max(1, min(n_chunks, n)), m))
    n_errors = 0
    n_iter = 0
    status = MAX_ITER_REACHED
    while n_iter < max_iter:
        if sinkhorn_pass(K, a, 1.0, v, 1e-300, 1e300, u_new, partial) > 0:
            status = NUMERICAL_ERROR
            break
        reduce_partial(partial, KTu)
        if not _all_in_range(KTu, 1e-300, 1e300):
            status = NUMERICAL_ERROR
            break
        for i in range(n):
            u[i] = u_new[i]
        n_iter += 1
        check = n_iter % check_every == 0 or n_iter == max_iter
        err = 0.0
        if check:
            for j in range(m):
                err += abs(v[j] * KTu[j] - b[j])
            if n_errors < errors.shape[0]:
                errors[n_errors] = err
                n_errors += 1
        for j in range(m):
            v[j] = b[j] / KTu[j]
        if check and err <= tol:
            status = OPTIMAL
            break
    return status, n_iter, n_errors


@cpu_jit
def unbalanced_scaling_core(K, c_a, c_b, tau_a, tau_b, balanced, u, v, max_iter, tol, check_every, errors,
                            n_chunks):
    """Scaling-domain unbalanced Sinkhorn (Chizat et al. 2018): ``u = c_a (K v)^-tau_a``, ``v = c_b (K^T u)^-tau_b``
    from the scalings in ``u``, ``v`` (updated in place), one fused pass over K per iteration.

    ``tau = rho / (rho + eps)`` damps each update (1 keeps that marginal exact); ``c_a``, ``c_b`` fold in the
    weights and the reference measure (see ``unbalanced.run_scaling``). Stops like the log-domain core: with
    ``balanced`` (both tau 1), on the L1 column-marginal error ``sum |v K^T u - c_b|``; otherwise on the largest
    change of the log-scalings over one iteration, ``max |log(u_new / u)|, |log(v_new / v)|`` (= the change of the
    potentials divided by eps). NUMERICAL_ERROR as soon as a product leaves [1e-300, 1e300] (the scalings keep their
    last finite values) or the error is not finite. Returns ``(status, n_iter, n_errors)``.
    """
    n, m = K.shape
    KTu = np.empty(m)
    u_new = u.copy()  # the pass writes here: on failure u keeps the last finite values
    partial = np.empty((max(1, min(n_chunks, n)), m))
    n_errors = 0
    n_iter = 0
    status = MAX_ITER_REACHED
    while n_iter < max_iter:
        if sinkhorn_pass(K, c_a, tau_a, v, 1e-300, 1e300, u_new, partial) > 0:
            status = NUMERICAL_ERROR
            break
        reduce_partial(partial, KTu)
        if not _all_in_range(KTu, 1e-300, 1e300):
            status = NUMERICAL_ERROR
            break
        n_iter += 1
        check = n_iter % check_every == 0 or n_iter == max_iter
        err = 0.0
        if check and balanced:
            for j in range(m):
                err += abs(v[j] * KTu[j] - c_b[j])
        for i in range(n):
            if check and not balanced:
                d = abs(math.log(u_new[i] / u[i]))
                if d > err or d != d:  # a NaN, once in, stays
                    err = d
            u[i] = u_new[i]
        for j in range(m):
            vj = c_b[j] / KTu[j] if tau_b == 1.0 else c_b[j] * KTu[j] ** -tau_b
            if check and not balanced:
                d = abs(math.log(vj / v[j]))
                if d > err or d != d:
                    err = d
            v[j] = vj
        if check:
            code, n_errors = record_check(err, tol, errors, n_errors)
            if code != CONTINUE:
                status = code
                break
    return status, n_iter, n_errors


@cpu_jit
def _absorb(x, pot, eps):
    """``pot += eps * log x`` and ``x = 1``."""
    for k in range(x.shape[0]):
        pot[k] += eps * math.log(x[k])
        x[k] = 1.0


@cpu_jit
def _needs_absorbing(x):
    for k in range(x.shape[0]):
        if x[k] > ABSORB or x[k] < 1.0 / ABSORB:
            return True
    return False


@cpu_jit
def sinkhorn_stabilized_core(C, CT, a, b, log_a, log_b, eps, alpha, beta, K, max_iter, tol, check_every, errors,
                             n_chunks):
    """Stabilized Sinkhorn from the potentials ``alpha``, ``beta`` (updated in place; on return they hold the final
    potentials, every scaling absorbed). The plan is ``u_i v_j exp((alpha_i + beta_j - C_ij) / eps)``: in the
    log core's convention ``alpha = f + eps log a``, ``beta = g + eps log b``. ``K`` (n, m) is workspace.
    Returns ``(status, n_iter, n_errors)``.

    ``CT`` (C transposed; a strided view is fine) serves the rare log-domain rescue of a column half-step.
    """
    n, m = C.shape
    u = np.ones(n)
    v = np.ones(m)
    KTu = np.empty(m)
    partial = np.empty((max(1, min(n_chunks, n)), m))
    zeros_n = np.zeros(n)  # the rescue's log-domain half-steps weigh no term: K carries no weights
    zeros_m = np.zeros(m)
    gibbs_kernel(C, alpha, beta, eps, K, partial.shape[0])
    n_errors = 0
    n_iter = 0
    status = MAX_ITER_REACHED
    while n_iter < max_iter:
        # one pass: u = a / K v and the partial sums of K^T u; they are K^T u unless a row of K v left the range
        if sinkhorn_pass(K, a, 1.0, v, TINY, 1.0 / TINY, u, partial) == 0:
            reduce_partial(partial, KTu)
        else:  # K v underflowed on some row: redo the half-step in the log domain, rebuild K, then K^T u apart
            for j in range(m):
                beta[j] += eps * math.log(v[j])
                v[j] = 1.0
            half_step(C, zeros_m, beta, eps, alpha, alpha)  # alpha_i = -eps log sum_j exp((beta_j - C_ij) / eps)
            for i in range(n):
                alpha[i] += eps * log_a[i]  # K's rows now sum (against v = 1) to a_i exactly
                u[i] = 1.0
            gibbs_kernel(C, alpha, beta, eps, K, partial.shape[0])
            rmatvec(K, u, KTu, n_chunks)
        n_iter += 1
        check = n_iter % check_every == 0 or n_iter == max_iter
        rescue = not _all_in_range(KTu, TINY, 1.0 / TINY)
        err = 0.0
        if check:
            if rescue:
                err = math.inf  # not measurable from underflowed products; the next check will be
            else:
                for j in range(m):
                    err += abs(v[j] * KTu[j] - b[j])
            if n_errors < errors.shape[0]:
                errors[n_errors] = err
                n_errors += 1
        if rescue:
            _absorb(u, alpha, eps)
            half_step(CT, zeros_n, alpha, eps, beta, beta)
            for j in range(m):
                beta[j] += eps * log_b[j]
                v[j] = 1.0
            gibbs_kernel(C, alpha, beta, eps, K, partial.shape[0])
        else:
            for j in range(m):
                v[j] = b[j] / KTu[j]
            if _needs_absorbing(u) or _needs_absorbing(v):
                _absorb(u, alpha, eps)
                _absorb(v, beta, eps)
                gibbs_kernel(C, alpha, beta, eps, K, partial.shape[0])
        if check and err != err:
            status = NUMERICAL_ERROR
            break
        if check and err <= tol:
            status = OPTIMAL
            break
    _absorb(u, alpha, eps)
    _absorb(v, beta, eps)
    for i in range(n):
        if not math.isfinite(alpha[i]):
            status = NUMERICAL_ERROR
    for j in range(m):
        if not math.isfinite(beta[j]):
            status = NUMERICAL_ERROR
    return status, n_iter, n_errors


@cpu_jit
def _violation(target, current):
    """Greenkhorn's rho(target, current) = current - target + target log(target / current) >= 0.

    With x = current / target - 1 this is ``target (x - log(1 + x))``; for small |x| the direct formula is all
    cancellation (rounding noise would steer the greedy choice once errors are small), so a series is used.
    """
    if current <= 0.0:
        return math.inf
    x = (current - target) / target
    if abs(x) < 1e-2:
        return target * x * x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * (0.2 - x / 6.0))))
    return target * (x - math.log1p(x))


@cpu_jit
def _worst(target, current):
    """Index and value of the largest violation rho(target_k, current_k)."""
    best, worst = 0, -1.0
    for k in range(target.shape[0]):
        r = _violation(target[k], current[k])
        if r > worst:
            best, worst = k, r
    return best, worst


@cpu_jit
def _rescale(K, k, target, sums, scale, other_scale, other_sums):
    """Greenkhorn's update of line k of ``K`` (a row of K, or a row of K^T for a column): ``scale[k]`` is set so
    that the line sums to ``target[k]``, and the sums of the other side change by its contribution. False when
    the line's sum is 0 or not finite (the scalings have broken down)."""
    if sums[k] <= 0.0 or not math.isfinite(sums[k]):
        return False
    new = scale[k] * target[k] / sums[k]
    delta = new - scale[k]
    for j in range(K.shape[1]):
        other_sums[j] += delta * K[k, j] * other_scale[j]
    scale[k] = new
    sums[k] = target[k]
    return True


@cpu_jit
def greenkhorn_core(K, KT, a, b, u, v, max_iter, tol, check_every, errors):
    """Greenkhorn (Altschuler et al. 2017): each step rescales the one row or column whose marginal is furthest
    (in the rho divergence) from its target. ``max_iter`` counts single-row/column updates; the L1 error (rows
    plus columns, maintained incrementally and recomputed exactly at each check) is checked every ``check_every``
    updates. Returns ``(status, n_iter, n_errors)``.
    """
    n, m = K.shape
    row = np.empty(n)  # current row sums of diag(u) K diag(v)
    col = np.empty(m)
    n_errors = 0
    n_iter = 0
    status = MAX_ITER_REACHED
    while True:
        # exact marginals (at the start and at each check: the incremental updates drift)
        for i in range(n):
            acc = 0.0
            for j in range(m):
                acc += K[i, j] * v[j]
            row[i] = u[i] * acc
        for j in range(m):
            acc = 0.0
            for i in range(n):
                acc += KT[j, i] * u[i]
            col[j] = v[j] * acc
        err = 0.0
        for i in range(n):
            err += abs(row[i] - a[i])
        for j in range(m):
            err += abs(col[j] - b[j])
        if n_iter > 0 and n_errors < errors.shape[0]:
            errors[n_errors] = err
            n_errors += 1
        if err != err or not math.isfinite(err):
            status = NUMERICAL_ERROR
            break
        if n_iter > 0 and err <= tol:
            status = OPTIMAL
            break
        if n_iter >= max_iter:
            break
        stop = min(max_iter, n_iter + check_every)
        while n_iter < stop:
            i, worst_row = _worst(a, row)
            j, worst_col = _worst(b, col)
            # rescale the worst row (column) to its marginal and update the column (row) sums it feeds
            ok = _rescale(K, i, a, row, u, v, col) if worst_row >= worst_col else _rescale(KT, j, b, col, v, u, row)
            if not ok:
                return NUMERICAL_ERROR, n_iter, n_errors
            n_iter += 1
    return status, n_iter, n_errors
