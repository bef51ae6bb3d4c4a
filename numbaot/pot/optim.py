"""``ot.optim`` over numbaot: conditional gradient (``cg``), generalised conditional gradient (``gcg``),
semi-relaxed conditional gradient, and the line searches POT's scripts call."""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["cg", "gcg", "semirelaxed_cg", "line_search_armijo", "solve_1d_linesearch_quad"]


def _native(name):
    return C.native_in("numbaot.optim.api", name)


def cg(a, b, M, reg, f, df, G0=None, line_search=None, numItermax=200, numItermaxEmd=100000, stopThr=1e-9,
       stopThr2=1e-9, verbose=False, log=False, nx=None, **kwargs):
    """Conditional gradient for ``min <M, G> + reg f(G)`` over plans (POT's ``ot.optim.cg``) by numbaot's
    ``cg`` (each linear problem by the network simplex; ``numItermaxEmd`` is numbaot's own cap)."""
    return C.adapt(_native("cg"), (C.uniform_like(a, np.shape(M)[0]), C.uniform_like(b, np.shape(M)[1]),
                                   C.as_array(M), reg, f, df, G0, line_search),
                   dict(max_iter=C.max_iter(numItermax), tol_rel=stopThr, tol_abs=stopThr2, log=log), "cg")


def semirelaxed_cg(a, b, M, reg, f, df, G0=None, line_search=None, numItermax=200, stopThr=1e-9, stopThr2=1e-9,
                   verbose=False, log=False, nx=None, **kwargs):
    """Semi-relaxed conditional gradient (POT's name) by numbaot's ``semirelaxed_cg``."""
    return C.adapt(_native("semirelaxed_cg"), (C.uniform_like(a, np.shape(M)[0]), C.uniform_like(b, np.shape(M)[1]),
                                               C.as_array(M), reg, f, df, G0, line_search),
                   dict(max_iter=C.max_iter(numItermax), tol_rel=stopThr, tol_abs=stopThr2, log=log),
                   "semirelaxed_cg")


def gcg(a, b, M, reg1, reg2, f, df, G0=None, numItermax=10, numInnerItermax=200, stopThr=1e-9, stopThr2=1e-9,
        verbose=False, log=False, **kwargs):
    """Generalised conditional gradient for ``min <M, G> + reg1 sum G log G + reg2 f(G)`` (POT's name) by
    numbaot's ``gcg``."""
    return C.adapt(_native("gcg"), (C.uniform_like(a, np.shape(M)[0]), C.uniform_like(b, np.shape(M)[1]),
                                    C.as_array(M), reg1, reg2, f, df, G0),
                   dict(max_iter=C.max_iter(numItermax), max_inner_iter=C.max_iter(numInnerItermax),
                        tol_rel=stopThr, tol_abs=stopThr2, log=log), "gcg")


def line_search_armijo(f, xk, pk, gfk, old_fval, args=(), c1=1e-4, alpha0=0.99, alpha_min=0.0, alpha_max=None,
                       nx=None, **kwargs):
    """Armijo backtracking along ``pk`` from ``xk``: ``(alpha, fc, f(xk + alpha pk))`` as POT returns them.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.optim import line_search_armijo
    >>> f = lambda x: float(np.sum((x - 1.0) ** 2))
    >>> x = np.zeros(2); p = np.ones(2)
    >>> alpha, fc, fa = line_search_armijo(f, x, p, 2 * (x - 1.0), f(x))
    >>> round(alpha, 2), bool(fa < f(x))
    (0.99, True)
    """
    armijo = C.native_in("numbaot.optim.api", "armijo")
    xk, pk = np.asarray(xk), np.asarray(pk)
    calls = [0]

    def phi(alpha):
        calls[0] += 1
        return float(f(xk + alpha * pk, *args))

    phi0 = float(old_fval) if old_fval is not None else phi(0.0)
    derphi0 = float(np.sum(np.asarray(pk) * np.asarray(gfk)))
    alpha, value = armijo(phi, phi0, derphi0, c1, alpha0)
    upper = np.inf if alpha_max is None else alpha_max
    alpha = float(min(max(alpha, alpha_min), upper))
    if alpha == 0.0 or value is None:
        value = phi0 if alpha == 0.0 else phi(alpha)
    return alpha, calls[0], value


def solve_1d_linesearch_quad(a, b):
    """The minimiser on [0, 1] of ``a t^2 + b t``.

    Examples
    --------
    >>> from numbaot.pot.optim import solve_1d_linesearch_quad
    >>> solve_1d_linesearch_quad(1.0, -1.0), solve_1d_linesearch_quad(-1.0, 0.5)
    (0.5, 1.0)
    """
    if a > 0:
        return float(min(1.0, max(0.0, -b / (2.0 * a))))
    return 1.0 if a + b < 0 else 0.0


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "generic_conditional_gradient": "numbaot.pot.optim.cg",
    "partial_cg": "numbaot.partial_wasserstein",
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
