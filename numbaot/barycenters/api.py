"""Wasserstein barycenters: the weighted average of K measures (POT's names, snake_case parameters).

* Fixed support, entropic (iterative Bregman projections, Benamou et al. 2015): :func:`barycenter`,
  :func:`barycenter_debiased` (Janati et al. 2020), :func:`barycenter_unbalanced` (KL-penalised inputs, Chizat et
  al. 2018): the one log-domain Sinkhorn loop of ``numbaot.entropic`` under the barycentric rule, over the K
  problems at once.
* Grids: :func:`convolutional_barycenter2d` (and ``_debiased``), :func:`convolutional_barycenter3d`: the same loop
  over a separable grid kernel (Solomon et al. 2015), O(K N (D + H + W)) per iteration for N cells, never an
  N x N matrix.
* Exact, fixed support: :func:`lp_barycenter`, one linear program solved by scipy's HiGHS.
* Free support: :func:`free_support_barycenter` (Cuturi and Doucet 2014: exact OT by our network simplex, then the
  barycentric projection), :func:`free_support_sinkhorn_barycenter` (entropic plans).
* :func:`solve_barycenter` and :func:`solve_bary_sample`: the same solvers returning a
  :class:`numbaot.BarycenterResult` (barycenter, plans, value, status, n_iter, errors).

Device arrays (CuPy, Numba; see ``numbaot.cuda.barycenter``) run the entropic fixed-support and convolutional
barycenters on the GPU (log domain, balanced, debiased or unbalanced) and return the
barycenter on the device (``plans`` None, ``value`` NaN); the exact and free-support solvers refuse them with a
hint (copy them to the host).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._defaults import (BARYCENTER_DEBIASED_TOL, BARYCENTER_MAX_ITER, BARYCENTER_TOL, CHECK_EVERY,
                         FREE_SUPPORT_MAX_ITER, FREE_SUPPORT_TOL)
from .._finish import BarycenterAnswer, finish_barycenter
from .._result import BarycenterResult
from .._status import MAX_ITER_REACHED, OPTIMAL, Status, warn_status

#: The entropic methods, POT's names for one fixed point: "sinkhorn_log" (default) and "sinkhorn_stabilized" run the
#: log-domain loop (stable at any reg); "sinkhorn" the scaling domain (fastest; fails where the Gibbs kernel
#: underflows, about M / reg > 700).
METHODS = ("sinkhorn_log", "sinkhorn", "sinkhorn_stabilized")
#: The defaults (numbaot._defaults, with every solver's): entropic barycenter iterations and tolerance, the
#: debiased iteration's looser stop, free-support iterations and tolerance.
MAX_ITER = BARYCENTER_MAX_ITER
TOL = BARYCENTER_TOL
DEBIASED_TOL = BARYCENTER_DEBIASED_TOL
FREE_MAX_ITER = FREE_SUPPORT_MAX_ITER
FREE_TOL = FREE_SUPPORT_TOL

_CITATIONS = {
    "bregman": "Benamou, Carlier, Cuturi, Nenna and Peyre 2015, Iterative Bregman projections for regularized "
               "transportation problems",
    "debiased": "Janati, Cuturi and Gramfort 2020, Debiased Sinkhorn barycenters",
    "unbalanced": "Chizat, Peyre, Schmitzer and Vialard 2018, Scaling algorithms for unbalanced optimal transport",
    "convolutional": "Solomon et al. 2015, Convolutional Wasserstein distances",
    "free": "Cuturi and Doucet 2014, Fast computation of Wasserstein barycenters",
    "lp": "Agueh and Carlier 2011, Barycenters in the Wasserstein space (as a linear program)",
}


# ------------------------------------------------------------------------------------------------ shared checks
def _host(what, **arrays):
    _dispatch.require_host(_dispatch.place(**arrays), what,
                           "copy the arrays to the host (e.g. cupy.asnumpy) and call it there")


class _Request(NamedTuple):
    """What an entropic barycenter verb was asked, as given (checked by :func:`_options`): the loop's settings,
    the host threads and the reporting (``solver`` names the verb in warnings)."""

    reg: object
    solver: str
    reg_m: object = None
    debiased: bool = False
    method: str = "sinkhorn_log"
    max_iter: object = MAX_ITER
    tol: object = None
    check_every: object = CHECK_EVERY
    n_threads: object = None
    warn: object = True


class BarycenterOptions(NamedTuple):
    """The entropic barycenter loop's checked settings, built once by the front-end; the host drivers and the CUDA
    driver (``numbaot.cuda.barycenter.barycenter_cuda``) read them. ``rho`` is the KL penalty (inf: balanced)."""

    reg: float
    rho: float
    debiased: bool
    max_iter: int
    tol: float
    check_every: int


def _options(req: _Request, grid: bool = False):
    """``(BarycenterOptions, warn)`` from a request, checked (a grid takes no ``reg_m``)."""
    V.check_choice(req.method, "method", METHODS)
    reg = V.check_reg(req.reg)
    max_iter = V.check_max_iter(req.max_iter)
    tol = V.check_tol((DEBIASED_TOL if req.debiased else TOL) if req.tol is None else req.tol)
    check_every = V.check_max_iter(req.check_every, "check_every")
    warn = V.check_bool(req.warn, "warn")
    rho = math.inf if grid else _rho(req.reg_m)
    return BarycenterOptions(reg, rho, bool(req.debiased), max_iter, tol, check_every), warn


def _rho(reg_m):
    if reg_m is None:
        return math.inf
    rho_a, rho_b = V.check_reg_m(reg_m)
    if rho_a != rho_b:
        raise ValueError("reg_m must be one number for barycenters (the penalty on every input's marginal)")
    return rho_a


class _Target(NamedTuple):
    """Where a host barycenter lives: the dense costs (None on a grid), the barycenter's shape and dtype, the
    citation's key, and whether to build the K plans."""

    dense_C: object
    out_shape: tuple
    out_dtype: np.dtype
    kind: str
    want_plans: bool = False


def _bregman(H, geometry, weights, opts: BarycenterOptions, req: _Request, warn, target: _Target):
    """``geometry(dense_C)`` (or ``geometry()`` on a grid) builds the log-domain loop's geometry, only if it runs."""
    from ._bregman import plans, solve_bregman
    from ._scaling import dense_operators, grid_operators, solve_scaling

    threads = _config.n_threads(req.n_threads)
    dense_C, out_dtype = target.dense_C, target.out_dtype
    loop = (opts.reg, opts.rho, opts.debiased, opts.max_iter, opts.tol, opts.check_every)
    if req.method == "sinkhorn":
        operators = grid_operators(target.out_shape, opts.reg) if dense_C is None else \
            dense_operators(dense_C, opts.reg, threads)
        answer = solve_scaling(operators, H, weights, *loop)
    else:
        geom = geometry() if dense_C is None else geometry(dense_C)
        answer = solve_bregman(geom, H, weights, *loop, threads)
    bar = np.exp(answer.log_bar)
    P = None
    value = math.nan
    if dense_C is not None and target.want_plans:
        P = plans(dense_C, answer, opts.reg)
        value = float(np.einsum("k,kij,ij->", weights, P, dense_C))
    # stacklevel 6: warn_status, finish_barycenter, this, _fixed_support / _convolutional, the verb, the user
    return finish_barycenter(
        BarycenterAnswer(barycenter=bar.reshape(target.out_shape).astype(out_dtype), status=answer.status,
                         n_iter=answer.n_iter, errors=answer.errors,
                         plans=None if P is None else [p.astype(out_dtype) for p in P], value=value,
                         potential_a=answer.f.astype(out_dtype), potential_b=answer.g.astype(out_dtype)),
        solver=req.solver, tol=opts.tol, warn=warn, citation=_CITATIONS[target.kind], stacklevel=6)


def _on_device(placement, A, M, grid_shape, weights, opts: BarycenterOptions, req: _Request, warn, kind):
    """The GPU path: shapes and scalars were checked; the values are checked on the device and judged here,
    before the driver runs."""
    K = int(A.shape[1] if M is not None else A.shape[0])
    weights = V.check_barycenter_weights(weights, K)
    inputs = _dispatch.driver("barycenter.histograms", placement)(A, M, grid_shape)
    if math.isinf(opts.rho):
        V.check_histogram_masses(inputs.sums, "A", inputs.out_dtype)
    if M is not None:
        inputs = _dispatch.driver("barycenter.costs", placement)(inputs, M)
    answer = _dispatch.driver("barycenter", placement)(inputs, weights, opts)
    return finish_barycenter(answer, solver=req.solver, tol=opts.tol, warn=warn, device="cuda",
                             citation=_CITATIONS[kind], stacklevel=6)


def _square_for_debiased(shape):
    if shape[0] != shape[1]:
        raise ValueError(f"M must be square for a debiased barycenter (the barycenter shares the inputs' support), "
                         f"got shape {tuple(shape)}")


def _fixed_support(A, M, weights, req: _Request, want_plans=False):
    from ._bregman import dense_shared

    opts, warn = _options(req)
    debiased = opts.debiased
    placement = _dispatch.place(A=A, M=M)
    if placement.on_gpu:
        A_dev = V.as_float_array(A, "A", ndim=2, allow_cuda=True)
        M_dev = V.as_float_array(M, "M", ndim=2, allow_cuda=True)
        if M_dev.shape[0] != A_dev.shape[0]:
            raise ValueError(f"M has shape {tuple(M_dev.shape)} but the histograms of A have {A_dev.shape[0]} "
                             f"entries (A has shape {tuple(A_dev.shape)}: one histogram per column)")
        if debiased:
            _square_for_debiased(tuple(M_dev.shape))
        kind = "debiased" if debiased else ("bregman" if math.isinf(opts.rho) else "unbalanced")
        return _on_device(placement, A_dev, M_dev, None, weights, opts, req, warn, kind)
    A_arr = V.as_float_array(A, "A", ndim=(1, 2))
    if A_arr.ndim == 1:
        A_arr = A_arr[:, None]  # one histogram: its own barycenter problem (POT accepts it too)
    H = V.check_histograms(A_arr, "A", axis=1, balanced=math.isinf(opts.rho))
    M_arr = V.as_float_array(M, "M", ndim=2)
    if M_arr.shape[0] != H.shape[1]:
        raise ValueError(f"M has shape {M_arr.shape} but the histograms of A have {H.shape[1]} entries (A has shape "
                         f"{A_arr.shape}: one histogram per column); M must have one row per entry")
    if debiased:
        _square_for_debiased(M_arr.shape)
    V.check_cost_matrix(M_arr)
    if np.isinf(M_arr).any():
        raise ValueError("M has +inf entries; barycenters need finite costs")
    weights = V.check_barycenter_weights(weights, H.shape[0])
    kind = "debiased" if debiased else ("bregman" if math.isinf(opts.rho) else "unbalanced")
    C = np.ascontiguousarray(M_arr, dtype=np.float64)
    return _bregman(H, dense_shared, weights, opts, req, warn,
                    _Target(C, (M_arr.shape[1],), V.result_dtype(A_arr, M_arr), kind, want_plans))


def _grid_images(A, ndim, name="A"):
    arr = V.as_float_array(A, name, ndim=ndim + 1)
    return arr, V.check_histograms(arr, name, axis=0)


def _convolutional(A, weights, dims, req: _Request):
    from ._bregman import grid

    opts, warn = _options(req, grid=True)
    placement = _dispatch.place(A=A)
    if placement.on_gpu:
        A_dev = V.as_float_array(A, "A", ndim=dims + 1, allow_cuda=True)
        return _on_device(placement, A_dev, None, tuple(int(s) for s in A_dev.shape[1:]), weights, opts, req, warn,
                          "convolutional")
    arr, H = _grid_images(A, dims)
    weights = V.check_barycenter_weights(weights, H.shape[0])
    return _bregman(H, lambda: grid(arr.shape[1:]), weights, opts, req, warn,
                    _Target(None, arr.shape[1:], V.result_dtype(arr), "convolutional"))


# ----------------------------------------------------------------------------------------------- fixed support
def barycenter(A, M, reg, weights=None, method="sinkhorn_log", *, max_iter=MAX_ITER, tol=None,
               check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Entropic Wasserstein barycenter of histograms on a fixed support (POT's ``ot.barycenter``).

    Minimises ``sum_k weights_k W_reg(a_k, x)`` over histograms ``x``, where ``W_reg`` is entropic OT with cost
    ``M`` and the entropy of the plan (Benamou et al. 2015), by iterative Bregman projections in the log domain.

    Parameters
    ----------
    A : array of shape (n, K)
        K histograms of equal mass, one per column (zero entries allowed).
    M : array of shape (n, m)
        Costs between the inputs' support and the barycenter's (usually the same support: m = n).
    reg : float > 0
        Entropic regularisation; stable at any value (e.g. 1e-3 * max(M)).
    weights : array of shape (K,), optional
        Non-negative weights summing to 1 (uniform when None).
    method : {'sinkhorn_log', 'sinkhorn', 'sinkhorn_stabilized'}
        POT's three methods compute the same iterates. 'sinkhorn_log' (default) and 'sinkhorn_stabilized' run the
        log-domain loop, stable at any reg; 'sinkhorn' the scaling domain (POT's default): several times faster per
        iteration, but it fails (status NUMERICAL_ERROR, a ConvergenceWarning) once ``M / reg`` exceeds about 700.
    max_iter : int
        Maximum number of iterations.
    tol : float, optional
        Stop when the spread of the K plans' column marginals (the sum over entries of their standard deviation,
        POT's criterion) is at most ``tol`` (default 1e-9), checked every ``check_every`` iterations (debiased: plus
        the L1 change of the barycenter since the last check).
    n_threads : int, optional
        Threads (default: Numba's setting).
    warn : bool
        Emit a ConvergenceWarning when the iterations stop before ``tol``.

    Returns
    -------
    array of shape (m,)
        The barycenter, of the inputs' mass. :func:`solve_barycenter` returns the plans, potentials and status too.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(5.0)
    >>> A = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 1.0]]).T
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> bar = numbaot.barycenter(A, M, reg=0.5)
    >>> int(np.argmax(bar)), round(float(bar.sum()), 6)
    (2, 1.0)
    """
    return _fixed_support(A, M, weights, _Request(reg, "barycenter", reg_m=None, debiased=False, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


def barycenter_debiased(A, M, reg, weights=None, method="sinkhorn_log", *, max_iter=MAX_ITER, tol=None,
                        check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Debiased entropic barycenter (Janati et al. 2020; POT's ``ot.bregman.barycenter_debiased``).

    The entropic barycenter blurs its inputs; the debiased one, which minimises the weighted Sinkhorn divergences,
    does not: the debiased barycenter of K copies of one histogram is that histogram, when it is smooth at the
    kernel's scale ``sqrt(reg)`` (sharper inputs make the iterations converge slowly, or not at all: the status
    says so). Same parameters as
    :func:`barycenter` (``M`` square: the barycenter lives on the inputs' support); the default ``tol`` is 1e-7
    (the debiased iteration converges linearly and more slowly).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.linspace(0, 1, 20)
    >>> a = np.exp(-(x - 0.5) ** 2 / 0.01); a /= a.sum()
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> bar = numbaot.barycenter_debiased(np.stack([a, a], axis=1), M, reg=0.01)
    >>> bool(np.abs(bar - a).max() < 1e-5)
    True
    """
    return _fixed_support(A, M, weights, _Request(reg, "barycenter_debiased", reg_m=None, debiased=True, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


def barycenter_unbalanced(A, M, reg, reg_m, method="sinkhorn_log", weights=None, *, max_iter=MAX_ITER, tol=None,
                          check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Entropic barycenter of unbalanced histograms (Chizat et al. 2018; POT's ``ot.barycenter_unbalanced``).

    Each input's marginal is penalised by ``reg_m * KL`` instead of being matched exactly, so the inputs may carry
    different masses; the barycenter is the weighted power mean of the plans' column marginals. Parameters as
    :func:`barycenter`, plus ``reg_m`` (float > 0; ``inf`` is the balanced barycenter). The stop is on the
    largest change of the potentials / reg.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(4.0)
    >>> A = np.array([[1, 0, 0, 0], [0, 0, 0, 2.0]]).T
    >>> bar = numbaot.barycenter_unbalanced(A, (x[:, None] - x[None, :]) ** 2, reg=1.0, reg_m=1.0)
    >>> bar.shape, bool(bar.sum() > 0)
    ((4,), True)
    """
    if reg_m is None:
        raise TypeError("reg_m must be a positive number (inf for the balanced barycenter), got None")
    return _fixed_support(A, M, weights, _Request(reg, "barycenter_unbalanced", reg_m=reg_m, debiased=False,
                          method=method, max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


# ------------------------------------------------------------------------------------------------------- grids
def convolutional_barycenter2d(A, reg, weights=None, method="sinkhorn_log", *, max_iter=MAX_ITER, tol=None,
                               check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Entropic barycenter of images (Solomon et al. 2015; POT's ``ot.bregman.convolutional_barycenter2d``).

    The images live on the grid ``[0, 1]^2`` (POT's convention: H and W points per axis) with the squared Euclidean
    cost, whose Gibbs kernel separates along the axes: each iteration costs O(K H W (H + W)) and the memory is
    O(K H W). The same fixed point as :func:`barycenter` with the grid's dense cost matrix.

    Parameters
    ----------
    A : array of shape (K, H, W)
        K non-negative images of equal mass.
    reg : float > 0
        Entropic regularisation (in the grid's units: a cell is ``1 / (H - 1)`` wide).
    weights, method, max_iter, tol, check_every, n_threads, warn
        As for :func:`barycenter`.

    Returns
    -------
    array of shape (H, W)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> A = np.zeros((2, 8, 8)); A[0, 1, 1] = 1; A[1, 5, 5] = 1
    >>> bar = numbaot.convolutional_barycenter2d(A, reg=0.01)
    >>> np.unravel_index(np.argmax(bar), bar.shape)
    (np.int64(3), np.int64(3))
    """
    return _convolutional(A, weights, 2, _Request(reg, "convolutional_barycenter2d", debiased=False, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


def convolutional_barycenter2d_debiased(A, reg, weights=None, method="sinkhorn_log", *, max_iter=MAX_ITER, tol=None,
                                        check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Debiased convolutional barycenter of images (Janati et al. 2020; POT's
    ``ot.bregman.convolutional_barycenter2d_debiased``): parameters as :func:`convolutional_barycenter2d`.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> A = np.zeros((2, 6, 6)); A[:, 2:4, 2:4] = 0.25
    >>> bar = numbaot.convolutional_barycenter2d_debiased(A, reg=0.005)
    >>> bool(np.abs(bar - A[0]).max() < 1e-3)
    True
    """
    return _convolutional(A, weights, 2, _Request(reg, "convolutional_barycenter2d_debiased", debiased=True,
                          method=method, max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


def convolutional_barycenter3d(A, reg, weights=None, method="sinkhorn_log", *, debiased=False, max_iter=MAX_ITER,
                               tol=None, check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Convolutional barycenter of volumes ``A`` (K, D, H, W) on the grid ``[0, 1]^3``: O(K D H W (D + H + W)) per
    iteration; ``debiased=True`` for the debiased barycenter. Other parameters as
    :func:`convolutional_barycenter2d`.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> A = np.zeros((2, 5, 5, 5)); A[0, 0, 0, 0] = 1; A[1, 4, 4, 4] = 1
    >>> bar = numbaot.convolutional_barycenter3d(A, reg=0.02)
    >>> tuple(int(i) for i in np.unravel_index(np.argmax(bar), bar.shape))
    (2, 2, 2)
    """
    debiased = V.check_bool(debiased, "debiased")
    return _convolutional(A, weights, 3, _Request(reg, "convolutional_barycenter3d", debiased=debiased, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn)).barycenter


# ------------------------------------------------------------------------------------------------- exact (LP)
def _lp(H, M, weights):
    import scipy.sparse as sp
    from scipy.optimize import linprog

    K, n = H.shape
    m = M.shape[1]
    nm = n * m
    # variables: the K plans (row-major, n m each), then the barycenter (m)
    rows_sum = sp.kron(sp.eye(n), np.ones((1, m)))  # (n, n m): row sums of one plan
    cols_sum = sp.kron(np.ones((1, n)), sp.eye(m))  # (m, n m): column sums of one plan
    blocks_a = sp.block_diag([rows_sum] * K)
    blocks_b = sp.block_diag([cols_sum] * K)
    minus_bar = sp.kron(np.ones((K, 1)), -sp.eye(m))
    A_eq = sp.vstack([sp.hstack([blocks_a, sp.csr_matrix((K * n, m))]), sp.hstack([blocks_b, minus_bar])]).tocsr()
    b_eq = np.concatenate([H.reshape(-1), np.zeros(K * m)])
    c = np.concatenate([np.kron(weights, M.reshape(-1)), np.zeros(m)])
    res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        return None, math.nan, Status.NUMERICAL_ERROR if res.status != 1 else Status.MAX_ITER_REACHED, res.message
    P = res.x[:K * nm].reshape(K, n, m)
    return (np.maximum(res.x[K * nm:], 0.0), np.maximum(P, 0.0)), float(res.fun), Status.OPTIMAL, ""


def _solve_lp(A, M, weights, warn, solver):
    _host(solver, A=A, M=M)
    warn = V.check_bool(warn, "warn")
    A_arr = V.as_float_array(A, "A", ndim=2)
    H = V.check_histograms(A_arr, "A", axis=1)
    M_arr = V.as_float_array(M, "M", ndim=2)
    if M_arr.shape[0] != H.shape[1]:
        raise ValueError(f"M has shape {M_arr.shape} but the histograms of A have {H.shape[1]} entries; M must have "
                         "one row per entry")
    V.check_cost_matrix(M_arr)
    if np.isinf(M_arr).any():
        raise ValueError("M has +inf entries; lp_barycenter needs finite costs")
    weights = V.check_barycenter_weights(weights, H.shape[0])
    out, value, status, message = _lp(H, M_arr.astype(np.float64), weights)
    dtype = V.result_dtype(A_arr, M_arr)
    if out is None:
        if warn:
            warn_status(status, solver, f"HiGHS: {message}", stacklevel=4)
        return BarycenterResult(barycenter=np.full(M_arr.shape[1], np.nan, dtype), value=value, status=status,
                                citation=_CITATIONS["lp"])
    bar, P = out
    return BarycenterResult(barycenter=bar.astype(dtype), plans=[p.astype(dtype) for p in P], value=value,
                            status=status, citation=_CITATIONS["lp"])


def lp_barycenter(A, M, weights=None, *, warn=True):
    """Exact Wasserstein barycenter on a fixed support, as one linear program (POT's ``ot.lp.barycenter``).

    Minimises ``sum_k weights_k <P_k, M>`` over K plans whose rows sum to the inputs and whose columns all sum to
    one unknown histogram, the barycenter: ``K n m + m`` variables and a sparse constraint matrix, solved by
    scipy's HiGHS.

    Parameters
    ----------
    A : array of shape (n, K)
        K histograms of equal mass, one per column.
    M : array of shape (n, m)
        Costs from the inputs' support to the barycenter's.
    weights : array of shape (K,), optional
        Non-negative, summing to 1 (uniform when None).
    warn : bool
        Warn (ConvergenceWarning) if HiGHS does not report an optimum.

    Returns
    -------
    array of shape (m,)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(5.0)
    >>> A = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 1.0]]).T
    >>> numbaot.lp_barycenter(A, (x[:, None] - x[None, :]) ** 2).round(6)
    array([0., 0., 1., 0., 0.])
    """
    return _solve_lp(A, M, weights, warn, "lp_barycenter").barycenter


# ------------------------------------------------------------------------------------------------ free support
def _check_measures(measures_locations, measures_weights, X_init, b):
    if not isinstance(measures_locations, (list, tuple)) or len(measures_locations) == 0:
        raise TypeError("measures_locations must be a non-empty list of (k_i, d) arrays, one per input measure")
    X = V.as_float_array(X_init, "X_init", ndim=2)
    d = X.shape[1]
    locations, weights = [], []
    if measures_weights is not None and (not isinstance(measures_weights, (list, tuple))
                                         or len(measures_weights) != len(measures_locations)):
        raise ValueError(f"measures_weights must be a list of {len(measures_locations)} weight vectors (one per "
                         "measure), or None for uniform weights")
    for i, loc in enumerate(measures_locations):
        Xi = V.as_float_array(loc, f"measures_locations[{i}]", ndim=(1, 2))
        if Xi.ndim == 1:
            Xi = Xi[:, None]
        V.check_finite(Xi, f"measures_locations[{i}]")
        if Xi.shape[1] != d:
            raise ValueError(f"measures_locations[{i}] has points of dimension {Xi.shape[1]} but X_init of "
                             f"dimension {d}")
        wi = V.check_weights(None if measures_weights is None else measures_weights[i], f"measures_weights[{i}]",
                             Xi.shape[0])
        locations.append(Xi.astype(np.float64))
        weights.append(wi.astype(np.float64) / wi.sum())
    V.check_finite(X, "X_init")
    b = V.check_weights(b, "b", X.shape[0]).astype(np.float64)
    return locations, weights, X.astype(np.float64), b / b.sum()


def _free_support(measures_locations, measures_weights, X_init, b, weights, req: _Request):
    """The free-support barycenter; ``req`` carries reg (None: exact plans), max_iter, tol, n_threads, warn and
    the verb's name."""
    reg, solver, max_iter, tol, n_threads, warn = req.reg, req.solver, req.max_iter, req.tol, req.n_threads, req.warn
    from ..solvers import solve
    from ..utils import dist

    _host(solver, X_init=X_init, b=b)
    locations, a_list, X, b = _check_measures(measures_locations, measures_weights, X_init, b)
    weights = V.check_barycenter_weights(weights, len(locations))
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    warn = V.check_bool(warn, "warn")
    if reg is not None:
        reg = V.check_reg(reg)
    threads = _config.n_threads(n_threads)
    out_dtype = V.result_dtype(V.as_float_array(X_init, "X_init"))

    duals = [None] * len(locations)

    def plan(k, X):
        # each solve warm-starts from the previous iteration's potentials: the support moves less and less
        M = dist(X, locations[k], n_threads=1)
        if reg is None:
            res = solve(M, b, a_list[k], n_threads=1, potentials_init=duals[k])
        else:
            res = solve(M, b, a_list[k], reg, n_threads=1, warn=False, potentials_init=duals[k])
        duals[k] = res.potentials
        return res.plan

    status, errors, it = MAX_ITER_REACHED, [], 0
    with ThreadPoolExecutor(max_workers=min(threads, len(locations))) as pool:  # the solvers release the GIL
        while it < max_iter:
            it += 1
            plans = list(pool.map(lambda k: plan(k, X), range(len(locations))))
            X_new = sum(w * (P @ Xk) for w, P, Xk in zip(weights, plans, locations)) / b[:, None]
            moved = float(np.sum((X_new - X) ** 2))
            errors.append(moved)
            X = X_new
            if moved <= tol:
                status = OPTIMAL
                break
    if warn and status != OPTIMAL:
        warn_status(status, solver, f"squared displacement {errors[-1]:.3g} > tol {tol:g} after {it} iterations",
                    stacklevel=4)
    plans = [P.T for P in plans]  # rows: input k, columns: the barycenter's support
    value = float(sum(w * np.sum(P * dist(Xk, X)) for w, P, Xk in zip(weights, plans, locations)))
    return BarycenterResult(barycenter=b.astype(out_dtype), support=X.astype(out_dtype), plans=plans, value=value,
                            status=Status(status), n_iter=it, errors=np.array(errors), citation=_CITATIONS["free"])


def free_support_barycenter(measures_locations, measures_weights, X_init, b=None, weights=None, *,
                            max_iter=FREE_MAX_ITER, tol=FREE_TOL, n_threads=None, warn=True):
    """Free-support Wasserstein-2 barycenter (Cuturi and Doucet 2014; POT's ``ot.lp.free_support_barycenter``).

    Moves the support ``X`` (k, d) of a measure with fixed weights ``b`` to minimise ``sum_i weights_i
    W_2^2(b, X; a_i, X_i)``: at each iteration, the exact plans ``T_i`` from the barycenter to every input (our
    network simplex, the K solves in parallel threads), then ``X = sum_i weights_i diag(1 / b) T_i X_i``.

    Parameters
    ----------
    measures_locations : list of arrays of shape (k_i, d)
        The inputs' support points (sizes may differ).
    measures_weights : list of arrays of shape (k_i,), or None
        Their weights (uniform when None; each normalised to mass 1).
    X_init : array of shape (k, d)
        The initial support of the barycenter.
    b : array of shape (k,), optional
        The barycenter's weights (uniform when None).
    weights : array of shape (K,), optional
        The barycentric weights, non-negative and summing to 1 (uniform when None).
    max_iter : int
        Maximum number of support updates.
    tol : float
        Stop when the squared displacement ``||X_new - X||^2`` is at most ``tol``.
    n_threads : int, optional
        Threads: the K transport problems are solved side by side.
    warn : bool
        ConvergenceWarning if ``max_iter`` is reached first.

    Returns
    -------
    array of shape (k, d)
        The barycenter's support; :func:`solve_bary_sample` returns the plans and status too.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> numbaot.free_support_barycenter([X, X + [0.0, 2.0]], None, X_init=np.array([[0.3, 0.0], [0.6, 0.0]]))
    array([[0., 1.],
           [1., 1.]])
    """
    return _free_support(measures_locations, measures_weights, X_init, b, weights,
                         _Request(None, "free_support_barycenter", max_iter=max_iter, tol=tol, n_threads=n_threads,
                                  warn=warn)).support


def free_support_sinkhorn_barycenter(measures_locations, measures_weights, X_init, reg, b=None, weights=None, *,
                                     max_iter=FREE_MAX_ITER, tol=FREE_TOL, n_threads=None, warn=True):
    """Free-support barycenter with entropic plans (POT's ``ot.bregman.free_support_sinkhorn_barycenter``): as
    :func:`free_support_barycenter`, each plan by :func:`numbaot.sinkhorn` with regularisation ``reg``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.array([[0.0, 0.0], [4.0, 0.0]])
    >>> Y = numbaot.free_support_sinkhorn_barycenter([X, X + [0.0, 2.0]], None, X, reg=0.1)
    >>> Y.round(3)
    array([[0., 1.],
           [4., 1.]])
    """
    if reg is None:
        raise TypeError("reg must be a positive number; for exact plans call free_support_barycenter")
    return _free_support(measures_locations, measures_weights, X_init, b, weights,
                         _Request(reg, "free_support_sinkhorn_barycenter", max_iter=max_iter, tol=tol,
                                  n_threads=n_threads, warn=warn)).support


# --------------------------------------------------------------------------------------------- unified entries
def solve_barycenter(A, M=None, reg=None, weights=None, *, reg_m=None, debias=False, method="sinkhorn_log",
                     max_iter=MAX_ITER, tol=None, check_every=CHECK_EVERY, n_threads=None, warn=True):
    """Barycenter of histograms, as a :class:`numbaot.BarycenterResult` (barycenter, plans, potentials, value,
    status, n_iter, errors).

    * ``M`` given: ``A`` (n, K) holds K histograms on a fixed support, one per column (POT's layout). ``reg=None``:
      the exact barycenter (:func:`lp_barycenter`); ``reg > 0``: the entropic one (:func:`barycenter`),
      ``debias=True`` debiased, ``reg_m`` unbalanced.
    * ``M`` None: ``A`` (K, H, W) or (K, D, H, W) holds K images or volumes on the grid ``[0, 1]^2`` or ``[0, 1]^3``
      (the convolutional barycenter; ``reg`` required, ``debias`` allowed). ``value`` is NaN there (it would take
      the N x N plans), ``plans`` None.

    ``value`` is ``sum_k weights_k <P_k, M>``, the transport part of the objective.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(5.0)
    >>> A = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 1.0]]).T
    >>> res = numbaot.solve_barycenter(A, (x[:, None] - x[None, :]) ** 2)
    >>> res.barycenter.round(6), round(res.value, 6), res.status.name
    (array([0., 0., 1., 0., 0.]), 4.0, 'OPTIMAL')
    """
    debias = V.check_bool(debias, "debias")
    if M is None:
        if reg is None:
            raise ValueError("reg must be given for a barycenter on a grid (M is None); or pass M for the exact one")
        if reg_m is not None:
            raise ValueError("reg_m (unbalanced) is not available on grids; pass the grid's cost matrix as M")
        dims = np.ndim(A) - 1
        if dims not in (2, 3):
            raise ValueError(f"without M, A must be (K, H, W) images or (K, D, H, W) volumes, got {np.ndim(A)} "
                             "dimensions")
        return _convolutional(A, weights, dims, _Request(reg, "solve_barycenter", debiased=debias, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn))
    if reg is None:
        if debias or reg_m is not None:
            raise ValueError("debias and reg_m need reg > 0 (the exact barycenter has neither)")
        return _solve_lp(A, M, weights, warn, "solve_barycenter")
    return _fixed_support(A, M, weights, _Request(reg, "solve_barycenter", reg_m=reg_m, debiased=debias, method=method,
                          max_iter=max_iter, tol=tol, check_every=check_every, n_threads=n_threads,
                          warn=warn), want_plans=True)


def solve_bary_sample(X_a_list, n=None, a_list=None, w=None, X_b_init=None, b=None, *, reg=None,
                      max_iter=FREE_MAX_ITER, tol=FREE_TOL, random_state=0, n_threads=None, warn=True):
    """Free-support barycenter of point clouds, as a :class:`numbaot.BarycenterResult` (POT 0.9.7's
    ``ot.solve_bary_sample``, squared Euclidean cost): ``support`` (n, d), ``barycenter`` the weights ``b``,
    ``plans[k]`` from input k to the barycenter, ``value`` ``sum_k w_k <P_k, M_k>``.

    ``X_b_init`` (n, d) is the initial support; when None, ``n`` points drawn without replacement from the inputs
    (seeded by ``random_state``). ``reg=None``: exact plans; ``reg > 0``: entropic plans.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> res = numbaot.solve_bary_sample([X, X + 4.0], X_b_init=X)
    >>> res.support.ravel(), res.status.name
    (array([2., 3., 4.]), 'OPTIMAL')
    """
    if X_b_init is None:
        if not isinstance(X_a_list, (list, tuple)) or len(X_a_list) == 0:
            raise TypeError("X_a_list must be a non-empty list of (n_k, d) arrays")
        if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n (the barycenter's number of points) must be a positive int when X_b_init is None, "
                             f"got {n!r}")
        pool = np.concatenate([np.atleast_2d(np.asarray(x, dtype=np.float64).reshape(len(x), -1)) for x in X_a_list])
        if n > pool.shape[0]:
            raise ValueError(f"n = {n} exceeds the {pool.shape[0]} input points to draw the initial support from; "
                             "pass X_b_init")
        X_b_init = pool[np.random.default_rng(random_state).choice(pool.shape[0], n, replace=False)]
    return _free_support(X_a_list, a_list, X_b_init, b, w,
                         _Request(reg, "solve_bary_sample", max_iter=max_iter, tol=tol, n_threads=n_threads, warn=warn))


def barycenter_1d(x_list, a_list=None, weights=None):
    """The Wasserstein-2 barycenter of K measures on the line, in closed form: its quantile function is the weighted
    average of the inputs' quantile functions (Agueh and Carlier 2011).

    Parameters
    ----------
    x_list : list of K arrays of shape (n_k,)
        The inputs' support points (any order; sizes may differ).
    a_list : list of K arrays of shape (n_k,), optional
        Their weights (uniform when None; each normalised to mass 1).
    weights : array of shape (K,), optional
        The barycentric weights, non-negative and summing to 1 (uniform when None).

    Returns
    -------
    BarycenterResult
        ``support`` (L, 1) sorted points and ``barycenter`` (L,) their masses, with L at most ``sum n_k`` (one
        point per interval between the inputs' cumulative masses); ``value`` ``sum_k weights_k W_2^2(input k,
        barycenter)``, exact.

    Examples
    --------
    >>> import numbaot
    >>> res = numbaot.barycenter_1d([[0.0, 1.0], [4.0, 5.0]])
    >>> res.support.ravel(), res.barycenter, res.value
    (array([2., 3.]), array([0.5, 0.5]), 4.0)
    """
    if not isinstance(x_list, (list, tuple)) or len(x_list) == 0:
        raise TypeError("x_list must be a non-empty list of 1-D arrays of support points, one per input measure")
    if a_list is not None and (not isinstance(a_list, (list, tuple)) or len(a_list) != len(x_list)):
        raise ValueError(f"a_list must be a list of {len(x_list)} weight vectors (one per measure), or None")
    _host("barycenter_1d", **{f"x_list{k}": x for k, x in enumerate(x_list)})
    xs, cums = [], []
    for k, x in enumerate(x_list):
        x = V.as_float_array(x, f"x_list[{k}]", ndim=1).astype(np.float64)
        V.check_finite(x, f"x_list[{k}]")
        a = V.check_weights(None if a_list is None else a_list[k], f"a_list[{k}]", x.shape[0]).astype(np.float64)
        order = np.argsort(x, kind="stable")
        xs.append(x[order])
        cums.append(np.cumsum(a[order]) / a.sum())
    weights = V.check_barycenter_weights(weights, len(xs))
    # the levels where some input's quantile function jumps; on each interval between them every quantile is flat
    levels = np.unique(np.concatenate([[0.0]] + [np.minimum(c, 1.0) for c in cums] + [[1.0]]))
    mass = np.diff(levels)
    keep = mass > 0
    mid = ((levels[:-1] + levels[1:]) / 2)[keep]
    mass = mass[keep]
    quantiles = [x[np.minimum(np.searchsorted(c, mid), x.shape[0] - 1)] for x, c in zip(xs, cums)]
    support = sum(w * q for w, q in zip(weights, quantiles))
    value = float(sum(w * np.sum(mass * (q - support) ** 2) for w, q in zip(weights, quantiles)))
    return BarycenterResult(barycenter=mass, support=support[:, None], value=value, status=Status.OPTIMAL,
                            citation=_CITATIONS["lp"])
