r"""Supervised linear dimensionality reduction with optimal transport (POT's ``ot.dr``, kept here in
``numbaot.da``): Wasserstein discriminant analysis (:func:`wda`; Flamary, Cuturi, Courty and Rakotomamonjy 2018)
and Fisher discriminant analysis (:func:`fda`) beside it.

:func:`wda` minimises over the Stiefel manifold ``{P in R^{d x p}: P^T P = I}``

.. math:: J(P) = \frac{\sum_c W(P^T X^c, P^T X^c)}{\sum_{c < c'} W(P^T X^c, P^T X^{c'})}

where ``W`` is the entropic OT value ``<G, M> + reg KL(G | a b^T)`` between the projected classes under the squared
Euclidean cost. Its gradient needs no autodiff: by the envelope theorem the derivative of ``W`` with respect to
the cost is the optimal plan ``G``, so ``dW/dP = 2 S P`` with
``S = X^T diag(G 1) X + Y^T diag(G^T 1) Y - X^T G Y - Y^T G^T X``; the Riemannian gradient is its projection
``E - P sym(P^T E)`` on the tangent space, followed by steepest descent with an Armijo backtracking line search and a
QR retraction. The Sinkhorn solves are warm-started from the previous iterate's potentials, ``k`` iterations each.
"""
from __future__ import annotations

import numbers
import numpy as np

from .. import _validation as V
from ._base import check_labels, check_positive, host_points, warn_convergence

#: Armijo backtracking (the constants of pymanopt's line search, which POT's wda runs).
_ARMIJO_C = 1e-4
_CONTRACTION = 0.5
_MAX_BACKTRACK = 25
_MIN_STEP = 1e-10


def _check_dimension(p, d):
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        raise TypeError(f"p must be an integer (the reduced dimension), got {p!r}")
    if not 1 <= p <= d:
        raise ValueError(f"p must be between 1 and the number of features {d}, got {p}")
    return int(p)


def _classes(X, y):
    y = check_labels(y, "y", X.shape[0])
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(f"y holds a single class ({classes.tolist()}); discriminant analysis needs at least two")
    return classes, [X[y == c] for c in classes]


def fda(X, y, p=2, reg=1e-16):
    """Fisher discriminant analysis: the ``p`` directions maximising between-class over within-class scatter.

    Solves the generalised eigenproblem ``Cb v = w (Cw + reg I) v`` (``Cw`` the mean of the class covariances,
    ``Cb`` the scatter of the class means) and keeps the top ``min(p, n_classes - 1)`` eigenvectors. Unlike POT's
    ``ot.dr.fda`` (which centres with the scalar mean of all entries), means are taken per feature, and ``X`` is
    not modified.

    Parameters
    ----------
    X : array of shape (n, d)
    y : array of shape (n,)
        Class labels.
    p : int
        Reduced dimension (at most the number of classes minus one is used).
    reg : float >= 0
        Ridge added to ``Cw``.

    Returns
    -------
    P : array of shape (d, p')
    proj : callable
        ``X -> (X - mean) @ P``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import fda
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = np.repeat([0, 1], 100); X[y == 1, 2] += 4.0
    >>> P, proj = fda(X, y, p=1)
    >>> int(np.argmax(np.abs(P[:, 0]))), proj(X).shape
    (2, (200, 1))
    """
    from scipy.linalg import eigh

    X = host_points(X, "X")
    reg = check_positive(reg, "reg", allow_zero=True)
    d = X.shape[1]
    p = _check_dimension(p, d)
    _, groups = _classes(X, y)
    if min(g.shape[0] for g in groups) < 2:
        raise ValueError("every class needs at least two samples to estimate its covariance")
    mean = X.mean(axis=0)
    Cw = sum(np.atleast_2d(np.cov(g, rowvar=False)) for g in groups) / len(groups)
    centres = np.array([g.mean(axis=0) for g in groups])
    diff = centres - centres.mean(axis=0)
    Cb = diff.T @ diff
    p = min(p, len(groups) - 1)
    try:
        _, vectors = eigh(Cb, Cw + reg * np.eye(d))
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"the within-class covariance is singular ({exc}); pass reg > 0") from None
    P = vectors[:, ::-1][:, :p].copy()

    def proj(Z):
        return (np.asarray(Z, dtype=np.float64) - mean) @ P

    return P, proj


class _Objective:
    """J(P) and its Euclidean gradient, with warm-started Sinkhorn solves per class pair."""

    def __init__(self, groups, reg, k, method, regmean):
        self.groups = groups
        self.weights = [np.full(g.shape[0], 1.0 / g.shape[0]) for g in groups]
        self.pairs = [(i, j) for i in range(len(groups)) for j in range(i, len(groups))]
        self.reg = reg
        self.k = k
        self.method = method
        self.regmean = regmean
        self.potentials = {}
        self.n_solves = 0

    def __call__(self, P, gradient=False, keep=False):
        from ..solvers import solve

        within, between = 0.0, 0.0
        grad_w = np.zeros_like(P) if gradient else None
        grad_b = np.zeros_like(P) if gradient else None
        projected = [g @ P for g in self.groups]
        found = {}
        for i, j in self.pairs:
            u, v = projected[i], projected[j]
            M = np.maximum((u * u).sum(1)[:, None] + (v * v).sum(1)[None, :] - 2.0 * u @ v.T, 0.0)
            res = solve(M, self.weights[i], self.weights[j], reg=self.reg * self.regmean[i, j], max_iter=self.k,
                        method=self.method, potentials_init=self.potentials.get((i, j)), warn=False)
            self.n_solves += 1
            found[(i, j)] = (res.potential_a, res.potential_b)
            value = float(res.value)
            if i == j:
                within += value
            else:
                between += value
            if gradient:
                G = res.plan
                X, Y = self.groups[i], self.groups[j]
                XtGY = X.T @ G @ Y
                S = (X.T * G.sum(1)) @ X + (Y.T * G.sum(0)) @ Y - XtGY - XtGY.T
                (grad_w if i == j else grad_b)[...] += 2.0 * S @ P
        if keep:
            self.potentials = found
        J = within / between
        if not gradient:
            return J
        return J, (grad_w * between - within * grad_b) / between ** 2


def _tangent(P, E):
    """Projection of E on the tangent space of the Stiefel manifold at P."""
    sym = P.T @ E
    return E - P @ (0.5 * (sym + sym.T))


def _retract(P, xi):
    Q, R = np.linalg.qr(P + xi)
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return Q * signs


def _descend(objective, P, maxiter, tol):
    """Riemannian steepest descent with Armijo backtracking from ``P``.

    Returns ``(P, stop, grad_norm)``: ``stop`` is 'converged' (gradient norm <= tol), 'stalled' (no decrease along
    the gradient, or a step below 1e-10: the objective's own precision is reached) or 'max_iter'.
    """
    J, E = objective(P, gradient=True, keep=True)
    step = 1.0
    for _ in range(maxiter):
        xi = _tangent(P, E)
        norm2 = float(np.sum(xi * xi))
        if np.sqrt(norm2) <= tol:
            return P, "converged", np.sqrt(norm2)
        t = min(step, 1.0 / np.sqrt(norm2))  # a first trial moves P by at most 1 (Frobenius)
        first = t
        for _ in range(_MAX_BACKTRACK):
            candidate = _retract(P, -t * xi)
            J_new = objective(candidate)
            if J_new <= J - _ARMIJO_C * t * norm2:
                break
            t *= _CONTRACTION
        else:
            return P, "stalled", np.sqrt(norm2)
        if t * np.sqrt(norm2) < _MIN_STEP:
            return P, "stalled", np.sqrt(norm2)
        P = candidate
        J, E = objective(P, gradient=True, keep=True)
        step = 2.0 * t if t == first else t  # grow after a first-try success, else keep the accepted step
    norm = float(np.sqrt(np.sum(_tangent(P, E) ** 2)))
    return P, ("converged" if norm <= tol else "max_iter"), norm


def wda(X, y, p=2, reg=1, k=10, solver=None, sinkhorn_method="sinkhorn_log", maxiter=100, verbose=0, P0=None,
        normalize=False, *, tol=None, random_state=None):
    """Wasserstein discriminant analysis (Flamary et al. 2018): a projection ``P`` (d x p, orthonormal columns)
    that keeps each class tight and the classes far apart in Wasserstein distance.

    Our own Riemannian steepest descent on the Stiefel manifold (module docstring): gradients from the Sinkhorn
    plans by the envelope theorem, no autodiff and no pymanopt. What differs from POT's ``ot.dr.wda``: each
    Wasserstein term is the entropic value ``<G, M> + reg KL(G | a b^T)`` (whose gradient the plan gives exactly),
    where POT takes the transport cost ``<G, M>`` of the Sinkhorn plan and differentiates through its ``k``
    iterations by autograd (the two objectives, and their minimisers, agree as reg -> 0); ``proj`` centres each
    feature by its own mean (POT subtracts the scalar mean of all entries; ``P`` is the same either way).

    Parameters
    ----------
    X : array of shape (n, d)
    y : array of shape (n,)
        Class labels (at least two classes).
    p : int
        Reduced dimension, 1 <= p <= d.
    reg : float > 0
        Entropic regularisation of the Wasserstein terms.
    k : int
        Sinkhorn iterations per solve (warm-started from the previous iterate's potentials, so that a few suffice
        once the descent settles; a solve stops earlier when its marginal error reaches 1e-9).
    solver : None or 'steepest'
        The manifold optimiser: Riemannian steepest descent (the only one; POT's other pymanopt solvers are not
        available).
    sinkhorn_method : {'sinkhorn_log', 'sinkhorn'}
        Sinkhorn variant (see :func:`numbaot.sinkhorn`): the log domain by default (stable at any reg; POT's
        default is the scaling-domain 'sinkhorn', also available).
    maxiter : int
        Maximum descent iterations; a ConvergenceWarning when reached with the Riemannian gradient above tol.
    verbose : int
        Accepted for POT's signature (nothing is printed).
    P0 : array of shape (d, p), optional
        Starting point (orthonormalised); a random point of the manifold (``random_state``) when None.
    normalize : bool
        Divide each pair's reg by the mean cost between the two classes projected by P0 (requires P0).
    tol : float or None
        Stop when the norm of the Riemannian gradient is at most tol (1e-6 when None), or when no step along it
        decreases the objective any more (k warm-started Sinkhorn iterations give the objective to finite
        precision; pymanopt's steepest descent, which POT runs, stops there too on its minimum step size). That
        second stop is silent for ``tol=None`` and raises a ConvergenceWarning (raise k, or loosen tol) for an
        explicit ``tol`` the gradient has not reached.
    random_state : int or numpy Generator, optional
        Seed of the random start.

    Returns
    -------
    P : array of shape (d, p)
    proj : callable
        ``X -> (X - mean) @ P``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import wda
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = np.repeat([0, 1], 30); X[y == 1, 0] += 3.0
    >>> P, proj = wda(X, y, p=1, reg=1.0, k=50, maxiter=50, random_state=0)
    >>> int(np.argmax(np.abs(P[:, 0]))), bool(np.allclose(P.T @ P, 1.0))
    (0, True)
    """
    X = host_points(X, "X")
    d = X.shape[1]
    p = _check_dimension(p, d)
    reg = V.check_reg(reg)
    k = V.check_max_iter(k, "k")
    maxiter = V.check_max_iter(maxiter, "maxiter")
    strict = tol is not None
    tol = V.check_tol(tol) if strict else 1e-6
    normalize = V.check_bool(normalize, "normalize")
    if solver not in (None, "steepest"):
        raise ValueError(f"solver must be None or 'steepest' (Riemannian steepest descent), got {solver!r}")
    method = V.check_choice(sinkhorn_method, "sinkhorn_method", ("sinkhorn", "sinkhorn_log"))
    classes, groups = _classes(X, y)
    mean = X.mean(axis=0)
    groups = [g - mean for g in groups]
    if P0 is None:
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        P = _retract(np.zeros((d, p)), rng.normal(size=(d, p)))
    else:
        P0 = V.as_float_array(P0, "P0", ndim=2)
        if P0.shape != (d, p):
            raise ValueError(f"P0 has shape {P0.shape}; it must be (d, p) = ({d}, {p})")
        V.check_finite(P0, "P0")
        P = _retract(np.zeros((d, p)), P0)
    C = len(groups)
    regmean = np.ones((C, C))
    if normalize:
        if P0 is None:
            raise ValueError("normalize=True divides reg by the mean costs under P0: pass P0")
        for i in range(C):
            for j in range(i, C):
                u, v = groups[i] @ P, groups[j] @ P
                regmean[i, j] = regmean[j, i] = float(np.mean(((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)))
    objective = _Objective(groups, reg, k, method, regmean)
    P, stop, grad_norm = _descend(objective, P, maxiter, tol)
    if stop == "max_iter":
        warn_convergence(f"wda: the Riemannian gradient norm is still {grad_norm:.3g} > tol {tol:g} after "
                         f"{maxiter} iterations; increase maxiter")
    elif stop == "stalled" and strict:
        warn_convergence(f"wda: no step along the Riemannian gradient decreases the objective any more, but the "
                         f"gradient norm is {grad_norm:.3g} > tol {tol:g}: k={k} Sinkhorn iterations per solve give "
                         "the objective only to about that precision; raise k, or loosen tol")

    def proj(Z):
        return (np.asarray(Z, dtype=np.float64) - mean) @ P

    return P, proj
