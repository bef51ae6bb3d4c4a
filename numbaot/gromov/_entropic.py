"""Entropic (fused) Gromov-Wasserstein by mirror descent (Peyre et al. 2016, projected gradient in KL geometry).

With step size 1/eps the KL-proximal step of ``F(T) - eps H(T)`` is one entropic OT problem on the linearised
cost: ``T <- Sinkhorn(p, q, grad F(T), eps)``, where ``grad F = w_lin M + w_quad (L (x) T + L^T (x) T)``. The
Sinkhorn solves run in the log domain (``numbaot.entropic._sinkhorn_log``), each warm-started from the previous
potentials: the linearised costs move little between outer iterations, so later solves take few iterations.

It stops when ``|T_k - T_{k-1}|_F <= tol`` or after ``max_iter`` outer iterations. The reported values are the
(fused) GW objective at the final plan, without the entropy (POT's convention).
"""
from __future__ import annotations

import numpy as np

from .._status import Status
from . import _tensor
from ._cg import PARALLEL_MIN_ENTRIES, Outcome, gradient


def mirror_descent(s, p, q, M, w_lin, w_quad, eps, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads):
    """Minimise ``w_lin <M, T> + w_quad E(T) - eps H(T)`` from ``G0`` (validated float64 host arrays).

    Returns ``(Outcome, marginal_error)``, the latter the L1 error of the final plan's marginals.
    """
    from ..entropic._sinkhorn_log import plan_from_potentials, sinkhorn_log_core
    from ..utils import _run_parallel

    n, m = G0.shape
    if n * m < PARALLEL_MIN_ENTRIES:
        n_threads = 1
    has_m = M is not None
    Mc = M if has_m else np.zeros((1, 1))
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum
        log_p, log_q = np.log(p), np.log(q)
    T = np.array(G0, dtype=np.float64, order="C", copy=True)
    T_new = np.empty((n, m))
    grad = np.empty((n, m))
    f, g = np.zeros(n), np.zeros(m)
    check_every = 10
    errors = np.empty(inner_max_iter // check_every + 1)
    history = []
    status = Status.MAX_ITER_REACHED
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        X = _tensor.quad_dense(s.h1, T, s.h2)
        Y = X if s.symmetric else _tensor.quad_dense(s.h1t, T, s.h2t)
        _run_parallel(gradient, n_threads, X, Y, Mc, w_lin, w_quad, s.u, s.v, s.ut, s.vt, s.symmetric, has_m, grad)
        grad_t = np.ascontiguousarray(grad.T)  # the column half-steps read rows of grad^T
        code, _, _ = _run_parallel(sinkhorn_log_core, n_threads, grad, grad_t, log_p, log_q, eps, f, g,
                                   inner_max_iter, inner_tol, check_every, errors)
        if code == Status.NUMERICAL_ERROR:
            status = Status.NUMERICAL_ERROR
            break
        _run_parallel(plan_from_potentials, n_threads, grad, log_p, log_q, f, g, eps, T_new)
        change = float(np.linalg.norm(T_new - T))
        history.append(change)
        T, T_new = T_new, T
        if not np.isfinite(change):
            status = Status.NUMERICAL_ERROR
            break
        if change <= tol:
            status = Status.OPTIMAL
            break
    # Sinkhorn converges slowly on nearly deterministic plans, and a capped inner solve is continued by the next
    # one (warm start); what matters is the final plan's marginal error (rows: the last half-step fits columns).
    marginal_error = float(np.abs(T.sum(axis=1) - p).sum() + np.abs(T.sum(axis=0) - q).sum())
    if status == Status.OPTIMAL and not marginal_error <= inner_tol:
        status = Status.MAX_ITER_REACHED
    X = _tensor.quad_dense(s.h1, T, s.h2)
    value_linear = float(np.vdot(Mc, T)) if has_m else 0.0
    value_quad = _tensor.objective(s, T, X)
    value = w_lin * value_linear + w_quad * value_quad
    if not (np.isfinite(value) and np.isfinite(T).all()):
        status = Status.NUMERICAL_ERROR
    return Outcome(T, value, value_linear, value_quad, int(status), n_iter, np.array(history), (f, g)), marginal_error
