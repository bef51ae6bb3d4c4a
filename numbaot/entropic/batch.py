"""Batched entropic OT: many small problems ``M[k]`` (shape (B, n, m)) solved at once, behind
:func:`numbaot.solve_batch`.

The core is :func:`numbaot.entropic._loop.sinkhorn_loop` over dense costs: one parallel loop over the B * n rows of
all the problems per half-step (balanced problems are the case ``rho = inf``), so that a batch of tiny problems and
a batch of a few large ones both keep every thread busy; each problem stops on its own criterion and is then
skipped. (A prange over the B problems with each problem serial inside idles threads when B is small and waits for
the slowest problem of each thread's share; bench/bench_unbalanced.py measures both.)
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dispatch, _validation as V
from .._finish import finish
from .._result import BatchOTResult  # noqa: F401 - its old home: still importable from here
from . import _loop as U
from .unbalanced import _criterion, check_method, solve_on_device


def batch_options(reg, unbalanced, method, max_iter, tol, check_every) -> U.SinkhornOptions:
    """The checked scalars of a batch (``unbalanced``: None for balanced problems, else the marginal penalties), built
    once by the front-end."""
    reg = V.check_reg(reg)
    rho_a, rho_b = (math.inf, math.inf) if unbalanced is None else V.check_reg_m(unbalanced, "unbalanced")
    method = check_method(method, U.LOG_METHODS, "solve_batch")
    return U.SinkhornOptions(reg, rho_a, rho_b, method, "kl", V.check_max_iter(max_iter), V.check_tol(tol),
                             V.check_max_iter(check_every, "check_every"))


def solve_batch_cpu(M, a, b, opts, potentials_init, n_threads, warn):
    """Validate a batch's arrays, run the shared core with the options ``opts`` (:func:`batch_options`), and wrap
    the answer in a :class:`BatchOTResult`."""
    warn = V.check_bool(warn, "warn")
    rho_a, rho_b, tol = opts.rho_a, opts.rho_b, opts.tol
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return solve_on_device(placement, M, a, b, opts, potentials_init, warn, batch=True, stacklevel=6)
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
    answer = U.solve_dense(C, a64, b64, opts, f, g, n_threads, out_dtype)
    return finish(answer, solver=f"solve_batch ({opts.method})", criterion=_criterion(rho_a, rho_b), tol=tol,
                  warn=warn, batch=True, out_dtype=out_dtype, stacklevel=5)
