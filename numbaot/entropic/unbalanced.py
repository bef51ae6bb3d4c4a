"""Unbalanced entropic OT with KL penalties on the marginals: :func:`sinkhorn_unbalanced`,
:func:`sinkhorn_unbalanced2`, and the solver behind ``numbaot.solve(M, a, b, reg=..., unbalanced=rho)``.

The problem, its updates and the loop are described in :mod:`numbaot.entropic._loop`, which runs them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _dispatch, _validation as V
from .._defaults import CHECK_EVERY, MAX_ITER, TOL
from .._finish import finish
from ._loop import METHODS, SinkhornOptions, solve_dense


def check_method(method, methods=METHODS, what="unbalanced OT") -> str:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {methods}, got {method!r}")
    if method not in methods:
        raise ValueError(f"method must be one of {methods} for {what}, got {method!r}")
    return method


#: POT's other method names: 'sinkhorn_stabilized' (absorption keeps its scaling domain stable) is the log-domain
#: loop here; 'sinkhorn_reg_scaling' anneals reg from the costs' spread down to reg, warm-starting each stage.
EXTRA_METHODS = ("sinkhorn_stabilized", "sinkhorn_reg_scaling")


def unbalanced_options(reg, reg_m, method, reg_type, max_iter, tol, check_every):
    """``(opts, reg_scaling)``: the checked scalars of an unbalanced solve as a :class:`SinkhornOptions`, built once
    by the front-end, and whether ``method`` was 'sinkhorn_reg_scaling' (``opts.method`` is then 'sinkhorn_log',
    run along the reg stages; POT's other extra name, 'sinkhorn_stabilized', is 'sinkhorn_log' too)."""
    method = check_method(method, METHODS + EXTRA_METHODS)
    reg_scaling = method == "sinkhorn_reg_scaling"
    method = "sinkhorn_log" if method in EXTRA_METHODS else method
    reg_type = V.check_reg_type(reg_type)
    reg = V.check_reg(reg)
    rho_a, rho_b = V.check_reg_m(reg_m)
    opts = SinkhornOptions(reg, rho_a, rho_b, method, reg_type, V.check_max_iter(max_iter), V.check_tol(tol),
                           V.check_max_iter(check_every, "check_every"))
    return opts, reg_scaling


def solve_unbalanced(M, a, b, options, potentials_init=None, n_threads=None, warn=True, stacklevel=4):
    """Validate the arrays, run the core on one problem, and wrap the answer in an OTResult (CUDA inputs go to the
    GPU twin); ``options`` is :func:`unbalanced_options`' answer."""
    opts, reg_scaling = options
    anneal = reg_scaling and potentials_init is None  # a warm start is already at reg
    method, rho_a, rho_b, tol = opts.method, opts.rho_a, opts.rho_b, opts.tol
    warn = V.check_bool(warn, "warn")
    placement = _dispatch.place(M=M, a=a, b=b)
    if placement.on_gpu:
        return solve_on_device(placement, M, a, b, opts, potentials_init, warn, batch=False,
                               stacklevel=stacklevel + 2, anneal=anneal)
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    if a is not None and np.ndim(a) != 1 or b is not None and np.ndim(b) != 1:
        raise ValueError("a and b must be 1-D weight vectors; for several problems at once use numbaot.solve_batch")
    a = V.check_weights(a, "a", n)
    b = V.check_weights(b, "b", m)
    if math.isinf(rho_a) and math.isinf(rho_b):
        a, b = V.check_balanced_weights(a, b, n, m)  # both marginals exact: the masses must agree
    M = V.check_cost_matrix(M, a, b)
    out_dtype = V.result_dtype(M)
    C = M.astype(np.float64)[None]
    a64, b64 = a.astype(np.float64)[None], b.astype(np.float64)[None]
    if potentials_init is None:
        f, g = np.zeros((1, n)), np.zeros((1, m))
    else:
        f, g = V.check_potentials_init(potentials_init, (n,), (m,))
        f, g = f[None].copy(), g[None].copy()
    if anneal:  # intermediate stages: 100 iterations at most, to tol 1e-3; only the last one, at reg, must converge
        from ._schedules import reg_scaling_stages

        finite = C[np.isfinite(C)]
        for stage in reg_scaling_stages(float(finite.max() - finite.min()), opts):
            solve_dense(C, a64, b64, stage, f, g, n_threads, out_dtype)
    answer = solve_dense(C, a64, b64, opts, f, g, n_threads, out_dtype)
    return finish(answer, solver=f"sinkhorn_unbalanced ({method})", criterion=_criterion(rho_a, rho_b), tol=tol,
                  warn=warn, batch=False, out_dtype=out_dtype, stacklevel=stacklevel + 1)


def _criterion(rho_a, rho_b) -> str:
    """What the errors of a dense Sinkhorn run record (its stopping rule)."""
    return "marginal error" if math.isinf(rho_a) and math.isinf(rho_b) else "change of the potentials"


class DeviceDenseInputs(NamedTuple):
    """The checked device inputs of the dense Sinkhorn driver (``cuda.sinkhorn.solve_sinkhorn_cuda``), built by
    :func:`device_dense_inputs`: the costs' two layouts ``Y``, ``Z`` (``cuda._checks.DenseCosts``), the float64
    weights ``wa`` (n, B), ``wb`` (m, B) and their masses (B,) on the host, ``factors`` (B,) rescaling b to the
    mass of a (balanced problems; None otherwise), the spread (B,) of the finite costs, and the float64 initial
    potentials ``f0``, ``g0`` ((n, 1) / (B, n) and (m, 1) / (B, m); None: zeros)."""

    Y: object
    Z: object
    wa: object
    wb: object
    sum_a: np.ndarray
    sum_b: np.ndarray
    factors: object
    spread: np.ndarray
    f0: object
    g0: object


def device_dense_inputs(placement, M, a, b, balanced, potentials_init, batch) -> DeviceDenseInputs:
    """Dense Sinkhorn's CUDA inputs checked before the driver, with the host's rules and messages and in the host's
    order: the weights a and b (the ``sinkhorn.weights`` dispatch step), their masses when both marginals are exact
    (``check_mass``, per problem for a batch), the costs (``sinkhorn.costs``: NaN, -inf, then rows and columns with
    weight but no finite cost, problem by problem), then the initial potentials (``sinkhorn.potentials``: finite).
    Shapes were checked by ``_validation.check_device_dense_shapes``."""
    stream = placement.stream
    if batch:
        B, n, m = (int(s) for s in M.shape)
    else:
        B, (n, m) = 1, (int(s) for s in M.shape)
    step = _dispatch.driver("sinkhorn.weights", placement)
    wa, sum_a = step(a, "a", B, n, stream)
    wb, sum_b = step(b, "b", B, m, stream)
    factors = None
    if balanced:
        dtype = V.mass_dtype(a, b)
        factors = (V.check_batch_sums(sum_a, sum_b, dtype) if batch
                   else np.array([V.check_mass(float(sum_a[0]), float(sum_b[0]), dtype)]))
    costs = _dispatch.driver("sinkhorn.costs", placement)(M, wa, wb, V.result_dtype(M), stream)
    for k in range(B):
        V.judge_cost_rows(f"M[{k}]" if batch else "M", costs.first_nan[k], costs.first_neginf[k],
                          costs.rows_empty[k], costs.cols_empty[k])
    f0 = g0 = None
    if potentials_init is not None:
        step = _dispatch.driver("sinkhorn.potentials", placement)
        f0, g0 = (step(x, f"potentials_init[{t}]", stream) for t, x in enumerate(potentials_init))
    return DeviceDenseInputs(costs.Y, costs.Z, wa, wb, sum_a, sum_b, factors, costs.spread, f0, g0)


def solve_on_device(placement, M, a, b, opts, potentials_init, warn, batch, stacklevel=5, anneal=False):
    """Dense Sinkhorn of CUDA arrays by the GPU driver (``opts``, a ``_loop.SinkhornOptions``, checked by the
    caller; the arrays checked here, on the device, by :func:`device_dense_inputs`); the answer finished as on
    the host, ``device="cuda"``. ``anneal``: run 'sinkhorn_reg_scaling''s epsilon stages first, as the host does."""
    method, reg_type, rho_a, rho_b = opts.method, opts.reg_type, opts.rho_a, opts.rho_b
    if method != "sinkhorn_log":
        raise ValueError(f"method {method!r} runs on the host only in this version; on the GPU use 'sinkhorn_log' "
                         "(or copy the inputs to the host)")
    if reg_type != "kl":
        raise ValueError("reg_type='entropy' runs on the host only in this version; on the GPU use reg_type='kl'")
    V.check_device_dense_shapes(M, a, b, potentials_init, batch)
    inputs = device_dense_inputs(placement, M, a, b, math.isinf(rho_a) and math.isinf(rho_b), potentials_init,
                                 batch)
    answer, out_dtype = _dispatch.driver("sinkhorn", placement)(inputs, opts, V.result_dtype(M), placement,
                                                                 anneal=anneal)
    name = "solve_batch" if batch else "sinkhorn" if opts.balanced else "sinkhorn_unbalanced"
    return finish(answer, solver=f"{name} ({method}, cuda)", criterion=_criterion(rho_a, rho_b), tol=opts.tol,
                  warn=warn, batch=batch, out_dtype=out_dtype, device="cuda", stacklevel=stacklevel)


# ------------------------------------------------------------------------------------------------------ front-ends
def sinkhorn_unbalanced(a, b, M, reg, reg_m, *, method="sinkhorn_log", reg_type="kl", potentials_init=None,
                        max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Unbalanced entropic OT plan (POT's ``ot.sinkhorn_unbalanced``), log-domain: stable for any ``reg``.

    Solves ``min_P <P, M> + reg KL(P | R) + reg_m_a KL(P 1 | a) + reg_m_b KL(P^T 1 | b)`` over ``P >= 0``, with
    ``R = a b^T`` (``reg_type='kl'``) or ``R = 1`` (``'entropy'``) and the generalised KL
    ``KL(p | q) = sum p log(p / q) - p + q``.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Non-negative weights (uniform ``1/n``, ``1/m`` when None); their masses may differ.
    M : array of shape (n, m)
        Costs; ``+inf`` marks a forbidden arc (every row and column with weight needs one finite cost).
    reg : float > 0
        Entropic regularisation.
    reg_m : float > 0, or a pair of them
        Marginal penalties ``(reg_m_a, reg_m_b)``; one number applies to both. ``inf`` keeps that marginal exact
        (``(inf, rho)`` is the semi-relaxed problem; ``(inf, inf)`` is balanced OT, masses must then agree).
    method : {'sinkhorn_log', 'sinkhorn_translation_invariant', 'sinkhorn', 'sinkhorn_stabilized', \
'sinkhorn_reg_scaling'}
        Log-domain generalised Sinkhorn (Chizat et al. 2018), or its translation-invariant variant (Sejourne et
        al. 2022): the same solution, in fewer iterations when ``reg_m`` is large compared with ``reg``.
        ``'sinkhorn'``: the same iteration in the scaling domain, on ``K = exp(-M / reg)``: the fastest per
        iteration, but it stops with status NUMERICAL_ERROR (and a ConvergenceWarning) where K underflows, once
        ``M / reg`` exceeds about 700. ``'sinkhorn_stabilized'`` (POT's name for the scaling domain kept stable
        by absorption) runs 'sinkhorn_log'; ``'sinkhorn_reg_scaling'`` runs 'sinkhorn_log' along ``reg`` halved
        from the costs' spread down to ``reg``, each stage warm-starting the next (fewer iterations at small
        ``reg``; skipped with ``potentials_init``; the GPU runs the same stages).
    reg_type : {'kl', 'entropy'}
        The reference measure R of the entropic term: ``a b^T`` or all ones.
    potentials_init : pair of arrays, optional
        Warm start from potentials ``(f, g)`` (in cost units; POT's ``warmstart`` is ``(f / reg, g / reg)``).
    max_iter : int
        Maximum number of iterations (each a row and a column update).
    tol : float >= 0
        Stop when ``max(|delta f|, |delta g|) / reg`` over one iteration (the largest relative change of the
        scalings ``exp(f / reg)``) is at most tol; for balanced OT (``reg_m = inf``), when the L1 error of the
        column marginals is at most tol, as :func:`numbaot.sinkhorn` does.
    check_every : int
        Iterations between two convergence checks.
    n_threads : int, optional
        Threads (default: Numba's thread count); rows are updated in parallel.
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL (max_iter reached, or NaN/inf).

    Notes
    -----
    CUDA arrays (CuPy, Numba) are solved on the GPU and answered in the caller's kind of array (method
    'sinkhorn_log', reg_type 'kl'; the others run on the host only); float32 costs stay float32 there.

    Returns
    -------
    plan : array of shape (n, m)
        ``P_ij = R_ij exp((f_i + g_j - M_ij) / reg)``, in M's dtype; :func:`numbaot.solve` with
        ``unbalanced=reg_m`` gives the potentials, the objective, the status and the error history.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.sinkhorn_unbalanced([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 1.0, 1.0).round(7)
    array([[0.3220536, 0.1184769],
           [0.1184769, 0.3220536]])
    >>> numbaot.sinkhorn_unbalanced([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 1.0, 1.0,
    ...                             method="sinkhorn").round(7)
    array([[0.3220536, 0.1184769],
           [0.1184769, 0.3220536]])
    """
    return solve_unbalanced(M, a, b, unbalanced_options(reg, reg_m, method, reg_type, max_iter, tol, check_every),
                            potentials_init, n_threads, warn).plan


def sinkhorn_unbalanced2(a, b, M, reg, reg_m, *, method="sinkhorn_log", reg_type="kl", potentials_init=None,
                         return_cost="linear", max_iter=MAX_ITER, tol=TOL, check_every=CHECK_EVERY, n_threads=None,
                         warn=True):
    """Unbalanced entropic OT cost (POT's ``ot.sinkhorn_unbalanced2``); parameters as :func:`sinkhorn_unbalanced`.

    Parameters
    ----------
    return_cost : {'linear', 'total'}
        ``'linear'``: ``<P, M>`` of the optimal plan; ``'total'``: the whole objective, penalties included (with
        the mass terms of the generalised KL, which POT's 'total' leaves out).

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.sinkhorn_unbalanced2([0.5, 0.1], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 1.0, 1.0)), 8)
    0.19600123
    """
    if return_cost not in ("linear", "total"):
        raise ValueError(f"return_cost must be 'linear' or 'total', got {return_cost!r}")
    res = solve_unbalanced(M, a, b, unbalanced_options(reg, reg_m, method, reg_type, max_iter, tol, check_every),
                           potentials_init, n_threads, warn)
    return res.value_linear if return_cost == "linear" else res.value

