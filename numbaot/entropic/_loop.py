"""The log-domain Sinkhorn loop, written once: batched, over a geometry (dense costs or point clouds, see
``_geometry``), balanced or with KL penalties on the marginals (a damping factor), with warm starts and the stopping
rule as parameters; and its host drivers. It runs ``numbaot.sinkhorn``/``solve`` (``sinkhorn_log``), epsilon
scaling, :func:`numbaot.sinkhorn_unbalanced`, :func:`numbaot.solve_batch`, the online Sinkhorn between point clouds
(balanced and unbalanced) and entropic GW's inner solve; ``numbaot.cuda.loop`` is its GPU twin (the same
``_softmin`` row bodies). The Sinkhorn divergence runs its three problems through it too, in the loop's step modes
(``LoopControl.mode``: simultaneous and symmetric averaged updates, over-relaxed alternate ones; ``_symmetric``).

The problem (Chizat et al. 2018, "Scaling algorithms for unbalanced optimal transport problems")::

    min_P  <P, C> + eps KL(P | R) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b),     KL(p | q) = sum p log(p/q) - p + q

with the reference ``R = a b^T`` (``reg_type='kl'``, the default) or ``R = 1`` (``reg_type='entropy'``). A marginal
with ``rho = inf`` is kept exact (its update is the balanced one). With potentials ``f`` (n,) and ``g`` (m,) the plan
is ``P_ij = R_ij exp((f_i + g_j - C_ij) / eps)`` and the log-domain Sinkhorn half-step is the balanced one damped by
``tau_a = rho_a / (rho_a + eps)``::

    f_i = tau_a * eps * (log a_i - log R_i - log sum_j exp(log R_j + (g_j - C_ij) / eps))

(``log a_i - log R_i`` is 0 for ``reg_type='kl'``). The translation-invariant variant (Sejourne, Vialard and Peyre
2022, "Faster unbalanced optimal transport: translation invariant Sinkhorn and 1-D Frank-Wolfe") adds, after each
half-step, the closed-form shift that the dual gains most from: same fixed point, far fewer iterations when
``rho`` is large compared with ``eps``.

The core is batched: ``C`` has shape (B, n, m) and one parallel loop covers the rows of every problem (a single
problem is B = 1, so one core serves :func:`sinkhorn_unbalanced` and :func:`numbaot.solve_batch`); each problem
stops on its own. Unbalanced problems have no marginal to check, so the iterations stop when the potentials stop
moving: ``max |delta f|, |delta g| / eps``, the largest relative change of the scalings ``exp(f / eps)``, is at most
``tol``. Balanced problems (both ``rho`` infinite) stop on the L1 error of the column marginals, as
:func:`numbaot.sinkhorn` does.

Method "sinkhorn" is the scaling-domain form of the same iteration (POT's default): scalings ``u = R_a exp(f / eps)``
and ``v = R_b exp(g / eps)`` of the kernel ``K = exp(-C / eps)``, updated by ``u = a^tau R_a^(1 - tau) (K v)^-tau``
(``run_scaling``, ``_sinkhorn_scaling.unbalanced_scaling_core``): no exponential per iteration and one pass over K,
so several times faster per iteration, but like the balanced "sinkhorn" it fails (NUMERICAL_ERROR) where K
underflows, ``C / eps`` beyond about 700. Same stopping rules, same iterates up to rounding.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import prange

from .._finish import SinkhornAnswer
from .._jit import cpu_jit
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from .._threads import run_parallel, run_short_regions
from ._geometry import COLUMNS, ROWS, DenseCosts, half_step
from ._options import SinkhornOptions  # noqa: F401 - the drivers' options, importable from here
from ._rules import coefficients, error, read_out, rule_for, translate

#: The log-domain methods, run by the batched ``sinkhorn_loop`` (also behind solve_batch and the GPU twin).
LOG_METHODS = ("sinkhorn_log", "sinkhorn_translation_invariant")
#: The scaling-domain methods, one problem at a time (``_sinkhorn_scaling.unbalanced_scaling_core``).
SCALING_METHODS = ("sinkhorn",)
METHODS = LOG_METHODS + SCALING_METHODS


# ------------------------------------------------------------------------------------------------------------ state
class LogWeights(NamedTuple):
    """The weights as the loop reads them, each (B, n) or (B, m): ``log_a``, ``log_b``; the logs of the reference
    measure's factors ``ref_a``, ``ref_b`` (the weights for reg_type='kl', zeros for 'entropy'); and ``shift_a``,
    ``shift_b`` = ``log a - ref_a``, ``log b - ref_b``."""

    log_a: np.ndarray
    log_b: np.ndarray
    ref_a: np.ndarray
    ref_b: np.ndarray
    shift_a: np.ndarray
    shift_b: np.ndarray


class LoopControl(NamedTuple):
    """How long the loop runs: ``max_iter``, ``tol`` (on the rule's error), and ``check_every`` (iterations between
    convergence checks); and how it steps: ``mode`` (:data:`ALTERNATE`, :data:`SIMULTANEOUS` or :data:`SYMMETRIC`)
    and ``omega``, the weight of each update (``old + omega (new - old)``: 1 replaces, 1/2 averages, above 1
    over-relaxes). Build it with :func:`control` (it fixes the field types: one compiled loop, whatever the mode)."""

    max_iter: int
    tol: float
    check_every: int
    mode: int
    omega: float


class LoopRecord(NamedTuple):
    """What the loop writes per problem: ``status`` and ``n_iter`` (B,), the error at each check ``errors``
    (B, L) and how many were written, ``n_errors`` (B,)."""

    status: np.ndarray
    n_iter: np.ndarray
    errors: np.ndarray
    n_errors: np.ndarray


#: The loop's steps (``LoopControl.mode``). ALTERNATE: Sinkhorn's, f from g, then g from the new f.
#: SIMULTANEOUS: f and g both from the old potentials (the Sinkhorn divergence's annealing, as GeomLoss steps);
#: the error then counts both sides. SYMMETRIC: a symmetric problem (the same costs and weights on both sides,
#: ``g = f`` on entry): one half-step, f from f, and g follows f (the divergence's self-problems); the error is
#: the rows'. The divergence runs these under the :class:`_rules.Balanced` rule (its half-steps damped by its
#: ``tau`` for KL penalties), whose error is then the fixed-point error of the updated sides.
ALTERNATE, SIMULTANEOUS, SYMMETRIC = 0, 1, 2


def control(max_iter, tol, check_every, mode=ALTERNATE, omega=1.0) -> LoopControl:
    return LoopControl(int(max_iter), float(tol), int(check_every), int(mode), float(omega))


def log_weights(a, b, reg_type="kl") -> LogWeights:
    """The :class:`LogWeights` of weights ``a`` (B, n) and ``b`` (B, m) under ``reg_type`` ('kl' or 'entropy')."""
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum, as it should
        log_a, log_b = np.log(a), np.log(b)
    if reg_type == "kl":
        return LogWeights(log_a, log_b, log_a, log_b, np.zeros_like(log_a), np.zeros_like(log_b))
    return LogWeights(log_a, log_b, np.zeros_like(log_a), np.zeros_like(log_b), log_a, log_b)


def new_record(B, max_iter, check_every) -> LoopRecord:
    return LoopRecord(np.empty(B, np.int64), np.empty(B, np.int64), np.full((B, max_iter // check_every + 1), np.nan),
                      np.empty(B, np.int64))


# ------------------------------------------------------------------------------------------------------------ cores
@cpu_jit
def sinkhorn_loop(geom, w, rule, ctl, f, g, record):
    """Log-domain Sinkhorn on a batch of problems over a geometry, from the potentials in ``f`` (B, n), ``g``
    (B, m), updated in place: the one loop of the dense, batched, online, epsilon-scaled and entropic-GW solvers.

    ``geom`` is a :mod:`numbaot.entropic._geometry` NamedTuple (where the costs come from); ``w`` the
    :class:`LogWeights`; ``rule`` a :mod:`numbaot.entropic._rules` NamedTuple (balanced, damped or translation
    invariant: the half-steps' damping, the error checked, the read-out); ``ctl`` a :class:`LoopControl`. Writes
    the :class:`LoopRecord` ``record``; each problem stops on its own.
    """
    eps, tau_a, tau_b = rule.eps, rule.tau_a, rule.tau_b
    mode, omega = ctl.mode, ctl.omega
    relaxed = mode != ALTERNATE or omega != 1.0  # the old f is needed at every step
    replace_g = mode == SYMMETRIC or omega == 1.0  # g = g_new (else relaxed)
    status, n_iter, errors, n_errors = record.status, record.n_iter, record.errors, record.n_errors
    B, n, m = f.shape[0], f.shape[1], g.shape[1]
    g_new = g.copy()  # the column half-step's first guess (see _geometry)
    # scratch by f.copy() and np.empty(B), set below: np.empty((B, n)), np.zeros and np.ones would each compile a
    # numpy overload of their own into a cold first call (issue 13)
    f_prev = f.copy()
    lam = np.empty(B)  # translation-invariant rule: the shift (f_ + lam, g_ - lam) of the iterated state
    lam_prev = np.empty(B)
    err_rows = np.empty(B)  # the rows' share of the error (SIMULTANEOUS and SYMMETRIC steps)
    active = np.empty(B, np.uint8)
    for k in range(B):
        err_rows[k] = 0.0
        lam[k] = 0.0
        lam_prev[k] = 0.0
        active[k] = 1
        status[k] = MAX_ITER_REACHED
        n_iter[k] = 0
        n_errors[k] = 0
    n_active = B
    it = 0
    while it < ctl.max_iter and n_active > 0:
        it += 1
        check = it % ctl.check_every == 0 or it == ctl.max_iter
        if check or relaxed:
            for k in range(B):
                lam_prev[k] = lam[k]
                for i in range(n):
                    f_prev[k, i] = f[k, i]
        half_step(geom, ROWS, g, w.ref_b, w.shift_a, active, eps, tau_a, f)
        translate(geom, rule, True, active, w, f, g, g_new, lam)
        if relaxed:  # the rows' error (the steps that move f on their own), f relaxed, and g following f
            rows_error = check and mode != ALTERNATE
            for k in range(B):
                if active[k]:
                    e = 0.0
                    for i in range(n):
                        la = w.log_a[k, i]
                        if rows_error and la > -math.inf:
                            e += abs(math.exp(la + (f_prev[k, i] - f[k, i]) / eps) - math.exp(la))
                        if omega != 1.0:
                            f[k, i] = f_prev[k, i] + omega * (f[k, i] - f_prev[k, i])
                        if mode == SYMMETRIC:
                            g_new[k, i] = f[k, i]
                    err_rows[k] = e
        if mode != SYMMETRIC:  # SIMULTANEOUS: g from the old f
            half_step(geom, COLUMNS, f_prev if mode == SIMULTANEOUS else f, w.ref_a, w.shift_b, active, eps, tau_b,
                      g_new)
        translate(geom, rule, False, active, w, f, g, g_new, lam)
        for k in range(B):
            if not active[k]:
                continue
            n_iter[k] = it
            err = 0.0
            if check:
                err = err_rows[k]
                if mode != SYMMETRIC:
                    err += error(rule, k, w, f, f_prev, g, g_new, lam, lam_prev)
                if n_errors[k] < errors.shape[1]:
                    errors[k, n_errors[k]] = err
                    n_errors[k] += 1
            for j in range(m):
                g[k, j] = g_new[k, j] if replace_g else g[k, j] + omega * (g_new[k, j] - g[k, j])
            if check:
                if not math.isfinite(err):
                    status[k] = NUMERICAL_ERROR
                    active[k] = 0
                    n_active -= 1
                elif err <= ctl.tol:
                    status[k] = OPTIMAL
                    active[k] = 0
                    n_active -= 1
    read_out(rule, f, g, lam)
    for k in range(B):
        for i in range(n):
            if w.log_a[k, i] > -math.inf and not math.isfinite(f[k, i]):
                status[k] = NUMERICAL_ERROR
        for j in range(m):
            if w.log_b[k, j] > -math.inf and not math.isfinite(g[k, j]):
                status[k] = NUMERICAL_ERROR


@cpu_jit(parallel=True)
def plan_core(C, ref_a, ref_b, f, g, eps, out):
    """``out[k, i, j] = exp(ref_a[k, i] + ref_b[k, j] + (f[k, i] + g[k, j] - C[k, i, j]) / eps)``, in parallel."""
    B, n, m = C.shape
    inv_eps = 1.0 / eps
    for t in prange(B * n):
        k = t // n
        i = t - k * n
        base = ref_a[k, i] + f[k, i] * inv_eps
        for j in range(m):
            out[k, i, j] = math.exp(base + ref_b[k, j] + (g[k, j] - C[k, i, j]) * inv_eps)


# ------------------------------------------------------------------------------------------------------ host side
def run(C, a, b, opts, f, g, n_threads):
    """Run :func:`sinkhorn_loop` over the dense costs ``C`` (B, n, m) (validated float64 host arrays, like ``a``
    (B, n) and ``b`` (B, m)) as the :class:`SinkhornOptions` ``opts`` say.

    ``f``, ``g`` (B, n), (B, m) are the starting potentials, updated in place. Returns
    ``(status (B,), n_iter (B,), errors (B, L), n_errors (B,), plan (B, n, m), ref_a, ref_b)``.
    """
    w = log_weights(a, b, opts.reg_type)
    record = new_record(C.shape[0], opts.max_iter, opts.check_every)
    geom = DenseCosts(C, transposed(C))
    rule = rule_for(opts.reg, opts.rho_a, opts.rho_b,
                    translation_invariant=opts.method == "sinkhorn_translation_invariant")
    ctl = control(opts.max_iter, opts.tol, opts.check_every)
    run_short_regions(sinkhorn_loop, n_threads, geom, w, rule, ctl, f, g, record)
    plan = np.empty_like(C)
    run_parallel(plan_core, n_threads, C, w.ref_a, w.ref_b, f, g, opts.reg, plan)
    return record.status, record.n_iter, record.errors, record.n_errors, plan, w.ref_a, w.ref_b


def run_single(geom, log_a, log_b, f, g, errors, rule, ctl):
    """One problem (KL reference ``a b^T``) from the potentials ``f`` (n,), ``g`` (m,), updated in place, over a
    geometry of one problem (``DenseCosts`` of shape (1, n, m), or ``PointClouds``), under ``rule`` (see
    ``_rules.rule_for``), run and stopped as ``ctl`` (a :class:`LoopControl`) says. Returns ``(status, n_iter,
    n_errors)``; ``errors[:n_errors]`` holds the error at each check. The caller sets Numba's thread count
    (``numbaot._threads``)."""
    la, lb = log_a[None, :], log_b[None, :]
    w = LogWeights(la, lb, la, lb, np.zeros_like(la), np.zeros_like(lb))
    record = LoopRecord(np.empty(1, np.int64), np.empty(1, np.int64), errors[None, :], np.empty(1, np.int64))
    sinkhorn_loop(geom, w, rule, ctl, f[None, :], g[None, :], record)
    return int(record.status[0]), int(record.n_iter[0]), int(record.n_errors[0])


def dense_geometry(C, CT=None) -> DenseCosts:
    """The geometry of one cost matrix ``C`` (n, m) (``CT``: its contiguous transpose, if the caller has it)."""
    CT = transposed(C) if CT is None else CT
    return DenseCosts(C[None], CT[None])


#: Side of the square tiles that :func:`transposed` copies at a time.
TILE = 256


def transposed(C):
    """The transpose of the last two axes of ``C`` as a new C-contiguous array, copied tile by tile: about 4x
    faster than ``np.ascontiguousarray(C.T)`` at 5000 x 5000 (measured 35 ms against 165 ms in float32, one
    thread), which streams one of the two arrays with a stride of a whole row (every element a cache miss); a
    tile's rows stay in cache while its columns are written. Nothing to compile."""
    n, m = C.shape[-2], C.shape[-1]
    out = np.empty(C.shape[:-2] + (m, n), dtype=C.dtype)
    for i0 in range(0, n, TILE):
        for j0 in range(0, m, TILE):
            out[..., j0:j0 + TILE, i0:i0 + TILE] = np.swapaxes(C[..., i0:i0 + TILE, j0:j0 + TILE], -1, -2)
    return out


def run_scaling(C, a, b, opts, f, g, n_threads):
    """Scaling-domain counterpart of :func:`run` for one problem (B = 1: same arguments and returns).

    With scalings ``u = R_a exp(f / eps)``, ``v = R_b exp(g / eps)`` (``R = R_a R_b^T`` the reference measure) the
    plan is ``diag(u) K diag(v)``, ``K = exp(-C / eps)``, and the log-domain half-step becomes
    ``u = a^tau R_a^(1 - tau) (K v)^-tau`` (so ``u = a / K v`` for an exact marginal, tau = 1). The core runs on
    the positive-weight rows and columns (a zero weight would make a zero scaling and a log 0 potential); those
    of weight zero get their potentials from one log-domain half-step, as the log core gives them.
    """
    from .. import _config
    from ._sinkhorn_log import host_half_step
    from ._sinkhorn_scaling import gibbs_kernel, unbalanced_scaling_core

    reg, rho_a, rho_b, max_iter, tol, check_every = (opts.reg, opts.rho_a, opts.rho_b, opts.max_iter, opts.tol,
                                                     opts.check_every)
    C2, a1, b1, f1, g1 = C[0], a[0], b[0], f[0], g[0]  # views: f1, g1 are updated in place
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    kl = opts.reg_type == "kl"
    ref_a, ref_b = (log_a, log_b) if kl else (np.zeros_like(log_a), np.zeros_like(log_b))
    _, tau_a, tau_b = coefficients(reg, rho_a, rho_b)[:3]
    rows, cols = np.flatnonzero(a1 > 0), np.flatnonzero(b1 > 0)
    Cp = C2 if rows.size == a1.size and cols.size == b1.size else C2[np.ix_(rows, cols)]
    Cp = np.ascontiguousarray(Cp, dtype=np.float64)
    K = np.empty(Cp.shape)
    n_threads = _config.n_threads(n_threads)
    run_parallel(gibbs_kernel, n_threads, Cp, np.zeros(rows.size), np.zeros(cols.size), reg, K, n_threads)
    ra, rb = ref_a[0, rows], ref_b[0, cols]
    la, lb = log_a[0, rows], log_b[0, cols]
    with np.errstate(over="ignore"):
        u = np.exp(ra + f1[rows] / reg)
        v = np.exp(rb + g1[cols] / reg)
        c_a = np.exp(ra + tau_a * (la - ra))
        c_b = np.exp(rb + tau_b * (lb - rb))
    n_checks = max_iter // check_every + 1
    errors = np.full((1, n_checks), np.nan)
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    status, n_iter, n_errors = run_parallel(unbalanced_scaling_core, n_threads, K, c_a, c_b, tau_a, tau_b,
                                             balanced, u, v, max_iter, tol, check_every, errors[0], n_threads)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1[rows] = reg * (np.log(u) - ra)
        g1[cols] = reg * (np.log(v) - rb)
    if not (np.all(np.isfinite(f1[rows])) and np.all(np.isfinite(g1[cols]))):
        status = NUMERICAL_ERROR
    # zero weights: kl, one damped log-domain half-step against the other side; entropy, -inf (no mass)
    for pot, idx, costs, log_w, other, tau in ((f1, rows, C2, log_b[0], g1, tau_a),
                                               (g1, cols, C2.T, log_a[0], f1, tau_b)):
        if idx.size < pot.size:
            zero = np.setdiff1d(np.arange(pot.size), idx)
            if kl:
                out = np.zeros(zero.size)
                run_parallel(host_half_step, n_threads, np.ascontiguousarray(costs[zero]), log_w, other, reg, out, out)
                pot[zero] = tau * out
            else:
                pot[zero] = -math.inf
    plan = np.empty_like(C)
    run_parallel(plan_core, n_threads, C, ref_a, ref_b, f, g, reg, plan)
    return (np.array([status]), np.array([n_iter]), errors, np.array([n_errors]), plan, ref_a, ref_b)


def objective(C, plan, a, b, f, g, reg, rho_a, rho_b, ref_a, ref_b):
    """``(value, value_linear)`` per problem (arrays of shape (B,)): ``<P, C>`` and the full objective
    ``<P, C> + reg KL(P | R) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)`` (generalised KL, mass terms included;
    a penalty with ``rho = inf`` is left out: its marginal is exact)."""
    inv = 1.0 / reg
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        positive = plan > 0
        lin = np.where(positive, plan * C, 0.0).sum(axis=(1, 2))
        # log(P / R) = (f_i + g_j - C_ij) / reg where P > 0
        log_ratio = (f[:, :, None] + g[:, None, :] - C) * inv
        ref_mass = np.exp(ref_a).sum(axis=1) * np.exp(ref_b).sum(axis=1)
        kl = np.where(positive, plan * log_ratio, 0.0).sum(axis=(1, 2)) - plan.sum(axis=(1, 2)) + ref_mass
        value = lin + reg * kl
        for rho, w, marginal in ((rho_a, a, plan.sum(axis=2)), (rho_b, b, plan.sum(axis=1))):
            if not math.isinf(rho):
                value = value + rho * kl_div(marginal, w)
    return value, lin


def kl_div(p, q):
    """Generalised KL ``sum p log(p / q) - p + q`` along the last axis (``0 log 0 = 0``, ``p log(p / 0) = inf``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    return terms.sum(axis=-1) - p.sum(axis=-1) + q.sum(axis=-1)


def solve_dense(C, a, b, opts, f, g, n_threads, out_dtype) -> SinkhornAnswer:
    """The CPU driver of the dense Sinkhorn family: validated float64 ``C`` (B, n, m), ``a`` (B, n), ``b`` (B, m),
    the :class:`SinkhornOptions` ``opts`` and starting potentials ``f``, ``g`` in, the answer that
    ``numbaot._finish.finish`` turns into a result out (the same tuple as the CUDA driver
    ``numbaot.cuda.sinkhorn.solve_sinkhorn_cuda``)."""
    answer = (run_scaling if opts.method in SCALING_METHODS else run)(C, a, b, opts, f, g, n_threads)
    status, n_iter, errors, n_errors, plan, ref_a, ref_b = answer
    value, lin = objective(C, plan, a, b, f, g, opts.reg, opts.rho_a, opts.rho_b, ref_a, ref_b)
    plan = plan.astype(out_dtype, copy=False)
    return SinkhornAnswer(plan, f.astype(out_dtype), g.astype(out_dtype), value, lin, status, n_iter, errors,
                          n_errors, lambda: (plan.sum(axis=2), plan.sum(axis=1)))
