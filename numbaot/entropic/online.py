"""Entropic OT between point clouds by online log-domain Sinkhorn (``solve_sample(..., reg=..., lazy=True)``): the
costs are computed from the points at every iteration, O(n + m) memory. The cores are in
:mod:`numbaot.entropic._online`; CUDA clouds go to their twin in :mod:`numbaot.cuda.online`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dispatch, _validation as V
from .._defaults import CHECK_EVERY, MAX_ITER, TOL
from .._finish import CloudsAnswer, clouds_detail, finish_clouds
from .._scaling import max_abs, pow2_exponent, scale_up
from .._threads import run_short_regions
from ._loop import control, kl_div, run_single
from ._online import PointGeometry, online_plan_parts, plan_sums
from ._options import OnlineOptions
from ._rules import rule_for


def solve_online(X_a, X_b, a, b, reg, metric="sqeuclidean", p=2.0, max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY,
                 potentials_init=None, n_threads=None, warn=True, reg_m=None):
    """Entropic OT between point clouds by online log-domain Sinkhorn; an :class:`OTResult` without a stored
    plan (``plan_operator`` applies it, ``plan`` densifies it on request). CUDA clouds are solved on the GPU.

    ``value`` is ``<P, C> + reg * KL(P | a b^T)``, ``value_linear`` is ``<P, C>``, both computed matrix-free from
    ``sum_ij P_ij (f_i + g_j) - reg * (sum P - sum a * sum b)`` and one pass of row sums. With ``reg_m`` (a number
    or a pair ``(rho_a, rho_b)``, inf for an exact marginal) the marginals are KL-penalised, the half-steps damped
    (the plain unbalanced mode of ``entropic._loop.sinkhorn_loop``, which stops on the change of the potentials)
    and ``value`` adds
    ``rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)``, as ``numbaot.solve(M, a, b, reg, unbalanced=reg_m)`` on the cost
    matrix; the column sums then take a second pass.
    """
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    check_every = V.check_max_iter(check_every, "check_every")
    rho_a, rho_b = (math.inf, math.inf) if reg_m is None else V.check_reg_m(reg_m)
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    placement = _dispatch.place(X_a=X_a, X_b=X_b, a=a, b=b)
    if placement.on_gpu:
        opts = OnlineOptions(reg, metric, p, max_iter, tol, check_every, rho_a, rho_b)
        return _solve_online_cuda(placement, X_a, X_b, a, b, opts, potentials_init, warn)
    X_a = V.check_points(X_a, "X_a")
    X_b = V.check_points(X_b, "X_b")
    V.check_same_dimension(X_a, X_b)
    points = (X_a, X_b)  # as given (the solve below may rescale them)
    n, m = X_a.shape[0], X_b.shape[0]
    if balanced:
        a, b = V.check_balanced_weights(a, b, n, m)
    else:
        a, b = V.check_weights(a, "a", n), V.check_weights(b, "b", m)
    out_dtype = V.result_dtype(X_a, X_b)
    # Coordinates whose costs would overflow or underflow are scaled by a power of two, and reg with them: the
    # plan is unchanged, the value and potentials are scaled back (bad input 9).
    power = 2.0 if metric == "sqeuclidean" else 0.0 if metric == "cosine" else 1.0
    e = pow2_exponent(max_abs(X_a, X_b))
    if e and power:
        X_a, X_b = np.ldexp(X_a.astype(np.float64), -e), np.ldexp(X_b.astype(np.float64), -e)
        reg = float(scale_up(reg, -e, power))
        rho_a, rho_b = (r if math.isinf(r) else float(scale_up(r, -e, power)) for r in (rho_a, rho_b))
    else:
        e = 0
    geom = PointGeometry(X_a, X_b, metric, p)
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum
        log_a = np.log(a.astype(np.float64))
        log_b = np.log(b.astype(np.float64))
    f, g = V.check_potentials_init(potentials_init, n, m)
    if e:
        f, g = scale_up(f, -e, power), scale_up(g, -e, power)
    errors = np.empty(max_iter // check_every + 1)
    rule, ctl = rule_for(reg, rho_a, rho_b), control(max_iter, tol, check_every)
    status, n_iter, n_errors = run_short_regions(run_single, n_threads, geom.clouds(), log_a, log_b, f, g, errors,
                                                 rule, ctl)
    # the plan's row (and column) sums
    mass, cost = plan_sums(geom, log_a, log_b, f, g, reg, n_threads)
    value_linear = float(cost.sum())
    if balanced:
        col_mass = b  # g was updated last: the columns of P sum to b
    else:
        col_mass = plan_sums(geom, log_b, log_a, g, f, reg, n_threads, swapped=True)[0]
    # <P, C> + reg KL(P | ab^T) = sum P (f + g) - reg (sum P - |a||b|), from the row and column sums of P
    with np.errstate(invalid="ignore"):
        value = float(np.dot(mass, f) + np.dot(col_mass, g) - reg * (mass.sum() - a.sum() * b.sum()))
        value += _marginal_penalties(mass, col_mass, a, b, rho_a, rho_b)
    operator, densify = online_plan_parts(geom, log_a, log_b, f, g, reg, out_dtype, n_threads)
    if e:
        value_linear, value = scale_up(value_linear, e, power), scale_up(value, e, power)
        f, g = scale_up(f, e, power), scale_up(g, e, power)
    answer = CloudsAnswer(value, value_linear, np.asarray(f).astype(out_dtype), np.asarray(g).astype(out_dtype),
                          status, n_iter, errors[:n_errors].copy(), densify, operator)
    return finish_clouds(answer, shape=(n, m), out_dtype=out_dtype, solver="solve_sample (online sinkhorn)",
                         detail=clouds_detail(answer, _criterion(balanced), tol), warn=warn, weights=(a, b),
                         points=points, stacklevel=5)


def _criterion(balanced):
    return "marginal error" if balanced else "change of the potentials"


def _marginal_penalties(row_mass, col_mass, a, b, rho_a, rho_b):
    """``rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)`` (generalised KL), leaving out an exact marginal (rho = inf)."""
    return sum(rho * float(kl_div(mass, w.astype(np.float64))) for rho, mass, w in
               ((rho_a, row_mass, a), (rho_b, col_mass, b)) if not math.isinf(rho))


def check_device_clouds(placement, X_a, X_b, a, b, balanced):
    """CUDA clouds and weights checked on the device before a driver, with the host's rules and messages and in its
    order (their kinds and shapes were checked by ``_validation.check_points``): X_a and X_b finite (the
    ``online.points`` dispatch step), of the same dimension, then a and b (their lengths; ``online.weights``:
    finite, non-negative), then, when ``balanced``, their masses (``check_mass``). Returns the driver's inputs:
    the float64 device copies X (n, d), Y (m, d), wa (n, 1), wb (m, 1) (None: uniform) and ``(sum_a, sum_b,
    scale)``, ``scale`` rescaling b to the mass of a (1.0 when not ``balanced``)."""
    stream = placement.stream
    points = _dispatch.driver("online.points", placement)
    X, Y = points(X_a, "X_a", stream), points(X_b, "X_b", stream)
    V.check_same_dimension(X, Y)
    checked = []
    for w, name, n in ((a, "a", int(X.shape[0])), (b, "b", int(Y.shape[0]))):
        if w is None:
            checked.append((None, 1.0))
            continue
        V.check_weight_length(w, name, n)
        checked.append(_dispatch.driver("online.weights", placement)(w, name, n, stream))
    (wa, sum_a), (wb, sum_b) = checked
    scale = V.check_mass(sum_a, sum_b, V.mass_dtype(*(w for w in (a, b) if w is not None))) if balanced else 1.0
    return X, Y, wa, wb, (sum_a, sum_b, scale)


def _solve_online_cuda(placement, X_a, X_b, a, b, opts, potentials_init, warn):
    """The CUDA twin's answer as an :class:`OTResult` on the caller's device (see ``numbaot.cuda.online``)."""
    solve_online_cuda = _dispatch.driver("online", placement)
    if potentials_init is not None:
        raise ValueError("potentials_init is not available for GPU point clouds in this version")
    X_a = V.check_points(X_a, "X_a", allow_cuda=True)
    X_b = V.check_points(X_b, "X_b", allow_cuda=True)
    V.check_online_gpu_metric(opts.metric)
    X, Y, wa, wb, masses = check_device_clouds(placement, X_a, X_b, a, b, opts.balanced)
    opts = opts._replace(p=2.0 if opts.p is None else float(opts.p))
    answer, out_dtype = solve_online_cuda(X, Y, wa, wb, masses, opts, V.result_dtype(X_a, X_b), placement)
    return finish_clouds(answer, shape=(X_a.shape[0], X_b.shape[0]), out_dtype=out_dtype,
                         solver="solve_sample (online sinkhorn, cuda)",
                         detail=clouds_detail(answer, _criterion(opts.balanced), opts.tol), warn=warn, device="cuda",
                         stacklevel=6)
