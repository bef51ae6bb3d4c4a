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


def geomloss_sinkhorn_naive(a, x, b, y, p=2, blur=0.05, reach=None, scaling=0.5, debias=True):
    """GeomLoss's ``SamplesLoss("sinkhorn", p, blur, reach, scaling, debias)`` (tensorized, single scale), in
    numpy: cost ``|x - y|^p / p``, temperatures from ``diameter^p`` down to ``blur^p`` by factors ``scaling^p``,
    symmetric (averaged) softmin updates damped by ``1 / (1 + eps / rho)``, a last full update, and the dual
    formula of the (debiased) cost. Returns ``(value, f, g)`` with GeomLoss's potentials."""
    from scipy.special import logsumexp

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(a), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(b), -1)

    def cost(u, v):
        d = np.sqrt(((u[:, None, :] - v[None, :, :]) ** 2).sum(-1))
        return d**p / p

    C_xy, C_yx, C_xx, C_yy = cost(x, y), cost(y, x), cost(x, x), cost(y, y)
    with np.errstate(divide="ignore"):
        la, lb = np.log(a), np.log(b)
    low = np.minimum(x.min(0), y.min(0))
    high = np.maximum(x.max(0), y.max(0))
    diameter = max(float(np.linalg.norm(high - low)), blur)
    eps_list = ([diameter**p] + list(np.exp(np.arange(p * np.log(diameter), p * np.log(blur), p * np.log(scaling))))
                + [blur**p])
    rho = None if reach is None else reach**p

    def damp(eps):
        return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)

    def softmin(eps, C, h):
        return -eps * logsumexp(h[None, :] - C / eps, axis=1)

    eps = eps_list[0]
    g_ab = damp(eps) * softmin(eps, C_yx, la)
    f_ba = damp(eps) * softmin(eps, C_xy, lb)
    f_aa = damp(eps) * softmin(eps, C_xx, la)
    g_bb = damp(eps) * softmin(eps, C_yy, lb)
    for eps in eps_list:
        d = damp(eps)
        ft_ba, gt_ab = d * softmin(eps, C_xy, lb + g_ab / eps), d * softmin(eps, C_yx, la + f_ba / eps)
        ft_aa, gt_bb = d * softmin(eps, C_xx, la + f_aa / eps), d * softmin(eps, C_yy, lb + g_bb / eps)
        f_ba, g_ab = 0.5 * (f_ba + ft_ba), 0.5 * (g_ab + gt_ab)
        f_aa, g_bb = 0.5 * (f_aa + ft_aa), 0.5 * (g_bb + gt_bb)
    d = damp(eps)
    f_ba, g_ab = d * softmin(eps, C_xy, lb + g_ab / eps), d * softmin(eps, C_yx, la + f_ba / eps)
    f_aa, g_bb = d * softmin(eps, C_xx, la + f_aa / eps), d * softmin(eps, C_yy, lb + g_bb / eps)
    if rho is None:
        if debias:
            return a @ (f_ba - f_aa) + b @ (g_ab - g_bb), f_ba - f_aa, g_ab - g_bb
        return a @ f_ba + b @ g_ab, f_ba, g_ab
    w = rho + eps / 2
    if debias:
        value = w * (a @ (np.exp(-f_aa / rho) - np.exp(-f_ba / rho)) + b @ (np.exp(-g_bb / rho) - np.exp(-g_ab / rho)))
        return value, f_ba - f_aa, g_ab - g_bb
    return w * (a @ (1 - np.exp(-f_ba / rho)) + b @ (1 - np.exp(-g_ab / rho))), f_ba, g_ab


def kernel_loss_naive(a, x, b, y, kernel="gaussian", blur=0.05):
    """GeomLoss's kernel norms ``0.5 <a - b, K (a - b)>`` with K from 'energy' (``-|x - y|``), 'gaussian'
    (``exp(-|x - y|^2 / (2 blur^2))``) or 'laplacian' (``exp(-|x - y| / blur)``), by dense matrices."""
    x = np.asarray(x, dtype=np.float64).reshape(len(a), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(b), -1)
    z = np.concatenate([x, y])
    w = np.concatenate([np.asarray(a, dtype=np.float64), -np.asarray(b, dtype=np.float64)])
    D = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
    K = {"energy": -D, "gaussian": np.exp(-(D**2) / (2 * blur**2)), "laplacian": np.exp(-D / blur)}[kernel]
    return 0.5 * w @ K @ w


def hausdorff_naive(a, x, b, y, p=2, blur=0.05, reach=None, scaling=0.5):
    """The Hausdorff divergence ``H = <a - b, grad E(a) - grad E(b)> / 2``, ``E(a) = -OT_eps(a, a) / 2`` (Feydy
    and Trouve 2018), by dense log-sum-exps: cost ``|x - y|^p / p``, the two self-problems solved by GeomLoss's
    annealed averaged updates (temperatures ``diameter^p`` down to ``blur^p`` by factors ``scaling^p``, damped by
    ``1 / (1 + eps / rho)``), then each self-potential extended to both clouds by one softmin. The gradient of E at
    a point z is ``-f(z)`` (balanced) or ``(rho + eps) exp(-f(z) / rho) - rho``. Returns ``(value, F, G)`` with
    ``F = grad E(a) - grad E(b)`` on x and ``G`` its opposite on y."""
    from scipy.special import logsumexp

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(a), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(b), -1)

    def cost(u, v):
        return np.sqrt(((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)) ** p / p

    low = np.minimum(x.min(0), y.min(0))
    high = np.maximum(x.max(0), y.max(0))
    diameter = max(float(np.linalg.norm(high - low)), blur)
    eps_list = ([diameter**p] + list(np.exp(np.arange(p * np.log(diameter), p * np.log(blur), p * np.log(scaling))))
                + [blur**p])
    rho = None if reach is None else reach**p

    def damp(eps):
        return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)

    def self_potential(w, z):
        """The averaged loop on one self-problem; returns the potential before the last (extending) softmin."""
        with np.errstate(divide="ignore"):
            lw = np.log(w)
        C = cost(z, z)
        f = damp(eps_list[0]) * -eps_list[0] * logsumexp(lw[None, :] - C / eps_list[0], axis=1)
        for eps in eps_list:
            f = 0.5 * (f + damp(eps) * -eps * logsumexp(lw[None, :] + (f[None, :] - C) / eps, axis=1))
        return lw, f

    eps = eps_list[-1]

    def extend(lw, f, z, points):  # the self-potential f on the cloud z, extended to `points`
        return damp(eps) * -eps * logsumexp(lw[None, :] + (f[None, :] - cost(points, z)) / eps, axis=1)

    la, fa = self_potential(a, x)
    lb, fb = self_potential(b, y)
    a_x, a_y, b_x, b_y = extend(la, fa, x, x), extend(la, fa, x, y), extend(lb, fb, y, x), extend(lb, fb, y, y)
    if rho is None:
        grad_a_x, grad_a_y, grad_b_x, grad_b_y = -a_x, -a_y, -b_x, -b_y
    else:
        def grad(f):
            return (rho + eps) * np.exp(-f / rho) - rho
        grad_a_x, grad_a_y, grad_b_x, grad_b_y = grad(a_x), grad(a_y), grad(b_x), grad(b_y)
    F, G = grad_a_x - grad_b_x, grad_b_y - grad_a_y
    return 0.5 * (a @ F + b @ G), F, G
