"""``ot.bregman`` over numbaot: Sinkhorn in its POT variants, entropic barycenters, empirical Sinkhorn.

Each POT method name maps to the numbaot method of the same name; ``log=True`` builds POT's dict for that method
from numbaot's result (scalings ``u = a exp(f / reg)``, ``v = b exp(g / reg)`` from numbaot's potentials, whose
plan is ``a b^T exp((f + g - M) / reg)``).
"""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["screenkhorn", "sinkhorn", "sinkhorn2", "sinkhorn_knopp", "sinkhorn_log", "greenkhorn", "sinkhorn_stabilized",
           "sinkhorn_epsilon_scaling", "barycenter", "barycenter_sinkhorn", "barycenter_stabilized",
           "barycenter_debiased", "convolutional_barycenter2d", "convolutional_barycenter2d_debiased",
           "free_support_sinkhorn_barycenter", "empirical_sinkhorn", "empirical_sinkhorn2",
           "empirical_sinkhorn_divergence", "geometricBar", "geometricMean", "projR", "projC"]

_METHODS = ("sinkhorn", "sinkhorn_log", "greenkhorn", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling")


def _check_method(method):
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(_METHODS)}")
    return method.lower()


def _warm(warmstart, a, b, reg, n, m):
    """POT's warm start (the logs of the scalings u and v) as numbaot's potentials ``f = reg (log u - log a)``."""
    if warmstart is None:
        return None
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64)
    out = []
    for w, x in zip(warmstart, (a, b)):
        w = np.asarray(w, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = reg * (w - np.log(x))
        out.append(np.where(np.isfinite(f), f, 0.0))
    return tuple(out)


def _scalings(result, a, b, reg):
    n, m = result.plan.shape
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_u = np.log(a) + result.potential_a / reg
        log_v = np.log(b) + result.potential_b / reg
    return log_u, log_v


def _log(method, result, a, b, reg, warmstart=None):
    log_u, log_v = _scalings(result, a, b, reg)
    err = C.errors_list(result)
    if method == "sinkhorn_stabilized":
        return {"err": err, "n_iter": result.n_iter, "logu": log_u, "logv": log_v, "alpha": reg * log_u,
                "beta": reg * log_v, "warmstart": (log_u, log_v)}
    if method == "sinkhorn_epsilon_scaling":
        return {"err": err, "niter": result.n_iter, "alpha": reg * log_u, "beta": reg * log_v,
                "logu": log_u, "logv": log_v, "warmstart": (log_u, log_v)}
    log = {"err": err, "niter": result.n_iter}
    if method == "sinkhorn_log":
        log.update(log_u=log_u, log_v=log_v)
    log.update(u=np.exp(log_u), v=np.exp(log_v))
    return log


def _stack_logs(logs):
    """The logs of k targets solved one by one, stacked as POT's (n, k) scalings."""
    out = {}
    for key in logs[0]:
        vals = [lg[key] for lg in logs]
        if isinstance(vals[0], np.ndarray):
            out[key] = np.stack(vals, axis=-1)
        elif key in ("niter", "n_iter"):
            out[key] = max(vals)
        elif key == "err":
            out[key] = vals[0]
        else:
            out[key] = vals[0]
    return out


def _iterations(method, numItermax, n, m):  # noqa: N803 - POT's name
    """POT's iteration cap as numbaot's ``max_iter``: POT's greenkhorn counts single row or column updates, numbaot's
    iterations of n + m of them (at least one)."""
    max_iter = C.max_iter(numItermax)
    if method == "greenkhorn" and max_iter is not None:
        max_iter = max(1, -(-max_iter // (n + m)))
    return max_iter


def _solve(a, b, M, reg, method, numItermax, stopThr, warn, warmstart):  # noqa: N803
    import numbaot

    M = C.as_array(M)
    n, m = np.shape(M)
    return numbaot.solve(M, a, b, reg=reg, method=method, max_iter=_iterations(method, numItermax, n, m), tol=stopThr,
                         warn=warn, potentials_init=_warm(warmstart, a, b, reg, n, m))


def _sinkhorn(method, a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart):  # noqa: N803
    import numbaot

    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    if b is not None and np.ndim(b) == 2:  # POT: k targets give the k costs <P_k, M> (not the plans)
        outs = [_sinkhorn(method, a, np.ascontiguousarray(b[:, k]), M, reg, numItermax, stopThr, verbose, True, warn,
                          None) for k in range(b.shape[1])]
        Mh = np.asarray(M)
        costs = np.asarray([np.sum(o[0] * Mh) for o in outs])
        return (costs, _stack_logs([o[1] for o in outs])) if log else costs
    if not log and not verbose:
        n, m = np.shape(M)
        return numbaot.sinkhorn(a, b, M, reg, method=method, max_iter=_iterations(method, numItermax, n, m),
                                tol=stopThr, warn=warn, potentials_init=_warm(warmstart, a, b, reg, n, m))
    result = _solve(a, b, M, reg, method, numItermax, stopThr, warn, warmstart)
    C.report(verbose, method, result)
    if log:
        return result.plan, _log(method, result, a, b, reg)
    return result.plan


def sinkhorn(a, b, M, reg, method="sinkhorn", numItermax=1000, stopThr=1e-9, verbose=False, log=False, warn=True,
             warmstart=None, **kwargs):
    """Entropic OT plan (POT's ``ot.sinkhorn``) by :func:`numbaot.sinkhorn` with the same ``method`` names.

    ``a=[]``/``b=[]`` mean uniform; ``b`` of shape (m, k) gives the k costs ``<P_k, M>`` (as POT). ``warmstart`` is
    POT's pair of log-scalings. The marginal error that ``stopThr`` bounds is numbaot's (L1, checked every 10
    iterations). With ``log=True`` the dict has POT's keys for the method ('err', 'niter', 'u', 'v'; 'log_u',
    'log_v' for 'sinkhorn_log'; 'logu', 'logv', 'alpha', 'beta' for the stabilized variants).

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> G, log = ot.sinkhorn([], [], [[0.0, 1.0], [1.0, 0.0]], 0.1, log=True)
    >>> G.round(4), sorted(log)
    (array([[0.5, 0. ],
           [0. , 0.5]]), ['err', 'niter', 'u', 'v'])
    """
    return _sinkhorn(_check_method(method), a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)


def sinkhorn2(a, b, M, reg, method="sinkhorn", numItermax=1000, stopThr=1e-9, verbose=False, log=False,
              warn=False, warmstart=None, **kwargs):
    """Entropic OT cost ``<P, M>`` (without the entropy, as POT's ``ot.sinkhorn2``) by :func:`numbaot.sinkhorn2`.

    ``b`` of shape (m, k) gives k costs; ``log=True`` returns ``(cost, log)`` with :func:`sinkhorn`'s keys.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> cost = ot.sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 0.1)
    >>> bool(0 < cost < 1e-4)
    True
    """
    import numbaot

    method = _check_method(method)
    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    if not log and not verbose and (b is None or np.ndim(b) == 1):
        n, m = np.shape(M)
        return numbaot.sinkhorn2(a, b, M, reg, method=method, max_iter=_iterations(method, numItermax, n, m),
                                 tol=stopThr, warn=warn, potentials_init=_warm(warmstart, a, b, reg, n, m))
    if b is not None and np.ndim(b) == 2:
        return _sinkhorn(method, a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)
    G, lg = _sinkhorn(method, a, b, M, reg, numItermax, stopThr, verbose, True, warn, warmstart)
    cost = np.sum(G * np.asarray(M))
    return (cost, lg) if log else cost


def sinkhorn_knopp(a, b, M, reg, numItermax=1000, stopThr=1e-9, verbose=False, log=False, warn=True,
                   warmstart=None, **kwargs):
    """:func:`sinkhorn` with ``method='sinkhorn'`` (scaling domain)."""
    return _sinkhorn("sinkhorn", a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)


def sinkhorn_log(a, b, M, reg, numItermax=1000, stopThr=1e-9, verbose=False, log=False, warn=True,
                 warmstart=None, **kwargs):
    """:func:`sinkhorn` with ``method='sinkhorn_log'`` (log domain)."""
    return _sinkhorn("sinkhorn_log", a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)


def greenkhorn(a, b, M, reg, numItermax=10000, stopThr=1e-9, verbose=False, log=False, warn=True, warmstart=None):
    """:func:`sinkhorn` with ``method='greenkhorn'`` (one row or column per update; ``numItermax`` counts updates, as
    POT's, run as ceil(numItermax / (n + m)) of numbaot's iterations)."""
    return _sinkhorn("greenkhorn", a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)


def sinkhorn_stabilized(a, b, M, reg, numItermax=1000, tau=1e3, stopThr=1e-9, warmstart=None, verbose=False,
                        print_period=20, log=False, warn=True, **kwargs):
    """:func:`sinkhorn` with ``method='sinkhorn_stabilized'`` (numbaot picks its own absorption threshold;
    ``tau`` is accepted for compatibility)."""
    return _sinkhorn("sinkhorn_stabilized", a, b, M, reg, numItermax, stopThr, verbose, log, warn, warmstart)


def sinkhorn_epsilon_scaling(a, b, M, reg, numItermax=100, epsilon0=1e4, numInnerItermax=100, tau=1e3,
                             stopThr=1e-9, warmstart=None, verbose=False, print_period=10, log=False, warn=True,
                             **kwargs):
    """:func:`sinkhorn` with ``method='sinkhorn_epsilon_scaling'``: numbaot's schedule halves reg from the
    spread of M; POT's budget ``numItermax * numInnerItermax`` is the iteration cap."""
    cap = C.max_iter(numItermax) * C.max_iter(numInnerItermax, "numInnerItermax")
    return _sinkhorn("sinkhorn_epsilon_scaling", a, b, M, reg, cap, stopThr, verbose, log, warn, warmstart)


_BARY_METHODS = {"sinkhorn": "sinkhorn", "sinkhorn_log": "sinkhorn_log", "sinkhorn_stabilized": "sinkhorn_log"}


def _bary_method(method):
    if not isinstance(method, str) or method.lower() not in _BARY_METHODS:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(_BARY_METHODS)}")
    return _BARY_METHODS[method.lower()]


def _bary(fn, log, *args, **kwargs):
    out = fn(*args, **kwargs)
    return (out, {}) if log else out


def barycenter(A, M, reg, weights=None, method="sinkhorn", numItermax=10000, stopThr=1e-4, verbose=False,
               log=False, warn=True, **kwargs):
    """Entropic barycenter of the columns of ``A`` (POT's ``ot.barycenter``) by :func:`numbaot.barycenter`
    ('sinkhorn_stabilized' runs numbaot's log-domain method). ``log=True`` adds an empty dict (numbaot returns
    the barycenter only; use :func:`numbaot.solve_barycenter` for the status).

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> A = np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> ot.barycenter(A, ot.dist(np.arange(2.0)[:, None]), 0.1).round(6)
    array([0.5, 0.5])
    """
    import numbaot

    return _bary(numbaot.barycenter, log, C.as_array(A), C.as_array(M), reg, C.weights(weights),
                 _bary_method(method), max_iter=C.max_iter(numItermax), tol=stopThr, warn=warn)


def barycenter_sinkhorn(A, M, reg, weights=None, numItermax=1000, stopThr=1e-4, verbose=False, log=False,
                        warn=True):
    """:func:`barycenter` with ``method='sinkhorn'``."""
    return barycenter(A, M, reg, weights, "sinkhorn", numItermax, stopThr, verbose, log, warn)


def barycenter_stabilized(A, M, reg, tau=1e10, weights=None, numItermax=1000, stopThr=1e-4, verbose=False,
                          log=False, warn=True):
    """:func:`barycenter` with ``method='sinkhorn_stabilized'`` (numbaot's log domain)."""
    return barycenter(A, M, reg, weights, "sinkhorn_stabilized", numItermax, stopThr, verbose, log, warn)


def barycenter_debiased(A, M, reg, weights=None, method="sinkhorn", numItermax=10000, stopThr=1e-4,
                        verbose=False, log=False, warn=True, **kwargs):
    """Debiased entropic barycenter (POT's name) by :func:`numbaot.barycenter_debiased`."""
    import numbaot

    return _bary(numbaot.barycenter_debiased, log, C.as_array(A), C.as_array(M), reg, C.weights(weights),
                 _bary_method(method), max_iter=C.max_iter(numItermax), tol=stopThr, warn=warn)


def convolutional_barycenter2d(A, reg, weights=None, method="sinkhorn", numItermax=10000, stopThr=1e-4,
                               verbose=False, log=False, warn=True, **kwargs):
    """Convolutional barycenter of 2D images ``A`` of shape (k, h, w) (POT's name) by
    :func:`numbaot.convolutional_barycenter2d`."""
    import numbaot

    return _bary(numbaot.convolutional_barycenter2d, log, C.as_array(A), reg, C.weights(weights),
                 _bary_method(method), max_iter=C.max_iter(numItermax), tol=stopThr, warn=warn)


def convolutional_barycenter2d_debiased(A, reg, weights=None, method="sinkhorn", numItermax=10000, stopThr=1e-3,
                                        verbose=False, log=False, warn=True, **kwargs):
    """Debiased convolutional barycenter (POT's name) by :func:`numbaot.convolutional_barycenter2d_debiased`."""
    import numbaot

    return _bary(numbaot.convolutional_barycenter2d_debiased, log, C.as_array(A), reg, C.weights(weights),
                 _bary_method(method), max_iter=C.max_iter(numItermax), tol=stopThr, warn=warn)


def free_support_sinkhorn_barycenter(measures_locations, measures_weights, X_init, reg, b=None, weights=None,
                                     numItermax=100, numInnerItermax=1000, stopThr=1e-7, verbose=False, log=None,
                                     **kwargs):
    """Free-support barycenter with Sinkhorn plans (POT's name) by
    :func:`numbaot.free_support_sinkhorn_barycenter`."""
    import numbaot

    X = numbaot.free_support_sinkhorn_barycenter(list(measures_locations), list(measures_weights),
                                                 C.as_array(X_init), reg, C.weights(b), C.weights(weights),
                                                 max_iter=C.max_iter(numItermax), tol=stopThr)
    return (X, {}) if log else X


def _empirical(X_s, X_t, reg, a, b, metric, numIterMax, stopThr, warn, warmstart):  # noqa: N803
    import numbaot

    X_s, X_t = C.as_array(X_s), C.as_array(X_t)
    M = numbaot.dist(X_s, X_t, metric=metric)
    return M, C.weights(a), C.weights(b)


def empirical_sinkhorn(X_s, X_t, reg, a=None, b=None, metric="sqeuclidean", numIterMax=10000, stopThr=1e-9,
                       isLazy=False, batchSize=100, verbose=False, log=False, warn=True, warmstart=None, **kwargs):
    """Sinkhorn plan between two point clouds (POT's name): the cost by :func:`numbaot.dist`, then
    :func:`sinkhorn` in the log domain. ``isLazy=True`` (POT returns lazy factors) is answered with the dense
    plan; use :func:`numbaot.solve_sample` with ``lazy=True`` for an operator.

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> X = np.array([[0.0], [1.0]])
    >>> ot.bregman.empirical_sinkhorn(X, X, 0.1).round(3)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    if isLazy:
        return _lazy_potentials(X_s, X_t, reg, a, b, metric, numIterMax, stopThr, log, warn)
    M, a, b = _empirical(X_s, X_t, reg, a, b, metric, numIterMax, stopThr, warn, warmstart)
    return _sinkhorn("sinkhorn_log", a, b, M, reg, numIterMax, stopThr, verbose, log, warn, warmstart)


def _lazy_potentials(X_s, X_t, reg, a, b, metric, numIterMax, stopThr, log, warn):  # noqa: N803
    """POT's ``isLazy=True`` answer: the log-potentials ``(f, g)`` with ``P = exp(f + g^T - M / reg)``, from
    numbaot's online Sinkhorn (costs from the points, O(n + m) memory)."""
    import numbaot

    X_s, X_t = np.asarray(X_s, dtype=float), np.asarray(X_t, dtype=float)
    a, b = C.weights(a), C.weights(b)
    res = numbaot.solve_sample(X_s, X_t, a, b, metric, reg=reg, lazy=True, max_iter=C.max_iter(numIterMax),
                               tol=stopThr, warn=warn)
    n, m = X_s.shape[0], X_t.shape[0]
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=float)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=float)
    with np.errstate(divide="ignore"):
        f, g = np.log(a) + res.potential_a / reg, np.log(b) + res.potential_b / reg
    if log:
        from .utils import _Indexable

        op = res.plan_operator
        return f, g, {"err": C.errors_list(res), "niter": res.n_iter,
                      "lazy_plan": None if op is None else _Indexable(op)}
    return f, g


def empirical_sinkhorn2(X_s, X_t, reg, a=None, b=None, metric="sqeuclidean", numIterMax=10000, stopThr=1e-9,
                        isLazy=False, batchSize=100, verbose=False, log=False, warn=True, warmstart=None, **kwargs):
    """Sinkhorn cost ``<P, M>`` between two point clouds (POT's name); ``isLazy=True`` runs numbaot's online
    solver (costs from the points) and the log holds the plan as 'lazy_plan' (``log['lazy_plan'][:]`` is dense)."""
    if isLazy:
        import numbaot

        from .utils import _Indexable

        res = numbaot.solve_sample(np.asarray(X_s, dtype=float), np.asarray(X_t, dtype=float), C.weights(a),
                                   C.weights(b), metric, reg=reg, lazy=True, max_iter=C.max_iter(numIterMax),
                                   tol=stopThr, warn=warn)
        if not log:
            return res.value_linear
        op = res.plan_operator
        return res.value_linear, {"err": C.errors_list(res), "niter": res.n_iter,
                                  "lazy_plan": None if op is None else _Indexable(op)}
    M, a, b = _empirical(X_s, X_t, reg, a, b, metric, numIterMax, stopThr, warn, warmstart)
    return sinkhorn2(a, b, M, reg, "sinkhorn_log", numIterMax, stopThr, verbose, log, warn, warmstart)


def empirical_sinkhorn_divergence(X_s, X_t, reg, a=None, b=None, metric="sqeuclidean", numIterMax=10000,
                                  stopThr=1e-9, verbose=False, log=False, warn=True, warmstart=None, **kwargs):
    """POT's Sinkhorn divergence ``OT(a, b) - (OT(a, a) + OT(b, b)) / 2`` of the linear costs ``<P, M>``.

    POT's definition (the linear parts, with the 1/2 on the symmetric terms); numbaot's own
    :func:`numbaot.sinkhorn_divergence` is GeomLoss's, which includes the entropy. ``log=True`` returns the
    three logs in a dict under 'log_sinkhorn_ab', 'log_sinkhorn_a', 'log_sinkhorn_b'.
    """
    kw = dict(metric=metric, numIterMax=numIterMax, stopThr=stopThr, verbose=verbose, log=True, warn=warn)
    ab, lab = empirical_sinkhorn2(X_s, X_t, reg, a, b, **kw)
    aa, laa = empirical_sinkhorn2(X_s, X_s, reg, a, a, **kw)
    bb, lbb = empirical_sinkhorn2(X_t, X_t, reg, b, b, **kw)
    value = np.maximum(ab - 0.5 * (aa + bb), 0)
    if log:
        return value, {"log_sinkhorn_ab": lab, "log_sinkhorn_a": laa, "log_sinkhorn_b": lbb}
    return value


def screenkhorn(a, b, M, reg, ns_budget=None, nt_budget=None, uniform=False, restricted=True, maxiter=10000,
                maxfun=10000, pgtol=1e-09, verbose=False, log=False):
    """Screenkhorn (POT's name) by :func:`numbaot.screenkhorn`."""
    import numbaot

    return numbaot.screenkhorn(C.uniform_like(a, np.shape(M)[0]), C.uniform_like(b, np.shape(M)[1]), C.as_array(M),
                               reg, ns_budget, nt_budget, uniform, restricted, max_iter=C.max_iter(maxiter),
                               max_fun=C.max_iter(maxfun, "maxfun"), pgtol=pgtol, log=log)


def geometricBar(weights, alldistribT):  # noqa: N802, N803 - POT's names
    """Weighted geometric mean of the columns of ``alldistribT``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.bregman import geometricBar
    >>> geometricBar([0.5, 0.5], np.array([[1.0, 4.0], [4.0, 1.0]]))
    array([2., 2.])
    """
    w = np.asarray(weights, dtype=float)
    return np.exp(np.log(np.asarray(alldistribT, dtype=float)) @ w)


def geometricMean(alldistribT):  # noqa: N802, N803
    """Geometric mean of the columns of ``alldistribT``."""
    return np.exp(np.mean(np.log(np.asarray(alldistribT, dtype=float)), axis=1))


def projR(gamma, p):  # noqa: N802
    """Rescale the rows of ``gamma`` to sum to ``p``."""
    gamma = np.asarray(gamma, dtype=float)
    return gamma * (np.asarray(p) / np.maximum(gamma.sum(axis=1), 1e-10))[:, None]


def projC(gamma, q):  # noqa: N802
    """Rescale the columns of ``gamma`` to sum to ``q``."""
    gamma = np.asarray(gamma, dtype=float)
    return gamma * (np.asarray(q) / np.maximum(gamma.sum(axis=0), 1e-10))[None, :]


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "jcpot_barycenter": "numbaot.barycenter",
    "unmix": "numbaot.barycenter",
    "empirical_sinkhorn_nystroem": "numbaot.solve_sample(..., reg=, lazy=True)",
    "empirical_sinkhorn_nystroem2": "numbaot.solve_sample(..., reg=, lazy=True)",
    "empirical_sinkhorn2_geomloss": "numbaot.geomloss.SamplesLoss or numbaot.solve_sample(..., reg=, lazy=True)",
    "geomloss": "numbaot.geomloss",
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
