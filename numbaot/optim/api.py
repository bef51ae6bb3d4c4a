"""Conditional gradient solvers for regularised OT with a user's regulariser: :func:`cg`, :func:`gcg`,
:func:`semirelaxed_cg` (POT's ``ot.optim`` verbs, snake_case parameters).

Problem, over plans G with marginals a and b (``semirelaxed_cg``: rows only):

    min_G  <M, G> + reg f(G)                          (cg, semirelaxed_cg)
    min_G  <M, G> + reg1 sum G log G + reg2 f(G)      (gcg)

Each iteration linearises the smooth part at G (``Mi = M + reg df(G)``), solves the linear problem (``cg``: our
network simplex, warm-started from the previous iteration's optimal tree; ``semirelaxed_cg``: the row minima;
``gcg``: Sinkhorn on ``Mi`` with ``reg1``, warm-started from the previous potentials), and steps towards its answer
S by a line search on the whole objective: Armijo's rule (the default) or, with ``line_search="quadratic"`` for a
quadratic f, the exact step, which needs one more call of f (at S). The user's ``f`` and ``df`` are plain Python on
numpy arrays; everything else runs compiled (``optim._kernels``), with no (n, m) allocation per iteration beyond
what ``df`` returns.

Stopping (``cg``, ``semirelaxed_cg``): the answer is certified by the Frank-Wolfe gap ``gap = <Mi, G - S>``,
which bounds the objective's distance to the optimum from above for a convex f (``F(G) - F* <= gap``). The loop
stops, status OPTIMAL, when POT's rule holds (the objective changed by less than ``tol_rel`` relative or
``tol_abs`` absolute) *and* the gap is at most ``tol_gap max(|F(G)|, |F(G) - min(M) sum(a)|, floor)``: the
objective, or the objective with the costs shifted to >= 0 (the same for every shift of the costs), but never less
than ``floor``, 1e-6 of the costs' spread times the mass (``_finish.gap_scale_floor``), so that a problem whose
optimum is ~0 is certified too; POT's rule
alone is not enough: Frank-Wolfe
without away steps takes ever smaller steps on an interior optimum (an L2 regulariser), so the objective stalls
long before it is optimal. At ``max_iter`` the status is OPTIMAL when the last gap certifies ``tol_gap`` (the line
searches only descend, so it bounds the returned plan too), else MAX_ITER_REACHED with a ConvergenceWarning that
gives the gap. Measured on random 2-D problems with ``f = |G|^2 / 2``, n = 5..200: at ``reg`` up to 0.1 (costs in
[0, 2]) POT's rule holds within 200 iterations with a relative gap of 1e-5..1e-4 or less; at ``reg = 1`` the
relative gap falls as ~0.2 / k (1e-3 after 200-300 iterations, 1e-4 only after ~3000), hence the defaults
``tol_gap = 1e-3`` and ``max_iter = 1000``.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from .. import _dispatch, _validation as V
from .._result import OTResult
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL, Status, warn_status

LINE_SEARCHES = ("armijo", "quadratic")
_CG_CITATION = "Ferradans, Papadakis, Peyre, Aujol (2014). Regularized discrete optimal transport. SIAM J. Imaging Sci."
_GCG_CITATION = ("Rakotomamonjy, Flamary, Courty (2015). Generalized conditional gradient: analysis of convergence "
                 "and applications. arXiv:1510.06567")
#: Armijo's rule: sufficient decrease constant, first trial step, and a cap on the trials of one search.
ARMIJO_C1 = 1e-4
ARMIJO_ALPHA0 = 0.99
ARMIJO_MAX_TRIALS = 40
#: ``cg`` / ``semirelaxed_cg``: the Frank-Wolfe gap that certifies an answer, relative to the objective, and the
#: iteration cap (see the module's docstring for the measurements behind them).
CG_TOL_GAP = 1e-3
CG_MAX_ITER = 1000
#: POT's tie margin of the semi-relaxed oracle (row minima within it share the row's mass).
SEMIRELAXED_MARGIN = 1e-15


# ------------------------------------------------------------------------------------------------------- validation
def check_callable(fn, name: str):
    if not callable(fn):
        raise TypeError(f"{name} must be a callable taking a plan of shape (n, m), got {fn!r}")
    return fn


def call_value(f, G, name="f"):
    """``float(f(G))``: a real scalar, or a clear error naming the callback."""
    try:
        value = f(G)
    except Exception as exc:  # the user's code: say which callback failed and on what
        raise ValueError(f"the regulariser {name} raised {type(exc).__name__} ({exc}) when called on a plan of shape "
                         f"{G.shape}; {name}(G) must return a real number") from exc
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"the regulariser {name} returned {type(value).__name__} {value!r:.80}; {name}(G) must return "
                        "a real number (a Python float or a numpy scalar)")
    return float(value)


def call_gradient(df, G, name="df"):
    """``df(G)`` as a C-ordered float64 (n, m) array, or a clear error naming the callback."""
    try:
        grad = df(G)
    except Exception as exc:
        raise ValueError(f"the gradient {name} raised {type(exc).__name__} ({exc}) when called on a plan of shape "
                         f"{G.shape}; {name}(G) must return an array of that shape") from exc
    if np.iscomplexobj(grad):
        raise TypeError(f"the gradient {name} returned a complex array; it must be real")
    try:
        grad = np.asarray(grad, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the gradient {name} returned {type(grad).__name__}, which is not a real array; {name}(G) "
                        f"must return an array of shape {G.shape}") from exc
    if grad.shape != G.shape:
        raise ValueError(f"the gradient {name} returned shape {grad.shape} for a plan of shape {G.shape}; it must "
                         "return an array of the plan's shape")
    return np.ascontiguousarray(grad)


def check_line_search(line_search):
    """None (Armijo), 'armijo', 'quadratic', or a callable with POT's signature."""
    if line_search is None:
        return "armijo"
    if callable(line_search):
        return line_search
    return V.check_choice(line_search, "line_search", LINE_SEARCHES)


def _check_problem(a, b, M, semirelaxed=False):
    """Weights and finite costs as float64 host arrays; ``out_dtype`` for the plan."""
    M = V.as_float_array(M, "M", ndim=2)
    n, m = M.shape
    out_dtype = V.result_dtype(M)
    if semirelaxed:
        a = V.check_weights(a, "a", n)
        b = None if b is None else V.check_weights(b, "b", m)
    else:
        a, b = V.check_balanced_weights(a, b, n, m)
    M = V.check_cost_matrix(M, a, b)
    V.check_finite(M, "M")  # +inf arcs would make <M, G> infinite at the product start
    M = np.ascontiguousarray(M, dtype=np.float64)
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = None if b is None else np.ascontiguousarray(b, dtype=np.float64)
    return a, b, M, out_dtype


def _start(G0, a, b, semirelaxed=False):
    if G0 is None:  # semi-relaxed: b's shape only (its mass is free)
        return np.outer(a, b / b.sum() if semirelaxed else b)
    G0 = V.check_initial_plan(G0, a, None if semirelaxed else b, "G0", m=len(b), names=("a", "b", "a", "b"))
    return np.array(G0, dtype=np.float64, order="C", copy=True)


def check_weight_of(reg, name="reg") -> float:
    """A finite real weight of a regulariser (any sign: the caller's f decides what it means)."""
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {reg!r}")
    if not math.isfinite(reg):
        raise ValueError(f"{name} must be a finite real number, got {reg!r}")
    return float(reg)


def _check_common(reg, max_iter, tol_rel, tol_abs, warn, log, name="reg"):
    reg = check_weight_of(reg, name)
    return (float(reg), V.check_max_iter(max_iter), V.check_tol(tol_rel, "tol_rel"), V.check_tol(tol_abs, "tol_abs"),
            V.check_bool(warn, "warn"), V.check_bool(log, "log"))


# ----------------------------------------------------------------------------------------------------- line search
def armijo(phi, phi0, derphi0, c1=ARMIJO_C1, alpha0=ARMIJO_ALPHA0):
    """A step ``t`` in (0, 1] with ``phi(t) <= phi0 + c1 t derphi0`` (Armijo's sufficient decrease), by quadratic
    then cubic interpolation of phi from ``alpha0`` down (Nocedal and Wright, 2006, sec. 3.5). Returns
    ``(t, phi(t))``, or ``(0.0, phi0)`` when ``derphi0 >= 0`` (no descent) or no trial step satisfies the rule."""
    if not derphi0 < 0.0:
        return 0.0, phi0
    phi_a0 = phi(alpha0)
    if phi_a0 <= phi0 + c1 * alpha0 * derphi0:
        return alpha0, phi_a0
    denom = phi_a0 - phi0 - derphi0 * alpha0
    alpha1 = -derphi0 * alpha0 * alpha0 / (2.0 * denom) if denom > 0 else 0.5 * alpha0
    alpha1 = min(max(alpha1, 0.0), 1.0)
    phi_a1 = phi(alpha1)
    if phi_a1 <= phi0 + c1 * alpha1 * derphi0:
        return alpha1, phi_a1
    for _ in range(ARMIJO_MAX_TRIALS):
        if not alpha1 > 1e-16:
            break
        factor = alpha0 * alpha0 * alpha1 * alpha1 * (alpha1 - alpha0)
        r1 = phi_a1 - phi0 - derphi0 * alpha1
        r0 = phi_a0 - phi0 - derphi0 * alpha0
        alpha2 = alpha1 / 2.0
        if factor != 0.0 and math.isfinite(r0) and math.isfinite(r1):
            ca = (alpha0 * alpha0 * r1 - alpha1 * alpha1 * r0) / factor
            cb = (-alpha0 ** 3 * r1 + alpha1 ** 3 * r0) / factor
            if ca != 0.0:
                cand = (-cb + math.sqrt(abs(cb * cb - 3.0 * ca * derphi0))) / (3.0 * ca)
                if math.isfinite(cand) and alpha1 / 25.0 <= cand <= alpha1 / 2.0 * 1.92:
                    alpha2 = cand
        if alpha1 - alpha2 > alpha1 / 2.0 or 1.0 - alpha2 / alpha1 < 0.04:
            alpha2 = alpha1 / 2.0
        phi_a2 = phi(alpha2)
        if phi_a2 <= phi0 + c1 * alpha2 * derphi0:
            return alpha2, phi_a2
        alpha0, alpha1, phi_a0, phi_a1 = alpha1, alpha2, phi_a1, phi_a2
    return 0.0, phi0


#: The inner Sinkhorn solves run in the scaling domain (a matrix-vector product per half-step, ~4x faster than
#: the log domain's log-sum-exps at n = 300) while the Gibbs kernel's range ``exp(-spread / reg)`` stays far from
#: underflow (exp(-200) ~ 1e-87), in the log domain beyond.
SCALING_DOMAIN_MAX_RATIO = 200.0


def inner_method(spread, reg):
    """'sinkhorn' when the Gibbs kernel of costs spread over at most ``spread`` cannot underflow at ``reg``, else
    'sinkhorn_log'."""
    return "sinkhorn" if spread / reg < SCALING_DOMAIN_MAX_RATIO else "sinkhorn_log"


def inner_sinkhorn(solve_entropic, C, a, b, reg, top, max_iter, tol, potentials, n_threads):
    """One warm-started inner Sinkhorn solve (no warning: the callers report), by :func:`inner_method`'s choice;
    a scaling-domain solve that breaks down is redone in the log domain."""
    from .._defaults import CHECK_EVERY
    from ..entropic.api import sinkhorn_options

    opts = sinkhorn_options(reg, inner_method(top, reg), max_iter, tol, CHECK_EVERY, "entropy")
    inner = solve_entropic(C, a, b, opts, potentials, n_threads, False)
    if opts.method == "sinkhorn" and inner.status == Status.NUMERICAL_ERROR:
        inner = solve_entropic(C, a, b, opts._replace(method="sinkhorn_log"), potentials, n_threads, False)
    return inner


def _quadratic_step(qa, qb):
    """The ``t`` in [0, 1] that minimises ``qa t^2 + qb t``."""
    if qa > 0.0:
        return min(1.0, max(0.0, -qb / (2.0 * qa)))
    return 1.0 if qa + qb < 0.0 else 0.0


# -------------------------------------------------------------------------------------------- the sparse-vertex loop
class Stopping(NamedTuple):
    """When a conditional gradient loop stops, built once by the front-end from its checked arguments.

    ``max_iter`` iterations at most; POT's rule (``holds``): the objective changed by less than ``tol_abs``, or by
    less than ``tol_rel`` relative; the certificate (``_certified``, ``cg`` / ``semirelaxed_cg`` only): the
    Frank-Wolfe gap within ``tol_gap`` of ``max(|F|, |F - gap_shift|, gap_floor)``."""

    max_iter: int
    tol_rel: float
    tol_abs: float
    tol_gap: float = CG_TOL_GAP
    gap_floor: float = 0.0
    gap_shift: float = 0.0

    def holds(self, change, cost):
        """POT's rule for an iteration that changed the objective by ``change`` to ``cost``."""
        return change < self.tol_abs or (cost != 0.0 and change / abs(cost) < self.tol_rel)


class InnerSolve(NamedTuple):
    """``gcg``'s inner Sinkhorn solves: iteration cap, marginal tolerance, threads."""

    max_iter: int
    tol: float
    n_threads: object = None


class _Run:
    """What a conditional gradient loop returns."""

    __slots__ = ("G", "value", "value_linear", "status", "n_iter", "history", "gap", "duals", "support")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _vertex_loop(M, reg, f, df, G, line_search, oracle, stop):
    """Conditional gradient whose linear oracle returns sparse vertices ``(status, rows, cols, vals)``.

    ``oracle(Mi, top)``; ``G`` is updated in place. The objective is ``<M, G> + reg f(G)``; ``stop`` (a
    :class:`Stopping`) as in the module's docstring (POT's change rule and the Frank-Wolfe gap, see
    ``_certified``)."""
    from . import _kernels as K

    n, m = G.shape
    Mi = np.empty((n, m))
    trial = None  # (n, m) buffer for the trial points of Armijo's rule, or for the vertex S (quadratic)
    lin = K.dense_dot(M, G)
    fG = call_value(f, G)
    if not math.isfinite(fG):
        raise ValueError(f"the regulariser f is {fG} at the starting plan G0; give a G0 where f is finite (an "
                         "entropic f needs a G0 without zeros, e.g. the default a b^T)")
    cost = lin + reg * fG
    history = [cost]
    status = MAX_ITER_REACHED
    gap = math.inf
    gap_cost = cost
    last = None
    n_iter = 0
    while n_iter < stop.max_iter:
        n_iter += 1
        dfG = call_gradient(df, G)
        top = K.linearize(M, dfG, reg, Mi)
        if not math.isfinite(top):
            status = NUMERICAL_ERROR
            break
        code, rows, cols, vals = oracle(Mi, top)
        if code != OPTIMAL:
            status = NUMERICAL_ERROR
            break
        last = (rows, cols, vals)
        lin_S = K.sparse_dot(M, rows, cols, vals)
        derphi0 = K.sparse_dot(Mi, rows, cols, vals) - K.dense_dot(Mi, G)  # <Mi, S - G>
        gap = -derphi0
        gap_cost = cost  # the objective where the gap was taken: F(G) - F* <= gap there and after any descent
        if trial is None:
            trial = np.zeros((n, m))
        if callable(line_search):
            S = np.zeros((n, m))
            K.scatter(rows, cols, vals, S, 1.0)
            t, new_cost = _user_line_search(line_search, lambda X: K.dense_dot(M, X) + reg * call_value(f, X), G,
                                            S - G, Mi, cost, dfG)
            new_f = None
        elif line_search == "quadratic":
            K.scatter(rows, cols, vals, trial, 1.0)
            fS = call_value(f, trial)
            K.scatter(rows, cols, vals, trial, 0.0)
            q1 = K.sparse_dot(dfG, rows, cols, vals) - K.dense_dot(dfG, G)  # <df(G), S - G>
            q2 = fS - fG - q1
            t = _quadratic_step(reg * q2, derphi0)
            new_f = fG + t * q1 + t * t * q2
            new_cost = (lin + t * (lin_S - lin)) + reg * new_f
        else:
            def phi(s, rows=rows, cols=cols, vals=vals, lin_S=lin_S):
                K.mix_into(G, rows, cols, vals, s, trial)
                return (lin + s * (lin_S - lin)) + reg * call_value(f, trial)

            t, new_cost = armijo(phi, cost, derphi0)
            new_f = None
        K.step(G, rows, cols, vals, t)
        lin = lin + t * (lin_S - lin) if t != 1.0 else lin_S
        if new_f is not None:  # only the quadratic line search reads fG
            fG = new_f
        if not math.isfinite(new_cost):
            status = NUMERICAL_ERROR
            history.append(new_cost)
            break
        change = abs(new_cost - cost)
        cost = new_cost
        history.append(cost)
        if stop.holds(change, cost) and _certified(gap, gap_cost, cost, stop):
            status = OPTIMAL
            break
    # the values recomputed from the final plan, not carried by the line search's sums
    value_linear = K.dense_dot(M, G)
    value = value_linear + reg * call_value(f, G)
    if status == MAX_ITER_REACHED and _certified(gap, gap_cost, value, stop):
        status = OPTIMAL
    if not (math.isfinite(value) and np.isfinite(G).all()):
        status = NUMERICAL_ERROR
    return _Run(G=G, value=value, value_linear=value_linear, status=status, n_iter=n_iter,
                history=np.array(history), gap=gap, duals=(Mi, last), support=None)


def _certified(gap, gap_cost, cost, stop):
    """Whether the Frank-Wolfe gap taken at objective ``gap_cost`` certifies the plan of objective ``cost``
    within ``stop.tol_gap`` relative: ``cost <= gap_cost`` (a descent since) and ``gap <= tol_gap max(|cost|,
    |cost - gap_shift|, gap_floor)`` (the fields of ``stop``, a :class:`Stopping`). ``gap_shift = min(M) sum(a)``:
    ``cost - gap_shift`` is the objective with the costs shifted to >= 0, the same for every shift of M (which
    leaves the plans unchanged); ``gap_floor`` (``_finish.gap_scale_floor``) a scale that does not vanish with the
    optimum. Rounding allowed for: a gap below 1e-14 of the objective's scale counts as 0."""
    if not (math.isfinite(gap) and math.isfinite(cost)):
        return False
    judge = max(abs(cost), abs(cost - stop.gap_shift), stop.gap_floor)
    scale = max(judge, abs(gap_cost))
    return cost <= gap_cost + 1e-14 * scale and gap <= stop.tol_gap * judge + 1e-14 * scale


def _user_line_search(line_search, cost_fn, G, deltaG, Mi, cost_G, df_G):
    """A callable line search with POT's signature ``(cost, G, deltaG, Mi, cost_G, df_G) -> (alpha, fc, cost)``."""
    out = line_search(cost_fn, G, deltaG, Mi, cost_G, df_G)
    if not isinstance(out, tuple) or len(out) < 3:
        raise TypeError("line_search must return a tuple (alpha, n_calls, cost_at_alpha[, ...]) as POT's line "
                        f"searches do, got {out!r:.80}")
    t = float(np.asarray(out[0]).reshape(-1)[0]) if np.size(out[0]) else 0.0
    return t, float(np.asarray(out[2]).reshape(-1)[0])


def _oracle_exact(a, b, n_threads):
    """The network simplex as the linear oracle, each solve from the previous optimal tree."""
    from ..gromov._cg import LinearOracle

    lo = LinearOracle(a, b, n_threads)

    def solve(Mi, top):
        status, rows, cols, vals = lo.solve(Mi, top)
        return int(status), rows, cols, vals

    solve.pivots = lambda: lo.pivots
    return solve


def _oracle_rows(a):
    from . import _kernels as K

    def solve(Mi, top):
        rows, cols, vals = K.row_min_vertex(Mi, a, SEMIRELAXED_MARGIN * max(1.0, top) if top > 1.0 else
                                            SEMIRELAXED_MARGIN)
        return OPTIMAL, rows, cols, vals

    return solve


def _lp_duals(Mi, vertex, a, b):
    """Duals ``(u, v)`` of the last linear problem, centred (``a @ u == b @ v``): with the final ``Mi`` they are the
    KKT multipliers of the marginal constraints of the regularised problem at a converged plan."""
    from ..exact._driver import center_duals
    from ..exact._network_simplex import potentials_from_support

    if vertex is None:
        return None, None
    rows, cols, _ = vertex
    f, g = potentials_from_support(Mi, rows, cols, len(a), len(b))
    return center_duals(f, g, a, b)


def _finish(run, out_dtype, placement, solver, warn, citation, potentials=(None, None)):
    status = Status(int(run.status))
    if warn:
        warn_status(status, solver, f"{run.n_iter} iterations, last Frank-Wolfe gap {run.gap:.3g}", stacklevel=5)
    u, v = potentials
    result = OTResult(value=out_dtype.type(run.value), value_linear=out_dtype.type(run.value_linear),
                      plan=run.G.astype(out_dtype, copy=False), status=status, n_iter=run.n_iter,
                      errors=run.history, citation=citation,
                      potential_a=None if u is None else u.astype(out_dtype),
                      potential_b=None if v is None else v.astype(out_dtype))
    return _dispatch.back_to_caller(placement, result)


def _log_dict(result, run):
    log = {"loss": list(run.history), "n_iter": result.n_iter, "status": result.status, "cost": result.value_linear,
           "total_cost": result.value, "gap": run.gap}
    if result.potential_a is not None:
        log["u"], log["v"] = result.potential_a, result.potential_b
    return log


# ------------------------------------------------------------------------------------------------------ front-ends
class CgOptions(NamedTuple):
    """The options of a ``cg`` / ``semirelaxed_cg`` solve as the front-end received them (:func:`solve_cg` checks
    them); ``solver`` names the caller in warnings. The defaults are ``cg``'s."""

    line_search: object = None
    max_iter: int = CG_MAX_ITER
    tol_rel: float = 1e-9
    tol_abs: float = 1e-9
    tol_gap: float = CG_TOL_GAP
    n_threads: object = None
    warn: bool = True
    semirelaxed: bool = False
    solver: str = "cg"


def solve_cg(a, b, M, reg, f, df, G0=None, options=CgOptions()):
    """The checked ``cg`` / ``semirelaxed_cg`` solve with the :class:`CgOptions` ``options``: ``(OTResult, run)``."""
    line_search, max_iter, tol_rel, tol_abs, tol_gap, n_threads, warn, semirelaxed, solver = options
    reg, max_iter, tol_rel, tol_abs, warn, _ = _check_common(reg, max_iter, tol_rel, tol_abs, warn, False)
    # inf turns the certificate off (POT's rule alone), for inner solves of outer loops that follow POT's path
    tol_gap = math.inf if tol_gap == math.inf else V.check_tol(tol_gap, "tol_gap")
    check_callable(f, "f")
    check_callable(df, "df")
    line_search = check_line_search(line_search)
    placement = _dispatch.place(a=a, b=b, M=M, G0=G0)
    a, b, M, G0 = _dispatch.host_copies(a, b, M, G0)
    a, b, M, out_dtype = _check_problem(a, b, M, semirelaxed)
    if semirelaxed and b is None:
        b = np.full(M.shape[1], 1.0 / M.shape[1])
    G = _start(G0, a, b, semirelaxed)
    if semirelaxed:
        oracle = _oracle_rows(a)
    else:
        from .. import _config

        oracle = _oracle_exact(a, b, _config.n_threads(n_threads))
    from .._finish import gap_scale_floor

    stop = Stopping(max_iter, tol_rel, tol_abs, tol_gap, gap_scale_floor(M, a.sum()), float(M.min()) * float(a.sum()))
    run = _vertex_loop(M, reg, f, df, G, line_search, oracle, stop)
    potentials = (None, None)
    if not semirelaxed and run.status != NUMERICAL_ERROR:
        potentials = _lp_duals(*run.duals, a, b)
    return _finish(run, out_dtype, placement, solver, warn, _CG_CITATION, potentials), run


def cg(a, b, M, reg, f, df, G0=None, line_search=None, *, max_iter=CG_MAX_ITER, tol_rel=1e-9, tol_abs=1e-9,
       tol_gap=CG_TOL_GAP, log=False, n_threads=None, warn=True):
    """Regularised OT by conditional gradient (Frank-Wolfe): POT's ``ot.optim.cg``.

    Solves ``min_G <M, G> + reg f(G)`` over plans with marginals a and b, for a differentiable f (convex for a
    global optimum). Each iteration solves the linearised problem exactly by our network simplex, started from the
    previous iteration's optimal tree, and steps towards its vertex by a line search on the objective.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    M : array of shape (n, m)
        Finite costs.
    reg : float
        Weight of the regulariser.
    f, df : callables
        ``f(G)`` returns a real number and ``df(G)`` its gradient, an (n, m) array; both take a float64 (n, m)
        numpy array, which they must not modify.
    G0 : array of shape (n, m), optional
        Starting plan (marginals a and b within 1e-8); default ``a b^T``.
    line_search : {None, 'armijo', 'quadratic'} or callable
        Armijo's rule (None, the default); 'quadratic' for a quadratic f: the exact step, from one more call of f
        per iteration; or a callable with POT's signature ``(cost, G, deltaG, Mi, cost_G, df_G)`` returning
        ``(alpha, n_calls, cost_at_alpha)``.
    max_iter : int
        Maximum iterations (POT's default is 200; Frank-Wolfe without away steps may need more to certify an
        interior optimum). Reaching it without a certified answer gives status MAX_ITER_REACHED and a
        ConvergenceWarning.
    tol_rel, tol_abs : float >= 0
        POT's rule (``stopThr``, ``stopThr2``): the objective changed by less than ``tol_rel`` relative or
        ``tol_abs`` absolute in an iteration.
    tol_gap : float >= 0
        The certificate: stop (status OPTIMAL) when POT's rule holds and the Frank-Wolfe gap ``<Mi, G - S>``, an
        upper bound of ``F(G) - min F`` for a convex f, is at most ``tol_gap max(|F(G)|, |F(G) - min(M) sum(a)|, floor)``
        (the objective, or the objective with the costs shifted to >= 0; ``floor``: 1e-6 of ``(max M - min M)
        sum(a)``, so that an optimum near 0 is certified too); at ``max_iter``, OPTIMAL if the
        gap certifies it. The default 1e-3 is reached by ordinary problems within the default ``max_iter``;
        the gap of the answer is in the log ('gap'). ``numpy.inf``: POT's rule alone (POT's stopping).
    log : bool
        Also return a dict: 'loss' (objective before and after each iteration), 'n_iter', 'status', 'cost'
        (``<M, G>``), 'total_cost', 'gap' (the last Frank-Wolfe gap), 'u', 'v' (duals of the last linear problem).
    n_threads : int, optional
        Threads of the network simplex's pricing (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
        In the dtype of M (float32 when M is float32). CUDA inputs are solved on host copies and the plan returns
        to the device.
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> f = lambda G: 0.5 * float(np.sum(G ** 2))
    >>> df = lambda G: G
    >>> numbaot.cg(None, None, M, 1.0, f, df, line_search="quadratic").round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    log = V.check_bool(log, "log")
    result, run = solve_cg(a, b, M, reg, f, df, G0, CgOptions(line_search, max_iter, tol_rel, tol_abs, tol_gap,
                                                              n_threads, warn))
    return (result.plan, _log_dict(result, run)) if log else result.plan


def semirelaxed_cg(a, b, M, reg, f, df, G0=None, line_search=None, *, max_iter=CG_MAX_ITER, tol_rel=1e-9,
                   tol_abs=1e-9, tol_gap=CG_TOL_GAP, log=False, warn=True):
    """Semi-relaxed regularised OT by conditional gradient: POT's ``ot.optim.semirelaxed_cg``.

    Solves ``min_G <M, G> + reg f(G)`` over non-negative plans whose rows sum to a (the column sums are free).
    The linear oracle puts each row's mass on its cheapest column (split evenly over ties).

    Parameters
    ----------
    a : array of shape (n,), or None
        Row weights (uniform when None).
    b : array of shape (m,), or None
        Used only for the default start ``a b^T`` (uniform when None); not a constraint.
    M, reg, f, df, G0, line_search, max_iter, tol_rel, tol_abs, tol_gap, log, warn
        As in :func:`cg` (G0's rows must sum to a; its columns are free).

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True`` (as in :func:`cg`, without duals).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [2.0, 0.0]])
    >>> numbaot.semirelaxed_cg([0.5, 0.5], None, M, 0.0, lambda G: 0.0, np.zeros_like).round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    log = V.check_bool(log, "log")
    result, run = solve_cg(a, b, M, reg, f, df, G0, CgOptions(line_search, max_iter, tol_rel, tol_abs, tol_gap,
                                                              warn=warn, semirelaxed=True, solver="semirelaxed_cg"))
    return (result.plan, _log_dict(result, run)) if log else result.plan


# ------------------------------------------------------------------------------------------------------------- gcg
def _entropy(G):
    """``sum G log G`` with ``0 log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.where(G > 0, G * np.log(np.where(G > 0, G, 1.0)), 0.0)))


class GcgOptions(NamedTuple):
    """The options of a ``gcg`` solve as the front-end received them (:func:`solve_gcg` checks them); ``solver``
    names the caller in warnings. The defaults are ``gcg``'s."""

    max_iter: int = 10
    max_inner_iter: int = 200
    tol_rel: float = 1e-9
    tol_abs: float = 1e-9
    inner_tol: float = 1e-9
    n_threads: object = None
    warn: bool = True
    solver: str = "gcg"


def solve_gcg(a, b, M, reg1, reg2, f, df, G0=None, options=GcgOptions()):
    """The checked ``gcg`` solve with the :class:`GcgOptions` ``options``: ``(OTResult, run)``."""
    max_iter, max_inner_iter, tol_rel, tol_abs, inner_tol, n_threads, warn, solver = options
    reg2, max_iter, tol_rel, tol_abs, warn, _ = _check_common(reg2, max_iter, tol_rel, tol_abs, warn, False, "reg2")
    reg1 = V.check_reg(reg1, "reg1")
    max_inner_iter = V.check_max_iter(max_inner_iter, "max_inner_iter")
    inner_tol = V.check_tol(inner_tol, "inner_tol")
    check_callable(f, "f")
    check_callable(df, "df")
    placement = _dispatch.place(a=a, b=b, M=M, G0=G0)
    a, b, M, G0 = _dispatch.host_copies(a, b, M, G0)
    a, b, M, out_dtype = _check_problem(a, b, M)
    G = _start(G0, a, b)
    run = _gcg_loop(a, b, M, reg1, reg2, f, df, G, Stopping(max_iter, tol_rel, tol_abs),
                    InnerSolve(max_inner_iter, inner_tol, n_threads))
    return _finish(run, out_dtype, placement, solver, warn, _GCG_CITATION, run.duals), run


def _gcg_loop(a, b, M, reg1, reg2, f, df, G, stop, inner_solve):
    """Generalised conditional gradient: the entropic term is kept in the inner problem (Sinkhorn), the rest
    linearised; Armijo's rule on the whole objective ``<M, G> + reg1 sum G log G + reg2 f(G)`` (from t = 1, where
    the Sinkhorn plan itself is a valid point). ``stop``: a :class:`Stopping` (POT's rule only: no certificate);
    ``inner_solve``: an :class:`InnerSolve`."""
    from ..entropic.api import solve_entropic
    from . import _kernels as K

    def objective(X):
        return K.dense_dot(M, X) + reg1 * _entropy(X) + reg2 * call_value(f, X)

    cost = objective(G)
    if not math.isfinite(cost):
        raise ValueError(f"the objective is {cost} at the starting plan G0; give a G0 where f is finite")
    history = [cost]
    n, m = G.shape
    Mi = np.empty((n, m))
    trial = np.empty((n, m))
    potentials = None
    status = MAX_ITER_REACHED
    gap = math.inf
    n_iter = 0
    while n_iter < stop.max_iter:
        n_iter += 1
        dfG = call_gradient(df, G)
        top = K.linearize(M, dfG, reg2, Mi)
        if not math.isfinite(top):
            status = NUMERICAL_ERROR
            break
        inner = inner_sinkhorn(solve_entropic, Mi, a, b, reg1, top, inner_solve.max_iter, inner_solve.tol,
                               potentials, inner_solve.n_threads)
        if inner.status == Status.NUMERICAL_ERROR:
            status = NUMERICAL_ERROR
            break
        potentials = (inner.potential_a.astype(np.float64), inner.potential_b.astype(np.float64))
        S = np.asarray(inner.plan, dtype=np.float64)
        D = S - G
        with np.errstate(divide="ignore"):
            logG = np.log(G)
        # directional derivative of the whole objective; where G = 0 the entropy's slope is -inf towards S > 0
        derphi0 = K.dense_dot(Mi, D) + reg1 * float(np.sum(np.where(G > 0, (1.0 + logG) * D,
                                                                     np.where(D > 0, -np.inf, 0.0))))

        def phi(s, D=D):
            np.multiply(D, s, out=trial)
            np.add(trial, G, out=trial)
            return objective(trial)

        if derphi0 == -np.inf:  # a zero of G that S fills: the entropy's slope is infinite there; use the secant
            derphi0 = min(phi(1.0) - cost, -np.finfo(float).tiny)
        gap = -derphi0

        t, new_cost = armijo(phi, cost, derphi0, alpha0=1.0)
        if t:
            G += t * D
        if not math.isfinite(new_cost):
            status = NUMERICAL_ERROR
            break
        change = abs(new_cost - cost)
        cost = new_cost
        history.append(cost)
        if stop.holds(change, cost):
            status = OPTIMAL
            break
    value_linear = K.dense_dot(M, G)
    value = value_linear + reg1 * _entropy(G) + reg2 * call_value(f, G)
    if not (math.isfinite(value) and np.isfinite(G).all()):
        status = NUMERICAL_ERROR
    duals = (None, None) if potentials is None else potentials
    return _Run(G=G, value=value, value_linear=value_linear, status=status, n_iter=n_iter,
                history=np.array(history), gap=gap, duals=duals, support=None)


def gcg(a, b, M, reg1, reg2, f, df, G0=None, *, max_iter=10, max_inner_iter=200, tol_rel=1e-9, tol_abs=1e-9,
        inner_tol=1e-9, log=False, n_threads=None, warn=True):
    """Entropic and user-regularised OT by generalised conditional gradient: POT's ``ot.optim.gcg``.

    Solves ``min_G <M, G> + reg1 sum_ij G_ij log G_ij + reg2 f(G)`` over plans with marginals a and b. Each
    iteration linearises f only and solves the entropic problem ``min <M + reg2 df(G), S> + reg1 sum S log S`` by
    log-domain Sinkhorn (warm-started from the previous potentials), then takes Armijo's step on the whole objective
    (Rakotomamonjy, Flamary and Courty 2015). POT's line search leaves the entropic term out of the objective;
    this one keeps it, so ``f = 0`` gives Sinkhorn's plan in one step.

    Parameters
    ----------
    a, b : arrays of shape (n,) and (m,), or None
        Weights (uniform when None) of equal total mass.
    M : array of shape (n, m)
        Finite costs.
    reg1 : float > 0
        Entropic regularisation.
    reg2 : float
        Weight of f.
    f, df : callables
        As in :func:`cg`.
    G0 : array of shape (n, m), optional
        Starting plan; default ``a b^T``.
    max_iter : int
        Maximum outer iterations (POT's ``numItermax``, default 10).
    max_inner_iter : int
        Maximum Sinkhorn iterations per outer iteration (POT's ``numInnerItermax``).
    tol_rel, tol_abs : float >= 0
        Stop when the objective changes by less than these (relative, absolute).
    inner_tol : float >= 0
        Sinkhorn's marginal error tolerance.
    log : bool
        Also return a dict as :func:`cg` does ('u', 'v' are the last Sinkhorn potentials).
    n_threads : int, optional
        Threads of Sinkhorn.
    warn : bool
        Emit a ConvergenceWarning when the status is not OPTIMAL.

    Returns
    -------
    plan : array of shape (n, m)
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> G = numbaot.gcg(None, None, M, 0.5, 0.0, lambda G: 0.0, np.zeros_like)
    >>> bool(np.allclose(G, numbaot.sinkhorn(None, None, M, 0.5)))
    True
    """
    log = V.check_bool(log, "log")
    result, run = solve_gcg(a, b, M, reg1, reg2, f, df, G0, GcgOptions(max_iter, max_inner_iter, tol_rel, tol_abs,
                                                                        inner_tol, n_threads, warn))
    return (result.plan, _log_dict(result, run)) if log else result.plan
