"""The Sinkhorn divergence's symmetric Sinkhorn (its epsilon schedules: ``_schedules``), below every user of it:
:mod:`numbaot.entropic.divergence` (host clouds), :mod:`numbaot.cuda.divergence` (device clouds, through the same
:func:`symmetric_sinkhorn` over ``DeviceProblems``) and :mod:`numbaot.losses`. The math is in the divergence
module's docstring.

Every step is a run of the one Sinkhorn loop (``_loop.sinkhorn_loop``; on the GPU ``cuda.loop.sinkhorn_loop_cuda``)
on one of the three problems, under the Balanced rule (its error is then the fixed-point error; KL penalties damp
its half-steps) and the loop's step modes: the a-b problem takes SIMULTANEOUS averaged updates while annealing and
over-relaxed ALTERNATE ones at the final temperature, the self-problems SYMMETRIC averaged updates of their one
potential. The loop runs over the geometries and with the types that ``sinkhorn`` and the online solver run (dense
costs, point clouds of a pinned metric), so the divergence compiles no loop of its own: one process that calls
both compiles the loop once. What stays here is a stage driver: the temperatures (one run per temperature, as in
epsilon scaling), the summed error of the three problems, and the over-relaxation factor
(:class:`_Overrelaxation`), fixed within each run of the loop.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .._costs import NUMPY_COSTS_MAX, cost_matrix, cost_matrix_numpy
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from .._threads import run_short_regions
from ._loop import ALTERNATE, SIMULTANEOUS, SYMMETRIC, LogWeights, control, new_record, sinkhorn_loop
from ._rules import Balanced


class HostProblems:
    """The problems of :func:`symmetric_sinkhorn` on the host: a geometry of the Sinkhorn loop per pair ('xy', and
    'xx', 'yy' with ``debias``; set by the subclasses), the weights, and one method that runs the loop on a pair.

    ``numbaot.cuda.divergence.DeviceProblems`` is the same interface on the GPU.
    """

    geoms: dict
    n_threads: int | None

    def set_weights(self, log_a, log_b):
        la, lb = np.asarray(log_a, dtype=np.float64)[None, :], np.asarray(log_b, dtype=np.float64)[None, :]
        za, zb = np.zeros_like(la), np.zeros_like(lb)
        # the reference measure a b^T ('kl'): every softmin weighs the other side by its weights
        self.weights = {"xy": LogWeights(la, lb, la, lb, za, zb), "xx": LogWeights(la, la, la, la, za, za),
                        "yy": LogWeights(lb, lb, lb, lb, zb, zb)}

    def zeros(self, pair):
        """Zero potentials ``(f, g)`` of a pair's problem."""
        w = self.weights[pair]
        return np.zeros(w.log_a.shape), np.zeros(w.log_b.shape)

    def copy(self, v):
        return v.copy()

    def run(self, pair, f, g, eps, tau, mode, omega, n_steps):
        """``n_steps`` steps of the loop on the pair's problem from ``(f, g)`` (updated in place): ``mode`` and
        ``omega`` as ``_loop.LoopControl`` says, half-steps damped by ``tau``. Returns ``(status, errors)``, the
        fixed-point error of each step (host float64)."""
        record = new_record(1, n_steps, 1)
        run_short_regions(sinkhorn_loop, self.n_threads, self.geoms[pair], self.weights[pair],
                          Balanced(eps, tau, tau), control(n_steps, -1.0, 1, mode, omega), f, g, record)
        return int(record.status[0]), record.errors[0, :record.n_errors[0]]

    def vector(self, v):
        """A potential as a 1D float64 host array."""
        return v[0]


class DenseProblems(HostProblems):
    """The problems on cost matrices (built once from the points): ``DenseCosts`` geometries, the dense solver's."""

    def __init__(self, X, Y, metric, p, n_threads, debias, dtype=np.float64):
        """``dtype``: the costs' dtype. float32 costs are read and exponentiated in float32 (as GeomLoss does; the
        potentials stay float64): half the memory of float64 costs, but a marginal error floor near 1e-6, so
        callers ask for them only when no tolerance is to be met (a fixed annealing schedule)."""
        from ._geometry import DenseCosts

        self.n_threads = n_threads
        # each matrix is computed directly: a transpose or a dtype copy of an n x m matrix costs more than
        # computing it from the points (page faults on fresh memory dominate both)
        dtype = np.dtype(dtype)
        pairs = {"xy": (X, Y), "yx": (Y, X)}
        if debias:
            pairs.update(xx=(X, X), yy=(Y, Y))
        for P, Q in pairs.values():  # refused with a clear error (and the hint lazy=True) before any allocation
            V.check_dense_size((P.shape[0], Q.shape[0]), dtype.itemsize, what="the cost matrix")
        # small clouds: costs by numpy, no kernel to compile for a first call
        small = all(P.shape[0] * Q.shape[0] * P.shape[1] <= NUMPY_COSTS_MAX for P, Q in pairs.values())
        self.C = {pair: cost_matrix_numpy(P, Q, metric, p, dtype) if small else
                  cost_matrix(P, Q, metric, p, n_threads, dtype) for pair, (P, Q) in pairs.items()}
        self.geoms = {"xy": DenseCosts(self.C["xy"][None], self.C["yx"][None])}
        if debias:  # a self-problem reads rows only (SYMMETRIC steps): its matrix stands in for its transpose
            self.geoms.update(xx=DenseCosts(self.C["xx"][None], self.C["xx"][None]),
                              yy=DenseCosts(self.C["yy"][None], self.C["yy"][None]))


class CloudProblems(HostProblems):
    """The problems with costs computed from the points (O(n + m) memory): point clouds of a pinned metric, the
    online solver's geometry (``_online.PINNED_CLOUDS``)."""

    def __init__(self, X, Y, metric, p, n_threads, debias):
        from ._online import PointGeometry

        self.n_threads = n_threads
        self.geoms = {"xy": PointGeometry(X, Y, metric, p).clouds()}
        if debias:
            self.geoms["xx"] = PointGeometry(X, X, metric, p).clouds()
            self.geoms["yy"] = PointGeometry(Y, Y, metric, p).clouds()


class _Overrelaxation:
    """The over-relaxation factor of the a-b problem's updates at the final temperature (successive
    over-relaxation, as Thibault et al. 2017 and Lehmann et al. 2021 apply it to Sinkhorn).

    The linearised alternate Sinkhorn update is 2-cyclic, so Young's theory applies: if plain (Gauss-Seidel) updates
    shrink the error by ``lam`` per step, updates over-relaxed by ``omega`` shrink it by ``rho`` with
    ``(rho + omega - 1)^2 = rho omega^2 lam``, fastest at ``omega = 2 / (1 + sqrt(1 - lam))`` (``rho = omega - 1``):
    at ``lam = 0.995`` (reg = 0.01 on ordinary clouds) 0.87 instead, 3700 steps to 1e-9 become a few hundred.
    ``lam`` is not known: every ``WINDOW`` steps it is estimated from the observed ``rho`` and the current
    ``omega``, and ``omega`` follows it once two estimates agree (early estimates are low, so ``omega`` only grows);
    should the error grow tenfold over a window (far from the linear regime), plain updates resume for good.
    Measured (500 x 400 clouds in 3D, reg 0.1 and 0.01, balanced and unbalanced, 3 seeds): 7477 steps in all
    instead of 18955, one of 12 solves unconverged at 5000 steps instead of three.
    """

    WINDOW = 10
    MAX_OMEGA = 1.99

    def __init__(self):
        self.omega = 1.0
        self.window = []
        self.enabled = True
        self.lam = None

    def observe(self, err):
        if not self.enabled:
            return
        self.window.append(err)
        if len(self.window) <= self.WINDOW:
            return
        first, last = self.window[0], self.window[-1]
        self.window = [last]
        if not (first > 0 and last <= 10.0 * first):
            self.omega, self.enabled = 1.0, False
            return
        rho = (last / first) ** (1.0 / self.WINDOW)
        if rho >= 1.0:
            return
        lam = min((rho + self.omega - 1.0) ** 2 / (rho * self.omega**2), 1.0)
        previous, self.lam = self.lam, lam
        if previous is None or abs(lam - previous) > 0.2 * (1.0 - lam) or lam < 0.25:
            return  # not settled yet (or plain updates are fast already)
        self.omega = max(self.omega, min(self.MAX_OMEGA, 2.0 / (1.0 + math.sqrt(1.0 - lam))))


def symmetric_sinkhorn(ops, log_a, log_b, eps_list, rho, debias, max_iter, tol, cross=True):
    """The annealed symmetric Sinkhorn (GeomLoss's ``sinkhorn_loop``, single scale), as runs of the Sinkhorn loop.

    ``ops`` runs the loop on the device of the potentials (:class:`HostProblems` or the CUDA twin). Starting from
    the softmins of zero potentials, each temperature of ``eps_list`` takes one step: SIMULTANEOUS updates of the
    a-b problem (f and g from the old potentials) and SYMMETRIC ones of the self-problems, all averaged with the old
    values. After the schedule, with ``tol`` not None, steps continue at the last temperature (ALTERNATE updates of
    the a-b problem over-relaxed by :class:`_Overrelaxation`'s factor, averaged SYMMETRIC ones of the
    self-problems), in runs of the loop that end where the factor may change or where the error's rate says the
    summed fixed-point error reaches ``tol``, until a run ends at most at ``tol`` or ``max_iter`` steps were taken
    in all. A last full SIMULTANEOUS / SYMMETRIC update (weight 1) ends the loop. With ``rho`` the half-steps are
    damped by ``1 / (1 + eps / rho)``.

    ``cross=False`` (with ``debias``) solves the two self-problems only, and the last update extends each
    self-potential to the other cloud instead: ``f_ba`` is then b's potential on the points of a (the a-b
    problem's row half-step from ``g_bb``) and ``g_ab`` a's potential on the points of b (the Hausdorff
    divergence).

    Returns ``(f_aa, g_bb, g_ab, f_ba, status, n_iter, errors)`` (``f_aa``, ``g_bb`` None without ``debias``).
    """
    def tau(eps):
        return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)

    ops.set_weights(log_a, log_b)
    pairs = (("xy",) if cross else ()) + (("xx", "yy") if debias else ())
    pots = {pair: ops.zeros(pair) for pair in pairs}
    simultaneous = {"xy": SIMULTANEOUS, "xx": SYMMETRIC, "yy": SYMMETRIC}

    def steps(modes, eps, omega, n_steps):
        """``n_steps`` steps of every problem; their summed errors, NaN after a problem stopped on one."""
        total = np.zeros(n_steps)
        for pair in pairs:
            mode = modes[pair]
            _, err = ops.run(pair, *pots[pair], eps, tau(eps), mode, omega if pair == "xy" else 0.5, n_steps)
            total[:len(err)] += err
            total[len(err):] = math.nan
        return total

    # start from the softmins of zero potentials: at eps = diameter^p they are close to the cost's averages
    eps = eps_list[0]
    for pair in pairs:
        ops.run(pair, *pots[pair], eps, tau(eps), simultaneous[pair], 1.0, 1)
    errors = []
    n_iter = 0
    status = OPTIMAL
    for eps in eps_list:  # averaged updates: plain ones would oscillate on a self-problem
        errors.append(float(steps(simultaneous, eps, 0.5, 1)[0]))
        n_iter += 1
    if tol is not None:
        # At the final temperature the a-b problem takes alternate (Gauss-Seidel) updates, twice as fast as
        # averaged ones, over-relaxed by the factor (see _Overrelaxation); the self-problems keep averaged updates.
        status = MAX_ITER_REACHED
        relaxation = _Overrelaxation()
        converging = {"xy": ALTERNATE, "xx": SYMMETRIC, "yy": SYMMETRIC}
        recent = []
        while n_iter < max_iter:
            n_steps = _run_length(relaxation, recent, tol, max_iter - n_iter)
            total = steps(converging, eps, relaxation.omega if cross else 1.0, n_steps)
            for err in total:
                relaxation.observe(err)
            n_iter += n_steps
            errors.extend(float(e) for e in total)
            recent = (recent + [float(e) for e in total])[-relaxation.WINDOW:]  # this phase's errors only
            if not np.isfinite(total).all():
                status = NUMERICAL_ERROR
                break
            if total[-1] <= tol:
                status = OPTIMAL
                break
    # a last full update from the averaged potentials (every side from the old values)
    if cross:
        f_ba, g_ab = pots["xy"]
    else:  # the self-potentials extended to the other cloud, from the same averaged values as the update below
        f_ba, g_ab = ops.copy(pots["xx"][0]), ops.copy(pots["yy"][1])
    final = [ops.run("xy", f_ba, g_ab, eps, tau(eps), SIMULTANEOUS, 1.0, 1)[0]]
    if debias:
        final += [ops.run(pair, *pots[pair], eps, tau(eps), SYMMETRIC, 1.0, 1)[0] for pair in ("xx", "yy")]
    n_iter += 1
    if NUMERICAL_ERROR in final:  # a potential of positive weight is not finite
        status = NUMERICAL_ERROR
    f_aa, g_bb = (ops.vector(pots["xx"][0]), ops.vector(pots["yy"][0])) if debias else (None, None)
    return f_aa, g_bb, ops.vector(g_ab), ops.vector(f_ba), status, n_iter, np.asarray(errors, dtype=np.float64)


def _run_length(relaxation, recent, tol, left):
    """The steps of the next run of the loop: up to where the over-relaxation factor may change (a window's end),
    and no further than where the rate of the ``recent`` errors says they reach ``tol`` (each run's last error
    decides the stop: a run that went past it would take steps for nothing)."""
    n = relaxation.WINDOW + 1 - len(relaxation.window) if relaxation.enabled else 4 * relaxation.WINDOW
    if len(recent) < 3:  # no rate yet: a short first run (the schedule may have left the error near tol)
        n = min(n, 3)
    elif recent[-1] > tol and 0.0 < recent[-1] < recent[0] and recent[-3] > 0.0:
        # the latest rate, rounded to the nearest step: a run that stops one step short costs a loop call, one
        # that goes a step too far costs a step
        rate = (recent[-1] / recent[-3]) ** 0.5 if recent[-1] < recent[-3] else recent[-1] / recent[0]
        n = min(n, max(1, round(math.log(tol / recent[-1]) / math.log(rate))) if tol > 0 else n)
    return max(1, min(n, left))


def divergence_value(a, b, f_aa, g_bb, g_ab, f_ba, eps, rho, debias):
    """The Sinkhorn cost from the potentials (GeomLoss's ``sinkhorn_cost``): the divergence with ``debias``, else
    ``OT_eps(a, b)``; zero weights contribute nothing."""
    def dot(w, v):
        return float(np.dot(w[w > 0], v[w > 0]))

    if rho is None:
        if debias:
            return dot(a, f_ba - f_aa) + dot(b, g_ab - g_bb)
        return dot(a, f_ba) + dot(b, g_ab)
    weight = rho + eps / 2  # Sejourne et al. 2019, Prop. 12
    if debias:
        return weight * (dot(a, np.exp(-f_aa / rho) - np.exp(-f_ba / rho))
                         + dot(b, np.exp(-g_bb / rho) - np.exp(-g_ab / rho)))
    return weight * (dot(a, -np.expm1(-f_ba / rho)) + dot(b, -np.expm1(-g_ab / rho)))


def hausdorff_potentials(f_aa, g_bb, g_ab, f_ba, eps, rho):
    """``(F, G)``: the difference of the Sinkhorn entropies' gradients ``grad E(a) - grad E(b)`` on the points of a
    and its opposite on the points of b, from the self-potentials ``f_aa``, ``g_bb`` and their extensions ``f_ba``
    (b's potential on the points of a) and ``g_ab``; the Hausdorff divergence is ``(<a, F> + <b, G>) / 2``.

    With ``E(a) = -OT_eps(a, a) / 2`` the gradient is ``-f`` (balanced) or ``(rho + eps) exp(-f / rho) - rho`` (KL
    penalties of strength rho, Sejourne et al. 2019) for the self-potential f extended by the softmin."""
    if rho is None:
        return f_ba - f_aa, g_ab - g_bb
    weight = rho + eps
    return (weight * (np.expm1(-f_aa / rho) - np.expm1(-f_ba / rho)),
            weight * (np.expm1(-g_bb / rho) - np.expm1(-g_ab / rho)))
