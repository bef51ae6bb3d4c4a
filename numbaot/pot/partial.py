"""``ot.partial`` over numbaot: partial OT (a given mass ``m`` transported), exact and entropic."""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["partial_wasserstein", "partial_wasserstein2", "partial_wasserstein_lagrange",
           "entropic_partial_wasserstein"]

_MOD = "numbaot.partial.api"


def _native(name):
    return C.native_in(_MOD, name)


def _log(G, M):
    cost = float(np.sum(np.asarray(G) * np.asarray(M)))
    return {"cost": cost, "partial_w_dist": cost}


def partial_wasserstein(a, b, M, m=None, nb_dummies=1, log=False, **kwargs):
    """Exact partial OT plan (POT's name) by numbaot's ``partial_wasserstein``; ``log`` holds 'cost' and
    'partial_w_dist'."""
    M = C.as_array(M)
    with C.asserting():
        G = C.adapt(_native("partial_wasserstein"), (C.weights(a), C.weights(b), M, m, nb_dummies), {},
                    "partial_wasserstein")
    return (G, _log(G, M)) if log else G


def partial_wasserstein2(a, b, M, m=None, nb_dummies=1, log=False, **kwargs):
    """Exact partial OT cost (POT's name); ``log`` as :func:`partial_wasserstein`'s, with the plan as 'T'."""
    M = C.as_array(M)
    if not log:
        with C.asserting():
            return C.adapt(_native("partial_wasserstein2"), (C.weights(a), C.weights(b), M, m, nb_dummies), {},
                           "partial_wasserstein2")
    G, lg = partial_wasserstein(a, b, M, m, nb_dummies, True)
    lg["T"] = G
    return lg["cost"], lg


def partial_wasserstein_lagrange(a, b, M, reg_m=None, nb_dummies=1, log=False, **kwargs):
    """Partial OT with a Lagrangian mass penalty (POT's name) by numbaot's ``partial_wasserstein_lagrange``."""
    M = C.as_array(M)
    for name, w in (("a", a), ("b", b)):
        if not C.is_empty(w) and float(np.sum(w)) > 1 + 1e-12:
            raise ValueError(f"Problem infeasible: {name} sums to {float(np.sum(w)):.6g} > 1; POT's "
                             "partial_wasserstein_lagrange needs a and b in the simplex")
    G = C.adapt(_native("partial_wasserstein_lagrange"), (C.weights(a), C.weights(b), M, reg_m, nb_dummies), {},
                "partial_wasserstein_lagrange")
    return (G, _log(G, M)) if log else G


def entropic_partial_wasserstein(a, b, M, reg, m=None, method="sinkhorn", numItermax=1000, stopThr=1e-100,
                                 verbose=False, log=False):
    """Entropic partial OT plan (POT's name) by numbaot's ``entropic_partial_wasserstein`` (log domain; POT's
    ``stopThr=1e-100``, which runs every iteration, is replaced by numbaot's default tolerance)."""
    if not isinstance(method, str) or method.lower() not in ("sinkhorn", "sinkhorn_log"):
        raise ValueError(f"Unknown method {method!r}: use 'sinkhorn' or 'sinkhorn_log' (both run numbaot's log "
                         "domain)")
    M = C.as_array(M)
    kwargs = dict(max_iter=C.max_iter(numItermax))
    if stopThr > 1e-100:
        kwargs["tol"] = stopThr
    G = C.adapt(_native("entropic_partial_wasserstein"), (C.weights(a), C.weights(b), M, reg, m), kwargs,
                "entropic_partial_wasserstein")
    if log:
        return G, {"err": [], "partial_w_dist": float(np.sum(np.asarray(G) * M))}
    return G


def _pgw(name, *args, log=False, value_key="partial_gw_dist", **kw):
    import numbaot

    with C.asserting():
        out = getattr(numbaot, name)(*args, **{k: v for k, v in kw.items() if v is not None})
    if not log:
        return out
    if name.endswith("2"):  # POT's log holds the plan as 'T': the plan solve, then the value from it
        with C.asserting():
            plan = getattr(numbaot, name[:-1])(*args, **{k: v for k, v in kw.items() if v is not None})
        return out, {value_key: out, "T": plan}
    return out, {}


def partial_gromov_wasserstein(C1, C2, p=None, q=None, m=None, nb_dummies=1, G0=None, thres=1, numItermax=1000,
                               tol=1e-7, log=False, verbose=False, **kwargs):
    """Partial GW plan (POT's ``ot.partial`` signature) by :func:`numbaot.partial_gromov_wasserstein`."""
    return _pgw("partial_gromov_wasserstein", C1, C2, C.weights(p), C.weights(q), m, nb_dummies=nb_dummies, G0=G0,
                max_iter=C.max_iter(numItermax), tol=tol, log=log)


def partial_gromov_wasserstein2(C1, C2, p=None, q=None, m=None, nb_dummies=1, G0=None, thres=1, numItermax=1000,
                                tol=1e-7, log=False, verbose=False, **kwargs):
    """Partial GW value (POT's ``ot.partial`` signature) by :func:`numbaot.partial_gromov_wasserstein2`."""
    return _pgw("partial_gromov_wasserstein2", C1, C2, C.weights(p), C.weights(q), m, nb_dummies=nb_dummies,
                G0=G0, max_iter=C.max_iter(numItermax), tol=tol, log=log)


def entropic_partial_gromov_wasserstein(C1, C2, p=None, q=None, reg=1.0, m=None, G0=None, numItermax=1000, tol=1e-7,
                                        log=False, verbose=False):
    """Entropic partial GW plan (POT's ``ot.partial`` signature) by
    :func:`numbaot.entropic_partial_gromov_wasserstein`."""
    return _pgw("entropic_partial_gromov_wasserstein", C1, C2, C.weights(p), C.weights(q), reg, m, G0=G0,
                max_iter=C.max_iter(numItermax), tol=tol, log=log)


def entropic_partial_gromov_wasserstein2(C1, C2, p=None, q=None, reg=1.0, m=None, G0=None, numItermax=1000,
                                         tol=1e-7, log=False, verbose=False):
    """Entropic partial GW value (POT's ``ot.partial`` signature)."""
    return _pgw("entropic_partial_gromov_wasserstein2", C1, C2, C.weights(p), C.weights(q), reg, m, G0=G0,
                max_iter=C.max_iter(numItermax), tol=tol, log=log)


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "partial_wasserstein_1d": "numbaot.partial_wasserstein",
    "entropic_partial_wasserstein_logscale": "numbaot.pot.partial.entropic_partial_wasserstein",
    "gwgrad_partial": "numbaot.partial_gromov_wasserstein", "gwloss_partial": "numbaot.partial_gromov_wasserstein",
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
