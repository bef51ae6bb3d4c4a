"""Entropic (fused) Gromov-Wasserstein by mirror descent (Peyre et al. 2016, projected gradient in KL geometry).

With step size 1/eps the KL-proximal step of ``F(T) - eps H(T)`` is one entropic OT problem on the linearised
cost: ``T <- Sinkhorn(p, q, grad F(T), eps)``, where ``grad F = w_lin M + w_quad (L (x) T + L^T (x) T)``.

Each Sinkhorn solve is warm-started from the previous potentials ``(f, g)``. The first runs in the log domain
(``numbaot.entropic._sinkhorn_log``: no start is known, and ``exp(-C / eps)`` may underflow). Later ones absorb
the warm potentials into a kernel ``K_ij = exp((f_i + g_j - C_ij) / eps)`` (Schmitzer 2016) and iterate on
scalings that stay near the weights: one fused pass over the kernel per iteration instead of ``2 n m``
exponentials, and one vectorised exp pass per solve, all compiled in one call (:func:`_absorbed_step`, with
the plan and its change). When the scalings leave a safe range or turn non-finite, that solve is redone in the
log domain from the warm potentials, so no input can overflow.

It stops when ``|T_k - T_{k-1}|_F <= tol`` and the last Sinkhorn solve met its marginal tolerance (Sinkhorn is
slow on nearly deterministic plans; a capped solve is continued by the next iteration, at most ``EXTRA_SOLVES``
times once the plan is stationary), or after ``max_iter`` outer iterations. The status is OPTIMAL only when the
final plan's marginal error is within the inner tolerance. The reported values are the
(fused) GW objective at the final plan, without the entropy (POT's convention).

Acceleration: the outer iteration is the fixed point ``C = grad(Sinkhorn(C))`` of the linearised cost. By default
(``accelerate='momentum'``) :class:`HeavyBall` adds momentum to it once it converges at a steady linear rate; it
keeps the plain iteration's fixed points and their stability (it does not stop at saddle points). Opt-in
``accelerate='anderson'``: :class:`Anderson` extrapolates C from the last few iterates (fewer iterations still,
but it can converge to a saddle point). Either way a plan change below tol counts only after a plain step.
"""
from __future__ import annotations

import math

import numpy as np

from numba import prange

from .._jit import cpu_jit
from ..entropic._sinkhorn_scaling import gibbs_kernel, reduce_partial, sinkhorn_pass
from .._status import Status
from . import _tensor
from ._cg import PARALLEL_MIN_ENTRIES, Outcome, gradient

#: The kernel solve gives up (and the log domain takes over) when a scaling leaves [1/SCALING_BOUND, SCALING_BOUND].
SCALING_BOUND = 1e100
_LEFT_RANGE = 5  # a status code of the kernel core only: scalings out of range
#: Outer iterations granted, once the plan is stationary, to a Sinkhorn solve that has not met its tolerance yet.
EXTRA_SOLVES = 10
#: Anderson acceleration of the outer fixed-point iteration (opt-in): memory, and the largest problem (entries of
#: the plan) it is used on, since it keeps 2 * memory matrices of the plan's size.
ANDERSON_MEMORY = 4
ANDERSON_MAX_ENTRIES = 1 << 22
#: The heavy ball (default acceleration): the largest eigenvalue of I - J it is tuned for (2 covers every mode of a
#: convergent plain iteration, whose eigenvalues of J lie in (-1, 1)), the window of residual norms whose ratios
#: must agree within HB_STEADY for the rate to count as steady.
HB_L = 2.0
HB_WINDOW = 6
HB_STEADY = 1.05


class Anderson:
    """Anderson acceleration (type II, Walker and Ni 2011) of a fixed-point iteration ``x <- Psi(x)``.

    Given the current point ``x`` and its residual ``r = Psi(x) - x``, :meth:`step` returns the next point:
    ``x + r`` (the plain iteration) corrected by the least-squares combination of the last ``memory`` differences
    of points and residuals. A residual that grows restarts the memory (the plain step is always safe here).
    """

    def __init__(self, memory):
        self.memory = memory
        self.dx, self.dr = [], []
        self.prev_x = self.prev_r = None
        self.prev_norm = np.inf

    def step(self, x, r):
        norm = float(np.linalg.norm(r))
        if self.prev_x is not None and norm < self.prev_norm:
            self.dx.append(x - self.prev_x)
            self.dr.append(r - self.prev_r)
            if len(self.dx) > self.memory:
                self.dx.pop(0)
                self.dr.pop(0)
        else:
            self.dx.clear()
            self.dr.clear()
        self.prev_x, self.prev_r, self.prev_norm = x.copy(), r.copy(), norm
        out = x + r
        if self.dx:
            R = np.array([d.ravel() for d in self.dr])  # (k, n m)
            gram = R @ R.T
            gram += 1e-10 * np.trace(gram) * np.eye(len(gram))
            gamma = np.linalg.solve(gram, R @ r.ravel())
            for c, dx, dr in zip(gamma, self.dx, self.dr):
                out -= c * (dx + dr)
        return out


@cpu_jit
def sinkhorn_kernel_core(K, p, q, a, b, partial, max_iter, tol):
    """Sinkhorn on the absorbed kernel: the plan is ``a_i K_ij b_j``, the scalings a, b (weights included; start
    p, q) updated in place, one fused pass over K per iteration (``entropic._sinkhorn_scaling.sinkhorn_pass``,
    ``partial``: its per-chunk sums, (chunks, m)).

    Returns ``(status, n_iter, KTa)``: status OPTIMAL when the L1 column error (read before the b-update) is at most
    tol, MAX_ITER_REACHED, or ``_LEFT_RANGE`` when a product ``K b`` or ``K^T a`` left
    ``[1 / SCALING_BOUND, SCALING_BOUND]`` or turned non-finite (a, b are then unusable); ``KTa`` the last
    ``K^T a``.
    """
    m = K.shape[1]
    low = 1.0 / SCALING_BOUND
    KTa = np.empty(m)
    status = 1
    n_iter = 0
    while n_iter < max_iter:
        if sinkhorn_pass(K, p, 1.0, b, low, SCALING_BOUND, a, partial) > 0:
            return _LEFT_RANGE, n_iter, KTa
        reduce_partial(partial, KTa)
        n_iter += 1
        err = 0.0
        for j in range(m):
            s = KTa[j]
            if not (low <= s <= SCALING_BOUND):
                return _LEFT_RANGE, n_iter, KTa
            err += abs(b[j] * s - q[j])
            b[j] = q[j] / s
        if not err < math.inf:
            return _LEFT_RANGE, n_iter, KTa
        if err <= tol:
            status = 0
            break
    return status, n_iter, KTa


class HeavyBall:
    """Polyak's heavy ball on the outer fixed-point iteration ``x <- Psi(x)`` (x: the linearised cost).

    Why it is safe where Anderson is not: near a fixed point the iteration is linear, ``e <- J e``, and J is the
    product of a self-adjoint operator (the tensor product's Hessian) and a positive semi-definite one (the
    derivative of the Sinkhorn plan), so its spectrum is real. A fixed point is a local minimum of the entropic
    objective exactly when every eigenvalue of ``I - J`` is positive. The heavy ball
    ``x + omega r + beta (x - x_prev)`` (``r = Psi(x) - x``) contracts every such mode faster (rate
    ``(sqrt(k) - 1) / (sqrt(k) + 1)`` instead of ``1 - a`` for eigenvalues in ``[a, HB_L]``, ``k = HB_L / a``) and
    keeps a mode with a negative eigenvalue unstable, so, like the plain iteration and unlike a secant method, it
    does not converge to saddle points.

    It is off until the residual norms shrink at a steady linear rate rho (the asymptotic regime): then
    ``a = 1 - rho``; every few steps the observed rate corrects ``a`` downwards (a slower mode than the plain
    ratio showed). Three growing residuals in a row (leaving a saddle, say) switch it off until the rate is
    steady again.
    """

    def __init__(self):
        self.norms = []
        self.prev = None
        self.active = False
        self.a = self.omega = self.beta = 0.0
        self.growth = 0
        self.since = 0

    def _tune(self, a):
        root_l, root_a = math.sqrt(HB_L), math.sqrt(a)
        self.a = a
        self.omega = 4.0 / (root_l + root_a) ** 2
        self.beta = ((root_l - root_a) / (root_l + root_a)) ** 2
        self.since = 0

    def _steady_rate(self):
        """The geometric mean ratio of the last HB_WINDOW residual norms, if it is steady and below 1, else 0."""
        if len(self.norms) <= HB_WINDOW:
            return 0.0
        # plain Python on a few floats: numpy's calls on a 7-element array took 40 us per outer iteration, a tenth
        # of a whole iteration at n = 100
        h = self.norms[-HB_WINDOW - 1:]
        if not all(v > 0.0 for v in h):  # (NaN fails too)
            return 0.0
        ratios = [b / a for a, b in zip(h[:-1], h[1:])]
        high, low = max(ratios), min(ratios)
        if high < 1.0 and low >= 0.5 and high <= HB_STEADY * low:
            return math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        return 0.0

    def step(self, x, y, plain=False):
        """Move ``x`` in place to the next point, from the plain iteration's next point ``y = Psi(x)``; ``y`` is
        overwritten with it too. ``plain``: take the plain step (the state is kept up to date)."""
        if self.prev is None:
            self.prev = np.empty_like(x)
        norm = _distance(x, y)
        grew = bool(self.norms) and norm > self.norms[-1]
        self.norms.append(norm)
        momentum = False
        if self.active:
            self.growth = self.growth + 1 if grew else 0
            self.since += 1
            if self.growth >= 3:
                self.active = False
                self.norms = [norm]
            else:
                z = self._steady_rate() if self.since > HB_WINDOW else 0.0
                if z > 0.0:
                    # the slowest mode's eigenvalue from its observed rate z (a root of z^2 - (1 + beta - omega
                    # lam) z + beta = 0)
                    lam = (1.0 + self.beta - z - self.beta / z) / self.omega
                    if 0.0 < lam < 0.8 * self.a:
                        self._tune(lam)
                momentum = not plain
        else:
            rho = self._steady_rate()
            if rho > 0.0:
                self._tune(1.0 - rho)
                self.active = True
                self.growth = 0
        _heavy_ball_move(x, y, self.prev, self.omega, self.beta, momentum)


@cpu_jit
def _distance(x, y):
    """``|y - x|`` (Frobenius) of two contiguous arrays of one shape."""
    xs, ys = x.reshape(-1), y.reshape(-1)
    total = 0.0
    for k in range(xs.shape[0]):
        d = ys[k] - xs[k]
        total += d * d
    return math.sqrt(total)


@cpu_jit
def _heavy_ball_move(x, y, prev, omega, beta, momentum):
    """``x, y <- x + omega (y - x) + beta (x - prev)`` (or ``y``, the plain step), ``prev <- x``, in one pass."""
    xs, ys, ps = x.reshape(-1), y.reshape(-1), prev.reshape(-1)
    for k in range(xs.shape[0]):
        old = xs[k]
        new = old + omega * (ys[k] - old) + beta * (old - ps[k]) if momentum else ys[k]
        ps[k] = old
        xs[k] = new
        ys[k] = new


@cpu_jit(parallel=True)
def _absorbed_step(grad, f, g, eps, K, p, q, a, b, partial, T, T_new, max_iter, tol):
    """One warm mirror descent step on the absorbed kernel, compiled in one piece: ``K = exp((f + g - grad) / eps)``
    (vectorised exp), Sinkhorn on the scalings (:func:`sinkhorn_kernel_core`), then ``f``, ``g`` updated and
    ``T_new = a K b``. Returns ``(code, |T_new - T|_F)``; with code ``_LEFT_RANGE`` nothing but K, a, b was
    touched (the caller redoes the solve in the log domain)."""
    n, m = grad.shape
    gibbs_kernel(grad, f, g, eps, K, partial.shape[0])
    a[:] = p
    b[:] = q
    code, _, KTa = sinkhorn_kernel_core(K, p, q, a, b, partial, max_iter, tol)
    if code == _LEFT_RANGE:
        return code, 0.0
    # f += eps log(a / p), g += eps log(b / q); a zero weight's potential follows its scaling 1 / (K b)_i (resp.
    # 1 / (K^T a)_j), so that its row of the next kernel stays in range
    for i in range(n):
        if p[i] > 0.0:
            f[i] += eps * math.log(a[i] / p[i])
        else:
            f[i] -= eps * math.log(np.dot(K[i], b))
    for j in range(m):
        g[j] += eps * math.log(b[j] / q[j]) if q[j] > 0.0 else -eps * math.log(KTa[j])
    row_change = np.empty(n)
    for i in prange(n):
        acc = 0.0
        for j in range(m):
            t = a[i] * K[i, j] * b[j]
            d = t - T[i, j]
            acc += d * d
            T_new[i, j] = t
        row_change[i] = acc
    total = 0.0
    for i in range(n):  # serial reduction: the same result on any number of threads
        total += row_change[i]
    return code, math.sqrt(total)


def mirror_descent(s, p, q, M, w_lin, w_quad, eps, G0, max_iter, tol, inner_max_iter, inner_tol, n_threads,
                   accelerate=None, product_start=False, track=True):
    """Minimise ``w_lin <M, T> + w_quad E(T) - eps H(T)`` from ``G0`` (validated float64 host arrays).

    ``accelerate``: 'momentum' (:class:`HeavyBall`), 'anderson' (:class:`Anderson`) or None (plain iteration).
    ``product_start``: G0 is ``p q^T`` (its tensor product is then rank one). ``track``: update the tensor products by
    the plan's changes between float64 anchors (:class:`_tensor.TrackedProduct`; the stop is always certified by
    a step from float64 products).
    Returns ``(Outcome, marginal_error)``, the latter the L1 error of the final plan's marginals.
    """
    from ..entropic._loop import control, dense_geometry, run_single
    from ..entropic._rules import rule_for
    from ..entropic._sinkhorn_log import plan_from_potentials
    from .._threads import numba_threads

    n, m = G0.shape
    if n * m < PARALLEL_MIN_ENTRIES:
        n_threads = 1
    has_m = M is not None
    Mc = M if has_m else np.zeros((1, 1))
    with np.errstate(divide="ignore"):  # zero weights: log 0 = -inf drops them from every sum
        log_p, log_q = np.log(p), np.log(q)
    T = np.array(G0, dtype=np.float64, order="C", copy=True)
    T_new = np.empty((n, m))
    grad = np.empty((n, m))
    f, g = np.zeros(n), np.zeros(m)
    K = np.empty((n, m))
    a_scale, b_scale = np.empty(n), np.empty(m)
    from .. import _config

    n_threads = _config.n_threads(n_threads)
    partial = np.empty((max(1, min(n_threads, n)), m))  # the fused pass's per-chunk sums, one chunk per thread
    check_every = 10
    errors = np.empty(inner_max_iter // check_every + 1)
    balanced = rule_for(eps, math.inf, math.inf)  # the inner problems: balanced, at the caller's eps
    inner_control = control(inner_max_iter, inner_tol, check_every)
    history = []
    status = Status.MAX_ITER_REACHED
    n_iter = 0
    stationary = 0
    # The outer iteration is the fixed point C = grad(Sinkhorn(C)) on the linearised cost C; Anderson extrapolates
    # C. A plan change below tol counts only after a plain step (C = grad(T)), the certificate of the plain method.
    if accelerate == "momentum":
        extrapolator = HeavyBall()
    elif accelerate == "anderson" and ANDERSON_MEMORY > 0 and n * m <= ANDERSON_MAX_ENTRIES:
        extrapolator = Anderson(ANDERSON_MEMORY)
    else:
        extrapolator = None
    accelerate = extrapolator is not None
    cost = None  # the linearised cost whose Sinkhorn plan is T (kept when accelerating)
    # h1 T h2^T (and the transposed side's) updated by the plan's changes between float64 anchors
    trackers = [_tensor.TrackedProduct(s.h1, s.h2, track)]
    if not s.symmetric:
        trackers.append(_tensor.TrackedProduct(s.h1t, s.h2t, track))
    verify = False
    with numba_threads(n_threads):  # once here, not around each kernel call
        while n_iter < max_iter:
            n_iter += 1
            if n_iter == 1 and product_start:
                X, anchored = trackers[0].start_product(p, q), True
                Y = X if s.symmetric else trackers[1].start_product(p, q)
            else:
                X, anchored = trackers[0].at(T)
                if not s.symmetric:
                    Y, anchored_y = trackers[1].at(T)
                    anchored = anchored and anchored_y
                else:
                    Y = X
            gradient(X, Y, Mc, w_lin, w_quad, s.u, s.v, s.ut, s.vt, s.symmetric, has_m, grad, n_threads)
            accelerated = False
            if isinstance(extrapolator, HeavyBall):
                if cost is None:
                    cost = grad.copy()
                else:  # in place on cost and grad
                    extrapolator.step(cost, grad, plain=verify)
                    accelerated = extrapolator.active and not verify
            elif accelerate:
                if cost is not None and not verify:
                    grad[...] = extrapolator.step(cost, grad - cost)
                    accelerated = bool(extrapolator.dx)  # an empty memory gives the plain step
                cost = grad.copy()
            verify = False
            code = _LEFT_RANGE
            if n_iter > 1:
                code, change = _absorbed_step(grad, f, g, eps, K, p, q, a_scale, b_scale, partial, T, T_new,
                                              inner_max_iter, inner_tol)
            if code == _LEFT_RANGE:  # first solve, or the kernel could not hold it: the log domain, from (f, g)
                grad_t = np.ascontiguousarray(grad.T)  # the column half-steps read rows of grad^T
                code, _, _ = run_single(dense_geometry(grad, grad_t), log_p, log_q, f, g, errors, balanced,
                                        inner_control)
                if code != Status.NUMERICAL_ERROR:
                    plan_from_potentials(grad, log_p, log_q, f, g, eps, T_new)
                    change = float(np.linalg.norm(T_new - T))
            if code == Status.NUMERICAL_ERROR:
                status = Status.NUMERICAL_ERROR
                break
            history.append(change)
            T, T_new = T_new, T
            if not np.isfinite(change):
                status = Status.NUMERICAL_ERROR
                break
            # A capped Sinkhorn solve is continued by the next outer iteration (warm start): once the plan is
            # stationary, up to EXTRA_SOLVES more iterations let the last solve meet its marginal tolerance.
            if change <= tol and (accelerated or not anchored):
                # only a plain step from float64 products certifies a fixed point: take one next
                verify = True
                for tracker in trackers:
                    tracker.exact_next = True
                continue
            if change <= tol:
                if code == Status.OPTIMAL or stationary >= EXTRA_SOLVES:
                    status = Status.OPTIMAL
                    break
                stationary += 1
                for tracker in trackers:  # the continued solve's step is a candidate stop too: keep it certified
                    tracker.exact_next = True
    # Sinkhorn converges slowly on nearly deterministic plans, and a capped inner solve is continued by the next
    # one (warm start); what matters is the final plan's marginal error (rows: the last half-step fits columns).
    marginal_error = float(np.abs(T.sum(axis=1) - p).sum() + np.abs(T.sum(axis=0) - q).sum())
    if status == Status.OPTIMAL and not marginal_error <= inner_tol:
        status = Status.MAX_ITER_REACHED
    X = _tensor.quad_dense(s.h1, T, s.h2)
    value_linear = float(np.vdot(Mc, T)) if has_m else 0.0
    value_quad = _tensor.objective(s, T, X)
    value = w_lin * value_linear + w_quad * value_quad
    if not (np.isfinite(value) and np.isfinite(T).all()):
        status = Status.NUMERICAL_ERROR
    return Outcome(T, value, value_linear, value_quad, int(status), n_iter, np.array(history), (f, g)), marginal_error
