"""The symmetric Sinkhorn loop of the Sinkhorn divergence (its epsilon schedules: ``_schedules``), below every user of
them: :mod:`numbaot.entropic.divergence` (host clouds), :mod:`numbaot.cuda.divergence` (device clouds, through the
same ``symmetric_sinkhorn`` over ``DeviceSoftmins``) and :mod:`numbaot.losses`. The math is in the divergence
module's docstring.

The softmins of one step that do not depend on each other (a-b both ways, a-a, b-b) run in one parallel region
(``_geometry.ragged_dense`` over the cost matrices for :class:`DenseSoftmins`, ``_geometry.ragged_clouds`` over
point clouds for :class:`OnlineSoftmins`; on the GPU the point-cloud geometry of ``cuda.loop``, one launch each),
with the arithmetic of the Sinkhorn loop's half-steps: an averaged step is one region, a converging step two (the
a-b problem's updates alternate). On a busy machine each region ends at a barrier that waits for any descheduled
thread, so fewer regions per step keep two threads within reach of one. The steps themselves (averaged updates, the
annealing, the over-relaxed final phase) stay a host loop: a jitted symmetric rule would compile a second
specialisation of the loop for every divergence, where the divergence compiles one kernel for its softmins and
values.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .._costs import cost_matrix
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from .._threads import run_short_regions


class HostSoftmins:
    """The operations of :func:`symmetric_sinkhorn` on host (numpy) potentials; subclasses give ``_run``.

    ``numbaot.cuda.divergence.DeviceSoftmins`` is the same interface on GPU potentials.
    """

    def softmins(self, requests, eps, damping):
        """``damping * -eps log sum_j w_j exp((other_j - C_ij) / eps)`` for every point i of the pair's first
        cloud, for every ``(pair, log_w, other, prev)`` of ``requests`` (``prev``: the previous value, a hint for
        the shift of the one-pass log-sum-exp), in one parallel region: the requests must not depend on each other.
        Returns the list of potentials."""
        B = len(requests)
        if B == 0:
            return []
        L = max(max(len(log_w), len(prev)) for _, log_w, _, prev in requests)
        # the vectors padded to one length (O(n + m) copies against the O(n m) softmins)
        other, ref, hint = np.zeros((B, L)), np.zeros((B, L)), np.zeros((B, L))
        for k, (_, log_w, pot, prev) in enumerate(requests):
            other[k, :len(pot)] = pot
            ref[k, :len(log_w)] = log_w
            hint[k, :len(prev)] = prev
        out = np.empty((B, L))
        # request k is rows starts[k] to starts[k + 1] of the batch
        starts = np.cumsum([0] + [len(prev) for _, _, _, prev in requests], dtype=np.int64)
        self._run([pair for pair, _, _, _ in requests], starts, other, ref, hint, eps, out)
        return [damping * out[k, :len(prev)] for k, (_, _, _, prev) in enumerate(requests)]

    def zeros(self, log_w):
        return np.zeros(len(log_w))

    def relax(self, old, new, weight):
        """``old + weight (new - old)`` (``weight`` 1/2: the average; 1: ``new``; above 1: over-relaxed); it may
        overwrite ``old``, which the loop no longer needs."""
        if weight == 1.0:
            return new
        new -= old
        new *= weight
        old += new
        return old

    def error(self, terms, eps):
        """The summed fixed-point error of the ``(log_w, old, new)`` triples (see :func:`_fixed_point_error`)."""
        err = 0.0
        for log_w, old, new in terms:
            err += _fixed_point_error(log_w, old, new, eps)
        return err

    def finite(self, pairs):
        """True when every potential of ``(v, log_w)`` is finite wherever its weight is positive."""
        return all(bool(np.isfinite(v[w > -np.inf]).all()) for v, w in pairs)


class DenseSoftmins(HostSoftmins):
    """The softmins of the symmetric loop on cost matrices (built once from the points)."""

    def __init__(self, X, Y, metric, p, n_threads, debias, dtype=np.float64):
        """``dtype``: the costs' dtype. float32 costs are read and exponentiated in float32 (as GeomLoss does; the
        potentials stay float64): half the memory of float64 costs (not faster per row here), but a marginal error
        floor near 1e-6, so callers ask for them only when no tolerance is to be met (a fixed annealing schedule)."""
        self.n_threads = n_threads
        # each matrix is computed directly: a transpose or a dtype copy of an n x m matrix costs more than
        # computing it from the points (page faults on fresh memory dominate both)
        dtype = np.dtype(dtype)
        pairs = {"xy": (X, Y), "yx": (Y, X)}
        if debias:
            pairs.update(xx=(X, X), yy=(Y, Y))
        for P, Q in pairs.values():  # refused with a clear error (and the hint lazy=True) before any allocation
            V.check_dense_size((P.shape[0], Q.shape[0]), dtype.itemsize, what="the cost matrix")
        self.C = {pair: cost_matrix(P, Q, metric, p, n_threads, dtype) for pair, (P, Q) in pairs.items()}
        # the kernel's tuple of matrices: always four (one compiled type), "xy" standing in for absent ones
        self.order = list(self.C)
        self.mats = tuple(self.C[pair] for pair in self.order) + (self.C["xy"],) * (4 - len(self.order))

    def _run(self, pairs, starts, other, ref, prev, eps, out):
        from ._geometry import ragged_dense

        which = np.array([self.order.index(pair) for pair in pairs], np.int64)
        run_short_regions(ragged_dense, self.n_threads, self.mats, which, starts, other, ref, prev, eps, False, out)


class OnlineSoftmins(HostSoftmins):
    """The softmins of the symmetric loop with costs computed from the points (O(n + m) memory), with the
    arithmetic of the point-cloud geometry's half-step that the Sinkhorn loop runs (``_geometry``), on clouds of a
    pinned metric (``_online.PINNED_CLOUDS``: that metric's loops compile alone)."""

    #: pair -> (rows, columns): which cloud (0: X, 1: Y) a pair's softmin runs on and against
    CLOUDS = {"xy": (0, 1), "yx": (1, 0), "xx": (0, 0), "yy": (1, 1)}

    def __init__(self, X, Y, metric, p, n_threads):
        from ._online import PointGeometry

        self.n_threads = n_threads
        self.clouds = PointGeometry(X, Y, metric, p).clouds()

    def _run(self, pairs, starts, other, ref, prev, eps, out):
        from ._geometry import ragged_clouds

        sides = np.array([self.CLOUDS[pair] for pair in pairs], np.int64)
        run_short_regions(ragged_clouds, self.n_threads, self.clouds, sides, starts, other, ref, prev, eps, False, out)


def _fixed_point_error(log_w, old, new, eps):
    """``sum_i w_i |exp((old_i - new_i) / eps) - 1|``: the L1 error of the marginal that the update ``new`` makes
    exact (balanced OT); zero exactly at a fixed point (unbalanced OT too)."""
    w = np.exp(log_w)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sum(np.where(w > 0, w * np.abs(np.expm1((old - new) / eps)), 0.0)))


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
    """The annealed symmetric Sinkhorn loop (GeomLoss's ``sinkhorn_loop``, single scale).

    ``ops`` computes on the device of the potentials (:class:`HostSoftmins` or the CUDA twin):
    ``ops.softmins(requests, eps, damping)`` gives, for every ``(pair, log_w, other, prev)`` of ``requests``
    (``pair`` in 'xy', 'yx', 'xx', 'yy'), the damped potential ``-damping eps log sum_j w_j exp((other_j - C_ij) /
    eps)`` on the first cloud of the pair (``prev``: its previous value, a hint). After the schedule, with ``tol``
    not None, steps continue at the last temperature (alternate updates for the a-b problem, averaged ones for the
    self-problems) until the summed marginal (fixed-point) error is at most ``tol`` or ``max_iter`` steps were
    taken in all.

    ``cross=False`` (with ``debias``) solves the two self-problems only, and the last update extends each
    self-potential to the other cloud instead: ``f_ba`` is then b's potential on the points of a
    (``softmin('xy', log_b, g_bb)``) and ``g_ab`` a's potential on the points of b (the Hausdorff divergence).

    Returns ``(f_aa, g_bb, g_ab, f_ba, status, n_iter, errors)`` (``f_aa``, ``g_bb`` None without ``debias``).
    """
    def damping(eps):
        return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)

    # The softmins of a step that do not depend on each other go to ``ops.softmins`` together (one parallel region
    # on the CPU): every softmin of an averaged step, and all but the a-b problem's second one in a converging step.
    zeros_a, zeros_b = ops.zeros(log_a), ops.zeros(log_b)
    eps = eps_list[0]
    # start from the softmins of zero potentials: at eps = diameter^p they are close to the cost's averages
    first = ([("yx", log_a, zeros_a, zeros_b), ("xy", log_b, zeros_b, zeros_a)] if cross else []) + (
        [("xx", log_a, zeros_a, zeros_a), ("yy", log_b, zeros_b, zeros_b)] if debias else [])
    new = ops.softmins(first, eps, damping(eps))
    g_ab, f_ba = new[:2] if cross else (None, None)
    f_aa, g_bb = new[-2:] if debias else (None, None)

    def self_requests():
        return [("xx", log_a, f_aa, f_aa), ("yy", log_b, g_bb, g_bb)] if debias else []

    def step(eps):
        # averaged updates: plain ones would oscillate on a self-problem
        d = damping(eps)
        new = ops.softmins(([("xy", log_b, g_ab, f_ba), ("yx", log_a, f_ba, g_ab)] if cross else [])
                           + self_requests(), eps, d)
        terms = []
        if cross:
            ft_ba, gt_ab = new[:2]
            terms += [(log_a, f_ba, ft_ba), (log_b, g_ab, gt_ab)]
        if debias:
            ft_aa, gt_bb = new[-2:]
            terms += [(log_a, f_aa, ft_aa), (log_b, g_bb, gt_bb)]
        err = ops.error(terms, eps)
        new = [None, None, None, None]
        if cross:
            new[0], new[1] = ops.relax(f_ba, ft_ba, 0.5), ops.relax(g_ab, gt_ab, 0.5)
        if debias:
            new[2], new[3] = ops.relax(f_aa, ft_aa, 0.5), ops.relax(g_bb, gt_bb, 0.5)
        return new, err

    def converging_step(eps, omega):
        # At the final temperature the a-b problem takes alternate (Gauss-Seidel) updates, twice as fast as
        # averaged ones, over-relaxed by `omega` (see _Overrelaxation); the self-problems keep averaged updates.
        # Two parallel regions: f_ba with the self-problems, then g_ab from the new f_ba.
        d = damping(eps)
        terms = []
        new = [None, None, None, None]
        first = ops.softmins(([("xy", log_b, g_ab, f_ba)] if cross else []) + self_requests(), eps, d)
        if cross:
            new[0] = ops.relax(f_ba, first[0], omega)
            (gt_ab,) = ops.softmins([("yx", log_a, new[0], g_ab)], eps, d)
            terms.append((log_b, g_ab, gt_ab))
        if debias:
            ft_aa, gt_bb = first[-2:]
            terms += [(log_a, f_aa, ft_aa), (log_b, g_bb, gt_bb)]
        err = ops.error(terms, eps)
        if cross:
            new[1] = ops.relax(g_ab, gt_ab, omega)
        if debias:
            new[2], new[3] = ops.relax(f_aa, ft_aa, 0.5), ops.relax(g_bb, gt_bb, 0.5)
        return new, err

    errors = []
    n_iter = 0
    status = OPTIMAL
    for eps in eps_list:
        (f_ba, g_ab, f_aa, g_bb), err = step(eps)
        n_iter += 1
        errors.append(err)
    if tol is not None:
        status = MAX_ITER_REACHED
        relaxation = _Overrelaxation()
        while n_iter < max_iter:
            (f_ba, g_ab, f_aa, g_bb), err = converging_step(eps, relaxation.omega if cross else 1.0)
            n_iter += 1
            errors.append(err)
            relaxation.observe(err)
            if not math.isfinite(err):
                status = NUMERICAL_ERROR
                break
            if err <= tol:
                status = OPTIMAL
                break
    # a last full update from the averaged potentials (every side from the old values)
    if cross:
        last = [("xy", log_b, g_ab, f_ba), ("yx", log_a, f_ba, g_ab)]
    else:  # the self-potentials extended to the other cloud, from the same averaged values as the update below
        last = [("xy", log_b, g_bb, f_aa), ("yx", log_a, f_aa, g_bb)]
    new = ops.softmins(last + self_requests(), eps, damping(eps))
    f_ba, g_ab = new[:2]
    if debias:
        f_aa, g_bb = new[-2:]
    n_iter += 1
    pairs = [(f_ba, log_a), (g_ab, log_b)] + ([(f_aa, log_a), (g_bb, log_b)] if debias else [])
    if not ops.finite(pairs):
        status = NUMERICAL_ERROR
    return f_aa, g_bb, g_ab, f_ba, status, n_iter, np.asarray(errors, dtype=np.float64)


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
