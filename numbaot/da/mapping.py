r"""Joint estimation of an OT plan and a map that fits its barycentric projection (Perrot, Courty, Flamary and
Habrard 2016): :func:`joint_OT_mapping_linear` (a linear map), :func:`joint_OT_mapping_kernel` (a map in a Gaussian
RKHS) and the estimator :class:`MappingTransport`.

Both minimise, over plans ``G`` with uniform marginals and maps ``L``,

.. math:: \|\Phi L - n_s G X_t\|_F^2 + \mu \langle G, M\rangle + \eta R(L),\qquad M = n_s\, c(X_s, X_t),

by block coordinate descent: ``L`` in closed form (a ridge regression, its matrix factorised once), then ``G`` by
conditional gradient (:func:`numbaot.cg`, its network simplex warm-started from the previous plan, with the exact
line search of a quadratic), until the loss changes by less than ``tol`` (relative).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _validation as V
from ._base import BaseTransport, check_positive, distribution_estimation_uniform, host_points, warn_convergence


def gaussian_kernel(x1, x2, sigma=1.0):
    """``exp(-|x - y|^2 / (2 sigma^2))`` between the rows of x1 and x2 (POT's ``ot.utils.kernel``)."""
    from ..utils import dist

    return np.exp(-dist(x1, x2).astype(np.float64, copy=False) / (2.0 * sigma * sigma))


def _factor(A):
    """A solver for the SPD system ``A x = y``: Cholesky (half LU's work), LU if A is not numerically PD."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve, lu_factor, lu_solve

    try:
        factor = cho_factor(A)
        return lambda y: cho_solve(factor, y)
    except LinAlgError:
        factor = lu_factor(A)
        return lambda y: lu_solve(factor, y)


class _JointOptions(NamedTuple):
    """The checked scalars of a joint plan-and-map estimation (:func:`_check_joint` builds them): the weights
    ``mu`` (OT loss) and ``eta`` (the map's regulariser), ``bias``, the block descent's ``max_iter`` and ``tol``,
    and the inner conditional gradient's ``max_inner_iter`` and ``inner_tol``."""

    mu: float
    eta: float
    bias: bool
    max_iter: int
    max_inner_iter: int
    inner_tol: float
    tol: float


def _check_joint(xs, xt, mu, eta, bias, max_iter, max_inner_iter, inner_tol, tol, log):
    """``(xs, xt, options, log)``: the checked points, a :class:`_JointOptions` and ``log``."""
    xs = host_points(xs, "xs").astype(np.float64, copy=False)
    xt = host_points(xt, "xt").astype(np.float64, copy=False)
    V.check_same_dimension(xs, xt, ("xs", "xt"))
    options = _JointOptions(check_positive(mu, "mu"), check_positive(eta, "eta"), V.check_bool(bias, "bias"),
                            V.check_max_iter(max_iter, "max_iter"),
                            V.check_max_iter(max_inner_iter, "max_inner_iter"), V.check_tol(inner_tol, "inner_tol"),
                            V.check_tol(tol, "tol"))
    return xs, xt, options, V.check_bool(log, "log")


def _bcd(features, xt, M, solve_L, penalty, options, what):
    """Block coordinate descent on (G, L) with the :class:`_JointOptions` ``options`` (``what`` names the caller in
    the warning); returns G, L and the losses."""
    from ..optim.api import cg
    from ..solvers import solve

    mu, eta, max_iter, tol = options.mu, options.eta, options.max_iter, options.tol

    ns, nt = M.shape
    a = np.full(ns, 1.0 / ns)
    b = np.full(nt, 1.0 / nt)
    G = solve(M, a, b).plan

    def loss(L, G):
        return float(np.sum((features @ L - ns * (G @ xt)) ** 2) + mu * np.sum(G * M) + eta * penalty(L))

    L = solve_L(G)
    losses = [loss(L, G)]
    converged = False
    for _ in range(max_iter):
        fitted = features @ L

        def f(G, fitted=fitted):
            return float(np.sum((fitted - ns * (G @ xt)) ** 2))

        def df(G, fitted=fitted):
            return -2.0 * ns * ((fitted - ns * (G @ xt)) @ xt.T)

        # inner solves stop on POT's rule alone (no gap certificate): the block descent follows POT's path
        G = cg(a, b, M, 1.0 / mu, f, df, G0=G, line_search="quadratic", max_iter=options.max_inner_iter,
               tol_rel=options.inner_tol, tol_gap=math.inf, warn=False)
        L = solve_L(G)
        losses.append(loss(L, G))
        if abs(losses[-1] - losses[-2]) <= tol * abs(losses[-2]):
            converged = True
            break
    if not converged:
        warn_convergence(f"{what}: the loss still changed by {abs(losses[-1] - losses[-2]) / abs(losses[-2]):.3g} "
                         f"(relative) > tol {tol:g} after {max_iter} iterations; increase max_iter")
    return G, L, losses


def _linear_problem(xs, xt, M, options, what):
    eta, bias = options.eta, options.bias
    ns, d = xs.shape
    features = np.c_[xs, np.ones(ns)] if bias else xs
    I0 = np.eye(features.shape[1], d)  # the identity map (no bias row)
    ridge = np.eye(features.shape[1])
    if bias:
        ridge[-1, -1] = 0.0  # the bias is not penalised
    solve = _factor(features.T @ features + eta * ridge)

    def solve_L(G):
        return solve(features.T @ (ns * (G @ xt)) + eta * I0)

    def penalty(L):
        return float(np.sum((L - I0)[:d] ** 2))

    return _bcd(features, xt, M, solve_L, penalty, options, what)


def _kernel_problem(xs, xt, M, sigma, options, what):
    eta, bias = options.eta, options.bias
    ns = xs.shape[0]
    K = gaussian_kernel(xs, xs, sigma)
    if bias:
        features = np.c_[K, np.ones(ns)]
        Kreg = np.eye(ns + 1)
        Kreg[:ns, :ns] = K
        solve = _factor(features.T @ features + eta * Kreg)

        def solve_L(G):
            return solve(features.T @ (ns * (G @ xt)))
    else:
        features = K
        Kreg = K
        solve = _factor(K + eta * np.eye(ns))  # kernel ridge regression

        def solve_L(G):
            return solve(ns * (G @ xt))

    def penalty(L):
        return float(np.sum(L * (Kreg @ L)))

    return _bcd(features, xt, M, solve_L, penalty, options, what)


def _cost(xs, xt):
    from ..utils import dist

    return dist(xs, xt).astype(np.float64, copy=False) * xs.shape[0]


def joint_OT_mapping_linear(xs, xt, mu=1, eta=0.001, bias=False, verbose=False, verbose2=False, *, max_iter=100,
                            max_inner_iter=10, inner_tol=1e-6, tol=1e-5, log=False):
    r"""Joint OT plan and linear map (Perrot et al. 2016; POT's ``ot.da.joint_OT_mapping_linear``).

    Minimises ``|X_s L - n_s G X_t|^2 + mu <G, M> + eta |L - I|^2`` (``M`` the squared Euclidean costs times n_s;
    with ``bias`` the map is ``[X_s, 1] L`` and its bias row is not penalised).

    Parameters
    ----------
    xs, xt : arrays of shape (n, d) and (m, d)
    mu : float > 0
        Weight of the OT loss.
    eta : float > 0
        Weight of the map's regulariser.
    bias : bool
        Fit an affine map.
    verbose, verbose2 : bool
        Accepted for POT's signature (nothing is printed).
    max_iter : int
        Block coordinate descent iterations (POT's ``numItermax``); a ConvergenceWarning when reached.
    max_inner_iter : int
        Conditional gradient iterations per plan update (POT's ``numInnerItermax``).
    inner_tol : float
        Relative tolerance of the conditional gradient (POT's ``stopInnerThr``).
    tol : float
        Stop when the loss changes by at most tol, relative (POT's ``stopThr``).
    log : bool
        Also return ``{'loss': [...]}``.

    Returns
    -------
    G : array of shape (n, m)
    L : array of shape (d, d), or (d + 1, d) with bias
    log : dict, only when ``log``

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import joint_OT_mapping_linear
    >>> xs = np.random.default_rng(0).normal(size=(30, 2))
    >>> G, L = joint_OT_mapping_linear(xs, 2 * xs, eta=1e-6)
    >>> bool(np.allclose(L, 2 * np.eye(2), atol=1e-3)), G.shape
    (True, (30, 30))
    """
    xs, xt, options, log = _check_joint(xs, xt, mu, eta, bias, max_iter, max_inner_iter, inner_tol, tol, log)
    G, L, losses = _linear_problem(xs, xt, _cost(xs, xt), options, "joint_OT_mapping_linear")
    return (G, L, {"loss": losses}) if log else (G, L)


def joint_OT_mapping_kernel(xs, xt, mu=1, eta=0.001, kerneltype="gaussian", sigma=1, bias=False, verbose=False,
                            verbose2=False, *, max_iter=100, max_inner_iter=10, inner_tol=1e-6, tol=1e-5, log=False):
    r"""Joint OT plan and non-linear map in a Gaussian RKHS (Perrot et al. 2016; POT's
    ``ot.da.joint_OT_mapping_kernel``).

    Minimises ``|K L - n_s G X_t|^2 + mu <G, M> + eta tr(L^T K L)``, ``K`` the Gaussian kernel of the source
    samples (bandwidth ``sigma``); the map of a point ``x`` is ``k(x, X_s) L`` (plus a bias with ``bias``).

    Parameters
    ----------
    xs, xt, mu, eta, bias, verbose, verbose2, max_iter, max_inner_iter, inner_tol, tol, log
        As in :func:`joint_OT_mapping_linear`.
    kerneltype : {'gaussian'}
        The kernel (also 'gauss' or 'rbf').
    sigma : float > 0
        Bandwidth of the Gaussian kernel.

    Returns
    -------
    G : array of shape (n, m)
    L : array of shape (n, d), or (n + 1, d) with bias
    log : dict, only when ``log``

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import joint_OT_mapping_kernel
    >>> xs = np.random.default_rng(0).normal(size=(30, 2))
    >>> G, L = joint_OT_mapping_kernel(xs, xs + 1.0, sigma=1.0)
    >>> L.shape, bool(np.allclose(G.sum(0), 1 / 30))
    ((30, 2), True)
    """
    xs, xt, options, log = _check_joint(xs, xt, mu, eta, bias, max_iter, max_inner_iter, inner_tol, tol, log)
    _check_kernel(kerneltype)
    sigma = check_positive(sigma, "sigma")
    G, L, losses = _kernel_problem(xs, xt, _cost(xs, xt), sigma, options, "joint_OT_mapping_kernel")
    return (G, L, {"loss": losses}) if log else (G, L)


def _check_kernel(kernel):
    if not isinstance(kernel, str) or kernel.lower() not in ("linear", "gaussian", "gauss", "rbf"):
        raise ValueError(f"kernel must be 'linear' or 'gaussian' (also 'gauss', 'rbf'), got {kernel!r}")
    return "linear" if kernel.lower() == "linear" else "gaussian"


class MappingTransport(BaseTransport):
    """Domain adaptation by a plan and a map estimated jointly (Perrot et al. 2016): the map, linear or in a
    Gaussian RKHS, sends new source points without a nearest-neighbour search.

    Parameters
    ----------
    mu : float > 0
        Weight of the OT loss.
    eta : float > 0
        Weight of the map's regulariser.
    bias : bool
        Fit a bias.
    metric : str
        Ground cost (a numbaot.dist metric); POT ignores it and always uses 'sqeuclidean', the default.
    norm : {None, 'median', 'max', 'log', 'loglog'}
        Cost normalisation (POT ignores it; None is POT's behaviour).
    kernel : {'linear', 'gaussian'}
        The map's family.
    sigma : float > 0
        Bandwidth of the Gaussian kernel.
    max_iter, tol, max_inner_iter, inner_tol
        As in :func:`joint_OT_mapping_linear`.
    log : bool
        Keep ``{'loss': [...]}`` in ``log_``.
    verbose, verbose2 : bool
        Accepted for POT's signature (nothing is printed).

    Attributes
    ----------
    coupling_ : array of shape (n_source_samples, n_target_samples)
    mapping_ : array of shape (d (+ 1), d) for 'linear', (n_source_samples (+ 1), d) for 'gaussian'
    cost_, mu_s, mu_t, xs_, xt_, log_

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import MappingTransport
    >>> xs = np.random.default_rng(0).normal(size=(40, 2))
    >>> est = MappingTransport(eta=1e-6).fit(Xs=xs, Xt=3 * xs)
    >>> bool(np.allclose(est.transform(np.ones((1, 2))), 3.0, atol=1e-2))
    True
    """

    def __init__(self, mu=1, eta=0.001, bias=False, metric="sqeuclidean", norm=None, kernel="linear", sigma=1,
                 max_iter=100, tol=1e-5, max_inner_iter=10, inner_tol=1e-6, log=False, verbose=False,
                 verbose2=False):
        self.mu = mu
        self.eta = eta
        self.bias = bias
        self.metric = metric
        self.norm = norm
        self.kernel = kernel
        self.sigma = sigma
        self.max_iter = max_iter
        self.tol = tol
        self.max_inner_iter = max_inner_iter
        self.inner_tol = inner_tol
        self.log = log
        self.verbose = verbose
        self.verbose2 = verbose2

    out_of_sample_map = "ferradans"  # inverse_transform's out-of-sample rule (the map has no inverse)

    distribution_estimation = staticmethod(distribution_estimation_uniform)  # POT's MappingTransport has no choice

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the plan and the map (labels are accepted and ignored, as POT); returns self."""
        kernel = _check_kernel(self.kernel)
        self._fit_cost(Xs, None, Xt, None)
        xs, xt, options, log = _check_joint(self.xs_, self.xt_, self.mu, self.eta, self.bias, self.max_iter,
                                            self.max_inner_iter, self.inner_tol, self.tol, self.log)
        V.check_bool(self.verbose, "verbose")
        V.check_bool(self.verbose2, "verbose2")
        M = self.cost_ * xs.shape[0]
        sigma = check_positive(self.sigma, "sigma") if kernel == "gaussian" else None
        if kernel == "gaussian":
            G, L, losses = _kernel_problem(xs, xt, M, sigma, options, "MappingTransport")
        else:
            G, L, losses = _linear_problem(xs, xt, M, options, "MappingTransport")
        self.coupling_ = G
        self.mapping_ = L
        self._fitted.update(kernel=kernel, sigma=sigma, bias=options.bias)
        self.log_ = {"loss": losses} if log else {}
        return self

    def _out_of_sample(self, X, side, batch_size):
        """New source points by the fitted map, ``batch_size`` at a time (new target points: nearest fitted target
        point plus displacement, as the map has no inverse)."""
        if side == "t":
            return super()._out_of_sample(X, side, batch_size)
        kernel, sigma, bias = self._fitted["kernel"], self._fitted["sigma"], self._fitted["bias"]
        out = np.empty((X.shape[0], self.mapping_.shape[1]))
        for start in range(0, X.shape[0], batch_size):
            block = X[start:start + batch_size]
            features = block if kernel == "linear" else gaussian_kernel(block, self.xs_, sigma)
            if bias:
                features = np.c_[features, np.ones(block.shape[0])]
            out[start:start + batch_size] = features @ self.mapping_
        return out
