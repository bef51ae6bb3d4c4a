"""Smooth and sparse OT front-ends (Blondel, Seguy and Rolet 2018): :func:`smooth_ot_dual`,
:func:`smooth_ot_semi_dual` (POT's ``ot.smooth`` verbs), and the solver behind ``numbaot.solve(reg_type="L2")``.

The (semi-)dual is maximised by scipy's L-BFGS-B on our compiled objective and gradient (``smooth._dual``: one
parallel pass over the costs per evaluation, per-thread row buffers reduced serially); the plan is read off the
optimal potentials. Squared-L2 and sparsity-constrained plans are sparse: their support size is reported.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._result import OTResult
from .._status import Status, warn_status

REG_TYPES = {"l2": 0, "squaredl2": 0, "kl": 1, "entropic": 1, "negentropy": 1, "sparsity_constrained": 2,
             "sparsity-constrained": 2}
_CITATION = ("Blondel, Seguy, Rolet (2018). Smooth and Sparse Optimal Transport. AISTATS")
#: Below this many cost entries the passes run on one thread (a parallel region's start-up outweighs them).
PARALLEL_MIN_ENTRIES = 1 << 15


def check_reg_type(reg_type):
    if not isinstance(reg_type, str):
        raise TypeError(f"reg_type must be a string, one of 'l2', 'kl', 'sparsity_constrained'; got {reg_type!r}")
    kind = REG_TYPES.get(reg_type.lower())
    if kind is None:
        raise ValueError(f"unknown reg_type {reg_type!r}; choose 'l2' (squared L2), 'kl' (negentropy) or "
                         "'sparsity_constrained'")
    return kind


def _check_max_nz(max_nz, kind, n):
    if kind != 2:
        return n
    if max_nz is None:
        raise ValueError("reg_type='sparsity_constrained' needs max_nz, the most non-zeros per column of the plan")
    if isinstance(max_nz, bool) or not isinstance(max_nz, numbers.Integral):
        raise TypeError(f"max_nz must be a positive integer, got {max_nz!r}")
    if max_nz < 1:
        raise ValueError(f"max_nz must be >= 1, got {max_nz}")
    return int(min(max_nz, n))


def _check_method(method):
    if method is None:
        return "L-BFGS-B"
    if not isinstance(method, str):
        raise TypeError(f"method must be a scipy.optimize.minimize method name, got {method!r}")
    if method.upper() not in ("L-BFGS-B", "BFGS", "CG", "TNC", "SLSQP"):
        raise ValueError(f"method must be a gradient-based scipy.optimize.minimize method ('L-BFGS-B', 'BFGS', 'CG', "
                         f"'TNC', 'SLSQP'), got {method!r}")
    return method


def solve_smooth(a, b, M, reg, reg_type="l2", *, semi=False, max_nz=None, method="L-BFGS-B", tol=1e-9,
                 max_iter=500, n_threads=None, warn=True, solver="smooth_ot_dual"):
    """Validate, maximise the dual (or semi-dual), recover the plan: an :class:`OTResult` and the support size."""
    kind = check_reg_type(reg_type)
    reg = V.check_reg(reg)
    tol = V.check_tol(tol)
    max_iter = V.check_max_iter(max_iter)
    warn = V.check_bool(warn, "warn")
    method = _check_method(method)
    placement = _dispatch.place(a=a, b=b, M=M)
    a, b, M = _dispatch.host_copies(a, b, M)
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    out_dtype = V.result_dtype(M)
    a, b = V.check_balanced_weights(a, b, n, m)
    M = V.check_cost_matrix(M, a, b)
    V.check_finite(M, "M")
    max_nz = _check_max_nz(max_nz, kind, n)
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    CT = np.ascontiguousarray(M.T, dtype=np.float64)
    answer = _solve(a, b, CT, reg, kind, max_nz, semi, method, tol, max_iter, n_threads, out_dtype)
    if warn:
        warn_status(answer.status, solver, f"{answer.n_iter} {method} iterations, L1 marginal error "
                    f"{answer.errors[-1]:.3g}", stacklevel=4)
    answer.result = _dispatch.back_to_caller(placement, answer.result)
    return answer


def _solve(a, b, CT, gamma, kind, max_nz, semi, method, tol, max_iter, n_threads, out_dtype):
    from scipy.optimize import minimize

    from .._threads import numba_threads, short_region_threads
    from . import _dual as D

    m, n = CT.shape
    threads = _config.n_threads(n_threads)
    n_chunks = 1 if n * m < PARALLEL_MIN_ENTRIES else min(threads * 4, m)
    row_part = np.empty((n_chunks, n))
    empty_plan = np.empty((0, n))
    if semi:
        vals = np.empty(m)

        def fun(x):
            grad = np.empty(n)
            obj = D.semi_dual_obj_grad(x, a, b, CT, gamma, kind, max_nz, n_chunks, row_part, vals, grad,
                                       empty_plan)
            return obj, grad

        x0 = np.zeros(n)
    else:
        obj_part = np.empty(n_chunks)

        def fun(x):
            grad = np.empty(n + m)
            obj = D.dual_obj_grad(x[:n], x[n:], a, b, CT, gamma, kind, max_nz, n_chunks, row_part, obj_part, grad)
            return obj, grad

        x0 = np.zeros(n + m)
    # one short region per evaluation; the chunking is fixed by `threads` above, whatever runs it
    with numba_threads(short_region_threads(threads) if n_chunks > 1 else None), _serial_blas():
        res = minimize(fun, x0, jac=True, method=method, tol=tol, options=dict(maxiter=max_iter))
        plan_T = np.empty((m, n))
        alpha = np.ascontiguousarray(res.x[:n])
        if semi:
            grad = np.empty(n)
            obj = D.semi_dual_obj_grad(alpha, a, b, CT, gamma, kind, max_nz, n_chunks, row_part, vals, grad, plan_T)
            beta = -vals
        else:
            beta = np.ascontiguousarray(res.x[n:])
            obj = D.dual_obj_grad(alpha, beta, a, b, CT, gamma, kind, max_nz, n_chunks, row_part, obj_part,
                                  np.empty(n + m))
            D.dual_plan(alpha, beta, CT, gamma, kind, max_nz, n_chunks, plan_T)
    plan = plan_T.T
    dual_value = -float(obj)
    value_linear = float(np.vdot(CT, plan_T))
    if kind == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            reg_value = gamma * float(np.sum(np.where(plan_T > 0, plan_T * np.log(np.where(plan_T > 0, plan_T, 1)),
                                                      0.0)))
    else:
        reg_value = 0.5 * gamma * float(np.vdot(plan_T, plan_T))
    marginal_error = float(np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan_T.sum(axis=1) - b).sum())
    status = _status(res, marginal_error, tol, float(a.sum()), dual_value, value_linear + reg_value)
    support = int(np.count_nonzero(plan_T))
    if kind != 1 and support < 0.5 * n * m:
        rows, cols = np.nonzero(plan)
        extra = dict(plan_coo=(rows, cols, plan[rows, cols].astype(out_dtype)), shape=(n, m))
    else:
        extra = dict(plan=np.ascontiguousarray(plan, dtype=out_dtype))
    result = OTResult(value=out_dtype.type(value_linear + reg_value), value_linear=out_dtype.type(value_linear),
                      potential_a=alpha.astype(out_dtype), potential_b=beta.astype(out_dtype), status=status,
                      n_iter=int(res.nit), errors=np.array([marginal_error]), citation=_CITATION, **extra)
    return _Answer(result, support, dual_value, res)


def _serial_blas():
    """BLAS on one thread while scipy's optimiser runs, when threadpoolctl is installed (a no-op otherwise).

    scipy's L-BFGS-B makes many tiny BLAS calls (vectors of n + m entries) per iteration; OpenBLAS's threads cost
    more than they save there, and far more on a busy machine: at n + m = 2000 one ``setulb`` call took 5-8 ms with
    the default threads and ~0.1 ms with one (scipy 1.17, 2 busy cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _Answer:
    """An OTResult plus what the log reports (support size, dual value, scipy's result); attributes delegate."""

    def __init__(self, result, support, dual_value, res):
        self.result, self.support, self.dual_value, self.res = result, support, dual_value, res

    def __getattr__(self, name):
        return getattr(self.result, name)


def _status(res, marginal_error, tol, mass, dual_value, primal_value):
    """OPTIMAL when scipy converged, or when its line search could not progress (float precision) at a point whose
    marginals and duality gap are already tight; MAX_ITER_REACHED when it ran out of iterations."""
    if not (math.isfinite(dual_value) and math.isfinite(primal_value)):
        return Status.NUMERICAL_ERROR
    if res.success:
        return Status.OPTIMAL
    if getattr(res, "nit", 0) >= 1 and "ITERATIONS" in str(res.message).upper():
        return Status.MAX_ITER_REACHED
    scale = max(abs(primal_value), 1e-300)
    if marginal_error <= max(1e3 * tol, 1e-6) * mass and abs(primal_value - dual_value) <= 1e-6 * scale:
        return Status.OPTIMAL
    return Status.MAX_ITER_REACHED


def _log(answer):
    return {"alpha": answer.potential_a, "beta": answer.potential_b, "res": answer.res, "n_iter": answer.n_iter,
            "status": answer.status, "support_size": answer.support, "dual_value": answer.dual_value,
            "value": answer.value, "marginal_error": float(answer.errors[-1])}


def smooth_ot_dual(a, b, M, reg, reg_type="l2", *, method="L-BFGS-B", tol=1e-9, max_iter=500, max_nz=None,
                   log=False, n_threads=None, warn=True):
    """Smooth (and sparse) OT by its dual: POT's ``ot.smooth.smooth_ot_dual`` (Blondel et al. 2018).

    Solves ``min_T <M, T> + Omega(T)`` over plans with marginals a and b by maximising the smoothed dual
    ``<alpha, a> + <beta, b> - sum_ij delta(alpha_i + beta_j - M_ij)`` with L-BFGS-B; the plan is
    ``delta'(alpha_i + beta_j - M_ij)``. The squared L2 regulariser gives sparse plans.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    M : array of shape (n, m)
        Finite costs.
    reg : float > 0
        The regulariser's weight gamma.
    reg_type : {'l2', 'kl', 'sparsity_constrained'}
        ``gamma/2 |T|^2`` ('l2', also 'squaredl2'), ``gamma sum T log T`` ('kl', also 'entropic',
        'negentropy'), or squared L2 with at most ``max_nz`` non-zeros per column ('sparsity_constrained').
    method : str
        scipy.optimize.minimize's method (default 'L-BFGS-B').
    tol : float >= 0
        scipy's tolerance (POT's ``stopThr``).
    max_iter : int
        Maximum iterations of the optimiser (POT's ``numItermax``); reaching it gives a ConvergenceWarning.
    max_nz : int, optional
        The most non-zeros per column, for 'sparsity_constrained'.
    log : bool
        Also return a dict: 'alpha', 'beta' (the potentials), 'res' (scipy's result), 'support_size' (the plan's
        non-zeros), 'dual_value', 'value' (the primal objective of the plan), 'marginal_error', 'status'.
    n_threads : int, optional
        Threads of the objective's passes (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        In the dtype of M. CUDA inputs are solved on host copies and the plan returns to the device.
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> numbaot.smooth_ot_dual([0.5, 0.5], [0.5, 0.5], M, 0.1).round(6)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    log = V.check_bool(log, "log")
    answer = solve_smooth(a, b, M, reg, reg_type, max_nz=max_nz, method=method, tol=tol, max_iter=max_iter,
                          n_threads=n_threads, warn=warn, solver="smooth_ot_dual")
    return (answer.plan, _log(answer)) if log else answer.plan


def smooth_ot_semi_dual(a, b, M, reg, reg_type="l2", max_nz=None, *, method="L-BFGS-B", tol=1e-9, max_iter=500,
                        log=False, n_threads=None, warn=True):
    """Smooth (and sparse) OT by its semi-dual: POT's ``ot.smooth.smooth_ot_semi_dual`` (Blondel et al. 2018).

    Maximises ``<alpha, a> - sum_j b_j maxOmega(alpha - M_j)`` with L-BFGS-B; column j of the plan is b_j times
    the regularised argmax over the simplex (a Euclidean projection onto the simplex for 'l2': sparse). The
    columns sum to b exactly, the rows to a at the optimiser's tolerance.

    Parameters
    ----------
    a, b, M, reg, reg_type, max_nz, method, tol, max_iter, n_threads, warn
        As in :func:`smooth_ot_dual`.
    log : bool
        Also return a dict as :func:`smooth_ot_dual` does ('beta' is the smoothed c-transform of alpha).

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> numbaot.smooth_ot_semi_dual([0.5, 0.5], [0.5, 0.5], M, 0.1).round(6)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    log = V.check_bool(log, "log")
    answer = solve_smooth(a, b, M, reg, reg_type, semi=True, max_nz=max_nz, method=method, tol=tol,
                          max_iter=max_iter, n_threads=n_threads, warn=warn, solver="smooth_ot_semi_dual")
    return (answer.plan, _log(answer)) if log else answer.plan
