"""Slow, obviously-correct references for the tests: plain numpy and scipy, no numbaot code.

* :func:`lp_ot` solves the transport LP with scipy's HiGHS (``+inf`` costs are forbidden arcs).
* :func:`wasserstein_1d_quantile` integrates ``|F_a^{-1} - F_b^{-1}|^p`` over the merged quantile grid.
* :func:`cdf_l1` integrates ``|F_a - F_b|`` over the merged support (equals ``W_1``).
* :func:`cost_matrix_1d` builds the dense 1D cost with numbaot's conventions.
"""
from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse


def _weights(w, n):
    return np.full(n, 1.0 / n) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)


def lp_ot(a, b, M):
    """Exact OT by linear programming: ``min <P, M>`` over ``P >= 0, P 1 = a, P^T 1 = b``.

    ``a`` and ``b`` must have the same total mass. ``+inf`` entries of ``M`` are forbidden arcs (their variable is
    fixed to 0). Returns ``(value, plan)`` with ``plan`` of shape ``(n, m)``; raises ``ValueError`` when HiGHS
    reports no optimal solution (e.g. infeasible forbidden arcs).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    M = np.asarray(M, dtype=np.float64)
    n, m = M.shape
    if a.shape != (n,) or b.shape != (m,):
        raise ValueError(f"lp_ot: M has shape {M.shape} but a has {a.size} and b has {b.size} entries")
    forbidden = ~np.isfinite(M)
    c = np.where(forbidden, 0.0, M).reshape(-1)
    # Row sums: variable i*m + j belongs to row i and column j.
    rows_eq = scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m)))
    cols_eq = scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))
    A_eq = scipy.sparse.vstack([rows_eq, cols_eq]).tocsr()
    b_eq = np.concatenate([a, b])
    bounds = np.zeros((n * m, 2))
    bounds[:, 1] = np.where(forbidden.reshape(-1), 0.0, np.inf)
    res = scipy.optimize.linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise ValueError(f"lp_ot: HiGHS did not find an optimum: {res.message}")
    plan = np.maximum(res.x.reshape(n, m), 0.0)
    return float(res.fun), plan


def cost_matrix_1d(x, y, metric="sqeuclidean", p=1.0):
    """Dense 1D ground cost with numbaot's conventions.

    'sqeuclidean' is ``(x - y)^2``; 'euclidean' and 'cityblock' are ``|x - y|``; 'minkowski' is ``|x - y|^p``
    (POT's convention for 1D solvers, no root taken).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    d = np.abs(x[:, None] - y[None, :])
    if metric == "sqeuclidean":
        return d**2
    if metric in ("euclidean", "cityblock"):
        return d
    if metric == "minkowski":
        return d ** float(p)
    raise ValueError(f"cost_matrix_1d: unknown metric {metric!r}")


def _quantile_pieces(x, w):
    order = np.argsort(x, kind="stable")
    return x[order], np.cumsum(w[order])


def wasserstein_1d_quantile(x, y, a=None, b=None, p=1.0):
    """``W_p^p`` between 1D measures of equal mass: the integral of ``|F_a^{-1}(t) - F_b^{-1}(t)|^p`` over
    ``t in [0, mass]``, exact on the merged grid of both cumulative weights (the quantile functions are piecewise
    constant on it). Weights are not normalised: the result scales with the mass, as a transport cost does.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    a = _weights(a, x.size)
    b = _weights(b, y.size)
    xs, ca = _quantile_pieces(x, a)
    ys, cb = _quantile_pieces(y, b)
    mass = min(ca[-1], cb[-1])
    grid = np.unique(np.concatenate([[0.0], ca, cb]))
    grid = grid[grid <= mass]
    if grid[-1] < mass:
        grid = np.append(grid, mass)
    lo, hi = grid[:-1], grid[1:]
    mid = (lo + hi) / 2
    ia = np.minimum(np.searchsorted(ca, mid, side="left"), xs.size - 1)
    ib = np.minimum(np.searchsorted(cb, mid, side="left"), ys.size - 1)
    return float(np.sum((hi - lo) * np.abs(xs[ia] - ys[ib]) ** float(p)))


def cdf_l1(x, y, a=None, b=None):
    """``integral |F_a(t) - F_b(t)| dt`` over the merged support: equals ``W_1`` for measures of equal mass."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    a = _weights(a, x.size)
    b = _weights(b, y.size)
    z = np.unique(np.concatenate([x, y]))
    if z.size < 2:
        return 0.0
    order_a = np.argsort(x, kind="stable")
    order_b = np.argsort(y, kind="stable")
    ca = np.cumsum(a[order_a])
    cb = np.cumsum(b[order_b])
    # F at each left end of [z_k, z_{k+1}): the mass at points <= z_k.
    fa = np.concatenate([[0.0], ca])[np.searchsorted(x[order_a], z[:-1], side="right")]
    fb = np.concatenate([[0.0], cb])[np.searchsorted(y[order_b], z[:-1], side="right")]
    return float(np.sum(np.abs(fa - fb) * np.diff(z)))


def sinkhorn_log_naive(a, b, M, reg, n_iter=5000, tol=1e-12):
    """Plain numpy/scipy log-domain Sinkhorn: ``(plan, f, g)`` with ``plan = a b^T exp((f + g - M) / reg)``."""
    from scipy.special import logsumexp

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros(len(a)), np.zeros(len(b))
    for _ in range(n_iter):
        f = -reg * logsumexp((g[None, :] - M) / reg + log_b[None, :], axis=1)
        g = -reg * logsumexp((f[:, None] - M) / reg + log_a[:, None], axis=0)
        plan = np.exp(log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - M) / reg)
        if np.abs(plan.sum(axis=1) - a).sum() < tol:
            break
    return plan, f, g


def gw_loss_naive(x, y, loss="square_loss"):
    """The Gromov-Wasserstein loss ``L(x, y)`` elementwise, written out (``kl_loss`` with the 1e-18 floor of the
    logarithms that numbaot and POT use for zero entries)."""
    if loss == "square_loss":
        return (x - y) ** 2
    return x * np.log(x + 1e-18) - x * np.log(y + 1e-18) - x + y


def gw_tensor_naive(C1, C2, T, loss="square_loss"):
    """``(L (x) T)_ij = sum_kl L(C1_ik, C2_jl) T_kl`` by brute force over the (n, m, n, m) tensor: tiny sizes only."""
    C1 = np.asarray(C1, dtype=np.float64)
    C2 = np.asarray(C2, dtype=np.float64)
    L = gw_loss_naive(C1[:, None, :, None], C2[None, :, None, :], loss)  # axes i, j, k, l
    return np.einsum("ijkl,kl->ij", L, np.asarray(T, dtype=np.float64))


def gw_objective_naive(C1, C2, T, loss="square_loss", M=None, alpha=1.0):
    """``(1 - alpha) <M, T> + alpha sum_ijkl L(C1_ik, C2_jl) T_ij T_kl`` by brute force."""
    T = np.asarray(T, dtype=np.float64)
    quad = float(np.sum(gw_tensor_naive(C1, C2, T, loss) * T))
    if M is None:
        return quad
    return (1.0 - alpha) * float(np.sum(np.asarray(M) * T)) + alpha * quad

def sinkhorn_unbalanced_naive(a, b, M, reg, reg_m, n_iter=100000, tol=1e-14):
    """Plain numpy/scipy log-domain unbalanced Sinkhorn (KL reference a b^T): ``(plan, f, g)``.

    ``f = -rho_a / (rho_a + reg) * reg * logsumexp_j(log b_j + (g_j - M_ij) / reg)``, and the same for g;
    ``rho = inf`` gives the balanced update. Stops when the potentials move less than ``tol * reg``.
    """
    from scipy.special import logsumexp

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    rho_a, rho_b = (reg_m, reg_m) if np.ndim(reg_m) == 0 else reg_m
    tau_a = 1.0 if np.isinf(rho_a) else rho_a / (rho_a + reg)
    tau_b = 1.0 if np.isinf(rho_b) else rho_b / (rho_b + reg)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f, g = np.zeros(len(a)), np.zeros(len(b))
    for _ in range(n_iter):
        f_new = -tau_a * reg * logsumexp((g[None, :] - M) / reg + log_b[None, :], axis=1)
        g_new = -tau_b * reg * logsumexp((f_new[:, None] - M) / reg + log_a[:, None], axis=0)
        moved = max(np.abs(f_new - f).max(), np.abs(g_new - g).max())
        f, g = f_new, g_new
        if moved < tol * reg:
            break
    plan = np.exp(log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - M) / reg)
    return plan, f, g


def unbalanced_dual(a, b, M, reg, reg_m, f, g):
    """The dual objective of KL-unbalanced entropic OT (reference a b^T) at potentials ``(f, g)``:
    ``-rho_a <a, exp(-f / rho_a) - 1> - rho_b <b, exp(-g / rho_b) - 1> - reg <a b^T, exp((f + g - M) / reg) - 1>``,
    with ``<a, f>`` in place of a marginal's term when its rho is inf."""
    rho_a, rho_b = (reg_m, reg_m) if np.ndim(reg_m) == 0 else reg_m
    value = 0.0
    for rho, w, pot in ((rho_a, a, f), (rho_b, b, g)):
        value += w @ pot if np.isinf(rho) else -rho * (w @ (np.exp(-pot / rho) - 1.0))
    q = np.outer(a, b)
    return value - reg * np.sum(q * (np.exp((f[:, None] + g[None, :] - M) / reg) - 1.0))


def unbalanced_primal(a, b, M, reg, reg_m, P):
    """``<P, M> + reg KL(P | a b^T) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)`` (generalised KL), plain numpy."""
    rho_a, rho_b = (reg_m, reg_m) if np.ndim(reg_m) == 0 else reg_m

    def kl(p, q):
        return np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0)) - p.sum() + q.sum()

    value = np.sum(P * M) + reg * kl(P.ravel(), np.outer(a, b).ravel())
    for rho, w, marginal in ((rho_a, a, P.sum(axis=1)), (rho_b, b, P.sum(axis=0))):
        if not np.isinf(rho):
            value += rho * kl(marginal, w)
    return value
