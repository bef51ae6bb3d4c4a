"""The symmetric Sinkhorn loop of the Sinkhorn divergence (its epsilon schedules: ``_schedules``), below every user of
them: :mod:`numbaot.entropic.divergence` (host clouds), :mod:`numbaot.cuda.divergence` (device clouds, through the
same ``symmetric_sinkhorn`` over ``DeviceSoftmins``) and :mod:`numbaot.losses`. The math is in the divergence
module's docstring.

Every softmin is a half-step of a geometry of the one Sinkhorn loop (``_geometry``: ``DenseCosts`` for
:class:`DenseSoftmins`, ``PointClouds`` for :class:`OnlineSoftmins`; on the GPU the point-cloud geometry of
``cuda.loop``), so the symmetric updates share the loop's kernels. The steps themselves (averaged updates, the
annealing, the over-relaxed final phase) stay a host loop: a jitted symmetric rule would compile a second
specialisation of the loop for every divergence, where today the divergence compiles only the half-steps.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .._costs import cost_matrix
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from .._threads import run_parallel


class HostSoftmins:
    """The operations of :func:`symmetric_sinkhorn` on host (numpy) potentials; subclasses give ``_softmin``.

    ``numbaot.cuda.divergence.DeviceSoftmins`` is the same interface on GPU potentials.
    """

    def softmin(self, pair, log_w, other, eps, prev, damping):
        """``damping * -eps log sum_j w_j exp((other_j - C_ij) / eps)`` for every point i of the pair's first
        cloud (``prev``: the previous value, a hint for the shift of the one-pass log-sum-exp)."""
        return damping * self._softmin(pair, log_w, other, eps, prev)

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
        potentials stay float64): half the memory of float64 costs (not faster per row here: see ``_softmin``), but a
        marginal error floor near 1e-6, so callers ask for them only when no tolerance is to be met (a fixed annealing schedule)."""
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

    def _softmin(self, pair, log_w, other, eps, prev):
        from ._sinkhorn_log import host_half_step

        out = np.empty(self.C[pair].shape[0])
        run_parallel(host_half_step, self.n_threads, self.C[pair], log_w, other, eps, prev, out)
        return out


class OnlineSoftmins(HostSoftmins):
    """The softmins of the symmetric loop with costs computed from the points (O(n + m) memory): half-steps of the
    point-cloud geometry that the Sinkhorn loop runs (``_geometry.PointClouds``, the same parallel kernel)."""

    def __init__(self, X, Y, metric, p, n_threads, debias):
        from .._costs import PointClouds
        from ._geometry import COLUMNS, ROWS
        from ._online import PointGeometry

        self.n_threads = n_threads
        xy = PointClouds(*PointGeometry(X, Y, metric, p).args())
        self.pairs = {"xy": (xy, ROWS), "yx": (xy, COLUMNS)}
        if debias:
            self.pairs["xx"] = (PointClouds(*PointGeometry(X, X, metric, p).args()), ROWS)
            self.pairs["yy"] = (PointClouds(*PointGeometry(Y, Y, metric, p).args()), ROWS)

    def _softmin(self, pair, log_w, other, eps, prev):
        from ._geometry import half_step

        geom, side = self.pairs[pair]
        out = np.array(prev, dtype=np.float64)[None, :]  # the previous values seed each row's shift
        n = out.shape[1]
        other = np.ascontiguousarray(other, dtype=np.float64)[None, :]
        log_w = np.ascontiguousarray(log_w, dtype=np.float64)[None, :]
        run_parallel(half_step, self.n_threads, geom, side, other, log_w, np.zeros((1, n)), np.ones(1, np.uint8),
                     eps, 1.0, out)
        return out[0]


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
    ``ops.softmin(pair, log_w, other, eps, prev, damping)`` for ``pair`` in 'xy', 'yx', 'xx', 'yy' is the damped
    potential ``-damping eps log sum_j w_j exp((other_j - C_ij) / eps)`` on the first cloud of the pair (``prev``:
    its previous value, a hint). After the schedule, with ``tol`` not None, steps continue at the last temperature
    (alternate updates for the a-b problem, averaged ones for the self-problems) until the summed marginal
    (fixed-point) error is at most ``tol`` or ``max_iter`` steps were taken in all.

    ``cross=False`` (with ``debias``) solves the two self-problems only, and the last update extends each
    self-potential to the other cloud instead: ``f_ba`` is then b's potential on the points of a
    (``softmin('xy', log_b, g_bb)``) and ``g_ab`` a's potential on the points of b (the Hausdorff divergence).

    Returns ``(f_aa, g_bb, g_ab, f_ba, status, n_iter, errors)`` (``f_aa``, ``g_bb`` None without ``debias``).
    """
    def damping(eps):
        return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)

    zeros_a, zeros_b = ops.zeros(log_a), ops.zeros(log_b)
    eps = eps_list[0]
    d = damping(eps)
    # start from the softmins of zero potentials: at eps = diameter^p they are close to the cost's averages
    g_ab = ops.softmin("yx", log_a, zeros_a, eps, zeros_b, d) if cross else None
    f_ba = ops.softmin("xy", log_b, zeros_b, eps, zeros_a, d) if cross else None
    f_aa = ops.softmin("xx", log_a, zeros_a, eps, zeros_a, d) if debias else None
    g_bb = ops.softmin("yy", log_b, zeros_b, eps, zeros_b, d) if debias else None

    def self_step(eps, d, terms):
        # averaged updates: plain ones would oscillate on a self-problem
        ft_aa = ops.softmin("xx", log_a, f_aa, eps, f_aa, d)
        gt_bb = ops.softmin("yy", log_b, g_bb, eps, g_bb, d)
        terms += [(log_a, f_aa, ft_aa), (log_b, g_bb, gt_bb)]
        return ft_aa, gt_bb

    def step(eps):
        d = damping(eps)
        terms = []
        if cross:
            ft_ba = ops.softmin("xy", log_b, g_ab, eps, f_ba, d)
            gt_ab = ops.softmin("yx", log_a, f_ba, eps, g_ab, d)
            terms += [(log_a, f_ba, ft_ba), (log_b, g_ab, gt_ab)]
        if debias:
            ft_aa, gt_bb = self_step(eps, d, terms)
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
        d = damping(eps)
        terms = []
        new = [None, None, None, None]
        if cross:
            new[0] = ops.relax(f_ba, ops.softmin("xy", log_b, g_ab, eps, f_ba, d), omega)
            gt_ab = ops.softmin("yx", log_a, new[0], eps, g_ab, d)
            terms.append((log_b, g_ab, gt_ab))
        if debias:
            ft_aa, gt_bb = self_step(eps, d, terms)
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
    d = damping(eps)
    if cross:
        f_ba, g_ab = (ops.softmin("xy", log_b, g_ab, eps, f_ba, d), ops.softmin("yx", log_a, f_ba, eps, g_ab, d))
    else:  # the self-potentials extended to the other cloud, from the same averaged values as the update below
        f_ba, g_ab = (ops.softmin("xy", log_b, g_bb, eps, f_aa, d), ops.softmin("yx", log_a, f_aa, eps, g_bb, d))
    if debias:
        f_aa, g_bb = ops.softmin("xx", log_a, f_aa, eps, f_aa, d), ops.softmin("yy", log_b, g_bb, eps, g_bb, d)
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
