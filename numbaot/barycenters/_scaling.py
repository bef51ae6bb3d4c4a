"""Fixed-support barycenters in the scaling domain (POT's default method "sinkhorn"): the same iteration as the
log-domain loop (``_bregman``), on scalings ``u = exp(f / reg)``, ``v = exp(g / reg)`` of the Gibbs kernel
``K = exp(-C / reg)``, built once. An iteration is two products of K with the K inputs' scalings (no exponential),
several times cheaper than a log-domain one; like every scaling-domain method it fails (status NUMERICAL_ERROR)
where K underflows, about ``C / reg > 700``: the log-domain default has no such limit.
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


def dense_operators(C, reg, n_threads):
    """``(apply, apply_transpose)`` of the Gibbs kernel of dense costs ``C`` (n, m): each maps (B, m) to (B, n)
    (resp. (B, n) to (B, m)) scalings."""
    n, m = C.shape
    K = np.empty((n, m))
    run_parallel(gibbs_kernel, n_threads, C, np.zeros(n), np.zeros(m), reg, K, n_threads)
    KT = np.ascontiguousarray(K.T)

    def product(kernel, X):
        out = np.empty((X.shape[0], kernel.shape[0]))
        run_parallel(apply_kernel, n_threads, kernel, np.ascontiguousarray(X), out)
        return out

    return (lambda X: product(K, X)), (lambda X: product(KT, X))


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
