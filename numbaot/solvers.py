"""The unified API: ``solve`` and ``solve_sample`` (and, as solver families land, ``solve_gromov``, ``solve_batch``).

Each function picks the method from its arguments and calls the family's front-end; all return an ``OTResult``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _dispatch, _validation as V
from ._defaults import CHECK_EVERY, MAX_ITER, TOL
from ._result import OTResult


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", *, p=2.0, reg=None, lazy=False, max_iter=None,
                 n_threads=None, warn=True, tol=None, debias=False, reg_m=None, method=None, n_projections=50,
                 projections=None, random_state=None) -> OTResult:
    """Optimal transport between two point clouds, returning an :class:`OTResult`.

    Exact OT (``reg=None``): one-dimensional clouds with a convex cost (every metric but 'cosine') are solved by
    sorting and a monotone merge in O((n + m) log(n + m)) (see :func:`numbaot.emd_1d`), on the GPU for CUDA
    inputs. Other clouds are solved by the network simplex on the host (see :func:`numbaot.emd`), with the cost
    matrix built first or, with ``lazy=True``, costs computed on the fly in O(n + m) memory. Entropic OT
    (``reg > 0``): log-domain Sinkhorn on the cost matrix (see :func:`numbaot.sinkhorn`) or, with ``lazy=True``,
    online log-domain Sinkhorn computing the costs from the points at every iteration: O(n + m) memory, parallel
    over points, every metric.

    Parameters
    ----------
    X_a, X_b : arrays of shape (n, d) and (m, d), or (n,) and (m,) for 1D
        Support points (numpy; CUDA arrays for 1D clouds, for entropic OT with ``lazy=True`` and for
        ``debias=True``).
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski', 'cosine'}
        Ground cost, as in :func:`numbaot.dist` ('minkowski' is ``(sum |x_k - y_k|^p)^(1/p)``).
    p : float >= 1
        Exponent of 'minkowski'.
    reg : float > 0, optional
        Entropic regularisation; None (the default) for exact OT.
    lazy : bool
        When True the cost matrix and the dense plan are never built. Exact OT: the result holds the plan's at
        most ``n + m - 1`` non-zeros (``plan_coo``, ``plan_sparse``) and ``plan_operator``. Entropic OT: the
        result holds the potentials and a matrix-free ``plan_operator`` (``P @ v`` and ``P^T @ u`` recompute the
        plan's entries from the points). Reading ``result.plan`` densifies on demand. When False the dense plan
        is built at once (refused with a ValueError if it would not fit).
    max_iter : int, optional
        Exact: maximum network simplex pivots (None: a stall guard of max(1e7, 1000 (n + m))). Entropic: maximum
        Sinkhorn iterations (None: 1000).
    n_threads : int, optional
        Host threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.
    tol : float, optional
        Entropic only: L1 marginal error to reach (None: 1e-9; float32 costs stop at 1e-6 or above, see
        :func:`numbaot.sinkhorn`).
    debias : bool
        Entropic only: return the Sinkhorn divergence ``OT(a, b) - (OT(a, a) + OT(b, b)) / 2`` as ``value``
        (as ``geomloss.ot.solve_sample(..., debias=True)``), solved by symmetric updates with epsilon annealing
        (see :func:`numbaot.sinkhorn_divergence`); ``potential_a``/``potential_b`` are then the debiased
        potentials ``f_ab - f_aa`` and ``g_ab - g_bb``, ``plan_operator`` the a-b plan's.
    reg_m : float or (float, float), optional
        Strength of KL penalties on the marginals; None or inf for balanced OT. With ``debias=True``: one number
        (the unbalanced divergence; GeomLoss's ``reach`` is ``reg_m = p * reach**p``). Otherwise with
        ``lazy=True``: unbalanced online Sinkhorn (``value`` adds ``rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)``, as
        ``numbaot.solve(M, a, b, reg, unbalanced=reg_m)``; ``tol`` bounds the change of the potentials / reg).
    method : {'1d', 'sliced', 'max_sliced', 'gaussian'}, optional
        Closed forms and approximations, as POT's ``solve_sample(method=...)``; the result then holds ``value`` (=
        ``value_linear``) and no plan. '1d': ``W_p^p`` of each coordinate apart (an array of d values); 'sliced' /
        'max_sliced': ``SW_p`` / max-sliced ``W_p`` (the p-th root; see
        :func:`numbaot.sliced_wasserstein_distance`); 'gaussian': ``W_2^2`` between the fitted Gaussians, with
        ``reg`` (default 1e-6) on the covariances (see :func:`numbaot.empirical_bures_wasserstein_distance`).
        p is 2 for 'sqeuclidean' and 1 for 'euclidean' / 'cityblock' ('gaussian': 'sqeuclidean' only).
    n_projections, projections, random_state
        'sliced' and 'max_sliced': the number of random directions, the directions (d, L) themselves, and the seed.

    Returns
    -------
    OTResult
        Exact: ``value`` (the cost), ``plan``, ``potential_a``/``potential_b`` (centred dual potentials),
        marginals. Entropic: ``value`` = <P, C> + reg * KL(P | a b^T), ``value_linear`` = <P, C>, potentials
        ``(f, g)`` with ``P = a b^T exp((f + g - C) / reg)``, ``status``, ``n_iter``, ``errors``.

    Examples
    --------
    >>> import numbaot
    >>> res = numbaot.solve_sample([0.0, 1.0, 3.0], [0.5, 2.0])
    >>> float(res.value), res.plan.shape
    (0.625, (3, 2))
    >>> res = numbaot.solve_sample([[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]], lazy=True)
    >>> float(res.value), res.plan_sparse.nnz
    (0.0, 2)
    >>> res = numbaot.solve_sample([[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]], reg=0.1, lazy=True)
    >>> res.status.name, res.plan_operator.matvec([1.0, 1.0]).round(6)
    ('OPTIMAL', array([0.5, 0.5]))
    """
    lazy = V.check_bool(lazy, "lazy")
    warn = V.check_bool(warn, "warn")
    metric, p = V.check_metric(metric, p)
    debias = V.check_bool(debias, "debias")
    if method is not None:
        if lazy or debias or reg_m is not None or tol is not None or max_iter is not None:
            raise ValueError(f"method={method!r} computes a closed form or a slicing: lazy, debias, reg_m, tol and "
                             "max_iter do not apply to it")
        return _solve_sample_method(X_a, X_b, a, b, metric, reg, method, (n_projections, projections, random_state),
                                    n_threads)
    if reg is None and (debias or reg_m is not None):
        raise ValueError("debias and reg_m apply to entropic OT: give reg > 0 (e.g. reg = 2 * blur**2 for "
                         "GeomLoss's blur with the 'sqeuclidean' metric)")
    if reg is not None:
        V.check_reg(reg)
        max_iter = MAX_ITER if max_iter is None else max_iter
        tol = TOL if tol is None else tol
        if debias:
            from .entropic.divergence import solve_divergence

            return solve_divergence(X_a, X_b, a, b, reg, reg_m, metric, p, 0.5, True, max_iter, tol, lazy,
                                    n_threads, warn)
        if reg_m is not None and not lazy:
            raise ValueError("reg_m (unbalanced OT) between clouds runs online: pass lazy=True (or debias=True for "
                             "the unbalanced Sinkhorn divergence), or solve on the cost matrix with "
                             "numbaot.solve(numbaot.dist(X_a, X_b), a, b, reg=reg, unbalanced=reg_m)")
        if lazy:
            from .entropic.online import solve_online

            return solve_online(X_a, X_b, a, b, reg, metric, p, max_iter, tol, 10, None, n_threads, warn, reg_m)
        from .entropic.api import sinkhorn_options, solve_entropic, solve_on_device
        from .utils import dist

        M = dist(V.check_points(X_a, "X_a", allow_cuda=True), V.check_points(X_b, "X_b", allow_cuda=True),
                 metric=metric, p=p, n_threads=n_threads)
        placement = _dispatch.place(M=M, a=a, b=b)
        opts = sinkhorn_options(reg, "sinkhorn_log", max_iter, tol, 10)
        if placement.on_gpu:  # the cost matrix was built on the device: solve it there
            return solve_on_device(placement, M, a, b, opts, None, warn)
        return solve_entropic(M, a, b, opts, None, n_threads, warn)
    if tol is not None:
        raise ValueError("tol applies to entropic OT (reg > 0); the exact solver takes none")
    X_a = V.check_points(X_a, "X_a", allow_cuda=True)
    X_b = V.check_points(X_b, "X_b", allow_cuda=True)
    dims = [1 if len(X.shape) == 1 else X.shape[1] for X in (X_a, X_b)]
    if dims[0] != dims[1]:
        raise ValueError(f"X_a has points of dimension {dims[0]} but X_b of dimension {dims[1]}")
    placement = _dispatch.place(X_a=X_a, X_b=X_b, a=a, b=b)
    points = (X_a, X_b)  # kept unscaled for the result's a_to_b / b_to_a
    if dims[0] == 1 and metric != "cosine":
        from .exact.api import solve_1d

        # In 1D every metric but cosine is |x - y| or (x - y)^2 (minkowski's root undoes its power).
        metric_1d = "sqeuclidean" if metric == "sqeuclidean" else "euclidean"
        result = solve_1d(X_a, X_b, a, b, metric_1d, 1.0, want_plan=True, n_threads=n_threads)
    elif placement.on_gpu:
        from .exact.api import solve_exact
        from .utils import dist

        if lazy:
            _dispatch.require_host(placement, "solve_sample: lazy exact OT between multi-dimensional clouds",
                                   "pass lazy=False (the costs are built on the GPU, the network simplex runs on "
                                   "host copies) or copy the points to the host first")
        result = solve_exact(dist(X_a, X_b, metric=metric, p=p), a, b, max_iter, n_threads, warn=warn)[0]
    else:
        from ._scaling import max_abs, pow2_exponent

        # Coordinates so large or small that their costs would overflow or underflow are scaled by a power of
        # two first (exact), and the value and potentials scaled back (bad input 9).
        e = pow2_exponent(max_abs(X_a, X_b))
        if e:
            X_a, X_b = np.ldexp(X_a.astype(np.float64), -e), np.ldexp(X_b.astype(np.float64), -e)
        if lazy:
            from .exact.api import solve_points_exact

            result = solve_points_exact(X_a, X_b, a, b, metric, p, max_iter, n_threads, warn)
        else:
            from .exact.api import solve_exact
            from .utils import dist

            result = solve_exact(dist(X_a, X_b, metric=metric, p=p, n_threads=n_threads), a, b, max_iter,
                                  n_threads, warn=warn)[0]
        if e:
            result = _scale_result(result, e, 2.0 if metric == "sqeuclidean" else 0.0 if metric == "cosine" else 1.0)
    if not placement.on_gpu:
        result = result.replace(points=points)
    if not lazy:
        result.plan  # noqa: B018 - build (and size-check) the dense plan now, as the caller asked
    return result


_SAMPLE_METHODS = ("1d", "sliced", "max_sliced", "gaussian")


def _solve_sample_method(X_a, X_b, a, b, metric, reg, method, slicing, n_threads) -> OTResult:
    """``solve_sample(method=...)``: the closed forms and slicings that give a value and no plan (as POT);
    ``slicing`` is ``(n_projections, projections, random_state)``."""
    n_projections, projections, random_state = slicing
    if not isinstance(method, str) or method.lower() not in _SAMPLE_METHODS:
        raise ValueError(f"method must be one of {_SAMPLE_METHODS} (or None for exact and entropic OT), got "
                         f"{method!r}")
    method = method.lower()
    if method == "gaussian":
        if metric != "sqeuclidean":
            raise ValueError(f"method='gaussian' gives W_2^2: it takes metric='sqeuclidean', got {metric!r}")
        from .gaussian.api import empirical_bures_wasserstein_distance

        value = empirical_bures_wasserstein_distance(X_a, X_b, 1e-6 if reg is None else reg, a, b,
                                                     n_threads=n_threads) ** 2
        return OTResult(value=value, value_linear=value)
    if metric not in ("sqeuclidean", "euclidean", "cityblock"):
        raise ValueError(f"method={method!r} takes metric 'sqeuclidean' (p = 2), 'euclidean' or 'cityblock' "
                         f"(p = 1), got {metric!r}")
    if reg is not None:
        raise ValueError(f"reg does not apply to method={method!r} (it solves exact 1D problems)")
    power = 2.0 if metric == "sqeuclidean" else 1.0
    if method == "1d":
        from .exact.api import wasserstein_1d

        value = wasserstein_1d(X_a, X_b, a, b, power, n_threads=n_threads)
    else:
        from .sliced.api import max_sliced_wasserstein_distance, sliced_wasserstein_distance

        verb = sliced_wasserstein_distance if method == "sliced" else max_sliced_wasserstein_distance
        value = verb(X_a, X_b, a, b, n_projections, power, projections, random_state, n_threads=n_threads)
    return OTResult(value=value, value_linear=value)


def _scale_result(result, e, power):
    """``result`` with its value and potentials multiplied by ``2**(e * power)`` (a new result)."""
    from ._scaling import scale_up

    value = type(result.value)(scale_up(float(result.value), e, power))
    potentials = {name: scale_up(values, e, power).astype(values.dtype, copy=False)
                  for name, values in (("potential_a", result.potential_a), ("potential_b", result.potential_b))}
    return result.replace(value=value, value_linear=value, **potentials)


def solve(M, a=None, b=None, reg=None, *, reg_type="KL", max_iter=None, tol=None, method=None, n_threads=None,
          warn=True, potentials_init=None, plan_init=None, unbalanced=None, unbalanced_type="KL") -> OTResult:
    """Optimal transport for a cost matrix, returning an :class:`OTResult`.

    ``reg=None`` solves exact OT by the network simplex (see :func:`numbaot.emd`); ``reg > 0`` solves
    ``min <P, M> + reg * KL(P | a b^T)`` by Sinkhorn (log domain by default; see :func:`numbaot.sinkhorn`).

    Parameters
    ----------
    M : array of shape (n, m)
        Costs of any sign; ``+inf`` marks a forbidden arc.
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    reg : float > 0, optional
        Entropic regularisation; None for exact OT.
    reg_type : {'KL', 'entropy', 'L2'} or pair of callables
        The regulariser. 'KL' and 'entropy': entropic, counted in ``value`` as ``KL(P | a b^T)`` (the default) or
        ``sum P log P`` (Cuturi's original formulation); both give the same plan. 'L2': ``reg/2 |P|^2``, solved by
        :func:`numbaot.smooth_ot_dual` (``method`` scipy's optimiser; ``max_iter`` default 1000); the plan is
        sparse and ``value`` = <P, M> + reg/2 |P|^2 (POT's solve reports reg |P|^2). ``(f, df)``: ``reg f(P)``
        for a differentiable f with gradient df (numpy in, numpy out), by :func:`numbaot.cg` (``plan_init`` its
        start, ``method`` its line search: None/'armijo' or 'quadratic'; ``max_iter`` default 1000); potentials
        are the duals of the last linear problem.
    max_iter : int, optional
        Exact: maximum pivots (None: a stall guard of max(1e7, 1000 (n + m))). Entropic: maximum iterations
        (None: 1000).
    tol : float, optional
        Entropic only: L1 marginal error to reach (None: 1e-9; float32 costs stop at 1e-6 or above, see
        :func:`numbaot.sinkhorn`).
    method : str, optional
        Entropic only: 'sinkhorn_log' (the default), 'sinkhorn', 'sinkhorn_stabilized',
        'sinkhorn_epsilon_scaling' or 'greenkhorn' (see :func:`numbaot.sinkhorn`).
    n_threads : int, optional
        Threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.
    potentials_init : pair of arrays, optional
        Warm start from duals ``(f, g)``.
    plan_init : array or scipy sparse, optional
        Exact only: warm start from a plan (see :func:`numbaot.emd`).
    unbalanced : float > 0 or pair, optional
        Penalties ``(rho_a, rho_b)`` on the marginals (one number for both); the masses of a and b may then differ.
        With ``reg > 0``, ``reg_type`` 'KL' or 'entropy' and KL penalties: :func:`numbaot.sinkhorn_unbalanced`
        (``inf`` keeps a marginal exact; ``method``: 'sinkhorn_log', 'sinkhorn_translation_invariant' or
        'sinkhorn'). With ``reg=None``: KL and L2 by :func:`numbaot.mm_unbalanced` (``plan_init`` its start), TV
        exactly by the network simplex. Other ``reg > 0`` combinations (L2 or TV penalties, ``reg_type`` 'L2' or
        a pair ``(f, df)``): :func:`numbaot.lbfgsb_unbalanced`. ``value`` is then the whole objective.
    unbalanced_type : {'KL', 'L2', 'TV'}
        The marginal penalty: generalised KL, half the squared L2 distance, or total variation.

    Returns
    -------
    OTResult
        Exact: ``value`` = ``value_linear`` = <P, M>, ``plan`` (dense on first access; ``plan_coo``/``plan_sparse``
        hold its at most n + m - 1 non-zeros), centred dual potentials feasible for every row and column (zero
        weights included), ``status``, ``n_iter`` (pivots). Entropic: ``value`` = <P, M> + reg * KL(P | a b^T)
        (or + reg * sum P log P with ``reg_type='entropy'``),
        ``value_linear`` = <P, M>, ``plan``, potentials ``(f, g)`` with ``P = a b^T exp((f + g - M) / reg)``,
        ``status``, ``n_iter``, ``errors`` (the marginal error at each check). Unbalanced: ``value`` =
        <P, M> + reg * KL(P | a b^T) + rho_a * KL(P 1 | a) + rho_b * KL(P^T 1 | b) (generalised KL),
        ``errors`` the change of the potentials at each check.

    Examples
    --------
    >>> import numbaot
    >>> res = numbaot.solve([[0.0, 2.0], [1.0, 0.0]])
    >>> float(res.value), res.status.name
    (0.0, 'OPTIMAL')
    >>> res = numbaot.solve([[0.0, 2.0], [1.0, 0.0]], reg=0.5)
    >>> res.status.name, round(float(res.value_linear), 4), round(float(res.value), 4)
    ('OPTIMAL', 0.0711, 0.3223)
    """
    warn = V.check_bool(warn, "warn")
    if unbalanced is not None:
        return _solve_unbalanced(M, a, b, reg, _SolveOptions(reg_type, max_iter, tol, method, n_threads, warn,
                                                             potentials_init, plan_init, unbalanced, unbalanced_type))
    if reg is not None and (isinstance(reg_type, tuple) or (isinstance(reg_type, str) and reg_type.lower() == "l2")):
        return _solve_regularized(M, a, b, reg, _SolveOptions(reg_type, max_iter, tol, method, n_threads, warn,
                                                              potentials_init, plan_init))
    if reg is not None:
        if plan_init is not None:
            raise ValueError("plan_init warm-starts the exact solver (reg=None); give potentials_init with reg")
        from .entropic.api import sinkhorn_options, solve_entropic, solve_on_device

        opts = sinkhorn_options(reg, "sinkhorn_log" if method is None else method,
                                MAX_ITER if max_iter is None else max_iter, TOL if tol is None else tol, CHECK_EVERY,
                                reg_type)
        placement = _dispatch.place(M=M, a=a, b=b)
        if placement.on_gpu:
            return solve_on_device(placement, M, a, b, opts, potentials_init, warn)
        return solve_entropic(M, a, b, opts, potentials_init, n_threads, warn)
    if tol is not None or method is not None:
        raise ValueError("tol and method apply to entropic OT (reg > 0); the exact solver takes neither")
    from .exact.api import solve_exact

    return solve_exact(M, a, b, max_iter, n_threads, warn=warn, potentials_init=potentials_init,
                        plan_init=plan_init)[0]


def solve_gromov(Ca, Cb, M=None, a=None, b=None, loss="square_loss", symmetric=None, alpha=0.5, reg=None, *,
                 max_iter=None, tol=None, G0=None, n_init=1, random_state=None, n_threads=None,
                 warn=True) -> OTResult:
    """Gromov-Wasserstein between two spaces given by their structure matrices, returning an :class:`OTResult`.

    Without ``M``: GW, ``min_T sum_ijkl L(Ca_ik, Cb_jl) T_ij T_kl``. With feature costs ``M``: fused GW,
    ``(1 - alpha) <M, T> + alpha GW(T)``. ``reg=None`` solves it by conditional gradient with our network simplex
    (see :func:`numbaot.gromov_wasserstein`); ``reg > 0`` adds ``- reg H(T)`` and solves by mirror descent with
    Sinkhorn (see :func:`numbaot.entropic_gromov_wasserstein`). The problem is not convex: the result is a
    stationary point reached from ``G0`` (default ``a b^T``; ``n_init > 1`` adds random starts, exact only).

    Parameters
    ----------
    Ca, Cb : arrays of shape (n, n) and (m, m)
        Structure matrices (finite; symmetric or not). CUDA inputs are solved on host copies: the result has
        ``device="cuda"`` (plan on the device) and ``ran_on="cpu"``.
    M : array of shape (n, m), optional
        Finite feature costs (fused GW).
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    loss : {'square_loss', 'kl_loss'}
    symmetric : bool, optional
        None detects symmetry (dtype-aware tolerance); True is verified.
    alpha : float in [0, 1]
        Fused GW trade-off (used only with M).
    reg : float > 0, optional
        Entropic regularisation.
    max_iter : int, optional
        Outer iterations (None: 10000 exact, 1000 entropic).
    tol : float, optional
        Exact: relative and absolute change of the objective (None: 1e-9). Entropic: change of the plan in
        Frobenius norm (None: 1e-9).
    G0 : array of shape (n, m), optional
        Starting plan.
    n_init : int
        Exact only: number of starts (the first from G0).
    random_state : int or numpy Generator, optional
    n_threads : int, optional
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    OTResult
        ``value`` = ``(1 - alpha) value_linear + alpha value_quad`` (``value_quad`` without M), where
        ``value_linear = <M, T>`` (0 without M) and ``value_quad = sum L(Ca_ik, Cb_jl) T_ij T_kl``; the entropy is
        not included. ``plan``, ``status``, ``n_iter``; ``errors`` holds the objective after each iteration
        (exact) or the change of the plan (entropic); entropic results also carry the last Sinkhorn potentials.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]]), metric="euclidean")
    >>> res = numbaot.solve_gromov(C, C[::-1, ::-1])
    >>> round(float(res.value), 12), res.status.name
    (0.0, 'OPTIMAL')
    >>> res.plan.argmax(axis=1)
    array([2, 1, 0])
    """
    from .gromov.api import solve_gromov_problem

    return solve_gromov_problem(Ca, Cb, M, a, b, loss, symmetric, alpha, reg, max_iter, tol, G0, n_init, random_state,
                         n_threads, warn)


class _SolveOptions(NamedTuple):
    """``solve``'s options past the problem's data (M, a, b, reg), as the caller gave them (checked where they are
    used): one object for the helpers below."""

    reg_type: object = "KL"
    max_iter: object = None
    tol: object = None
    method: object = None
    n_threads: object = None
    warn: bool = True
    potentials_init: object = None
    plan_init: object = None
    unbalanced: object = None
    unbalanced_type: object = "KL"


def _solve_regularized(M, a, b, reg, opts: _SolveOptions):
    """Balanced OT with ``reg_type='L2'`` (smooth OT by its dual, as POT) or ``reg_type=(f, df)`` (conditional
    gradient with the network simplex, ``plan_init`` its start and ``method`` its line search)."""
    reg_type, max_iter, tol, method = opts.reg_type, opts.max_iter, opts.tol, opts.method
    n_threads, warn, potentials_init, plan_init = opts.n_threads, opts.warn, opts.potentials_init, opts.plan_init
    if potentials_init is not None:
        raise ValueError("potentials_init warm-starts Sinkhorn and the exact solver; reg_type='L2' and reg_type=(f, df) "
                         "take none (give plan_init to start the conditional gradient of reg_type=(f, df))")
    max_iter = MAX_ITER if max_iter is None else max_iter
    tol = TOL if tol is None else tol
    if isinstance(reg_type, tuple):
        if len(reg_type) != 2:
            raise ValueError(f"reg_type=(f, df) needs the regulariser and its gradient, got a tuple of {len(reg_type)}")
        from .optim.api import CgOptions, solve_cg

        f, df = reg_type
        return solve_cg(a, b, M, reg, f, df, plan_init, CgOptions(method, max_iter=max_iter, tol_rel=tol,
                                                                  n_threads=n_threads, warn=warn,
                                                                  solver="solve (reg_type=(f, df))"))[0]
    if plan_init is not None:
        raise ValueError("plan_init is not taken with reg_type='L2' (the dual solver starts from zero potentials)")
    from .smooth.api import solve_smooth

    return solve_smooth(a, b, M, reg, "l2", method=method, tol=tol, max_iter=max_iter, n_threads=n_threads,
                        warn=warn, solver="solve (reg_type='L2')").result


def _solve_unbalanced(M, a, b, reg, opts: _SolveOptions):
    """``solve(..., unbalanced=rho)``: entropic unbalanced OT with KL penalties by Sinkhorn; exact (``reg=None``)
    KL/L2 by majorization-minimization and TV by the network simplex; the other regularised ones by L-BFGS-B."""
    reg_type, max_iter, tol, method, n_threads, warn, potentials_init, plan_init, unbalanced, unbalanced_type = opts
    if not isinstance(unbalanced_type, str):
        raise TypeError(f"unbalanced_type must be a string ('KL', 'L2' or 'TV'), got {unbalanced_type!r}")
    kind = unbalanced_type.lower()
    if kind not in ("kl", "l2", "tv"):
        raise ValueError(f"unbalanced_type must be 'KL', 'L2' or 'TV' (the marginal penalty), got {unbalanced_type!r}")
    sinkhorn = reg is not None and kind == "kl" and isinstance(reg_type, str) and reg_type.lower() in ("kl", "entropy")
    if sinkhorn:
        if plan_init is not None:
            raise ValueError("plan_init warm-starts the exact solver (reg=None); give potentials_init with reg")
        from .entropic.unbalanced import solve_unbalanced, unbalanced_options

        options = unbalanced_options(reg, unbalanced, "sinkhorn_log" if method is None else method, reg_type,
                                     MAX_ITER if max_iter is None else max_iter, TOL if tol is None else tol,
                                     CHECK_EVERY)
        return solve_unbalanced(M, a, b, options, potentials_init, n_threads, warn, stacklevel=5)
    if method is not None or potentials_init is not None:
        raise ValueError(f"method and potentials_init apply to entropic unbalanced OT with KL penalties (Sinkhorn); "
                         f"unbalanced_type={unbalanced_type!r} with reg={reg!r} takes neither (plan_init is its start)")
    from .unbalanced.api import solve_lbfgsb, solve_mm, solve_tv_exact

    if reg is None:
        if kind == "tv":
            if tol is not None or plan_init is not None:
                raise ValueError("unbalanced_type='TV' with reg=None is solved exactly (a linear program): tol and "
                                 "plan_init do not apply")
            return solve_tv_exact(M, a, b, unbalanced, max_iter, n_threads, warn)
        return solve_mm(M, a, b, unbalanced, None, 0.0, kind, plan_init, MAX_ITER if max_iter is None else max_iter,
                        TOL if tol is None else tol, n_threads, warn)
    reg_div = reg_type if isinstance(reg_type, tuple) else V.check_choice(
        reg_type.lower() if isinstance(reg_type, str) else reg_type, "reg_type", ("kl", "l2", "entropy"))
    return solve_lbfgsb(M, a, b, reg, unbalanced, None, reg_div, kind, plan_init,
                        MAX_ITER if max_iter is None else max_iter, TOL if tol is None else tol, n_threads, warn)


def solve_batch(M, reg, a=None, b=None, *, max_iter=MAX_ITER, tol=TOL, method=None, unbalanced=None,
                unbalanced_type="KL", check_every=CHECK_EVERY, potentials_init=None, n_threads=None, warn=True):
    """Entropic OT for a batch of cost matrices ``M[k]``, solved together (POT's ``ot.batch.solve_batch``).

    Each problem is ``min <P, M[k]> + reg * KL(P | a_k b_k^T)`` (plus, with ``unbalanced``, KL penalties on the
    marginals), solved by log-domain Sinkhorn with the rows of all problems updated in one parallel loop; each
    problem stops on its own tolerance. CUDA inputs are solved on the GPU (one grid axis over the batch).

    Parameters
    ----------
    M : array of shape (B, n, m)
        The costs of B problems of the same size.
    reg : float > 0
        Entropic regularisation, shared by the problems (exact OT, ``reg=None``, is not available in batches).
    a, b : arrays of shape (B, n) and (B, m), or (n,) and (m,) shared by all, optional
        Weights (uniform when None); balanced problems need equal masses per problem.
    max_iter : int
        Maximum iterations per problem.
    tol : float >= 0
        Balanced: L1 error of the column marginals; unbalanced: largest change of the potentials divided by reg.
    method : {'sinkhorn_log', 'sinkhorn_translation_invariant'}, optional
        The second only matters for unbalanced problems.
    unbalanced : float > 0 or pair, optional
        KL penalties ``(rho_a, rho_b)`` on the marginals (see :func:`numbaot.sinkhorn_unbalanced`).
    unbalanced_type : {'KL'}
    check_every : int
        Iterations between two convergence checks.
    potentials_init : pair of arrays of shapes (B, n) and (B, m), optional
        Warm start.
    n_threads : int, optional
        Host threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when some problem did not converge.

    Returns
    -------
    BatchOTResult
        An OTResult with a leading batch axis: ``value``, ``value_linear`` (B,), ``plan`` (B, n, m),
        ``potential_a`` (B, n), ``potential_b`` (B, m); ``status`` is the worst over the batch and ``statuses``
        (B,) gives each; ``n_iters`` (B,) and ``errors`` (B, L) per problem.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    >>> res = numbaot.solve_batch(M, reg=0.1)
    >>> res.plan.round(3)
    array([[[0.5, 0. ],
            [0. , 0.5]],
    <BLANKLINE>
           [[0. , 0.5],
            [0.5, 0. ]]])
    >>> res.value.shape, res.status.name
    ((2,), 'OPTIMAL')
    """
    if reg is None:
        raise ValueError("solve_batch solves entropic OT: give reg > 0 (exact OT in batches is not available; loop "
                         "over numbaot.solve for it)")
    if unbalanced is not None:
        if not isinstance(unbalanced_type, str):
            raise TypeError(f"unbalanced_type must be a string ('KL'), got {unbalanced_type!r}")
        if unbalanced_type.lower() != "kl":
            raise ValueError(f"unbalanced_type must be 'KL' in this version, got {unbalanced_type!r}")
    from .entropic.batch import batch_options, solve_batch_cpu

    opts = batch_options(reg, unbalanced, "sinkhorn_log" if method is None else method, max_iter, tol, check_every)
    return solve_batch_cpu(M, a, b, opts, potentials_init, n_threads, warn)

