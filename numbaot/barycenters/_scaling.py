"""Fixed-support barycenters in the scaling domain (POT's default method "sinkhorn"): the same iteration as the
log-domain loop (``_bregman``), on scalings ``u = exp(f / reg)``, ``v = exp(g / reg)`` of the Gibbs kernel
``K = exp(-C / reg)``, built once. An iteration is two products of K with the K inputs' scalings (no exponential),
several times cheaper than a log-domain one; like every scaling-domain method it fails (status NUMERICAL_ERROR)
where K underflows, about ``C / reg > 700``: the log-domain default has no such limit.

Costs constant along their diagonals (a translation-invariant cost on a regular 1D grid) give a Toeplitz kernel,
applied from its n + m - 1 diagonals (:func:`apply_windows`): the product then runs from the first-level caches
instead of streaming an n x m kernel (and its transpose) from memory (bench_barycenter.py's 1D case: about 5x less
time per iteration).
"""
from __future__ import annotations

import math

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
# unblocked and ~0.45 ms for the dense kernel read from cache (one thread).
@cpu_jit
def _windows_4x3(w, X, out, k, i):
    """Outputs ``i .. i + 3`` of inputs ``k .. k + 2`` of :func:`apply_windows`."""
    N = out.shape[1]
    m = X.shape[1]
    X0, X1, X2 = X[k], X[k + 1], X[k + 2]
    wv = w[N - 4 - i:]  # output i + d reads wv[j + 3 - d]
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = 0.0
    for j in range(m):
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
def _windows_4x1(w, X, out, k, i):
    """Outputs ``i .. i + 3`` of input ``k`` of :func:`apply_windows`."""
    N = out.shape[1]
    Xk = X[k]
    wv = w[N - 4 - i:]
    s0 = s1 = s2 = s3 = 0.0
    for j in range(X.shape[1]):
        x = Xk[j]
        s0 += wv[j + 3] * x
        s1 += wv[j + 2] * x
        s2 += wv[j + 1] * x
        s3 += wv[j] * x
    out[k, i], out[k, i + 1], out[k, i + 2], out[k, i + 3] = s0, s1, s2, s3


@cpu_jit
def _windows_plain(w, X, out, k, i):
    """Output ``i`` of input ``k`` of :func:`apply_windows`."""
    Xk = X[k]
    wi = w[out.shape[1] - 1 - i:]  # a view: its indices below are non-negative (no wrap-around test)
    s = 0.0
    for j in range(X.shape[1]):
        s += wi[j] * Xk[j]
    out[k, i] = s


@cpu_jit(parallel=True)
def apply_windows(w, X, out):
    """``out[k, i] = sum_j w[N - 1 - i + j] X[k, j]`` (N = out.shape[1]) for every row of ``X`` (B, m): the product
    of X with the Toeplitz matrix ``T[i, j] = w[N - 1 - i + j]`` held by its N + m - 1 diagonals ``w``, in parallel
    over blocks of 4 outputs. The whole operator stays in the first-level caches where a dense kernel streams
    n m entries from memory."""
    B = X.shape[0]
    N = out.shape[1]
    for b in prange((N + 3) // 4):
        i = 4 * b
        if i + 4 <= N:
            k = 0
            while k + 3 <= B:
                _windows_4x3(w, X, out, k, i)
                k += 3
            while k < B:
                _windows_4x1(w, X, out, k, i)
                k += 1
        else:
            for k in range(B):
                for q in range(i, N):
                    _windows_plain(w, X, out, k, q)


@cpu_jit
def is_toeplitz(C, t, tol):
    """Whether every ``C[i, j]`` is within ``tol`` of ``t[i - j + m - 1]``, its diagonal's value (``t`` read off
    C's first row and column); stops at the first entry that is not."""
    n, m = C.shape
    for i in range(n):
        Ci = C[i]
        ti = t[i:]  # ti[m - 1 - j] = t[i - j + m - 1]
        for j in range(m):
            if not abs(Ci[j] - ti[m - 1 - j]) <= tol:
                return False
    return True


def toeplitz_diagonals(C):
    """``t`` (n + m - 1,) with ``C[i, j] = t[i - j + m - 1]`` up to 4 ulps of ``max |C|`` (the rounding of a
    translation-invariant cost computed on a regular grid, e.g. ``x = linspace(0, 1, n)``), or None."""
    n, m = C.shape
    t = np.concatenate([C[0, ::-1], C[1:, 0]])  # diagonal q = i - j + m - 1: the first row reversed, then column
    tol = 4.0 * np.finfo(np.float64).eps * float(np.max(np.abs(t)))
    return t if is_toeplitz(C, t, tol) else None


#: Costs of at least this many entries are tested for a Toeplitz structure (below it the dense kernel is as fast).
TOEPLITZ_MIN_ENTRIES = 64 * 64


def dense_operators(C, reg, n_threads):
    """``(apply, apply_transpose)`` of the Gibbs kernel of dense costs ``C`` (n, m): each maps (B, m) to (B, n)
    (resp. (B, n) to (B, m)) scalings.

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
        windows = (np.ascontiguousarray(kt[::-1]), n), (kt, m)
        kernels = None
    else:
        K = np.empty((n, m))
        run_parallel(gibbs_kernel, n_threads, C, np.zeros(n), np.zeros(m), reg, K, n_threads)
        symmetric = n == m and is_symmetric(C)
        kernels = K, (K if symmetric else np.ascontiguousarray(K.T))

    def product(side, X):
        X = np.ascontiguousarray(X)
        if kernels is None:
            w, size = windows[side]
            out = np.empty((X.shape[0], size))
            run_parallel(apply_windows, n_threads, w, X, out)
        else:
            out = np.empty((X.shape[0], kernels[side].shape[0]))
            run_parallel(apply_kernel, n_threads, kernels[side], X, out)
        return out

    return (lambda X: product(0, X)), (lambda X: product(1, X))


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

    return apply, apply


def solve_scaling(operators, A, weights, reg, rho, debiased, max_iter, tol, check_every) -> BregmanAnswer:
    """The scaling-domain counterpart of ``_bregman.solve_bregman``: ``operators`` the kernel's ``(apply,
    apply_transpose)`` (:func:`dense_operators`, :func:`grid_operators`); same answer and stopping rule (the spread
    of the plans' column marginals plus the barycenter's L1 change between checks; the largest change of the
    potentials / reg for KL-penalised inputs)."""
    apply, apply_T = operators
    Kn, n = A.shape
    m = apply_T(np.ones((1, n))).shape[1]
    tau = 1.0 if math.isinf(rho) else rho / (rho + reg)
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
    with np.errstate(divide="ignore"):
        f, g, log_bar = reg * np.log(u), reg * np.log(v), np.log(bar)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(f[A > 0]))):
        status = NUMERICAL_ERROR
    return BregmanAnswer(log_bar, f, g, status, it, np.array(errors))
