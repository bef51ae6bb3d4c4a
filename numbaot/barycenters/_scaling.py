"""Fixed-support barycenters in the scaling domain (POT's default method "sinkhorn"): the same iteration as the
log-domain loop (``_bregman``), on scalings ``u = exp(f / reg)``, ``v = exp(g / reg)`` of the Gibbs kernel
``K = exp(-C / reg)``, built once. An iteration is two products of K with the K inputs' scalings (no exponential),
several times cheaper than a log-domain one; like every scaling-domain method it fails (status NUMERICAL_ERROR)
where K underflows, about ``C / reg > 700``: the log-domain default has no such limit.

Costs constant along their diagonals (a translation-invariant cost on a regular 1D grid) give a Toeplitz kernel,
applied from its n + m - 1 diagonals (:func:`apply_windows`): the product then runs from the first-level caches
instead of streaming an n x m kernel (and its transpose) from memory (bench_barycenter.py's 1D case: about 5x less
time per iteration), skipping the diagonals that underflowed to 0.0. The balanced iteration on such a kernel runs
compiled whole (:func:`toeplitz_bregman_core`: two parallel passes an iteration, no Python in the loop); there the
products are most of the time, at the processor's multiply-add throughput.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
from numba import prange

from .._jit import cpu_jit
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from .._threads import run_parallel
from ..entropic._sinkhorn_scaling import gibbs_kernel
from ._bregman import BregmanAnswer


@cpu_jit(parallel=True)
def apply_kernel(K, X, out):
    """``out[k, i] = sum_j K[i, j] X[k, j]`` for every row of ``X`` (B, m): each row of K read once for the B
    inputs, in parallel over the rows."""
    n, m = K.shape
    B = X.shape[0]
    for i in prange(n):
        for k in range(B):
            s = 0.0
            for j in range(m):
                s += K[i, j] * X[k, j]
            out[k, i] = s


# The Toeplitz product below is bound by loads, not memory: a plain dot product of a window of w with a row of X
# loads two numbers per multiply-add. Blocks of 4 outputs x 3 inputs share their loads (the 4 outputs' windows are
# w shifted by one; 7 loads per 12 multiply-adds): at n = m = 1000 and B = 3, 0.12 ms a product against 0.29 ms
# unblocked and ~0.45 ms for the dense kernel read from cache (one thread). Each block reads only the inputs j
# whose windows hold a nonzero diagonal (``j0 .. j1 - 1``): the terms left out are products with diagonals that
# are exactly 0.0 (a Gibbs kernel's entries that underflowed), so the sums are the same.
@cpu_jit
def _windows_4x3(w, X, out, k, i, j0, j1):
    """Outputs ``i .. i + 3`` of inputs ``k .. k + 2`` of :func:`apply_windows`, over inputs ``j0 .. j1 - 1``."""
    N = out.shape[1]
    # views from j0, so that the loop's indices start at 0 (no wrap-around test, which stops vectorisation)
    X0, X1, X2 = X[k, j0:j1], X[k + 1, j0:j1], X[k + 2, j0:j1]
    wv = w[N - 4 - i + j0:]  # output i + d reads wv[j + 3 - d]
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = 0.0
    for j in range(j1 - j0):
        x0, x1, x2 = X0[j], X1[j], X2[j]
        a0, a1, a2, a3 = wv[j + 3], wv[j + 2], wv[j + 1], wv[j]
        s00 += a0 * x0
        s01 += a0 * x1
        s02 += a0 * x2
        s10 += a1 * x0
        s11 += a1 * x1
        s12 += a1 * x2
        s20 += a2 * x0
        s21 += a2 * x1
        s22 += a2 * x2
        s30 += a3 * x0
        s31 += a3 * x1
        s32 += a3 * x2
    out[k, i], out[k + 1, i], out[k + 2, i] = s00, s01, s02
    out[k, i + 1], out[k + 1, i + 1], out[k + 2, i + 1] = s10, s11, s12
    out[k, i + 2], out[k + 1, i + 2], out[k + 2, i + 2] = s20, s21, s22
    out[k, i + 3], out[k + 1, i + 3], out[k + 2, i + 3] = s30, s31, s32


@cpu_jit
def _windows_4x1(w, X, out, k, i, j0, j1):
    """Outputs ``i .. i + 3`` of input ``k`` of :func:`apply_windows`, over inputs ``j0 .. j1 - 1``."""
    N = out.shape[1]
    Xk = X[k, j0:j1]
    wv = w[N - 4 - i + j0:]
    s0 = s1 = s2 = s3 = 0.0
    for j in range(j1 - j0):
        x = Xk[j]
        s0 += wv[j + 3] * x
        s1 += wv[j + 2] * x
        s2 += wv[j + 1] * x
        s3 += wv[j] * x
    out[k, i], out[k, i + 1], out[k, i + 2], out[k, i + 3] = s0, s1, s2, s3


@cpu_jit
def _windows_plain(w, X, out, k, i, lo, hi):
    """Output ``i`` of input ``k`` of :func:`apply_windows` (``w``'s nonzero diagonals: ``lo .. hi - 1``)."""
    s0 = out.shape[1] - 1 - i
    j0 = max(0, lo - s0)
    j1 = max(j0, min(X.shape[1], hi - s0))
    Xk = X[k, j0:j1]
    wi = w[s0 + j0:]  # views: the indices below are non-negative (no wrap-around test)
    s = 0.0
    for j in range(j1 - j0):
        s += wi[j] * Xk[j]
    out[k, i] = s


@cpu_jit
def _windows_block(w, X, out, i, lo, hi):
    """Outputs ``i .. min(i + 4, N) - 1`` of every input of :func:`apply_windows`; ``w``'s nonzero diagonals are
    ``lo .. hi - 1`` (:func:`nonzero_span`)."""
    B = X.shape[0]
    N = out.shape[1]
    if i + 4 <= N:
        s0 = N - 4 - i  # output i + d reads w[s0 + j + 3 - d]: some read a nonzero diagonal for j0 <= j < j1
        j0 = max(0, lo - s0 - 3)
        j1 = max(j0, min(X.shape[1], hi - s0))
        k = 0
        while k + 3 <= B:
            _windows_4x3(w, X, out, k, i, j0, j1)
            k += 3
        while k < B:
            _windows_4x1(w, X, out, k, i, j0, j1)
            k += 1
    else:
        for k in range(B):
            for q in range(i, N):
                _windows_plain(w, X, out, k, q, lo, hi)


@cpu_jit
def nonzero_span(w):
    """``(lo, hi)``: the first nonzero entry of ``w`` and one past the last (``(0, 0)`` if all are zero)."""
    lo = 0
    while lo < w.shape[0] and w[lo] == 0.0:
        lo += 1
    hi = w.shape[0]
    while hi > lo and w[hi - 1] == 0.0:
        hi -= 1
    return lo, hi


@cpu_jit(parallel=True)
def apply_windows(w, X, out):
    """``out[k, i] = sum_j w[N - 1 - i + j] X[k, j]`` (N = out.shape[1]) for every row of ``X`` (B, m): the product
    of X with the Toeplitz matrix ``T[i, j] = w[N - 1 - i + j]`` held by its N + m - 1 diagonals ``w``, in parallel
    over blocks of 4 outputs. The whole operator stays in the first-level caches where a dense kernel streams
    n m entries from memory."""
    lo, hi = nonzero_span(w)
    for b in prange((out.shape[1] + 3) // 4):
        _windows_block(w, X, out, 4 * b, lo, hi)


@cpu_jit(parallel=True)
def toeplitz_bregman_core(w_rows, w_cols, A, weights, equal, u, v, bar, Kv, Ktu, spread, max_iter, tol,
                          check_every, errors):
    """The balanced scaling-domain barycenter iteration of :func:`solve_scaling` compiled whole, on a Toeplitz
    kernel (:func:`apply_windows`'s diagonals ``w_rows`` for K, ``w_cols`` for its transpose): two parallel passes
    an iteration, each fused with its elementwise work, and no Python between them.

    Pass 1, over blocks of 4 rows: ``Kv = K v`` then ``u = A / Kv``. Pass 2, over blocks of 4 columns: ``Ktu = K^T
    u``, the barycenter ``bar_j = exp(sum_k w_k log Ktu_kj)`` (``equal`` weights: ``exp(w_0 log prod_k Ktu_kj)``,
    one logarithm, where the product is a normal number), at a check the spread ``sum_j std_k(v_kj Ktu_kj)``
    (per block in ``spread``, summed serially), then ``v = bar / Ktu``. ``A`` (K, n), ``u`` (K, n), ``v`` (K, m),
    ``bar`` (m,) updated in place, ``Kv``/``Ktu`` scratch of u's/v's shape, ``spread`` ((m + 3) // 4,), ``errors``
    (max_iter // check_every + 1,). Returns ``(status, n_iter, n_errors)``."""
    Kn, n = A.shape
    m = v.shape[1]
    lo_r, hi_r = nonzero_span(w_rows)
    lo_c, hi_c = nonzero_span(w_cols)
    status = MAX_ITER_REACHED
    it = 0
    n_errors = 0
    while it < max_iter:
        it += 1
        check = it % check_every == 0 or it == max_iter
        for b in prange((n + 3) // 4):
            i0 = 4 * b
            _windows_block(w_rows, v, Kv, i0, lo_r, hi_r)
            for k in range(Kn):
                for i in range(i0, min(i0 + 4, n)):
                    u[k, i] = A[k, i] / Kv[k, i]
        for b in prange((m + 3) // 4):
            j0 = 4 * b
            _windows_block(w_cols, u, Ktu, j0, lo_c, hi_c)
            s = 0.0
            for j in range(j0, min(j0 + 4, m)):
                prod = 1.0
                if equal:  # equal weights: one log of the product while it stays a normal number
                    for k in range(Kn):
                        prod *= Ktu[k, j]
                if equal and 1e-300 < prod < 1e300:
                    log_bar = weights[0] * math.log(prod)
                else:
                    log_bar = 0.0
                    for k in range(Kn):
                        log_bar += weights[k] * math.log(Ktu[k, j])
                bj = math.exp(log_bar)
                bar[j] = bj
                if check:
                    mean = 0.0
                    for k in range(Kn):
                        v[k, j] *= Ktu[k, j]  # stored, so rounded once (no contraction into d below)
                        mean += v[k, j]
                    mean /= Kn
                    var = 0.0
                    for k in range(Kn):
                        d = v[k, j] - mean
                        var += d * d
                    s += math.sqrt(var / Kn) if math.isfinite(bj) else math.nan
                for k in range(Kn):
                    v[k, j] = bj / Ktu[k, j]
            spread[b] = s
        if check:
            err = 0.0
            for b in range(spread.shape[0]):
                err += spread[b]
            errors[n_errors] = err
            n_errors += 1
            if not math.isfinite(err):
                status = NUMERICAL_ERROR
                break
            if err <= tol:
                status = OPTIMAL
                break
    return status, it, n_errors


@cpu_jit
def is_toeplitz(C, r, tol):
    """Whether every ``C[i, j]`` is within ``tol`` of ``r[n - 1 - i + j]``, its diagonal's value (``r``: the
    diagonals in reverse, read off C's first column and row); stops after the first row that is not. Each row is
    one forward pass over two arrays with a counted select (no early exit inside it), which LLVM vectorises."""
    n, m = C.shape
    for i in range(n):
        Ci = C[i]
        ri = r[n - 1 - i:]  # ri[j] = r[n - 1 - i + j]
        bad = 0
        for j in range(m):
            bad += 0 if abs(Ci[j] - ri[j]) <= tol else 1  # NaN counts as bad
        if bad:
            return False
    return True


def toeplitz_diagonals(C):
    """``t`` (n + m - 1,) with ``C[i, j] = t[i - j + m - 1]`` up to 4 ulps of ``max |C|`` (the rounding of a
    translation-invariant cost computed on a regular grid, e.g. ``x = linspace(0, 1, n)``), or None."""
    n, m = C.shape
    t = np.concatenate([C[0, ::-1], C[1:, 0]])  # diagonal q = i - j + m - 1: the first row reversed, then column
    tol = 4.0 * np.finfo(np.float64).eps * float(np.max(np.abs(t)))
    return t if is_toeplitz(C, np.ascontiguousarray(t[::-1]), tol) else None


#: Costs of at least this many entries are tested for a Toeplitz structure (below it the dense kernel is as fast).
TOEPLITZ_MIN_ENTRIES = 64 * 64


class ScalingOperators(NamedTuple):
    """The Gibbs kernel K of a barycenter problem as the scaling domain uses it: ``apply`` maps (B, m) scalings to
    (B, n) (``K X``), ``apply_transpose`` (B, n) to (B, m); ``windows`` ``(w_rows, w_cols)``, the diagonals of a
    Toeplitz K and of its transpose (:func:`apply_windows`), or None; ``n_threads`` for the compiled loop."""

    apply: Callable
    apply_transpose: Callable
    windows: tuple | None = None
    n_threads: int = 1


def dense_operators(C, reg, n_threads) -> ScalingOperators:
    """The :class:`ScalingOperators` of the Gibbs kernel of dense costs ``C`` (n, m).

    Costs constant along their diagonals (a translation-invariant cost on a regular 1D grid, e.g. ``(x_i - x_j)^2``
    for ``x = linspace(0, 1, n)``, up to 4 ulps of ``max |C|``: :func:`toeplitz_diagonals`) give a Toeplitz kernel:
    its n + m - 1 diagonals are all that is built and read (:func:`apply_windows`). Its entries are the dense
    kernel's within a relative ``4 eps max|C| / reg`` (below 1e-12 wherever the scaling domain works, ``C / reg <
    700``; exactly when C is constant along its diagonals bitwise, as for ``x = arange(n)``). Otherwise the dense
    kernel, and its transpose (the same matrix when C is symmetric)."""
    n, m = C.shape
    t = toeplitz_diagonals(C) if n * m >= TOEPLITZ_MIN_ENTRIES else None
    if t is not None:
        t = t[None]
        kt = np.empty_like(t)
        gibbs_kernel(t, np.zeros(1), np.zeros(t.shape[1]), reg, kt, 1)
        kt = kt[0]
        # K[i, j] = kt[i - j + m - 1] = r[n - 1 - i + j] with r = kt reversed; (K^T)[j, i] = kt[m - 1 - j + i]
        windows = np.ascontiguousarray(kt[::-1]), kt
        kernels = None
    else:
        K = np.empty((n, m))
        run_parallel(gibbs_kernel, n_threads, C, np.zeros(n), np.zeros(m), reg, K, n_threads)
        symmetric = n == m and is_symmetric(C)
        kernels = K, (K if symmetric else np.ascontiguousarray(K.T))
        windows = None

    def product(side, X):
        X = np.ascontiguousarray(X)
        if kernels is None:
            out = np.empty((X.shape[0], (n, m)[side]))
            run_parallel(apply_windows, n_threads, windows[side], X, out)
        else:
            out = np.empty((X.shape[0], kernels[side].shape[0]))
            run_parallel(apply_kernel, n_threads, kernels[side], X, out)
        return out

    return ScalingOperators(lambda X: product(0, X), lambda X: product(1, X), windows, n_threads)


@cpu_jit
def is_symmetric(C):
    """Whether the square ``C`` equals its transpose bitwise; stops at the first difference."""
    for i in range(C.shape[0]):
        for j in range(i):
            if C[i, j] != C[j, i]:
                return False
    return True


def grid_operators(shape, reg):
    """``(apply, apply)``: the Gibbs kernel of the grid ``[0, 1]^d`` of ``shape`` (POT's convention), applied to
    (B, N) scalings as one matrix product per axis (BLAS): O(B N (D + H + W)), symmetric."""
    kernels = []
    for size in shape:
        t = np.linspace(0.0, 1.0, size)
        kernels.append(np.exp(-((t[:, None] - t[None, :]) ** 2) / reg))

    def apply(X):
        # axis by axis, each a batch of (size, size) @ (size, rest) products: X viewed as (before, size, after)
        Y = np.ascontiguousarray(X)
        before, after = X.shape[0], X.shape[1]
        for size, kernel in zip(shape, kernels):
            after //= size
            if after == 1:
                Y = Y.reshape(-1, size) @ kernel  # the last axis: one product (the kernel is symmetric)
            else:
                Y = np.matmul(kernel, Y.reshape(before, size, after))
            before *= size
        return Y.reshape(X.shape)

    return ScalingOperators(apply, apply)


def _solve_toeplitz(windows, A, weights, max_iter, tol, check_every, n_threads) -> BregmanAnswer:
    """Balanced, not debiased, on a Toeplitz kernel: :func:`toeplitz_bregman_core`, the whole loop compiled."""
    Kn, n = A.shape
    m = windows[1].shape[0] - n + 1
    u, v, bar = np.ones((Kn, n)), np.ones((Kn, m)), np.ones(m)
    errors = np.full(max_iter // check_every + 1, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        status, it, n_errors = run_parallel(
            toeplitz_bregman_core, n_threads, windows[0], windows[1], np.ascontiguousarray(A),
            np.ascontiguousarray(weights, dtype=np.float64), bool(np.all(weights == weights[0])), u, v, bar,
            np.empty((Kn, n)), np.empty((Kn, m)),
            np.zeros((m + 3) // 4), max_iter, float(tol), check_every, errors)
    return int(status), int(it), errors[:n_errors].copy(), u, v, bar


def solve_scaling(operators, A, weights, reg, rho, debiased, max_iter, tol, check_every) -> BregmanAnswer:
    """The scaling-domain counterpart of ``_bregman.solve_bregman``: ``operators`` the kernel's
    :class:`ScalingOperators` (:func:`dense_operators`, :func:`grid_operators`); balanced and not debiased on a
    Toeplitz kernel, the whole loop runs compiled (:func:`toeplitz_bregman_core`), otherwise in numpy around the
    compiled products. Same answer and stopping rule (the spread
    of the plans' column marginals plus the barycenter's L1 change between checks; the largest change of the
    potentials / reg for KL-penalised inputs)."""
    apply, apply_T = operators.apply, operators.apply_transpose
    Kn, n = A.shape
    tau = 1.0 if math.isinf(rho) else rho / (rho + reg)
    if operators.windows is not None and tau == 1.0 and not debiased:
        status, it, errors, u, v, bar = _solve_toeplitz(operators.windows, A, weights, max_iter, tol, check_every,
                                                        operators.n_threads)
        return _answer(u, v, bar, A, reg, status, it, errors)
    m = apply_T(np.ones((1, n))).shape[1]
    u, v = np.ones((Kn, n)), np.ones((Kn, m))
    c = np.ones(m)  # the debiasing scaling (Janati et al. 2020)
    bar_prev = np.zeros(m)
    errors, status, it = [], MAX_ITER_REACHED, 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while it < max_iter:
            it += 1
            check = it % check_every == 0 or it == max_iter
            u_prev, v_prev = (np.log(u), np.log(v)) if check and tau != 1.0 else (None, None)
            Kv = apply(v)
            u = A / Kv if tau == 1.0 else (A / Kv) ** tau
            Ktu = apply_T(u)
            if tau == 1.0:
                bar = np.exp(weights @ np.log(Ktu))
                if debiased:
                    bar = bar * c
            else:
                bar = (weights @ Ktu ** (1.0 - tau)) ** (1.0 / (1.0 - tau))
            if check:
                if tau == 1.0:
                    err = float(np.sum(np.std(v * Ktu, axis=0)))
                    if debiased:
                        err += float(np.abs(bar - bar_prev).sum())
                        bar_prev = bar
            v = bar / Ktu if tau == 1.0 else (bar / Ktu) ** tau
            if debiased:
                c = np.sqrt(c * bar / apply_T(c[None])[0])
            if check:
                if tau != 1.0:
                    err = float(max(np.nanmax(np.abs(np.log(u) - u_prev)), np.nanmax(np.abs(np.log(v) - v_prev))))
                errors.append(err)
                if not (math.isfinite(err) and np.all(np.isfinite(bar))):
                    status = NUMERICAL_ERROR
                    break
                if err <= tol:
                    status = OPTIMAL
                    break
    return _answer(u, v, bar, A, reg, status, it, np.array(errors))


def _answer(u, v, bar, A, reg, status, it, errors) -> BregmanAnswer:
    """Potentials ``reg log u``, ``reg log v`` and ``log bar``; NUMERICAL_ERROR where a scaling underflowed."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f, g, log_bar = reg * np.log(u), reg * np.log(v), np.log(bar)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(f[A > 0]))):
        status = NUMERICAL_ERROR
    return BregmanAnswer(log_bar, f, g, status, it, errors)
