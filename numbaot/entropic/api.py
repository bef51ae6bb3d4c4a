"""Entropic OT front-ends: :func:`sinkhorn` (the plan), :func:`sinkhorn2` (``<P, M>``), and the solver behind
``numbaot.solve(M, a, b, reg=...)``.

Five methods share one front-end (validation, warm start, values, OTResult): the log-domain "sinkhorn_log" (the
default: stable for any ``reg``) and its "sinkhorn_epsilon_scaling" schedule (``_sinkhorn_log``), and the
scaling-domain "sinkhorn", "sinkhorn_stabilized" and "greenkhorn" (``_sinkhorn_scaling``). Every method returns
its answer as potentials ``(f, g)`` in one convention, ``P = a b^T exp((f + g - M) / reg)``, from which the plan
is built.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import _dispatch, _validation as V
from .._defaults import CHECK_EVERY, FLOAT32_TOL, MAX_ITER, TOL
from .._result import OTResult
from .._status import Status, warn_status
from ._options import SinkhornOptions
from .unbalanced import solve_on_device as solve_dense_on_device

METHODS = ("sinkhorn_log", "sinkhorn", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling", "greenkhorn")

# epsilon scaling: eps starts at the spread of the costs and is divided by this factor per stage ...
_EPS_SCALING_FACTOR = 2.0
# ... each intermediate stage stopping at this marginal error (or the caller's tol, if looser) or this many
# iterations: only the final stage, at the caller's reg, needs to converge.
_EPS_STAGE_TOL = 1e-3
_EPS_STAGE_ITER = 100
# the methods that run the log-domain loop on the dense geometry (float32 costs iterated in float32)
_DENSE_LOG_METHODS = ("sinkhorn_log", "sinkhorn_epsilon_scaling")


def _check_method(method):
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {METHODS}, got {method!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def sinkhorn_options(reg, method, max_iter, tol, check_every, reg_type="kl") -> SinkhornOptions:
    """The checked scalars of a balanced entropic solve, built once by the front-end (before any array is read)
    and handed down unchanged to :func:`solve_entropic` or :func:`solve_on_device`."""
    _check_method(method)
    reg_type = V.check_reg_type(reg_type)
    return SinkhornOptions(V.check_reg(reg), math.inf, math.inf, method, reg_type, V.check_max_iter(max_iter),
                           V.check_tol(tol), V.check_max_iter(check_every, "check_every"))


def _float32_options(opts, dtype) -> SinkhornOptions:
    """``opts`` with ``tol`` raised to ``FLOAT32_TOL`` for costs of ``dtype`` float32 under the methods that iterate
    them in float32 on the CPU (the log-domain ones; the others convert to float64): below it float32 rounding, not
    the iteration, sets the error. The GPU loop (log domain) accumulates in float64 but takes the same stop, so that
    one call gives the same iterations on either device."""
    if np.dtype(dtype) == np.float32 and opts.method in _DENSE_LOG_METHODS and opts.tol < FLOAT32_TOL:
        return opts._replace(tol=FLOAT32_TOL)
    return opts


def _validate(M, a, b, allow_targets):
    """The array checks of the entropic front-ends (the scalars are :func:`sinkhorn_options`'), before any jitted
    code runs. Returns the checked arrays."""
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    if a is not None and np.ndim(a) != 1:
        raise ValueError(f"a must be a 1-D weight vector of shape ({n},), got {np.ndim(a)} dimensions")
    if b is not None and np.ndim(b) == 2 and allow_targets:
        b = V.as_float_array(b, "b", ndim=2)
        if b.shape[0] != m or b.shape[1] == 0:
            raise ValueError(f"b of shape {b.shape} must be (m, k) = ({m}, k) with k >= 1 targets, one per column")
        targets = [V.check_balanced_weights(a, np.ascontiguousarray(b[:, k]), n, m) for k in range(b.shape[1])]
        a = targets[0][0]
        b = np.stack([t[1] for t in targets], axis=1)
    elif b is not None and np.ndim(b) != 1:
        raise ValueError(f"b must be a 1-D weight vector of shape ({m},)"
                         + (" or (m, k) for k targets" if allow_targets else "") + f", got {np.ndim(b)} dimensions")
    else:
        a, b = V.check_balanced_weights(a, b, n, m)
    M = V.check_cost_matrix(M, a, b if b.ndim == 1 else b.max(axis=1))
    return M, a, b


def solve_entropic(M, a, b, opts, potentials_init=None, n_threads=None, warn=True):
    """Validate the arrays, run the method's core with the options ``opts`` (from :func:`sinkhorn_options`), and
    wrap the answer (plan, values, potentials, status, errors)."""
    M, a, b = _validate(M, a, b, allow_targets=False)
    f, g = V.check_potentials_init(potentials_init, *M.shape)
    return _run(M, a, b, opts, f, g, n_threads, warn)


def _run(M, a, b, opts, f, g, n_threads, warn):
    """Solve one checked problem from the potentials ``(f, g)`` and wrap it in an OTResult."""
    from .._threads import run_parallel, run_short_regions
    from ._sinkhorn_log import NUMPY_PLAN_MAX, plan_and_values, plan_and_values_numpy

    n, m = M.shape
    out_dtype = V.result_dtype(M)
    # float32 costs are iterated in float32 by the log-domain methods (half the memory traffic, twice the SIMD
    # width); everything else runs in float64
    C = M if M.dtype == np.float32 else M.astype(np.float64, copy=False)
    opts = _float32_options(opts, C.dtype)
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum, as it should
        log_a = np.log(a.astype(np.float64))
        log_b = np.log(b.astype(np.float64))
    errors = np.empty(opts.max_iter // opts.check_every + 2)
    args = (C, a.astype(np.float64), b.astype(np.float64), log_a, log_b, f, g, opts, errors)
    # the log-domain loop's half-steps are short regions with rows computed on their own (see run_short_regions)
    run_core = run_short_regions if opts.method in _DENSE_LOG_METHODS else run_parallel
    status, n_iter, n_errors = run_core(_CORES[opts.method], n_threads, *args)
    if warn:
        detail = f"marginal error {errors[n_errors - 1]:.3g} > tol {opts.tol:g} after {n_iter} iterations" \
            if n_errors else f"{n_iter} iterations"
        warn_status(status, f"sinkhorn ({opts.method})", detail, stacklevel=5)
    plan = np.empty((n, m), dtype=out_dtype)
    entropy = opts.reg_type == "entropy"
    if n * m <= NUMPY_PLAN_MAX:
        value_linear, reg_value = plan_and_values_numpy(C, log_a, log_b, f, g, opts.reg, entropy, plan)
    else:
        value_linear, reg_value = run_parallel(plan_and_values, n_threads, C, log_a, log_b, f, g, opts.reg,
                                               entropy, plan)
    return OTResult(
        value=out_dtype.type(value_linear + opts.reg * reg_value),
        value_linear=out_dtype.type(value_linear),
        plan=plan,
        potential_a=f.astype(out_dtype),
        potential_b=g.astype(out_dtype),
        status=Status(status),
        n_iter=n_iter,
        errors=errors[:n_errors].copy(),
    )


# ---- one driver per method: (C, a, b, log_a, log_b, f, g, opts, errors) -> (status, n_iter, n_errors), with
# opts a SinkhornOptions (eps = opts.reg), leaving the final potentials in f and g (the log core's convention
# P = a b^T exp((f + g - C) / eps)). The scaling-domain drivers work on the positive-weight rows and columns
# only (a zero weight would make a zero scaling and log 0 potentials) and give the others feasible potentials.


def _log(C, a, b, log_a, log_b, f, g, opts, errors):
    from ._loop import control, dense_geometry, run_single
    from ._rules import rule_for

    return run_single(dense_geometry(C), log_a, log_b, f, g, errors, rule_for(opts.reg, math.inf, math.inf),
                      control(opts.max_iter, opts.tol, opts.check_every))


def _epsilon_scaling(C, a, b, log_a, log_b, f, g, opts, errors):
    """Log-domain Sinkhorn along eps = spread(C), spread / 2, ... down to eps, warm-starting each stage (no
    schedule when given a warm start)."""
    from .._status import OPTIMAL
    from ._loop import control, dense_geometry, run_single
    from ._rules import rule_for
    from ._schedules import halving_schedule

    eps, max_iter, tol, check_every = opts.reg, opts.max_iter, opts.tol, opts.check_every
    geom = dense_geometry(C)
    finite = C[np.isfinite(C)]
    spread = float(finite.max() - finite.min())
    # a warm start (potentials not all zero) is taken to be near the answer at eps: annealing would discard it
    stages = [] if np.any(f) or np.any(g) else halving_schedule(spread, eps, _EPS_SCALING_FACTOR)
    n_iter = n_errors = 0
    stage_errors = np.empty(_EPS_STAGE_ITER // check_every + 2)
    for stage_eps in stages:
        budget = min(_EPS_STAGE_ITER, max_iter - n_iter - 1)
        if budget < 1:
            break
        status, k, _ = run_single(geom, log_a, log_b, f, g, stage_errors, rule_for(stage_eps, math.inf, math.inf),
                                  control(budget, max(tol, _EPS_STAGE_TOL), check_every))
        n_iter += k
        if status not in (OPTIMAL, 1):  # NaN at an intermediate stage: report it
            return status, n_iter, 0
    status, k, n_errors = run_single(geom, log_a, log_b, f, g, errors, rule_for(eps, math.inf, math.inf),
                                     control(max_iter - n_iter, tol, check_every))
    return status, n_iter + k, n_errors


def _positive_part(C, a, b, f, g):
    """Indices of the positive weights, and C restricted to them (a view when every weight is positive)."""
    rows, cols = np.flatnonzero(a > 0), np.flatnonzero(b > 0)
    if rows.size == a.size and cols.size == b.size:
        return rows, cols, np.ascontiguousarray(C, dtype=np.float64)
    return rows, cols, np.ascontiguousarray(C[np.ix_(rows, cols)], dtype=np.float64)


def _complete_potentials(C, log_a, log_b, eps, f, g, rows, cols):
    """Give zero-weight rows and columns the log-domain potentials (each one a half-step from the others)."""
    from ._sinkhorn_log import host_half_step as half_step

    if rows.size < f.size:
        zero = np.setdiff1d(np.arange(f.size), rows)
        out = np.zeros(zero.size)
        half_step(np.ascontiguousarray(C[zero]), log_b, g, eps, out, out)
        f[zero] = out
    if cols.size < g.size:
        zero = np.setdiff1d(np.arange(g.size), cols)
        out = np.zeros(zero.size)
        half_step(np.ascontiguousarray(C[:, zero].T), log_a, f, eps, out, out)
        g[zero] = out


def _scaling(C, a, b, log_a, log_b, f, g, opts, errors):
    """Plain Sinkhorn on K = exp(-C / eps)."""
    from .._threads import run_short_regions
    from ._sinkhorn_scaling import sinkhorn_scaling_core

    chunks = numba.get_num_threads()  # the caller's count: fixes the chunking, whatever runs it (busy machine)
    return _on_scalings(lambda K, a, b, u, v: run_short_regions(sinkhorn_scaling_core, chunks, K, a, b, u, v,
                                                                opts.max_iter, opts.tol, opts.check_every, errors,
                                                                chunks),
                        C, a, b, log_a, log_b, opts.reg, f, g)


def _on_scalings(core, C, a, b, log_a, log_b, eps, f, g):
    """Run a scaling-domain ``core(K, a, b, u, v)`` on the positive-weight part, K = exp(-C / eps), from the
    scalings of the potentials (u = a exp(f / eps), v = b exp(g / eps)), and turn its scalings back into f, g."""
    from ._sinkhorn_scaling import gibbs_kernel

    rows, cols, Cp = _positive_part(C, a, b, f, g)
    K = np.empty(Cp.shape)
    gibbs_kernel(Cp, np.zeros(rows.size), np.zeros(cols.size), eps, K, numba.get_num_threads())
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        u = a[rows] * np.exp(f[rows] / eps)
        v = b[cols] * np.exp(g[cols] / eps)
    status, n_iter, n_errors = core(K, a[rows], b[cols], u, v)
    with np.errstate(divide="ignore", invalid="ignore"):
        f[rows] = eps * (np.log(u) - log_a[rows])
        g[cols] = eps * (np.log(v) - log_b[cols])
    _complete_potentials(C, log_a, log_b, eps, f, g, rows, cols)
    return status, n_iter, n_errors


def _stabilized(C, a, b, log_a, log_b, f, g, opts, errors):
    """Sinkhorn with absorption of large scalings into the potentials (and log-domain rescue of underflow).

    The column rescue reads C^T as a strided view: it is rare, and a contiguous copy would add n m floats to the
    n m of C and of K for the whole solve."""
    from ._sinkhorn_scaling import sinkhorn_stabilized_core

    eps = opts.reg
    rows, cols, Cp = _positive_part(C, a, b, f, g)
    alpha = f[rows] + eps * log_a[rows]
    beta = g[cols] + eps * log_b[cols]
    K = np.empty(Cp.shape)
    status, n_iter, n_errors = sinkhorn_stabilized_core(Cp, Cp.T, a[rows], b[cols],
                                                        log_a[rows], log_b[cols], eps, alpha, beta, K,
                                                        opts.max_iter, opts.tol, opts.check_every, errors,
                                                        numba.get_num_threads())
    f[rows] = alpha - eps * log_a[rows]
    g[cols] = beta - eps * log_b[cols]
    _complete_potentials(C, log_a, log_b, eps, f, g, rows, cols)
    return status, n_iter, n_errors


def _greenkhorn(C, a, b, log_a, log_b, f, g, opts, errors):
    """Greenkhorn on K = exp(-C / eps): one row or column rescaled per update; ``max_iter``, ``check_every`` and
    the ``n_iter`` returned count iterations of n + m updates (a Sinkhorn iteration's work). In single updates, the
    shared defaults would stop every ordinary problem unconverged (1000 updates: under two sweeps at n = 300) and
    recompute the exact marginals, O(n m), every 10 updates of O(n)."""
    from ._loop import transposed
    from ._sinkhorn_scaling import greenkhorn_core

    def run(K, a, b, u, v):
        sweep = K.shape[0] + K.shape[1]
        status, updates, n_errors = greenkhorn_core(K, transposed(K), a, b, u, v, opts.max_iter * sweep, opts.tol,
                                                    opts.check_every * sweep, errors)
        return status, -(-updates // sweep), n_errors

    return _on_scalings(run, C, a, b, log_a, log_b, opts.reg, f, g)


_CORES = {"sinkhorn_log": _log, "sinkhorn": _scaling, "sinkhorn_stabilized": _stabilized,
          "sinkhorn_epsilon_scaling": _epsilon_scaling, "greenkhorn": _greenkhorn}


def solve_on_device(placement, M, a, b, opts, potentials_init, warn, stacklevel=6):
    """Balanced entropic OT of CUDA arrays by the GPU driver (log domain, one target): the scalars are checked in
    ``opts`` (:func:`sinkhorn_options`), the arrays by the device dispatch steps (``unbalanced.device_dense_inputs``)
    with the host's rules and messages, before the driver."""
    if b is not None and len(b.shape) != 1:
        raise ValueError("several targets (b of shape (m, k)) run on the host only in this version; on the GPU "
                         "solve one target at a time, or use numbaot.solve_batch")
    opts = _float32_options(opts, M.dtype)  # the host's stop, so both give the same iterations (cuda tests)
    return solve_dense_on_device(placement, M, a, b, opts, potentials_init, V.check_bool(warn, "warn"), batch=False,
                                 stacklevel=stacklevel)


def _solve_targets(M, a, b, opts, potentials_init, n_threads, warn):
    """sinkhorn/sinkhorn2 front: one OTResult per target (b of shape (m, k)), or one for a 1-D b."""
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return solve_on_device(placement, M, a, b, opts, potentials_init, warn, stacklevel=7)
    M, a, b = _validate(M, a, b, allow_targets=True)
    n, m = M.shape
    if b.ndim == 1:
        f, g = V.check_potentials_init(potentials_init, n, m)
        return _run(M, a, b, opts, f, g, n_threads, warn)
    results = []
    for k in range(b.shape[1]):
        f, g = V.check_potentials_init(potentials_init, n, m)
        results.append(_run(M, a, np.ascontiguousarray(b[:, k]), opts, f, g, n_threads, warn))
    return results


def sinkhorn(a, b, M, reg, *, method="sinkhorn_log", max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY,
             potentials_init=None, n_threads=None, warn=True):
    """Entropic OT plan by Sinkhorn's algorithm (POT's ``ot.sinkhorn``).

    Solves ``min <P, M> + reg * KL(P | a b^T)`` over plans with marginals a and b.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass; zero weights are allowed. ``b`` may be of shape (m, k):
        k target histograms solved one after the other against the same a and M.
    M : array of shape (n, m)
        Costs; ``+inf`` marks a forbidden arc. float32 costs are iterated in float32 by the log-domain methods.
    reg : float > 0
        Entropic regularisation (``reg = 0`` is exact OT: use :func:`numbaot.emd`).
    method : str
        * ``'sinkhorn_log'`` (default): log-domain updates; stable for any reg, e.g. reg = 1e-3 * max(M).
        * ``'sinkhorn'``: scaling-domain updates on ``K = exp(-M / reg)``, the fastest per iteration; fails (status
          NUMERICAL_ERROR) once ``M / reg`` exceeds about 700, where K underflows.
        * ``'sinkhorn_stabilized'``: scaling-domain updates whose large scalings are absorbed into the potentials,
          with a log-domain half-step wherever K underflows: nearly the speed of 'sinkhorn', stable at small reg.
        * ``'sinkhorn_epsilon_scaling'``: log-domain updates along a decreasing reg, from the spread of M down to
          ``reg`` (halving each stage, each warm-started from the last): fewer iterations at small reg. With
          ``potentials_init`` the schedule is skipped (the warm start is already at ``reg``).
        * ``'greenkhorn'``: one row or column rescaled per update, the one furthest from its marginal (an
          iteration is n + m updates, a Sinkhorn iteration's work); scaling domain, so like 'sinkhorn' limited
          to moderate reg.
    max_iter : int
        Maximum number of iterations (each a row and a column update; for greenkhorn, n + m single updates).
    tol : float >= 0
        Stop when the L1 marginal error is at most tol, checked every ``check_every`` iterations (columns; rows
        and columns for greenkhorn). For float32 costs the log-domain methods stop at ``max(tol, 1e-6)``: float32
        exponentials leave a marginal error of 1e-8 to 2e-7; pass float64 costs for a tighter stop.
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
    plan : array of shape (n, m), or (n, m, k) for k targets
        In M's dtype; use :func:`numbaot.solve` for potentials, status and the error history.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1).round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> numbaot.sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1, method="sinkhorn").round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    result = _solve_targets(M, a, b, sinkhorn_options(reg, method, max_iter, tol, check_every), potentials_init,
                            n_threads, warn)
    if isinstance(result, list):
        return np.stack([r.plan for r in result], axis=2)
    return result.plan


def sinkhorn2(a, b, M, reg, *, method="sinkhorn_log", max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY,
              potentials_init=None, n_threads=None, warn=True):
    """Entropic OT cost ``<P, M>`` of the Sinkhorn plan (POT's ``ot.sinkhorn2``); parameters as :func:`sinkhorn`.

    Returns a scalar, or an array of shape (k,) when ``b`` has k columns (one cost per target).

    Examples
    --------
    >>> import numbaot
    >>> float(numbaot.sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1))  # doctest: +ELLIPSIS
    4.5397868...e-05
    >>> numbaot.sinkhorn2([0.5, 0.5], [[0.5, 1.0], [0.5, 0.0]], [[0.0, 1.0], [1.0, 0.0]], reg=0.1).round(4)
    array([0. , 0.5])
    """
    result = _solve_targets(M, a, b, sinkhorn_options(reg, method, max_iter, tol, check_every), potentials_init,
                            n_threads, warn)
    if isinstance(result, list):
        return np.array([r.value_linear for r in result])
    return result.value_linear
