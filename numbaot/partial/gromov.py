"""Partial Gromov-Wasserstein: :func:`partial_gromov_wasserstein` (conditional gradient whose linear oracle is
exact partial OT) and :func:`entropic_partial_gromov_wasserstein` (mirror descent with entropic partial OT), and
their ``*2`` values.

The objective moves mass ``m`` between two spaces, over plans with ``G 1 <= p``, ``G^T 1 <= q``, ``sum G = m``::

    E(G) = sum_ijkl L(C1_ik, C2_jl) G_ij G_kl = pG^T f1 pG + qG^T f2 qG - <h1 G h2^T, G>,   pG = G 1,  qG = G^T 1

with ``L(x, y) = f1(x) + f2(y) - h1(x) h2(y)`` (Peyre et al. 2016; the loss pieces of ``numbaot.gromov._tensor``).
Unlike balanced GW the marginals move, so the constant part of the tensor product follows the plan. ``E`` is a
quadratic form: along ``G + t D`` it is ``E(G) + t <grad E(G), D> + t^2 E(D)``, so the line search is exact
(``gromov._cg.quadratic_step``). The linear oracle is partial OT on the extended problem (see :mod:`.api`), solved
by the warm-started network simplex of GW's conditional gradient (``gromov._cg.LinearOracle``).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dispatch, _validation as V
from .._defaults import CG_MAX_ITER, CG_TOL, MAX_ITER, TOL
from .._result import OTResult
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL, Status, warn_status


class _Quadratic:
    """The loss pieces of one problem and the objective's value, gradient and curvature along a direction."""

    def __init__(self, C1, C2, loss, symmetric):
        from ..gromov._tensor import loss_functions

        self.f1, self.f2, self.h1, self.h2 = loss_functions(C1, C2, loss)
        self.symmetric = symmetric
        self.f1s = self.f1 if symmetric else self.f1 + self.f1.T
        self.f2s = self.f2 if symmetric else self.f2 + self.f2.T
        self.h1t, self.h2t = np.ascontiguousarray(self.h1.T), np.ascontiguousarray(self.h2.T)

    def products(self, G):
        """``X = h1 G h2^T`` and ``Y = h1^T G h2`` (Y is X for symmetric matrices)."""
        from ..gromov._tensor import quad_dense

        X = quad_dense(self.h1, G, self.h2)
        return X, (X if self.symmetric else quad_dense(self.h1t, G, self.h2t))

    def value(self, G, X):
        pG, qG = G.sum(axis=1), G.sum(axis=0)
        return float(pG @ self.f1 @ pG + qG @ self.f2 @ qG - np.vdot(X, G))

    def gradient(self, G, X, Y):
        pG, qG = G.sum(axis=1), G.sum(axis=0)
        if self.symmetric:
            return 2.0 * ((self.f1 @ pG)[:, None] + (self.f2 @ qG)[None, :] - X)
        return (self.f1s @ pG)[:, None] + (self.f2s @ qG)[None, :] - X - Y


def _setup(C1, C2, p, q, m, loss_fun, symmetric, G0):
    C1 = V.check_structure_matrix(C1, "C1")
    C2 = V.check_structure_matrix(C2, "C2")
    n, nm = C1.shape[0], C2.shape[0]
    p = V.check_gw_weights(p, "p", "C1", n).astype(np.float64)
    q = V.check_gw_weights(q, "q", "C2", nm).astype(np.float64)
    loss = V.check_gw_loss(loss_fun, C1, C2)
    sym = V.check_symmetric(C1, "C1", symmetric) and V.check_symmetric(C2, "C2", symmetric) \
        if symmetric is not False else V.check_bool(symmetric, "symmetric")
    sum_p, sum_q = float(p.sum()), float(q.sum())
    mass = V.check_transported_mass(m, sum_p, sum_q)
    if G0 is None:
        G = np.outer(p, q) * (mass / (sum_p * sum_q))
    else:
        G = V.as_float_array(G0, "G0", ndim=2).astype(np.float64)
        if G.shape != (n, nm):
            raise ValueError(f"G0 has shape {G.shape}; it must be ({n}, {nm}) (the sizes of C1 and C2)")
        V.check_finite(G, "G0")
        if G.min() < 0:
            raise ValueError("G0 has negative entries; a transport plan is non-negative")
        slack = 1e-9 * max(sum_p, sum_q)
        if np.any(G.sum(axis=1) > p + slack) or np.any(G.sum(axis=0) > q + slack):
            raise ValueError("G0 must satisfy G0 @ 1 <= p and G0.T @ 1 <= q (partial transport plans)")
        if abs(float(G.sum()) - mass) > 1e-9 * max(mass, 1.0):
            raise ValueError(f"G0 carries mass {float(G.sum()):.17g} but m = {mass:.17g}; a start plan must move m")
        G = G.copy()
    return C1, C2, p, q, mass, loss, sym, G, V.result_dtype(C1, C2)


def solve_partial_gromov(C1, C2, p=None, q=None, m=None, loss_fun="square_loss", nb_dummies=1, G0=None,
                         symmetric=None, max_iter=CG_MAX_ITER, tol=CG_TOL, n_threads=None, warn=True) -> OTResult:
    """Partial GW by conditional gradient, as an OTResult (``value`` = ``value_quad`` = E(G), ``errors`` the
    objective before the first and after each iteration). CUDA inputs: host copies, ``ran_on="cpu"``."""
    placement = _dispatch.place(C1=C1, C2=C2, p=p, q=q, G0=G0)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda C1, C2, p, q, G0: solve_partial_gromov(
            C1, C2, p, q, m, loss_fun, nb_dummies, G0, symmetric, max_iter, tol, n_threads, warn), C1, C2, p, q, G0)
    from ..gromov._cg import LinearOracle, quadratic_step
    from .api import _check_nb_dummies

    _check_nb_dummies(nb_dummies)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    warn = V.check_bool(warn, "warn")
    C1, C2, p, q, mass, loss, sym, G, out_dtype = _setup(C1, C2, p, q, m, loss_fun, symmetric, G0)
    n, nm = G.shape
    k = _check_nb_dummies(nb_dummies, n, nm)
    quad = _Quadratic(C1, C2, loss, sym)
    p_ext = np.concatenate([p, np.full(k, max(float(q.sum()) - mass, 0.0) / k)])
    q_ext = np.concatenate([q, np.full(k, max(float(p.sum()) - mass, 0.0) / k)])
    oracle = LinearOracle(p_ext, q_ext, n_threads)
    ext = np.zeros((n + k, nm + k))
    X, Y = quad.products(G)
    cost = quad.value(G, X)
    history = [cost]
    status, it = MAX_ITER_REACHED, 0
    while it < max_iter:
        it += 1
        grad = quad.gradient(G, X, Y)
        top = float(np.max(np.abs(grad)))
        ext[:n, :nm] = grad
        ext[n:, nm:] = 2.0 * top if top > 0 else 1.0  # dummy to dummy never pays (see partial_wasserstein)
        code, rows, cols, vals = oracle.solve(ext, float(np.max(np.abs(ext))))
        if code != OPTIMAL:
            status = NUMERICAL_ERROR
            break
        real = (rows < n) & (cols < nm)
        S = np.zeros((n, nm))
        np.add.at(S, (rows[real], cols[real]), vals[real])
        D = S - G
        XS, YS = quad.products(S)
        XD = XS - X
        pD, qD = D.sum(axis=1), D.sum(axis=0)
        a = float(pD @ quad.f1 @ pD + qD @ quad.f2 @ qD - np.vdot(XD, D))
        b = float(np.vdot(grad, D))
        t = quadratic_step(a, b)
        if t > 0.0:
            G += t * D
            X = X + t * XD
            Y = X if sym else Y + t * (YS - Y)
        new = cost + a * t * t + b * t
        history.append(new)
        change = abs(new - cost)
        cost = new
        if not math.isfinite(cost):
            status = NUMERICAL_ERROR
            break
        # relative change, or absolute against the start's scale (a planted optimum of value 0 has no relative one)
        if t == 0.0 or change <= tol * max(abs(cost), 1e-6 * abs(history[0])):
            status = OPTIMAL
            break
    value = quad.value(G, X)  # recomputed from the plan, not the line search's running sum
    if warn:
        warn_status(status, "partial_gromov_wasserstein", f"{it} iterations; raise max_iter or loosen tol",
                    stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(0.0), value_quad=out_dtype.type(value),
                    plan=G.astype(out_dtype), status=Status(status), n_iter=it, errors=np.array(history))


def solve_entropic_partial_gromov(C1, C2, p=None, q=None, reg=1.0, m=None, loss_fun="square_loss", G0=None,
                                  symmetric=None, max_iter=MAX_ITER, tol=TOL, n_threads=None, warn=True) -> OTResult:
    """Entropic partial GW by mirror descent (each step an entropic partial OT on the gradient), as an OTResult
    (``errors``: the Frobenius change of the plan at each iteration)."""
    placement = _dispatch.place(C1=C1, C2=C2, p=p, q=q, G0=G0)
    if placement.on_gpu:
        return _dispatch.solve_on_host(placement, lambda C1, C2, p, q, G0: solve_entropic_partial_gromov(
            C1, C2, p, q, reg, m, loss_fun, G0, symmetric, max_iter, tol, n_threads, warn), C1, C2, p, q, G0)
    from .api import solve_entropic_partial

    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    warn = V.check_bool(warn, "warn")
    C1, C2, p, q, mass, loss, sym, G, out_dtype = _setup(C1, C2, p, q, m, loss_fun, symmetric, G0)
    quad = _Quadratic(C1, C2, loss, sym)
    errors = []
    status, it = MAX_ITER_REACHED, 0
    while it < max_iter:
        it += 1
        X, Y = quad.products(G)
        inner = solve_entropic_partial(quad.gradient(G, X, Y), p, q, reg, mass, "auto", n_threads=n_threads,
                                       warn=False)
        new = np.asarray(inner.plan, dtype=np.float64)
        if inner.status == NUMERICAL_ERROR or not np.isfinite(new).all():
            status = NUMERICAL_ERROR
            break
        err = float(np.linalg.norm(new - G))
        errors.append(err)
        G = new
        if err <= tol:
            status = OPTIMAL
            break
    X, _ = quad.products(G)
    value = quad.value(G, X)
    if warn:
        detail = f"change of the plan {errors[-1]:.3g} > tol {tol:g} after {it} iterations" if errors else ""
        warn_status(status, "entropic_partial_gromov_wasserstein", detail, stacklevel=4)
    return OTResult(value=out_dtype.type(value), value_linear=out_dtype.type(0.0), value_quad=out_dtype.type(value),
                    plan=G.astype(out_dtype), status=Status(status), n_iter=it, errors=np.array(errors))


# ------------------------------------------------------------------------------------------------------ front-ends
def partial_gromov_wasserstein(C1, C2, p=None, q=None, m=None, loss_fun="square_loss", nb_dummies=1, G0=None, *,
                               symmetric=None, max_iter=CG_MAX_ITER, tol=CG_TOL, n_threads=None, warn=True):
    """Partial Gromov-Wasserstein plan (POT's ``ot.gromov.partial_gromov_wasserstein``; Chapel et al. 2020).

    Minimises ``sum_ijkl L(C1_ik, C2_jl) G_ij G_kl`` over plans moving mass ``m`` with ``G 1 <= p`` and
    ``G^T 1 <= q``, by conditional gradient: the linear oracle is exact partial OT (the network simplex on the
    problem extended with dummies, warm-started from the previous optimal tree) and the line search is exact. The
    problem is not convex: the answer is a stationary point reached from ``G0``.

    Parameters
    ----------
    C1, C2 : arrays of shape (n, n) and (m, m)
        Structure matrices (finite).
    p, q : arrays of shape (n,) and (m,), optional
        Non-negative weights (uniform when None); their masses may differ.
    m : float, optional
        The mass to move, ``0 < m <= min(sum(p), sum(q))`` (None: the minimum).
    loss_fun : {'square_loss', 'kl_loss'}
    nb_dummies : int
        Dummy points on each side of the oracle's extended problem, at least (see
        :func:`numbaot.partial_wasserstein`).
    G0 : array of shape (n, m), optional
        Start plan moving mass m within p and q (default ``p q^T m / (sum p sum q)``).
    symmetric : bool, optional
        None detects symmetry; True is verified; False uses the asymmetric gradient.
    max_iter : int
        Maximum conditional gradient iterations.
    tol : float >= 0
        Stop when the objective changes by at most ``tol`` relative (to the larger of its value and 1e-6 times its
        value at G0), or when the line search takes no step.
    n_threads : int, optional
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0], [1.0], [3.0]]))
    >>> P = numbaot.partial_gromov_wasserstein(C, C, m=2 / 3)
    >>> round(float(P.sum()), 12), bool(P.sum(axis=1).max() <= 1 / 3 + 1e-12)
    (0.666666666667, True)
    """
    return solve_partial_gromov(C1, C2, p, q, m, loss_fun, nb_dummies, G0, symmetric, max_iter, tol, n_threads,
                                warn).plan


def partial_gromov_wasserstein2(C1, C2, p=None, q=None, m=None, loss_fun="square_loss", nb_dummies=1, G0=None, *,
                                symmetric=None, max_iter=CG_MAX_ITER, tol=CG_TOL, n_threads=None, warn=True):
    """Partial Gromov-Wasserstein value ``E(G)`` of :func:`partial_gromov_wasserstein`'s plan (POT's
    ``ot.gromov.partial_gromov_wasserstein2``); same parameters.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0], [1.0], [3.0]]))
    >>> round(float(numbaot.partial_gromov_wasserstein2(C, C, m=2 / 3)), 12)
    0.0
    """
    return solve_partial_gromov(C1, C2, p, q, m, loss_fun, nb_dummies, G0, symmetric, max_iter, tol, n_threads,
                                warn).value


def entropic_partial_gromov_wasserstein(C1, C2, p=None, q=None, reg=1.0, m=None, loss_fun="square_loss", G0=None, *,
                                        symmetric=None, max_iter=MAX_ITER, tol=TOL, n_threads=None, warn=True):
    """Entropic partial Gromov-Wasserstein plan (POT's ``ot.gromov.entropic_partial_gromov_wasserstein``).

    Mirror descent: each iteration solves entropic partial OT (:func:`numbaot.entropic_partial_wasserstein`,
    method 'auto') on the gradient of the GW objective at the current plan, until the plan changes by at most
    ``tol`` (Frobenius norm).

    Parameters
    ----------
    reg : float > 0
        Entropic regularisation of each step.
    C1, C2, p, q, m, loss_fun, G0, symmetric, n_threads, warn
        As in :func:`partial_gromov_wasserstein`.
    max_iter : int
        Maximum outer iterations.
    tol : float >= 0

    Returns
    -------
    plan : array of shape (n, m)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0], [1.0], [3.0]]))
    >>> P = numbaot.entropic_partial_gromov_wasserstein(C, C, reg=0.1, m=2 / 3)
    >>> round(float(P.sum()), 6)
    0.666667
    """
    return solve_entropic_partial_gromov(C1, C2, p, q, reg, m, loss_fun, G0, symmetric, max_iter, tol, n_threads,
                                         warn).plan


def entropic_partial_gromov_wasserstein2(C1, C2, p=None, q=None, reg=1.0, m=None, loss_fun="square_loss", G0=None, *,
                                         symmetric=None, max_iter=MAX_ITER, tol=TOL, n_threads=None, warn=True):
    """Entropic partial Gromov-Wasserstein value ``E(G)`` of the plan of :func:`entropic_partial_gromov_wasserstein`
    (POT's ``ot.gromov.entropic_partial_gromov_wasserstein2``; the entropy is not included); same parameters.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0], [1.0], [3.0]]))
    >>> float(numbaot.entropic_partial_gromov_wasserstein2(C, C, reg=0.1, m=2 / 3)) < 0.5
    True
    """
    return solve_entropic_partial_gromov(C1, C2, p, q, reg, m, loss_fun, G0, symmetric, max_iter, tol, n_threads,
                                         warn).value
