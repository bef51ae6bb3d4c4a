"""Class-regularised and Laplacian-regularised OT for domain adaptation (POT keeps these in ``ot.da``):
:func:`sinkhorn_lpl1_mm`, :func:`sinkhorn_l1l2_gl` (Courty et al. 2016) and :func:`emd_laplace` (Flamary et al.
2014).

The group regularisers act on the groups ``G[I_c, j]`` of a plan: the source points of class c sent to target j.
``sinkhorn_lpl1_mm`` majorises the concave l_p^1 penalty (p = 1/2) by a linear one and re-solves Sinkhorn on the
reweighted costs (majorisation-minimisation); ``sinkhorn_l1l2_gl`` runs :func:`~numbaot.optim.api.gcg` on the
convex group lasso; ``emd_laplace`` runs :func:`~numbaot.optim.api.cg` on a quadratic Laplacian penalty with the
exact line search. The regularisers and their gradients are numpy expressions over the classes or the points
(O(n m) per class sum, O(n^2 d) per Laplacian product), never n^3.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dispatch, _validation as V
from .._result import OTResult
from .._status import Status, warn_status
from . import api as _api

_LPL1_P = 0.5
_LPL1_EPS = 1e-3
_COURTY = ("Courty, Flamary, Tuia, Rakotomamonjy (2016). Optimal Transport for Domain Adaptation. IEEE TPAMI")
_FLAMARY = ("Flamary, Courty, Tuia, Rakotomamonjy (2014). Optimal transport with Laplacian regularization: "
            "Applications to domain adaptation and shape matching. NIPS Workshop on Optimal Transport")


def _labels(labels_a, n):
    """Class index of each source point (0..C-1) and the number of classes, from labels of any sortable kind."""
    labels = np.asarray(labels_a)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels_a must be a 1-D array with one label per row of M ({n}), got shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("labels_a contains NaN or inf; give one finite label per source point")
    if labels.dtype.kind not in "biufUSO":
        raise TypeError(f"labels_a must hold integers or strings, got dtype {labels.dtype}")
    classes, index = np.unique(labels, return_inverse=True)
    return index.astype(np.int64).reshape(-1), len(classes)


def _class_sums(X, index, n_classes):
    """``S[c, j] = sum_{i in class c} X[i, j]``."""
    onehot = np.zeros((n_classes, X.shape[0]))
    onehot[index, np.arange(X.shape[0])] = 1.0
    return onehot @ X  # BLAS (np.add.at was 3 ms at n = 300)


def _sinkhorn_problem(a, b, M, reg, max_iter, max_inner_iter, inner_tol, warn, log):
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    max_inner_iter = V.check_max_iter(max_inner_iter, "max_inner_iter")
    inner_tol = V.check_tol(inner_tol, "inner_tol")
    warn = V.check_bool(warn, "warn")
    log = V.check_bool(log, "log")
    a, b, M, out_dtype = _api._check_problem(a, b, M)
    return a, b, M, out_dtype, reg, max_iter, max_inner_iter, inner_tol, warn, log


def sinkhorn_lpl1_mm(a, labels_a, b, M, reg, eta=0.1, *, max_iter=10, max_inner_iter=200, inner_tol=1e-9,
                     log=False, n_threads=None, warn=True):
    """Entropic OT with the l_p^1 class regulariser (p = 1/2), by majorisation-minimisation: POT's
    ``ot.da.sinkhorn_lpl1_mm``.

    Minimises ``<M, G> + reg sum G log G + eta sum_j sum_c (sum_{i in class c} G_ij)^(1/2)`` (with a small
    smoothing 1e-3 inside the root, as Courty et al. 2016): target points are discouraged from receiving mass from
    several classes. Each of ``max_iter`` steps re-solves Sinkhorn on ``M + eta W``, W the derivative of the
    penalty at the previous plan; Sinkhorn starts from the previous potentials.

    Parameters
    ----------
    a : array of shape (n,), or None
        Source weights (uniform when None).
    labels_a : array of shape (n,)
        Source classes (integers or strings).
    b : array of shape (m,), or None
        Target weights, of the same mass as a.
    M : array of shape (n, m)
        Finite costs.
    reg : float > 0
        Entropic regularisation.
    eta : float >= 0
        Weight of the class regulariser.
    max_iter : int
        Majorisation-minimisation steps (POT's ``numItermax``).
    max_inner_iter : int
        Sinkhorn iterations per step (POT's ``numInnerItermax``).
    inner_tol : float >= 0
        Sinkhorn's marginal error tolerance (POT's ``stopInnerThr``).
    log : bool
        Also return a dict: 'u', 'v' (the last Sinkhorn potentials), 'err' (its marginal errors), 'n_iter',
        'status'.
    n_threads : int, optional
        Threads of Sinkhorn.
    warn : bool
        ConvergenceWarning when the last Sinkhorn solve did not reach ``inner_tol``.

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> G = numbaot.sinkhorn_lpl1_mm([1/3] * 3, [0, 1, 0], [2/3, 1/3], M, 0.1, eta=0.5)
    >>> G.round(3)
    array([[0.333, 0.   ],
           [0.   , 0.333],
           [0.333, 0.   ]])
    """
    placement = _dispatch.place(a=a, b=b, M=M)
    a, b, M = _dispatch.host_copies(a, b, M)
    a, b, M, out_dtype, reg, max_iter, max_inner_iter, inner_tol, warn, log = _sinkhorn_problem(
        a, b, M, reg, max_iter, max_inner_iter, inner_tol, warn, log)
    eta = _check_eta(eta)
    index, n_classes = _labels(_dispatch.host_copies(labels_a)[0], M.shape[0])
    from ..entropic.api import solve_entropic

    W = np.zeros_like(M)
    potentials = None
    inner = None
    for _ in range(max_iter):
        C = M + eta * W
        inner = _api.inner_sinkhorn(solve_entropic, C, a, b, reg, float(C.max() - C.min()), max_inner_iter,
                                    inner_tol, potentials, n_threads)
        if inner.status == Status.NUMERICAL_ERROR:
            break
        potentials = (inner.potential_a.astype(np.float64), inner.potential_b.astype(np.float64))
        sums = _class_sums(np.asarray(inner.plan, dtype=np.float64), index, n_classes)
        W = (_LPL1_P * (sums + _LPL1_EPS) ** (_LPL1_P - 1.0))[index]
    plan = np.asarray(inner.plan, dtype=np.float64)
    status = inner.status
    if warn:
        warn_status(status, "sinkhorn_lpl1_mm", "the last Sinkhorn solve stopped at max_inner_iter; raise it or "
                    "loosen inner_tol", stacklevel=3)
    value_linear = float(np.vdot(M, plan))
    sums = _class_sums(plan, index, n_classes)
    value = value_linear + reg * _api._entropy(plan) + eta * float(np.sum(np.sqrt(sums + _LPL1_EPS)))
    result = _dispatch.back_to_caller(placement, OTResult(
        value=out_dtype.type(value), value_linear=out_dtype.type(value_linear), plan=plan.astype(out_dtype),
        potential_a=inner.potential_a, potential_b=inner.potential_b, status=status, n_iter=max_iter,
        errors=inner.errors, citation=_COURTY))
    if log:
        return result.plan, {"u": result.potential_a, "v": result.potential_b, "err": list(inner.errors),
                             "n_iter": max_iter, "status": status, "cost": result.value_linear,
                             "total_cost": result.value}
    return result.plan


def _check_eta(eta, name="eta"):
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real):
        raise TypeError(f"{name} must be a non-negative real number, got {eta!r}")
    if not math.isfinite(eta) or eta < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {eta}")
    return float(eta)


def group_lasso(index, n_classes, eps=1e-12):
    """``(f, df)`` of the group lasso ``sum_j sum_c ||G[I_c, j]||_2`` (``df`` divides by max(norm, eps))."""

    def f(G):
        return float(np.sum(np.sqrt(_class_sums(G * G, index, n_classes))))

    def df(G):
        norms = np.sqrt(_class_sums(G * G, index, n_classes))
        return G / np.maximum(norms, eps)[index]

    return f, df


def sinkhorn_l1l2_gl(a, labels_a, b, M, reg, eta=0.1, *, max_iter=10, max_inner_iter=200, inner_tol=1e-9,
                     eps=1e-12, log=False, n_threads=None, warn=True):
    """Entropic OT with the l1-l2 group lasso on source classes, by generalised conditional gradient: POT's
    ``ot.da.sinkhorn_l1l2_gl``.

    Minimises ``<M, G> + reg sum G log G + eta sum_j sum_c ||G[I_c, j]||_2`` (Courty et al. 2016), I_c the source
    points of class c, by :func:`numbaot.gcg` (Sinkhorn inner solves, Armijo's step on the whole objective).

    Parameters
    ----------
    a, labels_a, b, M, reg, eta, max_iter, max_inner_iter, n_threads, warn
        As in :func:`sinkhorn_lpl1_mm` (``max_iter``: outer conditional gradient iterations).
    inner_tol : float >= 0
        Sinkhorn's marginal error tolerance, and the outer loop's tolerance on the change of the objective (as POT
        uses its ``stopInnerThr`` for both).
    eps : float > 0
        Floor of the group norms in the gradient.
    log : bool
        Also return :func:`numbaot.gcg`'s log dict.

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> G = numbaot.sinkhorn_l1l2_gl([1/3] * 3, [0, 1, 0], [2/3, 1/3], M, 0.1, eta=0.5, warn=False)
    >>> G.round(3)
    array([[0.333, 0.   ],
           [0.   , 0.333],
           [0.333, 0.   ]])
    """
    M_arr = V.as_float_array(_dispatch.host_copies(M)[0], "M", ndim=2)
    index, n_classes = _labels(_dispatch.host_copies(labels_a)[0], M_arr.shape[0])
    eta = _check_eta(eta)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    f, df = group_lasso(index, n_classes, float(eps))
    log = V.check_bool(log, "log")
    result, run = _api.solve_gcg(a, b, M, reg, eta, f, df, None, _api.GcgOptions(
        max_iter=max_iter, max_inner_iter=max_inner_iter, tol_rel=inner_tol, tol_abs=inner_tol, inner_tol=inner_tol,
        n_threads=n_threads, warn=warn, solver="sinkhorn_l1l2_gl"))
    return (result.plan, _api._log_dict(result, run)) if log else result.plan


# ------------------------------------------------------------------------------------------------------- Laplacian
SIMILARITIES = ("knn", "gauss")
LAPLACE_REGS = ("pos", "disp")


def _sqdist(X, Y):
    d = np.sum(X * X, axis=1)[:, None] + np.sum(Y * Y, axis=1)[None, :] - 2.0 * X @ Y.T
    return np.maximum(d, 0.0)


def knn_graph(X, k):
    """Symmetrised k-nearest-neighbour connectivity ``(A + A^T) / 2``, A[i, l] = 1 for the k points nearest to i
    (other than i; ties broken by index)."""
    n = X.shape[0]
    D = _sqdist(X, X)
    np.fill_diagonal(D, np.inf)
    nearest = np.argsort(D, axis=1, kind="stable")[:, :k]
    A = np.zeros((n, n))
    A[np.repeat(np.arange(n), k), nearest.reshape(-1)] = 1.0
    return (A + A.T) / 2.0


def laplacian(S):
    """The graph Laplacian ``diag(S 1) - S`` of a symmetric similarity."""
    return np.diag(S.sum(axis=0)) - S


def laplace_regularizer(xs, xt, lS, lT, alpha):
    """``(f, df)`` of ``alpha tr(xt^T G^T lS G xt) + (1 - alpha) tr(xs^T G lT G^T xs)`` in O(n m d + n^2 d):
    products with the points first, never ``G @ (xt xt^T)``."""
    ls2 = lS + lS.T
    lt2 = lT + lT.T

    def f(G):
        A = G @ xt  # (n, d)
        B = G.T @ xs  # (m, d)
        return float(alpha * np.sum(A * (lS @ A)) + (1.0 - alpha) * np.sum(B * (lT @ B)))

    def df(G):
        A = G @ xt
        B = G.T @ xs
        return alpha * ((ls2 @ A) @ xt.T) + (1.0 - alpha) * (xs @ (lt2.T @ B).T)

    return f, df


def emd_laplace(a, b, xs, xt, M, sim="knn", sim_param=None, reg="pos", eta=1.0, alpha=0.5, *, max_iter=100,
                tol_rel=1e-9, tol_abs=1e-9, line_search="quadratic", log=False, n_threads=None, warn=True):
    """Exact OT with a Laplacian regulariser preserving the similarity structure of both samples: POT's
    ``ot.da.emd_laplace`` (Flamary et al. 2014).

    Minimises ``<M, G> + eta (alpha tr(X_t^T G^T L_s G X_t) + (1 - alpha) tr(X_s^T G L_t G^T X_s))`` over plans
    with marginals a and b, L_s and L_t the graph Laplacians of the similarity graphs of xs and xt, by
    :func:`numbaot.cg` with the exact line search (the regulariser is quadratic).

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    xs, xt : arrays of shape (n, d) and (m, d)
        Source and target samples.
    M : array of shape (n, m)
        Finite costs.
    sim : {'knn', 'gauss'}
        Similarity: the symmetrised k-nearest-neighbour graph, or the Gaussian kernel
        ``exp(-|x - y|^2 / (2 sigma^2))``.
    sim_param : int or float, optional
        k for 'knn' (default 3); sigma for 'gauss' (default ``1 / (2 mean(|xs_i - xs_l|^2)^2)``, as POT).
    reg : {'pos', 'disp'}
        'pos' regularises the transported positions; 'disp' the displacements (adds POT's linear terms to M).
    eta : float
        Weight of the regulariser.
    alpha : float in [0, 1]
        Balance of the source and target terms.
    max_iter, tol_rel, tol_abs, log, n_threads, warn
        As in :func:`numbaot.cg`.
    line_search : {'quadratic', 'armijo'}
        The exact step (default) or Armijo's rule (POT's choice).

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> xs = np.array([[0.0], [1.0], [2.0], [3.0]]); xt = xs + 0.5
    >>> M = numbaot.dist(xs, xt)
    >>> G = numbaot.emd_laplace(None, None, xs, xt, M, sim="knn", sim_param=1, eta=0.1)
    >>> (G * 4).round(3)
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """
    _dispatch.require_host(_dispatch.place(a=a, b=b, xs=xs, xt=xt, M=M), "emd_laplace",
                           "pass numpy arrays (e.g. cupy.asnumpy(x))")
    xs = V.as_float_array(xs, "xs", ndim=2).astype(np.float64)
    xt = V.as_float_array(xt, "xt", ndim=2).astype(np.float64)
    V.check_finite(xs, "xs")
    V.check_finite(xt, "xt")
    V.check_same_dimension(xs, xt, ("xs", "xt"))
    sim = V.check_choice(sim, "sim", SIMILARITIES)
    reg = V.check_choice(reg, "reg", LAPLACE_REGS)
    eta = _api.check_weight_of(eta, "eta")
    alpha = _check_unit(alpha)
    M_arr = V.as_float_array(M, "M", ndim=2)
    if M_arr.shape != (xs.shape[0], xt.shape[0]):
        raise ValueError(f"M has shape {M_arr.shape} but xs has {xs.shape[0]} and xt {xt.shape[0]} points")
    if sim == "gauss":
        if sim_param is None:
            sim_param = 1.0 / (2.0 * float(np.mean(_sqdist(xs, xs))) ** 2)
        sigma = _check_positive(sim_param, "sim_param")
        sS = np.exp(-_sqdist(xs, xs) / (2.0 * sigma ** 2))
        sT = np.exp(-_sqdist(xt, xt) / (2.0 * sigma ** 2))
    else:
        k = 3 if sim_param is None else sim_param
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or int(k) != k or k < 1:
            raise ValueError(f"sim_param must be a positive integer number of neighbours for sim='knn', got {k!r}")
        k = int(k)
        if k >= min(xs.shape[0], xt.shape[0]):
            raise ValueError(f"sim_param = {k} neighbours needs more than {k} points in xs and xt, got "
                             f"{xs.shape[0]} and {xt.shape[0]}")
        sS, sT = knn_graph(xs, k), knn_graph(xt, k)
    lS, lT = laplacian(sS), laplacian(sT)
    f, df = laplace_regularizer(xs, xt, lS, lT, alpha)
    M_used = M
    if reg == "disp":
        Cs = -eta * alpha / xs.shape[0] * ((lS + lS.T) @ xs @ xt.T)
        Ct = -eta * (1.0 - alpha) / xt.shape[0] * (xs @ xt.T @ (lT + lT.T))
        M_used = np.asarray(M_arr, dtype=np.float64) + Cs + Ct
    log = V.check_bool(log, "log")
    result, run = _api.solve_cg(a, b, M_used, eta, f, df, None, _api.CgOptions(
        line_search, max_iter=max_iter, tol_rel=tol_rel, tol_abs=tol_abs, n_threads=n_threads, warn=warn,
        solver="emd_laplace"))
    result = result.replace(citation=_FLAMARY)
    return (result.plan, _api._log_dict(result, run)) if log else result.plan


def _check_unit(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in [0, 1], got {alpha!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return float(alpha)


def _check_positive(x, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {x!r}")
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {x}")
    return float(x)
