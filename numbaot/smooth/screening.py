"""Screenkhorn (Alaya, Berar, Gasso and Rakotomamonjy 2019): an approximate entropic OT plan from a screened dual.

The dual of entropic OT in the scalings ``(u, v)`` of ``P = diag(u) K diag(v)``, ``K = exp(-M / reg)``, is
restricted to the ``ns_budget`` rows and ``nt_budget`` columns the screening test keeps; the others are fixed at
the threshold ``epsilon / kappa`` (rows) and ``epsilon kappa`` (columns). The remaining problem, smaller and with
box constraints, is solved by scipy's L-BFGS-B (``fmin_l_bfgs_b``) from a few restricted Sinkhorn iterations, and
the plan is normalised to mass 1, as POT's ``ot.bregman.screenkhorn`` does.

The answer approximates Sinkhorn's plan; the approximation is not controlled by a tolerance: Alaya et al. bound
the gap between the screened and the full dual objectives in terms of the screening threshold (their Prop. 2 and
Thm. 1). What this implementation measures and reports instead is the L1 error of the plan's marginals
(``errors`` and the log's 'marginal_error'): with ``ns_budget = n`` and ``nt_budget = m`` it is the precision of
the L-BFGS-B solve, and it grows as the budgets shrink.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._result import OTResult
from .._status import Status, warn_status

_CITATION = ("Alaya, Berar, Gasso, Rakotomamonjy (2019). Screening Sinkhorn Algorithm for Regularized Optimal "
             "Transport. NeurIPS")
#: Below this many kernel entries the pass runs on one thread.
PARALLEL_MIN_ENTRIES = 1 << 15


def _check_budget(budget, name, size):
    if budget is None:
        return int(np.floor(0.5 * size)) or 1
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer (points kept by the screening), got {budget!r}")
    if not 1 <= budget <= size:
        raise ValueError(f"{name} must be between 1 and {size} (the number of points on that side), got {budget}")
    return int(budget)


def _kth(values, k, descending=True):
    """The k-th largest (or smallest) value, 1-based."""
    if descending:
        return np.sort(values)[::-1][k - 1]
    return np.partition(values, k - 1)[k - 1]


def _screen(a, b, K, ns_budget, nt_budget, uniform):
    """The screening test: the kept rows and columns, the threshold epsilon and the balance kappa."""
    ns, nt = K.shape
    K_sum_cols = K.sum(axis=1)
    K_sum_rows = K.sum(axis=0)
    if uniform:
        eps_u2 = a[0] / (np.sort(K_sum_cols)[ns_budget - 1] if ns / ns_budget < 4
                         else _kth(K_sum_cols, ns_budget, descending=False))
        eps_v2 = b[0] / (np.sort(K_sum_rows)[nt_budget - 1] if nt / nt_budget < 4
                         else _kth(K_sum_rows, nt_budget, descending=False))
        aK_sort = bK_sort = None
    else:
        aK_sort = np.sort(a / K_sum_cols)[::-1]
        bK_sort = np.sort(b / K_sum_rows)[::-1]
        eps_u2 = aK_sort[ns_budget - 1]
        eps_v2 = bK_sort[nt_budget - 1]
    Isel = a >= eps_u2 * K_sum_cols
    Jsel = b >= eps_v2 * K_sum_rows
    if int(Isel.sum()) != ns_budget:  # ties at the threshold: cut between the budget's value and the next one
        if aK_sort is None:
            aK_sort = np.sort(a / K_sum_cols)[::-1]
        eps_u2 = float(np.mean(aK_sort[ns_budget - 1:ns_budget + 1]))
        Isel = a >= eps_u2 * K_sum_cols
    if int(Jsel.sum()) != nt_budget:
        if bK_sort is None:
            bK_sort = np.sort(b / K_sum_rows)[::-1]
        eps_v2 = float(np.mean(bK_sort[nt_budget - 1:nt_budget + 1]))
        Jsel = b >= eps_v2 * K_sum_rows
    epsilon = (eps_u2 * eps_v2) ** 0.25
    kappa = (eps_v2 / eps_u2) ** 0.5
    return Isel, Jsel, float(epsilon), float(kappa)


def solve_screenkhorn(a, b, M, reg, ns_budget=None, nt_budget=None, uniform=False, restricted=True, *,
                      max_iter=10000, max_fun=10000, pgtol=1e-9, n_threads=None, warn=True):
    """The checked solve: ``(OTResult, details dict)``."""
    from scipy.optimize import fmin_l_bfgs_b

    from .._threads import numba_threads
    from ._screen import products

    reg = V.check_reg(reg)
    uniform = V.check_bool(uniform, "uniform")
    restricted = V.check_bool(restricted, "restricted")
    max_iter = V.check_max_iter(max_iter)
    max_fun = V.check_max_iter(max_fun, "max_fun")
    pgtol = V.check_tol(pgtol, "pgtol")
    warn = V.check_bool(warn, "warn")
    placement = _dispatch.place(a=a, b=b, M=M)
    a, b, M = _dispatch.host_copies(a, b, M)
    M = V.as_float_array(M, "M", ndim=2)
    ns, nt = M.shape
    out_dtype = V.result_dtype(M)
    a, b = V.check_balanced_weights(a, b, ns, nt)
    M = V.check_cost_matrix(M, a, b)
    V.check_finite(M, "M")
    ns_budget = _check_budget(ns_budget, "ns_budget", ns)
    nt_budget = _check_budget(nt_budget, "nt_budget", nt)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    K = np.exp(-np.asarray(M, dtype=np.float64) / reg)
    if uniform and not (np.all(a == a[0]) and np.all(b == b[0])):
        raise ValueError("uniform=True says a and b are uniform, but they are not; pass uniform=False")
    if ns_budget == ns and nt_budget == nt:
        Isel, Jsel = np.ones(ns, dtype=bool), np.ones(nt, dtype=bool)
        epsilon, kappa = 0.0, 1.0
        bounds_u, bounds_v = [(0.0, np.inf)] * ns, [(0.0, np.inf)] * nt
        vec_eps_IJc, vec_eps_IcJ = np.zeros(ns), np.zeros(nt)
        K_IJ = K
        cst_u = cst_v = 0.0
    else:
        Isel, Jsel, epsilon, kappa = _screen(a, b, K, ns_budget, nt_budget, uniform)
        ns_budget, nt_budget = int(Isel.sum()), int(Jsel.sum())
        K_IJ = np.ascontiguousarray(K[np.ix_(Isel, Jsel)])
        K_IcJ = K[np.ix_(~Isel, Jsel)]
        K_IJc = K[np.ix_(Isel, ~Jsel)]
        K_min = float(K_IJ.min()) if K_IJ.size else 0.0
        if K_min == 0.0:
            K_min = float(np.finfo(float).tiny)
        a_I, b_J = a[Isel], b[Jsel]
        a_min, a_max, b_min, b_max = a_I.min(), a_I.max(), b_J.min(), b_J.max()
        low_u = max(a_min / ((nt - nt_budget) * epsilon + nt_budget * (b_max / (ns * epsilon * kappa * K_min))),
                    epsilon / kappa)
        low_v = max(b_min / ((ns - ns_budget) * epsilon + ns_budget * (kappa * a_max / (nt * epsilon * K_min))),
                    epsilon * kappa)
        bounds_u = [(low_u, a_max / (nt * epsilon * K_min))] * ns_budget
        bounds_v = [(low_v, b_max / (ns * epsilon * K_min))] * nt_budget
        vec_eps_IJc = epsilon * kappa * K_IJc.sum(axis=1)
        vec_eps_IcJ = epsilon / kappa * K_IcJ.sum(axis=0)
        cst_u, cst_v = vec_eps_IJc, vec_eps_IcJ
    a_I, b_J = a[Isel], b[Jsel]
    n_chunks = 1 if K_IJ.size < PARALLEL_MIN_ENTRIES else 4 * _config.n_threads(n_threads)
    n_chunks = max(1, min(n_chunks, K_IJ.shape[0]))
    col_part = np.empty((n_chunks, K_IJ.shape[1]))
    u = np.full(ns_budget, 1.0 / ns_budget + epsilon / kappa)
    v = np.full(nt_budget, 1.0 / nt_budget + epsilon * kappa)

    def restricted_sinkhorn(u, v, iters=5):
        for _ in range(iters):
            v = b_J / (kappa * (K_IJ.T @ u + cst_v))
            u = kappa * a_I / (K_IJ @ v + cst_u)
        return np.maximum(u, epsilon / kappa), np.maximum(v, epsilon * kappa)

    def objective(theta):
        us, vs = theta[:ns_budget], theta[ns_budget:]
        uKv, Kv, Ktu = products(K_IJ, us, vs, n_chunks, col_part)
        value = (uKv - kappa * float(a_I @ np.log(us)) - float(b_J @ np.log(vs)) / kappa
                 + float(us @ vec_eps_IJc) + float(vec_eps_IcJ @ vs))
        grad = np.concatenate([Kv + vec_eps_IJc - kappa * a_I / us, Ktu + vec_eps_IcJ - b_J / (kappa * vs)])
        return value, grad

    from .api import _serial_blas

    with numba_threads(n_threads if n_chunks > 1 else None), _serial_blas():
        if restricted:  # Sinkhorn steps on the kept block before the shared ones below (POT's start)
            u, v = restricted_sinkhorn(u, v)
        u, v = restricted_sinkhorn(u, v)
        theta, _, info = fmin_l_bfgs_b(objective, np.concatenate([u, v]), bounds=bounds_u + bounds_v,
                                       maxfun=max_fun, pgtol=pgtol, maxiter=max_iter)
    u_full = np.full(ns, epsilon / kappa)
    v_full = np.full(nt, epsilon * kappa)
    u_full[Isel] = theta[:ns_budget]
    v_full[Jsel] = theta[ns_budget:]
    plan = u_full[:, None] * K * v_full[None, :]
    plan /= plan.sum()
    marginal_error = float(np.abs(plan.sum(axis=1) - a / a.sum()).sum()
                           + np.abs(plan.sum(axis=0) - b / b.sum()).sum())
    status = Status.OPTIMAL if info["warnflag"] == 0 else (
        Status.MAX_ITER_REACHED if info["warnflag"] == 1 else Status.NUMERICAL_ERROR)
    if not np.isfinite(plan).all():
        status = Status.NUMERICAL_ERROR
    if warn:
        warn_status(status, "screenkhorn", f"L-BFGS-B: {info.get('task', '')!s:.80}; {info['nit']} iterations",
                    stacklevel=4)
    value_linear = float(np.vdot(M, plan))
    result = OTResult(value=out_dtype.type(value_linear), value_linear=out_dtype.type(value_linear),
                      plan=plan.astype(out_dtype, copy=False), potential_a=u_full.astype(out_dtype),
                      potential_b=v_full.astype(out_dtype), status=status, n_iter=int(info["nit"]),
                      errors=np.array([marginal_error]), citation=_CITATION)
    details = {"u": u_full, "v": v_full, "Isel": Isel, "Jsel": Jsel, "epsilon": epsilon, "kappa": kappa,
               "marginal_error": marginal_error, "n_iter": int(info["nit"]), "status": status}
    return _dispatch.back_to_caller(placement, result), details


def screenkhorn(a, b, M, reg, ns_budget=None, nt_budget=None, uniform=False, restricted=True, *, max_iter=10000,
                max_fun=10000, pgtol=1e-9, log=False, n_threads=None, warn=True):
    """Approximate entropic OT by screening the dual (Screenkhorn): POT's ``ot.bregman.screenkhorn``.

    Keeps the ``ns_budget`` rows and ``nt_budget`` columns that the screening test of Alaya et al. (2019) finds
    active, fixes the other scalings at the screening threshold, solves the reduced dual by L-BFGS-B with box
    constraints, and returns ``diag(u) K diag(v)`` normalised to mass 1. An approximation of
    :func:`numbaot.sinkhorn`'s plan whose error is not set by a tolerance (see the module docstring): the log
    reports the L1 error of its marginals.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    M : array of shape (n, m)
        Finite costs.
    reg : float > 0
        Entropic regularisation (``K = exp(-M / reg)``: small reg underflows, as in POT).
    ns_budget, nt_budget : int, optional
        Rows and columns kept (default: half of each side). With ``n`` and ``m`` nothing is screened.
    uniform : bool
        Whether a and b are uniform (a shortcut of the screening test; checked).
    restricted : bool
        Start L-BFGS-B from a few Sinkhorn iterations on the kept block (POT's default) rather than from constants.
    max_iter, max_fun, pgtol
        L-BFGS-B's iteration and evaluation caps and its projected-gradient tolerance (POT's ``maxiter``,
        ``maxfun``, ``pgtol``); stopping at a cap gives a ConvergenceWarning.
    log : bool
        Also return a dict: 'u', 'v' (the scalings), 'Isel', 'Jsel' (the kept rows and columns), 'epsilon',
        'kappa', 'marginal_error', 'n_iter', 'status'.
    n_threads : int, optional
        Threads of the kernel pass (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when L-BFGS-B stopped abnormally or at a cap.

    Returns
    -------
    plan : array of shape (n, m)
        Of total mass 1.
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.array([[0.0], [0.4], [1.7], [3.0], [3.1], [6.0]])
    >>> M = numbaot.dist(x, x)
    >>> P, log = numbaot.screenkhorn(None, None, M, 1.0, ns_budget=3, nt_budget=3, log=True)
    >>> log["Isel"], round(float(P.sum()), 6)
    (array([ True, False,  True, False, False,  True]), 1.0)
    """
    log = V.check_bool(log, "log")
    result, details = solve_screenkhorn(a, b, M, reg, ns_budget, nt_budget, uniform, restricted, max_iter=max_iter,
                                        max_fun=max_fun, pgtol=pgtol, n_threads=n_threads, warn=warn)
    return (result.plan, details) if log else result.plan
