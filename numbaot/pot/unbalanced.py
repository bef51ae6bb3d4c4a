"""``ot.unbalanced`` over numbaot: unbalanced Sinkhorn (KL marginal penalties) and unbalanced barycenters.

POT's log scalings are numbaot's potentials over ``reg`` (``logu = f / reg``): both write the plan as
``a b^T exp((f + g - M) / reg)`` (POT's reference measure ``c = a b^T``).
"""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["sinkhorn_unbalanced", "sinkhorn_unbalanced2", "sinkhorn_knopp_unbalanced",
           "sinkhorn_stabilized_unbalanced", "sinkhorn_unbalanced_translation_invariant", "barycenter_unbalanced",
           "barycenter_unbalanced_sinkhorn", "barycenter_unbalanced_stabilized", "mm_unbalanced", "mm_unbalanced2",
           "lbfgsb_unbalanced", "lbfgsb_unbalanced2"]

_METHODS = {"sinkhorn": "sinkhorn", "sinkhorn_stabilized": "sinkhorn_log", "sinkhorn_log": "sinkhorn_log",
            "sinkhorn_translation_invariant": "sinkhorn_translation_invariant"}


def _method(method):
    if not isinstance(method, str) or method.lower() not in _METHODS:
        if method == "sinkhorn_reg_scaling":
            raise C.PotNotImplementedError("method='sinkhorn_reg_scaling' is not implemented by numbaot.pot; "
                                           "closest numbaot function: numbaot.sinkhorn_unbalanced")
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(_METHODS)}")
    return _METHODS[method.lower()]


def _check_c(c, a, b, M):
    if c is None:
        return
    M = np.asarray(M)
    a = np.full(M.shape[0], 1.0 / M.shape[0]) if a is None else np.asarray(a, dtype=float)
    b = np.full(M.shape[1], 1.0 / M.shape[1]) if b is None else np.asarray(b, dtype=float)
    if not np.allclose(np.asarray(c, dtype=float), np.outer(a, b)):
        raise C.PotNotImplementedError("a reference measure c other than a b^T is not implemented by numbaot.pot; "
                                       "closest numbaot function: numbaot.sinkhorn_unbalanced (c = a b^T)")


def _warm(warmstart, reg):
    if warmstart is None:
        return None
    return tuple(reg * np.asarray(w, dtype=np.float64) for w in warmstart)


def _solve(a, b, M, reg, reg_m, method, reg_type, c, warmstart, numItermax, stopThr):  # noqa: N803
    import numbaot

    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    _check_c(c, a, b, M)
    return numbaot.solve(M, a, b, reg=reg, unbalanced=reg_m, method=_method(method),
                         reg_type="entropy" if str(reg_type).lower() == "entropy" else "KL",
                         max_iter=C.max_iter(numItermax), tol=stopThr, potentials_init=_warm(warmstart, reg))


def _log(result, reg):
    logu, logv = result.potential_a / reg, result.potential_b / reg
    return {"err": C.errors_list(result), "logu": logu, "logv": logv, "cost": result.value_linear,
            "total_cost": result.value}


def sinkhorn_unbalanced(a, b, M, reg, reg_m, method="sinkhorn", reg_type="kl", c=None, warmstart=None,
                        numItermax=1000, stopThr=1e-6, verbose=False, log=False, **kwargs):
    """Unbalanced entropic OT plan (POT's ``ot.sinkhorn_unbalanced``) by :func:`numbaot.sinkhorn_unbalanced`.

    ``method``: 'sinkhorn' (scaling domain), 'sinkhorn_stabilized' (numbaot's log domain) or
    'sinkhorn_translation_invariant'. ``reg_m`` a number or a pair (``inf`` keeps a marginal exact). ``c`` must
    be ``a b^T`` (POT's default). ``log``: 'err', 'logu', 'logv', 'cost' (linear), 'total_cost'.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> G = ot.sinkhorn_unbalanced([0.5, 0.5], [1.0, 1.0], [[0.0, 1.0], [1.0, 0.0]], 0.1, 1.0)
    >>> G.round(3)
    array([[0.696, 0.   ],
           [0.   , 0.696]])
    """
    b_arr = C.weights(b)
    if b_arr is not None and np.ndim(b_arr) == 2:
        outs = [sinkhorn_unbalanced(a, np.ascontiguousarray(b_arr[:, k]), M, reg, reg_m, method, reg_type, c,
                                    None, numItermax, stopThr, verbose, log) for k in range(b_arr.shape[1])]
        return np.stack(outs, axis=-1) if not log else (np.stack([o[0] for o in outs], -1), [o[1] for o in outs])
    result = _solve(a, b, M, reg, reg_m, method, reg_type, c, warmstart, numItermax, stopThr)
    C.report(verbose, "sinkhorn_unbalanced", result)
    return (result.plan, _log(result, reg)) if log else result.plan


def sinkhorn_unbalanced2(a, b, M, reg, reg_m, method="sinkhorn", reg_type="kl", c=None, warmstart=None,
                         returnCost="linear", numItermax=1000, stopThr=1e-6, verbose=False, log=False, **kwargs):
    """Unbalanced entropic OT cost (POT's name): ``returnCost='linear'`` gives ``<P, M>``, 'total' the whole
    objective (numbaot's ``value``)."""
    if returnCost not in ("linear", "total"):
        raise ValueError(f"Unknown returnCost = {returnCost!r}: use 'linear' or 'total'")
    b_arr = C.weights(b)
    if b_arr is not None and np.ndim(b_arr) == 2:
        outs = [sinkhorn_unbalanced2(a, np.ascontiguousarray(b_arr[:, k]), M, reg, reg_m, method, reg_type, c, None,
                                     returnCost, numItermax, stopThr, verbose, log) for k in range(b_arr.shape[1])]
        return np.asarray(outs) if not log else (np.asarray([o[0] for o in outs]), [o[1] for o in outs])
    result = _solve(a, b, M, reg, reg_m, method, reg_type, c, warmstart, numItermax, stopThr)
    C.report(verbose, "sinkhorn_unbalanced", result)
    cost = result.value_linear if returnCost == "linear" else result.value
    return (cost, _log(result, reg)) if log else cost


def sinkhorn_knopp_unbalanced(a, b, M, reg, reg_m, reg_type="kl", c=None, warmstart=None, numItermax=1000,
                              stopThr=1e-6, verbose=False, log=False, **kwargs):
    """:func:`sinkhorn_unbalanced` with ``method='sinkhorn'``."""
    return sinkhorn_unbalanced(a, b, M, reg, reg_m, "sinkhorn", reg_type, c, warmstart, numItermax, stopThr,
                               verbose, log)


def sinkhorn_stabilized_unbalanced(a, b, M, reg, reg_m, reg_type="kl", c=None, warmstart=None, tau=1e5,
                                   numItermax=1000, stopThr=1e-6, verbose=False, log=False, **kwargs):
    """:func:`sinkhorn_unbalanced` with ``method='sinkhorn_stabilized'`` (numbaot's log domain)."""
    return sinkhorn_unbalanced(a, b, M, reg, reg_m, "sinkhorn_stabilized", reg_type, c, warmstart, numItermax,
                               stopThr, verbose, log)


def sinkhorn_unbalanced_translation_invariant(a, b, M, reg, reg_m, reg_type="kl", c=None, warmstart=None,
                                              numItermax=1000, stopThr=1e-6, verbose=False, log=False, **kwargs):
    """:func:`sinkhorn_unbalanced` with ``method='sinkhorn_translation_invariant'``."""
    return sinkhorn_unbalanced(a, b, M, reg, reg_m, "sinkhorn_translation_invariant", reg_type, c, warmstart,
                               numItermax, stopThr, verbose, log)


def barycenter_unbalanced(A, M, reg, reg_m, method="sinkhorn", weights=None, numItermax=1000, stopThr=1e-6,
                          verbose=False, log=False, **kwargs):
    """Unbalanced entropic barycenter (POT's name) by :func:`numbaot.barycenter_unbalanced`."""
    import numbaot

    m = {"sinkhorn": "sinkhorn", "sinkhorn_stabilized": "sinkhorn_log", "sinkhorn_log": "sinkhorn_log"}
    if method not in m:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(m)}")
    out = numbaot.barycenter_unbalanced(C.as_array(A), C.as_array(M), reg, reg_m, m[method], C.weights(weights),
                                        max_iter=C.max_iter(numItermax), tol=stopThr)
    return (out, {}) if log else out


def barycenter_unbalanced_sinkhorn(A, M, reg, reg_m, weights=None, numItermax=1000, stopThr=1e-6, verbose=False,
                                   log=False):
    """:func:`barycenter_unbalanced` with ``method='sinkhorn'``."""
    return barycenter_unbalanced(A, M, reg, reg_m, "sinkhorn", weights, numItermax, stopThr, verbose, log)


def barycenter_unbalanced_stabilized(A, M, reg, reg_m, weights=None, tau=1e3, numItermax=1000, stopThr=1e-6,
                                     verbose=False, log=False):
    """:func:`barycenter_unbalanced` with ``method='sinkhorn_stabilized'``."""
    return barycenter_unbalanced(A, M, reg, reg_m, "sinkhorn_stabilized", weights, numItermax, stopThr, verbose,
                                 log)


def _mm(name, a, b, M, reg_m, c, reg, div, G0, numItermax, stopThr, log, returnCost=None):  # noqa: N803
    import numbaot

    M = C.as_array(M)
    kw = dict(max_iter=C.max_iter(numItermax), tol=stopThr)
    if returnCost is not None:
        kw["return_cost"] = returnCost
    out = getattr(numbaot, name)(C.weights(a), C.weights(b), M, reg_m, c, reg, div, G0, **kw)
    if not log:
        return out
    cost = float(np.sum(np.asarray(out) * np.asarray(M))) if returnCost is None else float(out)
    return out, {"cost": cost}


def mm_unbalanced(a, b, M, reg_m, c=None, reg=0, div="kl", G0=None, numItermax=1000, stopThr=1e-15, verbose=False,
                  log=False):
    """Unbalanced OT by majorisation-minimisation (POT's name) by :func:`numbaot.mm_unbalanced`;
    ``log={'cost': <G, M>}``."""
    return _mm("mm_unbalanced", a, b, M, reg_m, c, reg, div, G0, numItermax, stopThr, log)


def mm_unbalanced2(a, b, M, reg_m, c=None, reg=0, div="kl", G0=None, returnCost="linear", numItermax=1000,
                   stopThr=1e-15, verbose=False, log=False):
    """Unbalanced OT cost by majorisation-minimisation (POT's name) by :func:`numbaot.mm_unbalanced2`."""
    return _mm("mm_unbalanced2", a, b, M, reg_m, c, reg, div, G0, numItermax, stopThr, log, returnCost)


def _lbfgsb(name, a, b, M, reg, reg_m, c, reg_div, regm_div, G0, numItermax, stopThr, method, log,  # noqa: N803
            returnCost=None):
    import numbaot

    if method != "L-BFGS-B":
        raise C.PotNotImplementedError(f"method={method!r} is not implemented by numbaot.pot; numbaot's "
                                       "lbfgsb_unbalanced runs L-BFGS-B")
    M = C.as_array(M)
    kw = dict(max_iter=C.max_iter(numItermax), tol=stopThr)
    if returnCost is not None:
        kw["return_cost"] = returnCost
    out = getattr(numbaot, name)(C.weights(a), C.weights(b), M, reg, reg_m, c, reg_div, regm_div, G0, **kw)
    if not log:
        return out
    cost = float(np.sum(np.asarray(out) * np.asarray(M))) if returnCost is None else float(out)
    return out, {"cost": cost}


def lbfgsb_unbalanced(a, b, M, reg, reg_m, c=None, reg_div="kl", regm_div="kl", G0=None, numItermax=1000,
                      stopThr=1e-15, method="L-BFGS-B", verbose=False, log=False):
    """Unbalanced OT by L-BFGS-B (POT's name) by :func:`numbaot.lbfgsb_unbalanced`; ``log={'cost': <G, M>}``."""
    return _lbfgsb("lbfgsb_unbalanced", a, b, M, reg, reg_m, c, reg_div, regm_div, G0, numItermax, stopThr, method,
                   log)


def lbfgsb_unbalanced2(a, b, M, reg, reg_m, c=None, reg_div="kl", regm_div="kl", G0=None, returnCost="linear",
                       numItermax=1000, stopThr=1e-15, method="L-BFGS-B", verbose=False, log=False):
    """Unbalanced OT cost by L-BFGS-B (POT's name) by :func:`numbaot.lbfgsb_unbalanced2`."""
    return _lbfgsb("lbfgsb_unbalanced2", a, b, M, reg, reg_m, c, reg_div, regm_div, G0, numItermax, stopThr, method,
                   log, returnCost)


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "uot_1d": "numbaot.sinkhorn_unbalanced",
    "sliced_unbalanced_ot": "numbaot.sliced_wasserstein_distance",
    "unbalanced_sliced_ot": "numbaot.sliced_wasserstein_distance",
    "sinkhorn_unbalanced_reg_scaling": "numbaot.sinkhorn_unbalanced",
    "regpath": None,
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
