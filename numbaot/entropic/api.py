"""Entropic OT front-ends: :func:`sinkhorn` (the plan), :func:`sinkhorn2` (``<P, M>``), and the solver behind
``numbaot.solve(M, a, b, reg=...)``.

Only the log-domain method ("sinkhorn_log") exists in this version: it is stable for any ``reg`` (no overflow
of scalings, no zero plan at small ``reg``) and the one the other methods will be measured against.
"""
from __future__ import annotations

import numpy as np

from .. import _device, _validation as V
from .._result import OTResult
from .._status import Status, warn_status

METHODS = ("sinkhorn_log",)


def _check_method(method):
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {METHODS}, got {method!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} in this version, got {method!r}")


def _solve_entropic(M, a, b, reg, method, max_iter, tol, check_every, potentials_init, n_threads, warn):
    """Validate, run the log-domain core, and wrap the answer (plan, values, potentials, status, errors)."""
    from ..utils import _run_parallel
    from ._sinkhorn_log import plan_from_potentials, sinkhorn_log_core

    _check_method(method)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    check_every = V.check_max_iter(check_every, "check_every")
    if _device.where(M=M, a=a, b=b) == _device.CUDA:
        raise ValueError("the Sinkhorn solvers take host arrays in this version; copy the inputs to the host first")
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    if a is not None and np.ndim(a) != 1 or b is not None and np.ndim(b) != 1:
        raise ValueError("a and b must be 1-D weight vectors (several targets at once are not available yet)")
    a, b = V.check_balanced_weights(a, b, n, m)
    M = V.check_cost_matrix(M, a, b)
    out_dtype = V.result_dtype(M)
    C = M.astype(np.float64, copy=False)
    CT = np.ascontiguousarray(C.T)  # the column half-step reads rows of C^T: contiguous, like the row half-step
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum, as it should
        log_a = np.log(a.astype(np.float64))
        log_b = np.log(b.astype(np.float64))
    if potentials_init is None:
        f, g = np.zeros(n), np.zeros(m)
    else:
        if not isinstance(potentials_init, (tuple, list)) or len(potentials_init) != 2:
            raise TypeError("potentials_init must be a pair (f, g) of arrays of shapes (n,) and (m,)")
        f = V.as_float_array(potentials_init[0], "potentials_init[0]", ndim=1).astype(np.float64)
        g = V.as_float_array(potentials_init[1], "potentials_init[1]", ndim=1).astype(np.float64)
        if f.shape != (n,) or g.shape != (m,):
            raise ValueError(f"potentials_init has shapes {f.shape} and {g.shape}; they must be ({n},) and ({m},)")
        V.check_finite(f, "potentials_init[0]")
        V.check_finite(g, "potentials_init[1]")
    errors = np.empty(max_iter // check_every + 1)
    status, n_iter, n_errors = _run_parallel(sinkhorn_log_core, n_threads, C, CT, log_a, log_b, reg, f, g,
                                             max_iter, tol, check_every, errors)
    if warn:
        detail = f"marginal error {errors[n_errors - 1]:.3g} > tol {tol:g} after {n_iter} iterations" \
            if n_errors else f"{n_iter} iterations"
        warn_status(status, f"sinkhorn ({method})", detail, stacklevel=4)
    plan = np.empty((n, m))
    _run_parallel(plan_from_potentials, n_threads, C, log_a, log_b, f, g, reg, plan)
    with np.errstate(divide="ignore", invalid="ignore"):
        value_linear = float(np.sum(np.where(plan > 0, plan * C, 0.0)))  # 0 * inf (forbidden arcs) counts as 0
        q = np.outer(a, b)
        kl = float(np.sum(np.where(plan > 0, plan * np.log(plan / q), 0.0)) - plan.sum() + q.sum())
    return OTResult(
        value=out_dtype.type(value_linear + reg * kl),
        value_linear=out_dtype.type(value_linear),
        plan=plan.astype(out_dtype, copy=False),
        potential_a=f.astype(out_dtype),
        potential_b=g.astype(out_dtype),
        status=Status(status),
        n_iter=n_iter,
        errors=errors[:n_errors].copy(),
    )


def sinkhorn(a, b, M, reg, method="sinkhorn_log", max_iter=1000, tol=1e-9, check_every=10, potentials_init=None,
             n_threads=None, warn=True):
    """Entropic OT plan by Sinkhorn's algorithm in the log domain (POT's ``ot.sinkhorn``).

    Solves ``min <P, M> + reg * KL(P | a b^T)`` over plans with marginals a and b.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass; zero weights are allowed.
    M : array of shape (n, m)
        Costs; ``+inf`` marks a forbidden arc.
    reg : float > 0
        Entropic regularisation (``reg = 0`` is exact OT: use :func:`numbaot.emd`).
    method : {'sinkhorn_log'}
        Log-domain Sinkhorn: stable for any reg, including reg = 1e-3 * max(M) where scaling-domain methods
        overflow.
    max_iter : int
        Maximum number of iterations (each a row and a column update).
    tol : float >= 0
        Stop when the L1 error of the column marginals is at most tol (checked every ``check_every`` iterations).
    check_every : int
        Iterations between two checks of the marginal error (each check is cheap: it reuses the update).
    potentials_init : pair of arrays, optional
        Warm start from duals ``(f, g)``, e.g. those of a nearby problem.
    n_threads : int, optional
        Threads (default: Numba's thread count); rows are updated in parallel.
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL (max_iter reached, or NaN/inf).

    Returns
    -------
    plan : array of shape (n, m)
        In M's dtype; use :func:`numbaot.solve` for potentials, status and the error history.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1).round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    return _solve_entropic(M, a, b, reg, method, max_iter, tol, check_every, potentials_init, n_threads,
                           warn).plan


def sinkhorn2(a, b, M, reg, method="sinkhorn_log", max_iter=1000, tol=1e-9, check_every=10,
              potentials_init=None, n_threads=None, warn=True):
    """Entropic OT cost ``<P, M>`` of the Sinkhorn plan (POT's ``ot.sinkhorn2``); parameters as :func:`sinkhorn`.

    Examples
    --------
    >>> import numbaot
    >>> float(numbaot.sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1))  # doctest: +ELLIPSIS
    4.5397868...e-05
    """
    return _solve_entropic(M, a, b, reg, method, max_iter, tol, check_every, potentials_init, n_threads,
                           warn).value_linear
