"""Gromov-Wasserstein front-ends: validate, build the tensor-product split, run the solver, wrap the answer.

* :func:`gromov_wasserstein`, :func:`gromov_wasserstein2`: GW by conditional gradient (network simplex oracle);
* :func:`fused_gromov_wasserstein`, :func:`fused_gromov_wasserstein2`: ``(1 - alpha) <M, T> + alpha GW``;
* ``solve_gromov_problem``: the solver behind :func:`numbaot.solve_gromov`.

The objective is ``sum_ijkl L(C1_ik, C2_jl) T_ij T_kl`` (no 1/2, no square root: POT's convention). It is not
convex: conditional gradient finds a stationary point that depends on the start (``G0``; ``n_init > 1`` adds
random starts and keeps the best).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _config, _dispatch, _validation as V
from .._defaults import CG_MAX_ITER, CG_TOL, MAX_ITER, TOL
from .._result import OTResult
from .._status import Status, warn_status


class Names(NamedTuple):
    """The arguments of a GW verb as its caller names them, for messages: the two structure matrices, their
    weights and the loss (``numbaot.gromov_wasserstein`` and POT: C1, C2, p, q, loss_fun)."""

    C1: str = "C1"
    C2: str = "C2"
    p: str = "p"
    q: str = "q"
    loss: str = "loss_fun"

    @property
    def plan(self) -> tuple:
        """``check_initial_plan``'s names: the weights, then the spaces."""
        return self.p, self.q, self.C1, self.C2


#: ``solve_gromov``'s (POT's ``ot.solve_gromov``'s) names.
SOLVE_NAMES = Names("Ca", "Cb", "a", "b", "loss")


class _Problem:
    """Validated host inputs of one (fused) GW problem, float64; messages name the arguments as ``names`` does."""

    names = Names()

    def __init__(self, C1, C2, p, q, M, loss, symmetric, alpha=None, G0=None):
        nm = self.names
        # CUDA inputs are solved on host copies (the conditional gradient's oracle is the host network simplex)
        self.placement = _dispatch.place(**{nm.C1: C1, nm.C2: C2, nm.p: p, nm.q: q, "M": M, "G0": G0})
        C1, C2, p, q, M = _dispatch.host_copies(C1, C2, p, q, M)
        C1 = V.check_structure_matrix(C1, nm.C1)
        C2 = V.check_structure_matrix(C2, nm.C2)
        self.loss = V.check_gw_loss(loss, C1, C2, (nm.loss, nm.C1, nm.C2))
        n, m = C1.shape[0], C2.shape[0]
        p = V.check_gw_weights(p, nm.p, nm.C1, n)
        q = V.check_gw_weights(q, nm.q, nm.C2, m)
        q = V.check_gw_mass(p, q, (nm.p, nm.q))
        self.p = p.astype(np.float64, copy=False)
        self.q = q.astype(np.float64, copy=False)
        sym1 = V.check_symmetric(C1, nm.C1, symmetric)
        sym2 = V.check_symmetric(C2, nm.C2, symmetric)
        self.symmetric = bool(sym1 and sym2)
        self.out_dtype = V.result_dtype(C1, C2, *(() if M is None else (np.asarray(M),)))
        if M is not None:
            M = V.as_float_array(M, "M", ndim=2)
            V.check_pair_shape(M, "M", n, m, (nm.C1, nm.C2))
            V.check_finite(M, "M")
            self.out_dtype = V.result_dtype(C1, C2, M)
            M = M.astype(np.float64, copy=False)
        self.M = M
        self.C1 = C1.astype(np.float64, copy=False)
        self.C2 = C2.astype(np.float64, copy=False)
        self.alpha = None if alpha is None else V.check_alpha(alpha)

    def split(self):
        from ._tensor import split

        return split(self.C1, self.C2, self.p, self.q, self.loss, self.symmetric)

    def weights(self):
        """``(w_lin, w_quad)``: ``(0, 1)`` for GW, ``(1 - alpha, alpha)`` for fused GW."""
        if self.M is None:
            return 0.0, 1.0
        return 1.0 - self.alpha, self.alpha


class _SolveProblem(_Problem):
    """A problem given to ``solve_gromov`` (Ca, Cb, a, b, loss: POT's ``ot.solve_gromov`` names)."""

    names = SOLVE_NAMES


# -------------------------------------------------------------------------------------------------- tensor product
def tensor_product(C1, C2, T, *, loss_fun="square_loss"):
    """The GW tensor product ``(L (x) T)_ij = sum_kl L(C1_ik, C2_jl) T_kl`` in O(n^2 m + n m^2) work (Peyre et al.
    2016, Prop. 1), on the host or, for CUDA arrays, on the GPU.

    Parameters
    ----------
    C1, C2 : arrays of shape (n, n) and (m, m)
        Structure matrices: finite, non-negative for 'kl_loss', symmetric or not. numpy, or CUDA arrays (CuPy,
        Numba device or simulator arrays) all on the device.
    T : array of shape (n, m)
        Any finite matrix: its own row and column sums play the marginals p and q.
    loss_fun : {'square_loss', 'kl_loss'}

    Returns
    -------
    array of shape (n, m)
        float32 when every input is float32, else float64 (computed in float64 either way); for CUDA inputs the
        caller's kind of CUDA array.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.gromov.api import tensor_product
    >>> C1 = np.array([[0.0, 1.0], [1.0, 0.0]]); C2 = np.array([[0.0, 2.0], [2.0, 0.0]])
    >>> tensor_product(C1, C2, np.eye(2) / 2)  # entry (i, j): sum_k (C1_ik - C2_jk)^2 / 2
    array([[0.5, 2.5],
           [2.5, 0.5]])
    """
    placement = _dispatch.place(C1=C1, C2=C2, T=T)
    if placement.on_gpu:
        return _device_tensor_product(C1, C2, T, loss_fun, placement)
    C1 = V.check_structure_matrix(C1, "C1")
    C2 = V.check_structure_matrix(C2, "C2")
    loss = V.check_gw_loss(loss_fun, C1, C2)
    T = V.as_float_array(T, "T", ndim=2)
    V.check_pair_shape(T, "T", C1.shape[0], C2.shape[0])
    V.check_finite(T, "T")
    from ._tensor import tensor_product as product

    return product(C1, C2, T, loss).astype(V.result_dtype(C1, C2, T), copy=False)


def _device_tensor_product(C1, C2, T, loss_fun, placement):
    """:func:`tensor_product` of CUDA arrays, checked as the host checks them and in its order (each of C1, C2:
    dtype, shape, then NaN and inf; the loss; kl_loss's negative entries; T's shape, then NaN and inf) by the
    ``gromov.matrix`` and ``gromov.minimum`` dispatch steps, before the driver runs on their float64 copies."""
    from ._tensor import LOSS_CODES

    stream = placement.stream
    step = _dispatch.driver("gromov.matrix", placement)
    names = ("C1", "C2")
    copies = [step(V.check_square(C, name, allow_cuda=True), name, stream) for C, name in zip((C1, C2), names)]
    loss = V.check_gw_loss_name(loss_fun)
    if loss == "kl_loss":
        minimum = _dispatch.driver("gromov.minimum", placement)
        for C64, name in zip(copies, names):
            low, at = minimum(C64, stream)
            if low < 0:
                V.judge_negative_structure(name, at, low)
    T = V.as_float_array(T, "T", ndim=2, allow_cuda=True)
    V.check_pair_shape(T, "T", int(C1.shape[0]), int(C2.shape[0]))
    T64 = step(T, "T", stream)
    return _dispatch.driver("tensor_product", placement)(*copies, T64, LOSS_CODES[loss], V.result_dtype(C1, C2, T),
                                                        placement)


def _random_vertex(problem, rng, n_threads):
    """A random vertex of the transport polytope (the optimal plan for random costs): a start for ``n_init``."""
    from ..exact._driver import network_simplex

    n, m = len(problem.p), len(problem.q)
    _, _, (rows, cols, vals), _, _, _ = network_simplex(rng.random((n, m)), problem.p, problem.q, None, n_threads)
    plan = np.zeros((n, m))
    plan[rows, cols] = vals
    return plan


def _solve_cg(problem, G0, max_iter, tol_rel, tol_abs, n_init, random_state, n_threads, warn, name):
    """Conditional gradient from G0 (or p q^T), plus ``n_init - 1`` random starts; the best result wins."""
    n_threads = _config.n_threads(n_threads)  # validated here: small problems later override it with 1
    from ._cg import conditional_gradient

    max_iter = V.check_max_iter(max_iter)
    tol_rel = V.check_tol(tol_rel, "tol_rel")
    tol_abs = V.check_tol(tol_abs, "tol_abs")
    n_init = V.check_n_init(n_init)
    warn = V.check_bool(warn, "warn")
    p, q = problem.p, problem.q
    G0, = _dispatch.host_copies(G0)
    if G0 is not None:
        G0 = V.check_initial_plan(G0, p, q, names=problem.names.plan).astype(np.float64)
    start = np.outer(p, q) if G0 is None else G0
    s = problem.split()
    w_lin, w_quad = problem.weights()
    best = None
    rng = None
    for k in range(n_init):
        if k:
            rng = rng or np.random.default_rng(random_state)
            start = _random_vertex(problem, rng, n_threads)
        out = conditional_gradient(s, p, q, problem.M, w_lin, w_quad, start, max_iter, tol_rel, tol_abs, n_threads,
                                   product_start=(k == 0 and G0 is None))
        if best is None or (out.status != Status.NUMERICAL_ERROR and out.value < best.value) \
                or best.status == Status.NUMERICAL_ERROR:
            best = out
    if warn:
        warn_status(best.status, name, f"{best.n_iter} conditional gradient iterations; raise max_iter",
                    stacklevel=4)
    dtype = problem.out_dtype
    return _dispatch.back_to_caller(problem.placement, OTResult(
        value=dtype.type(best.value),
        value_linear=dtype.type(best.value_linear),
        value_quad=dtype.type(best.value_quad),
        plan=best.plan.astype(dtype, copy=False),
        status=best.status,
        n_iter=best.n_iter,
        errors=best.history,
    ))


def _log(result, key):
    return {key: result.value, "loss": list(result.errors), "n_iter": result.n_iter, "status": result.status,
            "value_linear": result.value_linear, "value_quad": result.value_quad}


def gromov_wasserstein(C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, log=False, *, G0=None,
                       max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_init=1, random_state=None,
                       n_threads=None, warn=True):
    """Gromov-Wasserstein transport plan by conditional gradient (POT's ``ot.gromov.gromov_wasserstein``).

    Minimises ``sum_ijkl L(C1_ik, C2_jl) T_ij T_kl`` over plans T with marginals p and q. Each iteration solves
    the linearised problem exactly by our network simplex (from the previous iteration's optimal tree) and takes the
    exact line search step of the quadratic objective; the tensor product costs O(n^2 m + n m^2) (Peyre et al.
    2016). The problem is not convex: the answer is a stationary point reached from ``G0``.

    Parameters
    ----------
    C1, C2 : arrays of shape (n, n) and (m, m)
        Structure matrices (distances, similarities, adjacency) of the two spaces; finite; not necessarily
        symmetric. CUDA arrays (CuPy, Numba) are solved on host copies and the plan comes back to the device
        (``solve_gromov(...).ran_on`` records it); the tensor product alone has a CUDA twin.
    p, q : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal total mass.
    loss_fun : {'square_loss', 'kl_loss'}
        ``L(x, y) = (x - y)^2``, or ``x log(x / y) - x + y`` (non-negative matrices; see
        ``numbaot.gromov._tensor`` for its treatment of zeros).
    symmetric : bool, optional
        Whether C1 and C2 are symmetric. None detects it with a tolerance of a few ulps of the matrices' dtype;
        True is verified (ValueError otherwise); False uses the general gradient (also correct for symmetric
        matrices, twice the work).
    log : bool
        Also return a dict with 'gw_dist', 'loss' (the objective after each iteration), 'n_iter', 'status'.
    G0 : array of shape (n, m), optional
        Starting plan (marginals p and q within 1e-8); default ``p q^T``.
    max_iter : int
        Maximum conditional gradient iterations; reaching it gives a ConvergenceWarning.
    tol_rel, tol_abs : float >= 0
        Stop when the objective changes by less than ``tol_rel`` relative or ``tol_abs`` absolute.
    n_init : int
        Number of starts: ``G0`` (or ``p q^T``), then ``n_init - 1`` random vertices of the transport polytope;
        the plan of lowest objective is returned (a remedy against poor local minima).
    random_state : int or numpy Generator, optional
        Seed of the random starts.
    n_threads : int, optional
        Threads of the Numba kernels (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        In the dtype of the inputs (float32 when all are float32).
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.array([[0.0], [1.0], [3.0]])
    >>> C1 = numbaot.dist(x, x, metric="euclidean")
    >>> C2 = C1[::-1, ::-1]  # the same space, points listed in reverse order
    >>> (numbaot.gromov_wasserstein(C1, C2) * 3).round(6)
    array([[0., 0., 1.],
           [0., 1., 0.],
           [1., 0., 0.]])
    """
    problem = _Problem(C1, C2, p, q, None, loss_fun, symmetric, G0=G0)
    result = _solve_cg(problem, G0, max_iter, tol_rel, tol_abs, n_init, random_state, n_threads, warn,
                       "gromov_wasserstein")
    log = V.check_bool(log, "log")
    return (result.plan, _log(result, "gw_dist")) if log else result.plan


def gromov_wasserstein2(C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, log=False, *, G0=None,
                        max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_init=1, random_state=None,
                        n_threads=None, warn=True):
    """Gromov-Wasserstein objective at the plan of :func:`gromov_wasserstein` (same parameters).

    Returns ``sum_ijkl L(C1_ik, C2_jl) T_ij T_kl`` (POT's ``gromov_wasserstein2``: the GW distance of Memoli
    2011 is ``0.5 * sqrt`` of it for the square loss), with the log dict (including the plan as 'T') when
    ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]), metric="euclidean")
    >>> perm = [2, 0, 1]
    >>> round(float(numbaot.gromov_wasserstein2(C, C[np.ix_(perm, perm)])), 12)
    0.0
    """
    problem = _Problem(C1, C2, p, q, None, loss_fun, symmetric, G0=G0)
    result = _solve_cg(problem, G0, max_iter, tol_rel, tol_abs, n_init, random_state, n_threads, warn,
                       "gromov_wasserstein2")
    if V.check_bool(log, "log"):
        info = _log(result, "gw_dist")
        info["T"] = result.plan
        return result.value, info
    return result.value


def fused_gromov_wasserstein(M, C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, alpha=0.5, *,
                             G0=None, log=False, max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_init=1,
                             random_state=None, n_threads=None, warn=True):
    """Fused Gromov-Wasserstein plan by conditional gradient (POT's ``ot.gromov.fused_gromov_wasserstein``).

    Minimises ``(1 - alpha) <M, T> + alpha sum_ijkl L(C1_ik, C2_jl) T_ij T_kl``: alpha = 0 is exact OT on the
    feature costs M, alpha = 1 is Gromov-Wasserstein. Parameters as :func:`gromov_wasserstein`, plus:

    Parameters
    ----------
    M : array of shape (n, m)
        Finite costs between the features of the two spaces' points.
    alpha : float in [0, 1]
        Trade-off between the feature costs and the structure term.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])  # both spaces alike: only the features decide
    >>> M = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> numbaot.fused_gromov_wasserstein(M, C, C, alpha=0.5)
    array([[0. , 0.5],
           [0.5, 0. ]])
    """
    problem = _Problem(C1, C2, p, q, M, loss_fun, symmetric, alpha, G0=G0)
    result = _solve_cg(problem, G0, max_iter, tol_rel, tol_abs, n_init, random_state, n_threads, warn,
                       "fused_gromov_wasserstein")
    return (result.plan, _log(result, "fgw_dist")) if V.check_bool(log, "log") else result.plan


def fused_gromov_wasserstein2(M, C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, alpha=0.5, *,
                              G0=None, log=False, max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_init=1,
                              random_state=None, n_threads=None, warn=True):
    """Fused Gromov-Wasserstein objective at the plan of :func:`fused_gromov_wasserstein` (same parameters).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> M = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> float(numbaot.fused_gromov_wasserstein2(M, C, C, alpha=0.5))
    0.0
    """
    problem = _Problem(C1, C2, p, q, M, loss_fun, symmetric, alpha, G0=G0)
    result = _solve_cg(problem, G0, max_iter, tol_rel, tol_abs, n_init, random_state, n_threads, warn,
                       "fused_gromov_wasserstein2")
    if V.check_bool(log, "log"):
        info = _log(result, "fgw_dist")
        info["T"] = result.plan
        return result.value, info
    return result.value


# ----------------------------------------------------------------------------------------------------- entropic
def solve_entropic(problem, epsilon, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads, warn, name,
                    accelerate="momentum"):
    """Mirror descent with log-domain Sinkhorn steps (see ``_entropic``), wrapped as an OTResult."""
    n_threads = _config.n_threads(n_threads)  # validated here: small problems later override it with 1
    from ._entropic import mirror_descent

    epsilon = V.check_reg(epsilon, "epsilon")
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    inner_max_iter = V.check_max_iter(inner_max_iter, "inner_max_iter")
    inner_tol = V.check_tol(inner_tol, "inner_tol")
    warn = V.check_bool(warn, "warn")
    accelerate = V.check_accelerate(accelerate)
    p, q = problem.p, problem.q
    G0, = _dispatch.host_copies(G0)
    if G0 is not None:
        G0 = V.check_initial_plan(G0, p, q, names=problem.names.plan).astype(np.float64)
    start = np.outer(p, q) if G0 is None else G0
    w_lin, w_quad = problem.weights()
    out, marginal_error = mirror_descent(problem.split(), p, q, problem.M, w_lin, w_quad, epsilon, start,
                                         max_iter, tol, inner_max_iter, inner_tol, n_threads, accelerate,
                                         product_start=G0 is None)
    if warn:
        last = out.history[-1] if len(out.history) else float("nan")
        warn_status(out.status, name, f"{out.n_iter} outer iterations, last change of the plan {last:.3g} (tol "
                    f"{tol:g}), marginal error {marginal_error:.3g} (inner_tol {inner_tol:g}); raise max_iter or "
                    "inner_max_iter, or epsilon", stacklevel=4)
    dtype = problem.out_dtype
    return _dispatch.back_to_caller(problem.placement, OTResult(
        value=dtype.type(out.value),
        value_linear=dtype.type(out.value_linear),
        value_quad=dtype.type(out.value_quad),
        plan=out.plan.astype(dtype, copy=False),
        potential_a=out.inner[0].astype(dtype),
        potential_b=out.inner[1].astype(dtype),
        status=out.status,
        n_iter=out.n_iter,
        errors=out.history,
    ))


def entropic_gromov_wasserstein(C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1, symmetric=None,
                                G0=None, max_iter=MAX_ITER, tol=TOL, *, log=False, inner_max_iter=MAX_ITER,
                                inner_tol=TOL, n_threads=None, warn=True, accelerate="momentum"):
    """Entropic Gromov-Wasserstein plan by mirror descent (POT's ``ot.gromov.entropic_gromov_wasserstein``).

    Each outer iteration solves ``min <grad, T> + epsilon KL(T | p q^T)`` by log-domain Sinkhorn, with ``grad``
    the gradient of the GW objective at the current plan (Peyre et al. 2016), warm-started from the previous
    Sinkhorn potentials. As epsilon decreases the plan tends to a GW stationary point.

    Parameters
    ----------
    C1, C2, p, q, loss_fun, symmetric, G0
        As in :func:`gromov_wasserstein`.
    epsilon : float > 0
        Entropic regularisation, in the units of the GW gradient (about twice the squared scale of C1 and C2
        for the square loss). Small values need more outer iterations.
    max_iter : int
        Maximum outer iterations.
    tol : float >= 0
        Stop when the Frobenius norm of the change of the plan is at most tol.
    log : bool
        Also return a dict with 'gw_dist', 'loss' (the plan's change at each iteration), 'n_iter', 'status'.
    inner_max_iter, inner_tol
        Each Sinkhorn solve's iteration cap and L1 marginal tolerance.
    accelerate : {'momentum', 'anderson', None}
        Acceleration of the outer fixed-point iteration on the linearised cost (a plain step certifies the end):

        * 'momentum' (default): Polyak's heavy ball, switched on once the iteration converges at a steady linear
          rate and tuned from that rate. It keeps the plain iteration's fixed points and their stability, so it
          ends where POT's PGD ends (same values on 320 random problems), in 1.2-3.4x fewer outer iterations
          (``numbaot.gromov._entropic.HeavyBall``).
        * 'anderson': Anderson acceleration (memory 4, restarted when the residual grows), 3-5x fewer iterations on
          random clouds, but as a secant method it can converge to another stationary point than the plain
          iteration, a saddle point included (seen: ends 2-3% lower, or, switched on late, at a saddle 2.8%
          higher).
        * None (or False): the plain iteration, as POT.
    n_threads : int, optional
        Threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        Its value is ``sum L(C1_ik, C2_jl) T_ij T_kl`` (without the entropy), available with ``log=True`` or
        from :func:`entropic_gromov_wasserstein2`.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.array([[0.0], [1.0], [3.0], [4.5]])
    >>> C1 = numbaot.dist(x, x, metric="euclidean") / 4.5
    >>> plan = numbaot.entropic_gromov_wasserstein(C1, C1[::-1, ::-1], epsilon=0.1)
    >>> plan.argmax(axis=1)  # the blurred reversal
    array([3, 2, 1, 0])
    """
    problem = _Problem(C1, C2, p, q, None, loss_fun, symmetric, G0=G0)
    result = solve_entropic(problem, epsilon, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads, warn,
                             "entropic_gromov_wasserstein", accelerate)
    return (result.plan, _log(result, "gw_dist")) if V.check_bool(log, "log") else result.plan


def entropic_gromov_wasserstein2(C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1, symmetric=None,
                                 G0=None, max_iter=MAX_ITER, tol=TOL, *, log=False, inner_max_iter=MAX_ITER,
                                 inner_tol=TOL, n_threads=None, warn=True, accelerate="momentum"):
    """GW objective at the plan of :func:`entropic_gromov_wasserstein` (same parameters), without the entropy.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = numbaot.dist(np.array([[0.0], [1.0], [3.0], [4.5]]), metric="euclidean") / 4.5
    >>> round(float(numbaot.entropic_gromov_wasserstein2(C, C[::-1, ::-1], epsilon=0.1)), 4)
    0.0303
    """
    problem = _Problem(C1, C2, p, q, None, loss_fun, symmetric, G0=G0)
    result = solve_entropic(problem, epsilon, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads, warn,
                             "entropic_gromov_wasserstein2", accelerate)
    if V.check_bool(log, "log"):
        info = _log(result, "gw_dist")
        info["T"] = result.plan
        return result.value, info
    return result.value


def entropic_fused_gromov_wasserstein(M, C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1,
                                      symmetric=None, alpha=0.5, G0=None, max_iter=MAX_ITER, tol=TOL, *, log=False,
                                      inner_max_iter=MAX_ITER, inner_tol=TOL, n_threads=None, warn=True,
                                      accelerate="momentum"):
    """Entropic fused GW plan by mirror descent: ``(1 - alpha) <M, T> + alpha GW(T) - epsilon H(T)`` (POT's
    ``ot.gromov.entropic_fused_gromov_wasserstein``); parameters as :func:`entropic_gromov_wasserstein` and
    :func:`fused_gromov_wasserstein`.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> M = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> numbaot.entropic_fused_gromov_wasserstein(M, C, C, epsilon=0.05).round(4)
    array([[0. , 0.5],
           [0.5, 0. ]])
    """
    problem = _Problem(C1, C2, p, q, M, loss_fun, symmetric, alpha, G0=G0)
    result = solve_entropic(problem, epsilon, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads, warn,
                             "entropic_fused_gromov_wasserstein", accelerate)
    return (result.plan, _log(result, "fgw_dist")) if V.check_bool(log, "log") else result.plan


def entropic_fused_gromov_wasserstein2(M, C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1,
                                       symmetric=None, alpha=0.5, G0=None, max_iter=MAX_ITER, tol=TOL, *, log=False,
                                       inner_max_iter=MAX_ITER, inner_tol=TOL, n_threads=None, warn=True,
                                      accelerate="momentum"):
    """Fused GW objective at the plan of :func:`entropic_fused_gromov_wasserstein` (same parameters).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> M = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(numbaot.entropic_fused_gromov_wasserstein2(M, C, C, epsilon=0.05)), 6)
    0.0
    """
    problem = _Problem(C1, C2, p, q, M, loss_fun, symmetric, alpha, G0=G0)
    result = solve_entropic(problem, epsilon, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads, warn,
                             "entropic_fused_gromov_wasserstein2", accelerate)
    if V.check_bool(log, "log"):
        info = _log(result, "fgw_dist")
        info["T"] = result.plan
        return result.value, info
    return result.value


# -------------------------------------------------------------------------------------------------- unified API
def solve_gromov_problem(Ca, Cb, M=None, a=None, b=None, loss="square_loss", symmetric=None, alpha=0.5, reg=None,
                  max_iter=None, tol=None, G0=None, n_init=1, random_state=None, n_threads=None, warn=True):
    """The solver behind :func:`numbaot.solve_gromov` (see there)."""
    alpha = V.check_alpha(alpha)  # checked even without M, where it is unused: a typo deserves its error
    problem = _SolveProblem(Ca, Cb, a, b, M, loss, symmetric, alpha, G0=G0)
    if reg is None:
        tol = TOL if tol is None else tol
        return _solve_cg(problem, G0, 10000 if max_iter is None else max_iter, tol, tol, n_init, random_state,
                         n_threads, warn, "solve_gromov")
    if n_init != 1:
        raise ValueError("n_init applies to the exact solver (reg=None); the entropic one starts from G0 only")
    return solve_entropic(problem, reg, G0, MAX_ITER if max_iter is None else max_iter, TOL if tol is None else tol,
                           MAX_ITER, TOL, n_threads, warn, "solve_gromov")


# -------------------------------------------------------------------------------------------------- semi-relaxed
def _solve_semirelaxed(C1, C2, p, loss_fun, symmetric, G0, max_iter, tol_rel, tol_abs, n_threads, warn, name):
    n_threads = _config.n_threads(n_threads)  # validated here: small problems later override it with 1
    from ._semirelaxed import semirelaxed_conditional_gradient

    placement = _dispatch.place(C1=C1, C2=C2, p=p, G0=G0)
    C1, C2, p, G0 = _dispatch.host_copies(C1, C2, p, G0)
    C1 = V.check_structure_matrix(C1, "C1")
    C2 = V.check_structure_matrix(C2, "C2")
    loss = V.check_gw_loss(loss_fun, C1, C2)
    n, m = C1.shape[0], C2.shape[0]
    p = V.check_gw_weights(p, "p", "C1", n).astype(np.float64, copy=False)
    symmetric = bool(V.check_symmetric(C1, "C1", symmetric) and V.check_symmetric(C2, "C2", symmetric))
    max_iter = V.check_max_iter(max_iter)
    tol_rel = V.check_tol(tol_rel, "tol_rel")
    tol_abs = V.check_tol(tol_abs, "tol_abs")
    warn = V.check_bool(warn, "warn")
    dtype = V.result_dtype(C1, C2)
    start = np.outer(p, np.full(m, 1.0 / m)) if G0 is None else \
        V.check_initial_plan(G0, p, None, m=m).astype(np.float64)
    out = semirelaxed_conditional_gradient(C1.astype(np.float64, copy=False), C2.astype(np.float64, copy=False),
                                           p, loss, symmetric, None, 0.0, 1.0, start, max_iter, tol_rel, tol_abs,
                                           n_threads)
    if warn:
        warn_status(out.status, name, f"{out.n_iter} conditional gradient iterations; raise max_iter", stacklevel=4)
    return _dispatch.back_to_caller(placement, OTResult(value=dtype.type(out.value), value_linear=dtype.type(0.0),
                                  value_quad=dtype.type(out.value_quad), plan=out.plan.astype(dtype, copy=False),
                                  status=out.status, n_iter=out.n_iter, errors=out.history))


def semirelaxed_gromov_wasserstein(C1, C2, p=None, loss_fun="square_loss", symmetric=None, log=False, *, G0=None,
                                   max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_threads=None, warn=True):
    """Semi-relaxed Gromov-Wasserstein plan (POT's ``ot.gromov.semirelaxed_gromov_wasserstein``).

    Minimises ``sum_ijkl L(C1_ik, C2_jl) T_ij T_kl`` over plans with row sums p and free column sums (Vincent-Cuaz
    et al. 2022): the target's weights are learnt, e.g. to find which nodes of C2 the source graph uses. Conditional
    gradient whose linear oracle sends each row's mass to its cheapest column, with the exact line search.

    Parameters
    ----------
    C1, C2, p, loss_fun, symmetric, log, max_iter, tol_rel, tol_abs, n_threads, warn
        As in :func:`gromov_wasserstein` (``log=True`` adds a dict with 'srgw_dist', 'loss', 'n_iter',
        'status').
    G0 : array of shape (n, m), optional
        Starting plan with row sums p; default ``p u^T`` with u uniform.

    Returns
    -------
    plan : array of shape (n, m)
        Row sums p; its column sums are the learnt target weights.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x, y = np.array([[0.0], [1.0], [3.0]]), np.array([[0.0], [0.1], [1.0], [3.0]])
    >>> C1, C2 = numbaot.dist(x, x, metric="euclidean"), numbaot.dist(y, y, metric="euclidean")
    >>> plan = numbaot.semirelaxed_gromov_wasserstein(C1, C2)
    >>> plan.sum(axis=0).round(6)  # the learnt weights: the point at 0.1, absent from x, gets none
    array([0.333333, 0.      , 0.333333, 0.333333])
    """
    result = _solve_semirelaxed(C1, C2, p, loss_fun, symmetric, G0, max_iter, tol_rel, tol_abs, n_threads, warn,
                                "semirelaxed_gromov_wasserstein")
    return (result.plan, _log(result, "srgw_dist")) if V.check_bool(log, "log") else result.plan


def semirelaxed_gromov_wasserstein2(C1, C2, p=None, loss_fun="square_loss", symmetric=None, log=False, *, G0=None,
                                    max_iter=CG_MAX_ITER, tol_rel=CG_TOL, tol_abs=CG_TOL, n_threads=None, warn=True):
    """Semi-relaxed GW objective at the plan of :func:`semirelaxed_gromov_wasserstein` (same parameters).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x, y = np.array([[0.0], [1.0], [3.0]]), np.array([[0.0], [0.1], [1.0], [3.0]])
    >>> C1, C2 = numbaot.dist(x, x, metric="euclidean"), numbaot.dist(y, y, metric="euclidean")
    >>> abs(round(float(numbaot.semirelaxed_gromov_wasserstein2(C1, C2)), 12))
    0.0
    """
    result = _solve_semirelaxed(C1, C2, p, loss_fun, symmetric, G0, max_iter, tol_rel, tol_abs, n_threads, warn,
                                "semirelaxed_gromov_wasserstein2")
    if V.check_bool(log, "log"):
        info = _log(result, "srgw_dist")
        info["T"] = result.plan
        return result.value, info
    return result.value
