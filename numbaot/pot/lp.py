"""``ot.lp`` over numbaot: exact OT by numbaot's network simplex, 1D and circle OT, LP barycenters.

POT's signatures, positional order, defaults and ``log`` dicts; POT's ``AssertionError`` for unequal masses (raised
as :class:`numbaot.pot.MarginalsError`, also a ``ValueError``).
"""
from __future__ import annotations

import numpy as np

from .._status import Status
from . import _common as C

__all__ = ["emd", "emd2", "emd_1d", "emd2_1d", "wasserstein_1d", "barycenter", "free_support_barycenter",
           "binary_search_circle", "wasserstein_circle", "semidiscrete_wasserstein2_unif_circle",
           "check_number_threads", "center_ot_dual"]

#: POT's ``result_code`` in the log of ``emd``: 0 infeasible, 1 optimal, 2 unbounded, 3 max_iter reached.
_RESULT_CODE = {Status.OPTIMAL: 1, Status.MAX_ITER_REACHED: 3, Status.INFEASIBLE: 0}
_MESSAGES = {0: "Problem infeasible. Check that a and b are in the simplex", 2: "Problem unbounded",
             3: "numItermax reached before optimality. Try to increase numItermax."}
#: POT's default cap; numbaot's own (a stall guard scaled with the problem) is used instead when it is left as is.
_POT_EMD_CAP = 100000


def _cap(numItermax):  # noqa: N803
    return None if numItermax == _POT_EMD_CAP else C.max_iter(numItermax)


def check_number_threads(numThreads):  # noqa: N803
    """POT's check of ``numThreads``: -1 for "max" or None, else the positive integer."""
    n = C.threads(numThreads)
    return -1 if n is None and numThreads != 1 else (1 if n is None else n)


def center_ot_dual(alpha0, beta0, a=None, b=None):
    """Shift dual potentials so that ``a @ alpha == b @ beta`` (the objective is unchanged).

    Examples
    --------
    >>> from numbaot.pot.lp import center_ot_dual
    >>> center_ot_dual([1.0, 1.0], [0.0, 0.0])
    (array([0.5, 0.5]), array([0.5, 0.5]))
    """
    alpha0, beta0 = np.asarray(alpha0, dtype=float), np.asarray(beta0, dtype=float)
    a = C.uniform_like(a, alpha0.shape[0])
    b = C.uniform_like(b, beta0.shape[0])
    c = (b @ beta0 - a @ alpha0) / (a.sum() + b.sum())
    return alpha0 + c, beta0 - c


def _log(result, with_plan=False):
    code = _RESULT_CODE.get(result.status, 2)
    log = {"cost": result.value, "u": result.potential_a, "v": result.potential_b,
           "warning": _MESSAGES.get(code), "result_code": code}
    if with_plan:
        log["G"] = result.plan
    return log


def _check_dense(M):
    if hasattr(M, "tocoo") or type(M).__module__.startswith("scipy.sparse"):
        raise C.PotNotImplementedError("a scipy sparse cost matrix is not implemented by numbaot.pot's emd; closest "
                                       "numbaot function: numbaot.emd on a dense M (+inf for forbidden arcs)")


def _solve(a, b, M, numItermax, n_threads, potentials_init):  # noqa: N803
    """numbaot's exact solve, warning as POT does (UserWarning naming numItermax) when the cap is reached."""
    import warnings

    import numbaot

    _check_dense(M)
    with C.asserting():
        result = numbaot.solve(M, a, b, max_iter=_cap(numItermax), n_threads=n_threads,
                               potentials_init=_potentials(potentials_init), warn=False)
    code = _RESULT_CODE.get(result.status, 2)
    if code != 1:
        warnings.warn(f"{_MESSAGES[code]} ({result.status.name}, {result.n_iter} pivots)", UserWarning,
                      stacklevel=3)
    return result


def _potentials(potentials_init):
    if potentials_init is None:
        return None
    return tuple(np.asarray(p, dtype=np.float64) for p in potentials_init)


def emd(a, b, M, numItermax=100000, log=False, center_dual=True, numThreads=1, check_marginals=True,
        potentials_init=None):
    """Exact OT plan (POT's ``ot.emd``) by :func:`numbaot.emd`.

    ``a=[]`` or ``b=[]`` means uniform. ``numItermax`` left at POT's 100000 uses numbaot's own cap (a stall guard
    scaled with n + m). Duals are always centred (``a @ u == b @ v``); ``check_marginals`` is accepted for
    compatibility (numbaot always checks masses). Unequal masses raise :class:`~numbaot.pot.MarginalsError`
    (an ``AssertionError``, as POT's, and a ``ValueError``).

    Returns
    -------
    G : array of shape (n, m)
    log : dict, with ``log=True``
        'cost', 'u', 'v' (centred duals), 'warning', 'result_code' (POT's codes: 1 optimal, 3 max_iter).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> ot.emd([], [], [[0.0, 1.0], [1.0, 0.0]])
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    n_threads = C.threads(numThreads, warn=True)
    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    result = _solve(a, b, M, numItermax, n_threads, potentials_init)
    return (result.plan, _log(result)) if log else result.plan


def emd2(a, b, M, processes=1, numItermax=100000, log=False, return_matrix=False, center_dual=True, numThreads=1,
         check_marginals=True, potentials_init=None):
    """Exact OT cost (POT's ``ot.emd2``) by :func:`numbaot.emd2`.

    ``processes`` is accepted and ignored (as in POT). ``b`` of shape (m, k) gives k costs. With ``log=True``:
    ``(cost, log)`` with POT's keys ('cost', 'u', 'v', 'warning', 'result_code', and 'G' with
    ``return_matrix=True``).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> float(ot.emd2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]))
    0.0
    """
    n_threads = C.threads(numThreads, warn=True)
    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    if b is not None and np.ndim(b) == 2:
        outs = [emd2(a, np.ascontiguousarray(b[:, k]), M, processes, numItermax, log, return_matrix, center_dual,
                     numThreads, check_marginals, potentials_init) for k in range(b.shape[1])]
        return outs if (log or return_matrix) else np.asarray(outs)  # POT: a list of (cost, log) with log
    result = _solve(a, b, M, numItermax, n_threads, potentials_init)
    if log or return_matrix:
        return result.value, _log(result, with_plan=return_matrix)
    return result.value


def emd_1d(x_a, x_b, a=None, b=None, metric="sqeuclidean", p=1.0, dense=True, log=False, check_marginals=True):
    """Exact OT plan on the line (POT's ``ot.emd_1d``) by :func:`numbaot.emd_1d`; ``log={'cost': ...}``.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> ot.emd_1d([0.0, 1.0], [2.0, 3.0])
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    import numbaot

    with C.asserting():
        G = numbaot.emd_1d(C.as_array(x_a), C.as_array(x_b), C.weights(a), C.weights(b), metric, p, dense)
        if log:
            cost = numbaot.emd2_1d(C.as_array(x_a), C.as_array(x_b), C.weights(a), C.weights(b), metric, p)
            return G, {"cost": cost}
    return G


def emd2_1d(x_a, x_b, a=None, b=None, metric="sqeuclidean", p=1.0, dense=True, log=False):
    """Exact OT cost on the line (POT's ``ot.emd2_1d``); ``log={'G': plan}``.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> float(ot.emd2_1d([0.0, 1.0], [2.0, 3.0]))
    4.0
    """
    import numbaot

    with C.asserting():
        cost = numbaot.emd2_1d(C.as_array(x_a), C.as_array(x_b), C.weights(a), C.weights(b), metric, p)
        if log:
            G = numbaot.emd_1d(C.as_array(x_a), C.as_array(x_b), C.weights(a), C.weights(b), metric, p, dense)
            return cost, {"G": G}
    return cost


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1, require_sort=True,
                   return_plans=False):
    """``W_p^p`` between 1D distributions (POT's ``ot.wasserstein_1d``), batched over trailing axes.

    ``return_plans=True`` (POT's sparse plans along the sorted values) is not available: use
    :func:`numbaot.emd_1d`.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> float(ot.wasserstein_1d([0.0, 1.0], [2.0, 3.0], p=2))
    4.0
    """
    import numbaot

    if return_plans:
        raise C.PotNotImplementedError("wasserstein_1d(return_plans=True) is not implemented by numbaot.pot; "
                                       "closest numbaot function: numbaot.emd_1d (the plan between two samples)")
    with C.asserting():
        return numbaot.wasserstein_1d(C.as_array(u_values), C.as_array(v_values), C.as_array(u_weights),
                                      C.as_array(v_weights), p, require_sort)


def binary_search_circle(u_values, v_values, u_weights=None, v_weights=None, p=1, Lm=10, Lp=10, tm=-1, tp=1,
                         eps=1e-6, require_sort=True, log=False):
    """``W_p^p`` on the circle [0, 1) (POT's ``ot.binary_search_circle``) by
    :func:`numbaot.binary_search_circle` (its search needs none of POT's bracketing parameters ``Lm``, ``Lp``,
    ``tm``, ``tp``, ``eps``); ``log={'optimal_theta': theta}``.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> round(float(ot.binary_search_circle([0.1], [0.9])), 6)
    0.2
    """
    import numbaot

    out = numbaot.binary_search_circle(C.as_array(u_values), C.as_array(v_values), C.as_array(u_weights),
                                       C.as_array(v_weights), p, return_theta=bool(log))
    if log:
        return out[0], {"optimal_theta": np.atleast_1d(out[1])}
    return out


def wasserstein_circle(u_values, v_values, u_weights=None, v_weights=None, p=1, Lm=10, Lp=10, tm=-1, tp=1,
                       eps=1e-6, require_sort=True):
    """``W_p`` on the circle [0, 1) (POT's ``ot.wasserstein_circle``) by :func:`numbaot.wasserstein_circle`.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> round(float(ot.wasserstein_circle([0.1], [0.9])), 6)
    0.2
    """
    import numbaot

    return numbaot.wasserstein_circle(C.as_array(u_values), C.as_array(v_values), C.as_array(u_weights),
                                      C.as_array(v_weights), p)


def semidiscrete_wasserstein2_unif_circle(u_values, u_weights=None):
    """``W_2^2`` between samples on the circle and the uniform distribution (POT's name).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> round(float(ot.semidiscrete_wasserstein2_unif_circle([0.5])), 6)
    0.083333
    """
    import numbaot

    w = C.as_array(u_weights)
    if w is not None:  # POT does not check the mass: rescale float noise (float32 weights summing to 1 - 3e-9)
        w = np.asarray(w, dtype=np.float64)
        total = w.sum(axis=0)
        if np.all(np.abs(total - 1) < 1e-6):
            w = w / total
    return numbaot.semidiscrete_wasserstein2_unif_circle(C.as_array(u_values), w)


def barycenter(A, M, weights=None, verbose=False, log=False, solver="highs-ipm"):
    """Exact (LP) Wasserstein barycenter of the columns of ``A`` (POT's ``ot.lp.barycenter``) by
    :func:`numbaot.lp_barycenter` (scipy's HiGHS; ``solver`` is accepted for compatibility).

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> A = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    >>> M = ot.dist(np.arange(3.0)[:, None])
    >>> ot.lp.barycenter(A, M).round(6)
    array([0., 1., 0.])
    """
    import numbaot

    bary = numbaot.lp_barycenter(C.as_array(A), C.as_array(M), C.weights(weights))
    if log:
        return bary, {}
    return bary


def free_support_barycenter(measures_locations, measures_weights, X_init, b=None, weights=None, numItermax=100,
                            stopThr=1e-7, verbose=False, log=None, numThreads=1):
    """Free-support Wasserstein barycenter (POT's ``ot.lp.free_support_barycenter``) by
    :func:`numbaot.free_support_barycenter`; ``log={'displacement_square_norms': [...]}`` is not recorded by
    numbaot: the log holds the final iteration count instead ('n_iter').

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> X = [np.array([[0.0], [2.0]]), np.array([[2.0], [4.0]])]
    >>> w = [np.full(2, 0.5), np.full(2, 0.5)]
    >>> ot.lp.free_support_barycenter(X, w, np.array([[0.0], [1.0]])).ravel()
    array([1., 3.])
    """
    import numbaot

    X = numbaot.free_support_barycenter(list(measures_locations), list(measures_weights), C.as_array(X_init),
                                        C.weights(b), C.weights(weights), max_iter=C.max_iter(numItermax),
                                        tol=stopThr, n_threads=C.threads(numThreads))
    if log:
        return X, {}
    return X


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "emd2_lazy": "numbaot.solve_sample(X_a, X_b, lazy=True)",
    "emd_1d_dual": "numbaot.emd_1d",
    "emd_1d_dual_backprop": "numbaot.emd_1d",
    "emd_1d_sorted": "numbaot.emd_1d",
    "generalized_free_support_barycenter": "numbaot.free_support_barycenter",
    "free_support_barycenter_generic_costs": "numbaot.free_support_barycenter",
    "linear_circular_ot": "numbaot.wasserstein_circle",
    "dmmot_monge_1dgrid_loss": None,
    "dmmot_monge_1dgrid_optimize": None,
    "NorthWestMMGluing": None,
    "ot_barycenter_energy": "numbaot.free_support_barycenter",
    "estimate_dual_null_weights": "numbaot.solve (its duals are feasible for zero weights)",
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
