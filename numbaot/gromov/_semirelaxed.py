"""Semi-relaxed Gromov-Wasserstein by conditional gradient (Vincent-Cuaz et al. 2022).

Only the first marginal is imposed: plans T >= 0 with ``T 1 = p``; the second marginal ``q = T^T 1`` is free. With
``L = f1(x) + f2(y) - h1(x) h2(y)`` the objective is

    E(T) = p^T f1(C1) p + q^T F2 q - <X(T), T>,    F2 = f2(C2),  X(T) = h1 T h2^T,

and ``F(T) = w_lin <M, T> + w_quad E(T)``. Its gradient is ``w_lin M + w_quad (1 ((F2 + F2^T) q)^T - X - Y)`` up to
a constant per row (which no row-wise choice sees), with ``Y = h1^T T h2``. The linear oracle over the relaxed
polytope is row-wise: each row i sends its mass p_i to the column of smallest gradient. With ``D = S - T`` (zero row
sums, column sums ``dq``) the exact line search is on ``F(T + t D) = F(T) + b t + a t^2``:

    a = w_quad (dq^T F2 dq - <X(D), D>),   b = w_lin <M, D> + w_quad (dq^T (F2 + F2^T) q - <X(T), D> - <Y(T), D>).
"""
from __future__ import annotations

import math

import numpy as np

from .._status import Status
from . import _tensor
from ._cg import PARALLEL_MIN_ENTRIES, Outcome, _direction_dots, _run, _step_and_gradient, quadratic_step


def semirelaxed_conditional_gradient(C1, C2, p, loss, symmetric, M, w_lin, w_quad, G0, max_iter, tol_rel, tol_abs,
                                     n_threads) -> Outcome:
    """Minimise ``F`` over plans with row sums p, from ``G0`` (validated float64 host arrays)."""
    n, m = G0.shape
    from .. import _config

    # also the kernels' row chunks: one (no parallel region) below PARALLEL_MIN_ENTRIES
    n_threads = 1 if n * m < PARALLEL_MIN_ENTRIES else _config.n_threads(n_threads)
    f1, F2, h1, h2 = _tensor.loss_functions(C1, C2, loss)
    h1 = np.ascontiguousarray(h1)
    h2 = np.ascontiguousarray(h2)
    h1t, h2t = (h1, h2) if symmetric else (np.ascontiguousarray(h1.T), np.ascontiguousarray(h2.T))
    F2s = F2 + F2.T
    const = float(p @ f1 @ p)
    has_m = M is not None
    Mc = M if has_m else np.zeros((1, 1))
    G = np.array(G0, dtype=np.float64, order="C", copy=True)
    q = G.sum(axis=0)
    X = _tensor.quad_dense(h1, G, h2)
    Y = X if symmetric else _tensor.quad_dense(h1t, G, h2t)
    zeros_n = np.zeros(n)
    zeros_m = np.zeros(m)

    def objective(G, X, q):
        lin = float(np.vdot(Mc, G)) if has_m else 0.0
        return lin, const + float(q @ F2 @ q) - float(np.vdot(X, G))

    def refresh_gradient(grad, G, S, X, XS, Y, YS, t):
        # _step_and_gradient's quadratic term is 2 (u_i + v_j - X) (symmetric) or u + v + ut + vt - X - Y: with
        # u = ut = vt = 0 and v = (F2 + F2^T) q / 2, resp. (F2 + F2^T) q, it is the semi-relaxed gradient.
        v = F2s @ q
        if symmetric:
            v = 0.5 * v
        _run(_step_and_gradient, n_threads, G, S, X, XS, Y, YS, t, Mc, w_lin, w_quad, zeros_n, v, zeros_n, zeros_m,
             symmetric, has_m, grad, n_threads)

    grad = np.empty((n, m))
    refresh_gradient(grad, G, G, X, X, Y, Y, 0.0)
    lin, quad = objective(G, X, q)
    cost = w_lin * lin + w_quad * quad
    history = [cost]
    S = np.zeros((n, m))
    vertex_products = _tensor.VertexProducts(h1, h2, h1t, h2t, symmetric)
    rows = np.arange(n, dtype=np.int64)
    dots = np.empty(4)
    status = Status.MAX_ITER_REACHED
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        if not math.isfinite(cost):
            status = Status.NUMERICAL_ERROR
            break
        cols = np.argmin(grad, axis=1).astype(np.int64)  # the row-wise linear oracle
        XS, YS = vertex_products.at(rows, cols, p, S)  # before S is filled: it takes an all-zero scratch
        S[rows, cols] = p
        _run(_direction_dots, n_threads, G, S, X, XS, Y, Mc, symmetric, has_m, dots, n_threads)
        dq = np.bincount(cols, weights=p, minlength=m) - q
        a = w_quad * (float(dq @ F2 @ dq) - dots[0])
        b = w_lin * dots[3] + w_quad * (float(dq @ F2s @ q) - dots[1] - dots[2])
        t = quadratic_step(a, b)
        old = cost
        cost = cost + a * t * t + b * t
        history.append(cost)
        q = q + t * dq
        refresh_gradient(grad, G, S, X, XS, Y, YS, t)
        S[rows, cols] = 0.0  # all zero again: the vertex's n entries, not an O(n m) fill
        change = abs(cost - old)
        if not math.isfinite(cost):
            status = Status.NUMERICAL_ERROR
            break
        if change < tol_abs or (cost != 0.0 and change / abs(cost) < tol_rel):
            status = Status.OPTIMAL
            break
    q = G.sum(axis=0)
    value_linear, value_quad = objective(G, X, q)
    value = w_lin * value_linear + w_quad * value_quad
    if not (np.isfinite(value) and np.isfinite(G).all()):
        status = Status.NUMERICAL_ERROR
    return Outcome(G, value, value_linear, value_quad, int(status), n_iter, np.array(history), None)
