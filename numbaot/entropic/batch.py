"""Batched entropic OT: many small problems ``M[k]`` (shape (B, n, m)) solved at once, behind
:func:`numbaot.solve_batch`.

The core is :func:`numbaot.entropic.unbalanced.uot_core`: one parallel loop over the B * n rows of all the problems
per half-step (balanced problems are the case ``rho = inf``), so that a batch of tiny problems and a batch of a few
large ones both keep every thread busy; each problem stops on its own criterion and is then skipped. (A prange over
the B problems with each problem serial inside idles threads when B is small and waits for the slowest problem of
each thread's share; bench/bench_unbalanced.py measures both.)
"""
from __future__ import annotations

import math

import numpy as np

from .. import _device, _validation as V
from .._result import OTResult
from .._status import Status, warn_status
from . import unbalanced as U


class BatchOTResult(OTResult):
    """An :class:`numbaot.OTResult` whose fields carry a leading batch axis of length B.

    ``value``, ``value_linear`` (B,); ``plan`` (B, n, m); ``potential_a`` (B, n), ``potential_b`` (B, m);
    ``marginal_a`` (B, n), ``marginal_b`` (B, m). ``status`` is the worst status over the batch (so
    ``converged`` means every problem converged) and ``n_iter`` the largest iteration count; ``statuses`` and
    ``n_iters`` (B,) give them per problem, and ``errors`` (B, L) the error at each check, NaN-padded.
    ``plan_operator`` is None (it applies one plan, not a batch).
    """

    def __init__(self, *, statuses, n_iters, **fields):
        super().__init__(**fields)
        self.statuses = statuses
        self.n_iters = n_iters

    @property
    def plan_operator(self):
        return None

    def __repr__(self) -> str:
        return (f"BatchOTResult(batch={self.shape[0]}, shape={self.shape[1]}x{self.shape[2]}, "
                f"status={self.status.name}, n_iter={self.n_iter}, device={self.device})")


def solve_batch_cpu(M, reg, a, b, max_iter, tol, check_every, unbalanced, method, potentials_init, n_threads, warn):
    """Validate a batch, run the shared core, and wrap the answer in a :class:`BatchOTResult`."""
    reg = V.check_reg(reg)
    rho_a, rho_b = (math.inf, math.inf) if unbalanced is None else V.check_reg_m(unbalanced, "unbalanced")
    method = U.check_method(method, U.LOG_METHODS, "solve_batch")
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    check_every = V.check_max_iter(check_every, "check_every")
    warn = V.check_bool(warn, "warn")
    if _device.where(M=M, a=a, b=b) == _device.CUDA:
        from ..cuda.sinkhorn import solve_sinkhorn_cuda

        return solve_sinkhorn_cuda(M, a, b, reg, rho_a, rho_b, "kl", max_iter, tol, check_every, potentials_init,
                                   warn, batch=True, method=method)
    M = V.as_float_array(M, "M", ndim=3)
    B, n, m = M.shape
    a = V.check_batch_weights(a, "a", B, n)
    b = V.check_batch_weights(b, "b", B, m)
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    if balanced:
        b = b.astype(np.float64) * V.check_batch_mass(a, b)[:, None]
    for k in range(B):
        V.check_cost_matrix(M[k], a[k], b[k], name=f"M[{k}]")
    out_dtype = V.result_dtype(M)
    C = M.astype(np.float64)
    a64 = np.ascontiguousarray(a, dtype=np.float64)
    b64 = np.ascontiguousarray(b, dtype=np.float64)
    if potentials_init is None:
        f, g = np.zeros((B, n)), np.zeros((B, m))
    else:
        f, g = V.check_potentials_init(potentials_init, (B, n), (B, m))
    status, n_iter, errors, n_errors, plan, ref_a, ref_b = U.run(
        C, a64, b64, reg, rho_a, rho_b, method, "kl", max_iter, tol, check_every, f, g, n_threads)
    value, lin = U.objective(C, plan, a64, b64, f, g, reg, rho_a, rho_b, ref_a, ref_b)
    worst = int(status.max())  # OPTIMAL < MAX_ITER_REACHED < ... < NUMERICAL_ERROR
    if warn and worst != int(Status.OPTIMAL):
        bad = np.flatnonzero(status != int(Status.OPTIMAL))
        warn_status(worst, f"solve_batch ({method})", f"{bad.size} of {B} problems did not converge, e.g. problem "
                    f"{int(bad[0])}: {Status(int(status[bad[0]])).name}", stacklevel=4)
    plan = plan.astype(out_dtype, copy=False)
    return BatchOTResult(
        value=value.astype(out_dtype),
        value_linear=lin.astype(out_dtype),
        plan=plan,
        potential_a=f.astype(out_dtype),
        potential_b=g.astype(out_dtype),
        status=Status(worst),
        n_iter=int(n_iter.max()),
        errors=errors[:, :max(1, int(n_errors.max()))],
        marginals=lambda: (plan.sum(axis=2), plan.sum(axis=1)),
        statuses=np.array([Status(int(s)) for s in status], dtype=object),
        n_iters=n_iter,
    )
