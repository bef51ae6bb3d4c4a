"""Gromov-Wasserstein barycenters (POT's ``ot.gromov`` names): the structure matrix (and, for FGW, the node
features) of a barycenter of S structured objects, by block coordinate descent (Peyre, Cuturi and Solomon 2016;
Vayer et al. 2019): the S couplings from the barycenter to the inputs by our GW / FGW solvers (the compiled
conditional gradient called directly, the inputs' parts of its tensor-product split computed once; side by side in
threads for large problems), then the closed-form updates of the structure (square loss: ``C = sum_s lambda_s T_s C_s T_s^T / p p^T``;
KL loss: the same in the log domain) and of the features (``X = sum_s lambda_s T_s Y_s / p``), until the
barycenter stops moving.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._status import MAX_ITER_REACHED, OPTIMAL, warn_status
from .._threads import numba_threads

#: Outer iterations (POT's default) and the tolerance on the Frobenius change of the barycenter.
MAX_ITER = 1000
TOL = 1e-9
#: The inner (conditional gradient) solves' relative tolerance, as POT sets it for its barycenters.
INNER_TOL_REL = 1e-5
#: The S couplings are solved side by side in threads only when each problem has at least this many plan
#: entries (N n_s): below it a solve is mostly Python between short compiled calls, which holds the GIL, and
#: threads only add contention (bench, 3 graphs of 50 nodes, N = 30, 2 cores: 168 ms serial, 252 ms in 2
#: threads before the inner solves called the compiled core directly).
THREADS_MIN_ENTRIES = 200 * 200


def _inputs(N, Cs, ps, p, lambdas, loss_fun, what):
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N (the barycenter's number of nodes) must be a positive int, got {N!r}")
    if not isinstance(Cs, (list, tuple)) or len(Cs) == 0:
        raise TypeError(f"Cs must be a non-empty list of square structure matrices, got {type(Cs).__name__}")
    _dispatch.require_host(_dispatch.place(p=p, **{f"Cs{s}": C for s, C in enumerate(Cs)}), what,
                           "copy the matrices to the host (e.g. cupy.asnumpy) and call it there")
    if loss_fun not in ("square_loss", "kl_loss"):
        raise ValueError(f"loss_fun must be 'square_loss' or 'kl_loss', got {loss_fun!r}")
    Cs = [V.check_structure_matrix(V.as_float_array(C, f"Cs[{s}]", ndim=2), f"Cs[{s}]").astype(np.float64)
          for s, C in enumerate(Cs)]
    if loss_fun == "kl_loss":
        for s, C in enumerate(Cs):
            if np.any(C < 0):
                raise ValueError(f"Cs[{s}] has negative entries; kl_loss needs non-negative matrices")
    if ps is None:
        ps = [None] * len(Cs)
    elif not isinstance(ps, (list, tuple)) or len(ps) != len(Cs):
        raise ValueError(f"ps must be a list of {len(Cs)} weight vectors (one per input), or None")
    ps = [V.check_weights(q, f"ps[{s}]", C.shape[0]).astype(np.float64) for s, (q, C) in enumerate(zip(ps, Cs))]
    ps = [q / q.sum() for q in ps]
    p = V.check_weights(p, "p", int(N)).astype(np.float64)
    lambdas = V.check_barycenter_weights(lambdas, len(Cs))
    return int(N), Cs, ps, p / p.sum(), lambdas


def _initial_structure(N, init_C, random_state, normalise):
    if init_C is not None:
        C = V.check_structure_matrix(V.as_float_array(init_C, "init_C", ndim=2), "init_C").astype(np.float64)
        if C.shape[0] != N:
            raise ValueError(f"init_C has shape {C.shape} but N = {N}")
        return C.copy()
    # POT's start: the distances of N random points in the plane (numpy's legacy generator, as POT seeds it)
    rng = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
    x = rng.randn(N, 2)
    C = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return C / C.max() if normalise else C


def _update_structure(T, Cs, lambdas, p, loss_fun):
    ppt = np.outer(p, p)
    if loss_fun == "square_loss":
        return sum(lam * (Ts @ Cs_ @ Ts.T) for lam, Ts, Cs_ in zip(lambdas, T, Cs)) / ppt
    with np.errstate(divide="ignore"):
        logs = [np.log(np.maximum(Cs_, 1e-15)) for Cs_ in Cs]
    return np.exp(sum(lam * (Ts @ L @ Ts.T) for lam, Ts, L in zip(lambdas, T, logs)) / ppt)


def _descent(plan_of, update, state, n_inputs, max_iter, tol, n_threads, warn, what, prepare=None):
    """Block coordinate descent: ``plan_of(s, state, G0)`` the coupling of input s, ``update(T)`` the new state
    (a tuple of arrays), until its Frobenius change is at most tol; ``prepare(state)``, if given, runs before the
    S couplings of each iteration (in this thread). ``n_threads`` 1 solves the couplings in turn in this
    thread."""
    T = [None] * n_inputs
    status, it = MAX_ITER_REACHED, 0
    workers = max(1, min(n_threads, n_inputs))
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    # serial: Numba's thread count set once here, so that each inner solve's own setting of it is a no-op
    with contextlib.ExitStack() as stack:
        if pool is None:
            stack.enter_context(numba_threads(1))
        else:
            stack.callback(pool.shutdown)
        while it < max_iter:
            it += 1
            if prepare is not None:
                prepare(state)
            if pool is None:
                T = [plan_of(s, state, T[s]) for s in range(n_inputs)]
            else:
                T = list(pool.map(lambda s: plan_of(s, state, T[s]), range(n_inputs)))
            new = update(T)
            err = float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(new, state))))
            state = new
            if err <= tol:
                status = OPTIMAL
                break
    if warn and status != OPTIMAL:
        warn_status(status, what, f"barycenter change {err:.3g} > tol {tol:g} after {it} iterations", stacklevel=4)
    return state


def _side(C, weights, loss_fun, left, transposed):
    """One side of the tensor-product split (``numbaot.gromov._tensor.split``) of a structure matrix C with node
    weights: ``(h, f weights, h^T, f^T weights)`` (the last two None unless ``transposed``), h and f the loss's
    functions of C's side (``left``: the barycenter's, C1's)."""
    from ..gromov._tensor import loss_functions

    other = np.zeros((1, 1))  # the side not asked for: a placeholder
    f1, f2, h1, h2 = loss_functions(C, other, loss_fun) if left else loss_functions(other, C, loss_fun)
    f, h = (f1, h1) if left else (f2, h2)
    if not transposed:
        return h, f @ weights, None, None
    return h, f @ weights, np.ascontiguousarray(h.T), f.T @ weights


class _Couplings:
    """The S (fused) GW couplings from the barycenter to the inputs, by the compiled conditional gradient of
    ``numbaot.gromov._cg`` called directly: the inputs' sides of the tensor-product split are computed once, the
    barycenter's once per outer iteration (shared by the S problems), and the inputs are validated once, not at
    every solve. The same solver, start and tolerances as :func:`numbaot.gromov_wasserstein` /
    :func:`numbaot.fused_gromov_wasserstein` with ``n_threads=1``, so the same couplings."""

    def __init__(self, Cs, ps, p, loss_fun, symmetric, max_iter, warmstart):
        self.loss_fun = loss_fun
        self.Cs, self.ps, self.p, self.max_iter, self.warmstart = Cs, ps, p, max_iter, warmstart
        self.symmetric = symmetric
        self.sym_inputs = [V.check_symmetric(C, f"Cs[{s}]", symmetric) for s, C in enumerate(Cs)]
        # the transposed pieces serve asymmetric problems only (as in split()); with symmetric=True every matrix
        # is verified symmetric
        self.inputs = [_side(C, q, self.loss_fun, False, symmetric is not True) for C, q in zip(Cs, ps)]
        self.side = None
        from ..gromov._cg import conditional_gradient
        from ..gromov._tensor import Split

        self._cg, self._split = conditional_gradient, Split  # imported once, not at each of the many solves

    def prepare(self, state):
        """The barycenter's side of the split, for the structure ``state[-1]`` (once per outer iteration)."""
        C = state[-1]
        sym = V.check_symmetric(C, "the barycenter's structure", self.symmetric)
        self.side = sym, _side(C, self.p, self.loss_fun, True, not (sym and all(self.sym_inputs)))

    def solve(self, s, G0, M=None, alpha=None):
        """The coupling of input s (the barycenter's structure set by :meth:`prepare`); ``G0`` the previous one
        (a start with ``warmstart``), ``M`` the feature cost of fused GW with weight ``1 - alpha``."""
        sym_c, (h1, u, h1t, ut) = self.side
        h2, v, h2t, vt = self.inputs[s]
        if sym_c and self.sym_inputs[s]:
            split = self._split(h1, h2, u, v, h1, h2, u, v, True)
        else:
            split = self._split(h1, h2, u, v, h1t, h2t, ut, vt, False)
        w_lin, w_quad = (0.0, 1.0) if M is None else (1.0 - alpha, alpha)
        p, q = self.p, self.ps[s]
        fresh = G0 is None or not self.warmstart
        start = np.outer(p, q) if fresh else G0
        return self._cg(split, p, q, M, w_lin, w_quad, start, self.max_iter, INNER_TOL_REL, 0.0, 1,
                        product_start=fresh).plan


def _settings(symmetric, max_iter, tol, warmstart, warn):
    return (None if symmetric is None else V.check_bool(symmetric, "symmetric"), V.check_max_iter(max_iter),
            V.check_tol(tol), V.check_bool(warmstart, "warmstart"), V.check_bool(warn, "warn"))


def gromov_barycenters(N, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss", symmetric=True, *,
                       max_iter=MAX_ITER, tol=TOL, warmstart=False, init_C=None, random_state=None, n_threads=None,
                       warn=True):
    """Gromov-Wasserstein barycenter of S structure matrices (POT's ``ot.gromov.gromov_barycenters``).

    Minimises ``sum_s lambdas_s GW(C, Cs[s], p, ps[s])`` over the N x N structure ``C``: alternately the S GW
    couplings from ``C`` (conditional gradient with our network simplex, side by side in threads) and the
    closed-form structure update, until ``||C - C_prev||_F <= tol``.

    Parameters
    ----------
    N : int
        The barycenter's number of nodes.
    Cs : list of S arrays of shape (n_s, n_s)
        The inputs' structure matrices (non-negative for ``kl_loss``).
    ps : list of S arrays of shape (n_s,), optional
        Their node weights (uniform when None).
    p : array of shape (N,), optional
        The barycenter's node weights (uniform when None).
    lambdas : array of shape (S,), optional
        Non-negative weights summing to 1 (uniform when None).
    loss_fun : {'square_loss', 'kl_loss'}
    symmetric : bool or None
        Whether the matrices are symmetric (None: detected).
    max_iter : int
        Outer iterations (each inner GW solve is capped by it too, as in POT).
    tol : float
        Stop when the barycenter moves by at most ``tol`` (Frobenius norm).
    warmstart : bool
        Start each GW solve from the previous iteration's coupling (POT's ``warmstartT``).
    init_C : array of shape (N, N), optional
        The starting structure; by default the normalised squared distances of N random points in the plane,
        drawn as POT draws them (``numpy.random.RandomState(random_state)``).
    n_threads : int, optional
        Threads: the S couplings are computed side by side when each has at least
        :data:`THREADS_MIN_ENTRIES` plan entries (smaller solves run in turn: they are mostly Python, which threads
        do not speed up).
    warn : bool
        ConvergenceWarning if ``max_iter`` is reached first.

    Returns
    -------
    array of shape (N, N)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(4.0)
    >>> C1 = np.abs(x[:, None] - x[None, :])
    >>> C = numbaot.gromov_barycenters(4, [C1, 2 * C1], init_C=C1)
    >>> np.allclose(C, 1.5 * C1)
    True
    """
    N, Cs, ps, p, lambdas = _inputs(N, Cs, ps, p, lambdas, loss_fun, "gromov_barycenters")
    symmetric, max_iter, tol, warmstart, warn = _settings(symmetric, max_iter, tol, warmstart, warn)
    C0 = _initial_structure(N, init_C, random_state, normalise=True)
    couplings = _Couplings(Cs, ps, p, loss_fun, symmetric, max_iter, warmstart)

    def plan_of(s, state, G0):
        return couplings.solve(s, G0)

    return _descent(plan_of, lambda T: (_update_structure(T, Cs, lambdas, p, loss_fun),), (C0,), len(Cs),
                    max_iter, tol, _inner_threads(n_threads, N, Cs), warn, "gromov_barycenters",
                    couplings.prepare)[0]


def _inner_threads(n_threads, N, Cs):
    """Threads for the S couplings: 1 for small problems (see :data:`THREADS_MIN_ENTRIES`)."""
    n_threads = _config.n_threads(n_threads)
    return n_threads if N * min(C.shape[0] for C in Cs) >= THREADS_MIN_ENTRIES else 1


def entropic_gromov_barycenters(N, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss", epsilon=0.1,
                                symmetric=True, *, max_iter=MAX_ITER, tol=TOL, warmstart=False, init_C=None,
                                random_state=None, n_threads=None, warn=True):
    """Entropic Gromov-Wasserstein barycenter (POT's ``ot.gromov.entropic_gromov_barycenters``): as
    :func:`gromov_barycenters`, each coupling by :func:`numbaot.entropic_gromov_wasserstein` with regularisation
    ``epsilon``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(4.0)
    >>> C1 = np.abs(x[:, None] - x[None, :])
    >>> C = numbaot.entropic_gromov_barycenters(4, [C1, C1], epsilon=0.01, init_C=C1)
    >>> C.shape
    (4, 4)
    """
    from ..gromov.api import entropic_gromov_wasserstein

    N, Cs, ps, p, lambdas = _inputs(N, Cs, ps, p, lambdas, loss_fun, "entropic_gromov_barycenters")
    epsilon = V.check_reg(epsilon, "epsilon")
    symmetric, max_iter, tol, warmstart, warn = _settings(symmetric, max_iter, tol, warmstart, warn)
    C0 = _initial_structure(N, init_C, random_state, normalise=True)

    def plan_of(s, state, G0):
        return entropic_gromov_wasserstein(state[0], Cs[s], p, ps[s], loss_fun, epsilon, symmetric,
                                           G0 if warmstart else None, n_threads=1, warn=False)

    return _descent(plan_of, lambda T: (_update_structure(T, Cs, lambdas, p, loss_fun),), (C0,), len(Cs),
                    max_iter, tol, _config.n_threads(n_threads), warn, "entropic_gromov_barycenters")[0]


def _features(Ys, Cs):
    if not isinstance(Ys, (list, tuple)) or len(Ys) != len(Cs):
        raise ValueError(f"Ys must be a list of {len(Cs)} feature matrices (one per input)")
    Ys = [V.as_float_array(Y, f"Ys[{s}]", ndim=2).astype(np.float64) for s, Y in enumerate(Ys)]
    for s, (Y, C) in enumerate(zip(Ys, Cs)):
        V.check_finite(Y, f"Ys[{s}]")
        if Y.shape[0] != C.shape[0]:
            raise ValueError(f"Ys[{s}] has {Y.shape[0]} rows but Cs[{s}] has {C.shape[0]} nodes")
        if Y.shape[1] != Ys[0].shape[1]:
            raise ValueError(f"Ys[{s}] has {Y.shape[1]} features but Ys[0] has {Ys[0].shape[1]}")
    return Ys


class _FgwOptions(NamedTuple):
    """The options of an FGW barycenter as its front-end received them (checked by :func:`_fgw`): ``epsilon`` None
    for exact FGW couplings, else the entropic ones'; ``init_features`` the starting features, passed as the verb's
    argument ``features_arg`` (``init_X`` for fgw_barycenters, ``init_Y`` for the entropic one, as in POT); ``what``
    the verb's name: both for messages."""

    alpha: object
    fixed_structure: object
    fixed_features: object
    loss_fun: object
    symmetric: object
    max_iter: object
    tol: object
    warmstart: object
    init_C: object
    init_features: object
    random_state: object
    n_threads: object
    warn: object
    epsilon: object
    what: str
    features_arg: str


def _fgw(N, Ys, Cs, ps, p, lambdas, options):
    """``(X, C)``: the FGW barycenter of the inputs, with ``options`` an :class:`_FgwOptions`."""
    from ..gromov.api import entropic_fused_gromov_wasserstein
    from ..utils import dist

    (alpha, fixed_structure, fixed_features, loss_fun, symmetric, max_iter, tol, warmstart, init_C, init_features,
     random_state, n_threads, warn, epsilon, what, features_arg) = options
    N, Cs, ps, p, lambdas = _inputs(N, Cs, ps, p, lambdas, loss_fun, what)
    Ys = _features(Ys, Cs)
    alpha = V.check_alpha(alpha)
    symmetric, max_iter, tol, warmstart, warn = _settings(symmetric, max_iter, tol, warmstart, warn)
    fixed_structure = V.check_bool(fixed_structure, "fixed_structure")
    fixed_features = V.check_bool(fixed_features, "fixed_features")
    if fixed_structure and init_C is None:
        raise ValueError("fixed_structure=True needs the structure in init_C")
    if fixed_features and init_features is None:
        raise ValueError(f"fixed_features=True needs the features in {features_arg}")
    C0 = _initial_structure(N, init_C, random_state, normalise=False)
    if init_features is None:
        X0 = np.zeros((N, Ys[0].shape[1]))
    else:
        X0 = V.as_float_array(init_features, features_arg, ndim=2).astype(np.float64)
        if X0.shape != (N, Ys[0].shape[1]):
            raise ValueError(f"{features_arg} has shape {X0.shape} but the barycenter has N = {N} nodes of "
                             f"{Ys[0].shape[1]} features")

    couplings = _Couplings(Cs, ps, p, loss_fun, symmetric, max_iter, warmstart) if epsilon is None else None

    def plan_of(s, state, G0):
        X, C = state
        M = dist(X, Ys[s], n_threads=1)
        G0 = G0 if warmstart else None
        if epsilon is None:
            return couplings.solve(s, G0, M, alpha)
        return entropic_fused_gromov_wasserstein(M, C, Cs[s], p, ps[s], loss_fun, epsilon, symmetric, alpha, G0,
                                                 n_threads=1, warn=False)

    def update(T):
        X = X0 if fixed_features else sum(lam * (Ts @ Y) for lam, Ts, Y in zip(lambdas, T, Ys)) / p[:, None]
        C = C0 if fixed_structure else _update_structure(T, Cs, lambdas, p, loss_fun)
        return X, C

    if epsilon is None:
        X, C = _descent(plan_of, update, (X0, C0), len(Cs), max_iter, tol, _inner_threads(n_threads, N, Cs), warn,
                        what, couplings.prepare)
    else:
        X, C = _descent(plan_of, update, (X0, C0), len(Cs), max_iter, tol, _config.n_threads(n_threads), warn,
                        what)
    return X, C


def fgw_barycenters(N, Ys, Cs, ps=None, lambdas=None, alpha=0.5, fixed_structure=False, fixed_features=False,
                    p=None, loss_fun="square_loss", *, symmetric=True, max_iter=100, tol=TOL, warmstart=False,
                    init_C=None, init_X=None, random_state=None, n_threads=None, warn=True):
    """Fused Gromov-Wasserstein barycenter of S attributed graphs (POT's ``ot.gromov.fgw_barycenters``).

    Minimises ``sum_s lambdas_s FGW_alpha((X, C, p), (Ys[s], Cs[s], ps[s]))`` over the barycenter's node features
    ``X`` (N, d) and structure ``C`` (N, N), with the squared Euclidean feature cost: alternately the S FGW
    couplings (side by side in threads) and the closed-form updates of X and C (either can be held fixed), until
    they move by at most ``tol`` (Frobenius norm of both changes).

    Parameters
    ----------
    N : int
        The barycenter's number of nodes.
    Ys : list of S arrays of shape (n_s, d)
        The inputs' node features.
    Cs : list of S arrays of shape (n_s, n_s)
        Their structure matrices.
    ps, lambdas, p, loss_fun, symmetric, max_iter, tol, warmstart, init_C, random_state, n_threads, warn
        As for :func:`gromov_barycenters` (``max_iter`` defaults to 100, POT's; the random start is not
        normalised, as in POT).
    alpha : float in [0, 1]
        The trade-off: 0 is features only (Wasserstein), 1 structure only (GW).
    fixed_structure, fixed_features : bool
        Keep ``init_C`` (resp. ``init_X``) fixed.
    init_X : array of shape (N, d), optional
        The starting features (zeros when None, as in POT).

    Returns
    -------
    X : array of shape (N, d)
    C : array of shape (N, N)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(3.0)
    >>> C1 = np.abs(x[:, None] - x[None, :])
    >>> Y1 = x[:, None]
    >>> X, C = numbaot.fgw_barycenters(3, [Y1, Y1 + 2.0], [C1, C1], init_C=C1, init_X=Y1)
    >>> X.ravel(), np.allclose(C, C1)
    (array([1., 2., 3.]), True)
    """
    return _fgw(N, Ys, Cs, ps, p, lambdas, _FgwOptions(
        alpha=alpha, fixed_structure=fixed_structure, fixed_features=fixed_features, loss_fun=loss_fun,
        symmetric=symmetric, max_iter=max_iter, tol=tol, warmstart=warmstart, init_C=init_C,
        init_features=init_X, random_state=random_state, n_threads=n_threads, warn=warn, epsilon=None,
        what="fgw_barycenters", features_arg="init_X"))


def entropic_fused_gromov_barycenters(N, Ys, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss",
                                      epsilon=0.1, symmetric=True, alpha=0.5, *, max_iter=MAX_ITER, tol=TOL,
                                      warmstart=False, init_C=None, init_Y=None, fixed_structure=False,
                                      fixed_features=False, random_state=None, n_threads=None, warn=True):
    """Entropic FGW barycenter (POT's ``ot.gromov.entropic_fused_gromov_barycenters``): as
    :func:`fgw_barycenters` with the couplings of :func:`numbaot.entropic_fused_gromov_wasserstein` at
    regularisation ``epsilon``; ``init_Y`` the starting features. Returns ``(X, C)``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.arange(3.0)
    >>> C1 = np.abs(x[:, None] - x[None, :])
    >>> X, C = numbaot.entropic_fused_gromov_barycenters(3, [x[:, None]] * 2, [C1, C1], epsilon=0.01,
    ...                                                  init_C=C1, init_Y=x[:, None])
    >>> X.shape, C.shape
    ((3, 1), (3, 3))
    """
    epsilon = V.check_reg(epsilon, "epsilon")
    return _fgw(N, Ys, Cs, ps, p, lambdas, _FgwOptions(
        alpha=alpha, fixed_structure=fixed_structure, fixed_features=fixed_features, loss_fun=loss_fun,
        symmetric=symmetric, max_iter=max_iter, tol=tol, warmstart=warmstart, init_C=init_C,
        init_features=init_Y, random_state=random_state, n_threads=n_threads, warn=warn, epsilon=epsilon,
        what="entropic_fused_gromov_barycenters", features_arg="init_Y"))
