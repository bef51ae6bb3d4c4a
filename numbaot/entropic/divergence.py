r"""Sinkhorn divergences between point clouds (Feydy et al. 2019), with GeomLoss's epsilon annealing.

.. math::
    S_\varepsilon(a, b) = \mathrm{OT}_\varepsilon(a, b) - \tfrac12 \mathrm{OT}_\varepsilon(a, a)
                          - \tfrac12 \mathrm{OT}_\varepsilon(b, b),
    \qquad \mathrm{OT}_\varepsilon(a, b) = \min_P \langle P, C\rangle + \varepsilon\,\mathrm{KL}(P \mid a b^T)
    \;[+ \rho\,\mathrm{KL}(P 1 \mid a) + \rho\,\mathrm{KL}(P^T 1 \mid b)].

The three problems are solved together by *symmetric* updates: each step computes the four softmins (the a-b problem
in both directions, a-a and b-b) from the current potentials and replaces every potential by the average of its old
and new value, which converges where alternate updates of the self-problems would oscillate. The temperature is
annealed (epsilon scaling): it starts at the data's diameter raised to the cost's power and is multiplied by
``scaling ** power`` at each step down to its target, then (optionally) iterations continue at the target until
the marginal error is below ``tol``, and a last full (non-averaged) update ends the loop, as GeomLoss does.

At the optimum ``OT_eps(a, b) = <a, f_ba> + <b, g_ab>`` and ``OT_eps(a, a) = 2 <a, f_aa>``, so
``S = <a, f_ba - f_aa> + <b, g_ab - g_bb>`` (balanced). With KL penalties of strength ``rho`` on the marginals the
softmins are damped by ``1 / (1 + eps / rho)`` and ``S = (rho + eps / 2) (<a, e^{-f_aa/rho} - e^{-f_ba/rho}> +
<b, e^{-g_bb/rho} - e^{-g_ab/rho}>)`` (Sejourne et al. 2019, Prop. 12).

GeomLoss's parameters and ours
------------------------------
GeomLoss's ``SamplesLoss("sinkhorn", p, blur, reach, scaling)`` uses the cost ``|x - y|^p / p`` with
``eps = blur^p`` and ``rho = reach^p``. Our solvers use the metric's cost without the ``1 / p`` ('sqeuclidean' is
``|x - y|^2``), so the same problem is ``reg = p * blur^p`` and ``reg_m = p * reach^p`` here (as in
``geomloss.ot.solve_sample``), and every value and potential is ``p`` times GeomLoss's.
:func:`numbaot.samples_loss` takes GeomLoss's parameters and returns GeomLoss's values.
"""
from __future__ import annotations

import math

import numpy as np

from ._sinkhorn_log import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL


def epsilon_schedule(power, diameter, blur, scaling):
    """GeomLoss's temperatures: ``diameter^p``, then ``blur^p`` reached by steps of ``scaling^p``, then ``blur^p``.

    ``[diameter**p] + [exp(e) for e in arange(p log(diameter), p log(blur), p log(scaling))] + [blur**p]``; a
    diameter below ``blur`` (clouds smaller than the blur) gives ``[diameter**p, blur**p]`` only.
    """
    diameter = max(float(diameter), float(blur))
    steps = np.arange(power * math.log(diameter), power * math.log(blur), power * math.log(scaling))
    return [diameter**power] + [math.exp(e) for e in steps] + [blur**power]


def max_diameter(X, Y):
    """GeomLoss's bound on the distances between the points: the diagonal of the two clouds' bounding box."""
    low = np.minimum(X.min(axis=0), Y.min(axis=0))
    high = np.maximum(X.max(axis=0), Y.max(axis=0))
    return float(np.linalg.norm(high - low))


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

    def average(self, old, new):
        """``(old + new) / 2``; it may overwrite ``old``, which the loop no longer needs."""
        old += new
        old *= 0.5
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

    def __init__(self, X, Y, metric, p, n_threads, debias):
        from ..utils import dist

        self.n_threads = n_threads
        C_xy = dist(X, Y, metric=metric, p=p, n_threads=n_threads).astype(np.float64, copy=False)
        self.C = {"xy": C_xy, "yx": np.ascontiguousarray(C_xy.T)}
        if debias:
            self.C["xx"] = dist(X, X, metric=metric, p=p, n_threads=n_threads).astype(np.float64, copy=False)
            self.C["yy"] = dist(Y, Y, metric=metric, p=p, n_threads=n_threads).astype(np.float64, copy=False)

    def _softmin(self, pair, log_w, other, eps, prev):
        from ..utils import _run_parallel
        from ._sinkhorn_log import half_step

        out = np.empty(self.C[pair].shape[0])
        _run_parallel(half_step, self.n_threads, self.C[pair], log_w, other, eps, prev, out)
        return out


class OnlineSoftmins(HostSoftmins):
    """The softmins of the symmetric loop with costs computed from the points (O(n + m) memory)."""

    def __init__(self, X, Y, metric, p, n_threads, debias):
        from ._online import PointGeometry

        self.n_threads = n_threads
        xy = PointGeometry(X, Y, metric, p)
        self.args = {"xy": xy.args(), "yx": xy.swapped_args()}
        if debias:
            self.args["xx"] = PointGeometry(X, X, metric, p).args()
            self.args["yy"] = PointGeometry(Y, Y, metric, p).args()

    def _softmin(self, pair, log_w, other, eps, prev):
        from ..utils import _run_parallel
        from ._online import half_step

        args = self.args[pair]
        out = np.empty(args[0].shape[0])
        _run_parallel(half_step, self.n_threads, *args, log_w, other, eps, prev, out)
        return out


def _fixed_point_error(log_w, old, new, eps):
    """``sum_i w_i |exp((old_i - new_i) / eps) - 1|``: the L1 error of the marginal that the update ``new`` makes
    exact (balanced OT); zero exactly at a fixed point (unbalanced OT too)."""
    w = np.exp(log_w)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sum(np.where(w > 0, w * np.abs(np.expm1((old - new) / eps)), 0.0)))


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
            new[0], new[1] = ops.average(f_ba, ft_ba), ops.average(g_ab, gt_ab)
        if debias:
            new[2], new[3] = ops.average(f_aa, ft_aa), ops.average(g_bb, gt_bb)
        return new, err

    def converging_step(eps):
        # At the final temperature the a-b problem takes alternate (Gauss-Seidel) updates, twice as fast as
        # averaged ones; the self-problems keep averaged updates.
        d = damping(eps)
        terms = []
        new = [None, None, None, None]
        if cross:
            new[0] = ops.softmin("xy", log_b, g_ab, eps, f_ba, d)
            new[1] = ops.softmin("yx", log_a, new[0], eps, g_ab, d)
            terms.append((log_b, g_ab, new[1]))
        if debias:
            ft_aa, gt_bb = self_step(eps, d, terms)
        err = ops.error(terms, eps)
        if debias:
            new[2], new[3] = ops.average(f_aa, ft_aa), ops.average(g_bb, gt_bb)
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
        while n_iter < max_iter:
            (f_ba, g_ab, f_aa, g_bb), err = converging_step(eps)
            n_iter += 1
            errors.append(err)
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


def hausdorff_divergence(X_a, X_b, a, b, eps_list, rho, metric="sqeuclidean", p=2.0, lazy=None, n_threads=None):
    r"""The Hausdorff divergence between host point clouds (Feydy and Trouve 2018; Feydy et al. 2019, Sec. 3):

    .. math::
        H_\varepsilon(a, b) = \tfrac12 \langle a - b, \nabla E_\varepsilon(a) - \nabla E_\varepsilon(b)
        \rangle, \qquad E_\varepsilon(a) = -\tfrac12 \mathrm{OT}_\varepsilon(a, a),

    the symmetric Bregman divergence of the Sinkhorn entropy E. Its gradient is the self-problem's potential
    (``-f_aa``) extended to any point by the softmin, so only the two self-problems are solved (the symmetric loop,
    annealed over ``eps_list``, whose last entry is the temperature) and each potential is extended to the other
    cloud: ``H = (<a, f_ba - f_aa> + <b, g_ab - g_bb>) / 2`` with ``f_ba`` b's potential on the points of a.
    With KL penalties of strength ``rho`` the softmins are damped and the gradients are those of
    :func:`hausdorff_potentials`. ``H >= 0`` (balanced), ``H(a, a) = 0``; as eps -> 0 it tends to
    ``(sum_i a_i min_j C(x_i, y_j) + sum_j b_j min_i C(x_i, y_j)) / 2`` (balanced), as eps -> inf to the kernel
    norm ``-<a - b, C (a - b)> / 2`` (the Sinkhorn divergence's limit too).

    Weights are validated here (equal masses when balanced). Returns ``(value, F, G, status)`` with
    :func:`hausdorff_potentials`' ``F``, ``G`` (float64).
    """
    from .. import _validation as V

    n, m = X_a.shape[0], X_b.shape[0]
    if rho is None:
        a, b = V.check_balanced_weights(a, b, n, m)
    else:
        a, b = V.check_weights(a, "a", n), V.check_weights(b, "b", m)
    a, b = a.astype(np.float64), b.astype(np.float64)
    if lazy is None:  # GeomLoss's "auto": cost matrices while they are small
        lazy = n * m > 5000**2
    lazy = V.check_bool(lazy, "lazy")
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    ops = (OnlineSoftmins if lazy else DenseSoftmins)(X_a, X_b, metric, p, n_threads, True)
    f_aa, g_bb, g_ab, f_ba, status, _, _ = symmetric_sinkhorn(ops, log_a, log_b, eps_list, rho, True, 0, None,
                                                             cross=False)
    F, G = hausdorff_potentials(f_aa, g_bb, g_ab, f_ba, eps_list[-1], rho)
    value = 0.5 * (float(np.dot(a[a > 0], F[a > 0])) + float(np.dot(b[b > 0], G[b > 0])))
    return value, F, G, status


def solve_divergence(X_a, X_b, a=None, b=None, reg=None, reg_m=None, metric="sqeuclidean", p=2.0, scaling=0.5,
                     debias=True, max_iter=1000, tol=1e-9, lazy=None, n_threads=None, warn=True, eps_list=None):
    """The Sinkhorn divergence (``debias=True``) or the annealed ``OT_eps`` (``debias=False``) between point
    clouds, as an :class:`OTResult`; what ``solve_sample(..., reg=..., debias=True)`` calls. CUDA clouds are solved
    on the GPU (``numbaot.cuda.divergence``; the result's potentials and plan are the caller's kind of array).

    ``value`` is the divergence, ``potential_a``/``potential_b`` GeomLoss's debiased potentials
    ``f_ba - f_aa`` and ``g_ab - g_bb`` (the gradients of S in the weights), ``plan_operator``/``plan`` those of the
    a-b problem, ``value_linear`` its ``<P, C>``. ``eps_list`` replaces the annealing schedule (its last entry must
    be ``reg``). ``tol=None`` runs the schedule and the final update only (GeomLoss's fixed iteration count);
    ``errors`` holds the summed marginal (fixed-point) error of every symmetric step.
    """
    from .. import _device, _validation as V
    from .._result import OTResult
    from .._status import Status, warn_status
    from ..utils import _run_parallel
    from ._online import PointGeometry, online_plan_parts, row_sums

    reg = V.check_reg(reg)
    rho = V.check_reg_m_single(reg_m)
    scaling = V.check_open_unit(scaling, "scaling")
    debias = V.check_bool(debias, "debias")
    max_iter = V.check_max_iter(max_iter)
    tol = None if tol is None else V.check_tol(tol)
    if _device.where(X_a=X_a, X_b=X_b, a=a, b=b) == _device.CUDA:
        return _solve_divergence_cuda(X_a, X_b, a, b, reg, rho, metric, p, scaling, debias, max_iter, tol, lazy,
                                      warn, eps_list)
    X_a = V.check_points(X_a, "X_a")
    X_b = V.check_points(X_b, "X_b")
    V.check_same_dimension(X_a, X_b)
    n, m = X_a.shape[0], X_b.shape[0]
    if rho is None:
        a, b = V.check_balanced_weights(a, b, n, m)
    else:
        a, b = V.check_weights(a, "a", n), V.check_weights(b, "b", m)
    a, b = a.astype(np.float64), b.astype(np.float64)
    out_dtype = V.result_dtype(X_a, X_b)
    if lazy is None:  # GeomLoss's "auto": cost matrices while they are small
        lazy = n * m > 5000**2
    lazy = V.check_bool(lazy, "lazy")
    if eps_list is None:
        low = np.minimum(X_a.min(axis=0), X_b.min(axis=0))
        high = np.maximum(X_a.max(axis=0), X_b.max(axis=0))
        eps_list = annealing_schedule(low, high, metric, p, reg, scaling)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    kind = OnlineSoftmins if lazy else DenseSoftmins
    softmin = kind(X_a, X_b, metric, p, n_threads, debias)
    f_aa, g_bb, g_ab, f_ba, status, n_iter, errors = symmetric_sinkhorn(softmin, log_a, log_b, eps_list, rho,
                                                                         debias, max_iter, tol)
    if warn:
        detail = f"marginal error {errors[-1]:.3g} > tol {tol:g} after {n_iter} steps" if tol is not None else ""
        warn_status(status, "sinkhorn divergence", detail, stacklevel=4)
    value = divergence_value(a, b, f_aa, g_bb, g_ab, f_ba, reg, rho, debias)
    geom = PointGeometry(X_a, X_b, metric, p)
    mass, cost = np.empty(n), np.empty(n)
    _run_parallel(row_sums, n_threads, *geom.args(), log_a, log_b, f_ba, g_ab, reg, mass, cost)
    operator, densify = online_plan_parts(geom, log_a, log_b, f_ba, g_ab, reg, out_dtype, n_threads)
    pot_a, pot_b = (f_ba - f_aa, g_ab - g_bb) if debias else (f_ba, g_ab)
    return OTResult(
        value=out_dtype.type(value),
        value_linear=out_dtype.type(cost.sum()),
        shape=(n, m),
        potential_a=pot_a.astype(out_dtype),
        potential_b=pot_b.astype(out_dtype),
        status=Status(status),
        n_iter=n_iter,
        errors=errors,
        plan_operator=operator,
        densify=densify,
    )


def _solve_divergence_cuda(X_a, X_b, a, b, reg, rho, metric, p, scaling, debias, max_iter, tol, lazy, warn,
                           eps_list):
    """The CUDA twin's answer as an :class:`OTResult` on the caller's device (see ``numbaot.cuda.divergence``):
    the costs always come from the points there, whatever ``lazy`` says."""
    from .. import _validation as V
    from .._result import OTResult
    from .._status import Status, warn_status
    from ..cuda.divergence import solve_divergence_cuda

    X_a = V.check_points(X_a, "X_a", allow_cuda=True)
    X_b = V.check_points(X_b, "X_b", allow_cuda=True)
    if lazy is not None:
        V.check_bool(lazy, "lazy")
    value, value_linear, pot_a, pot_b, status, n_iter, errors, densify, out_dtype = solve_divergence_cuda(
        X_a, X_b, a, b, reg, rho, metric, 2.0 if p is None else float(p), scaling, debias, max_iter, tol, eps_list)
    if warn:
        detail = f"marginal error {errors[-1]:.3g} > tol {tol:g} after {n_iter} steps" if tol is not None else ""
        warn_status(status, "sinkhorn divergence (cuda)", detail, stacklevel=4)
    return OTResult(
        value=out_dtype.type(value),
        value_linear=out_dtype.type(value_linear),
        shape=(int(X_a.shape[0]), int(X_b.shape[0])),
        potential_a=pot_a,
        potential_b=pot_b,
        status=Status(status),
        n_iter=n_iter,
        errors=errors,
        device="cuda",
        densify=densify,
    )


def annealing_schedule(low, high, metric, p, reg, scaling):
    """The temperatures of :func:`solve_divergence` for clouds in the box with corners ``low``, ``high``: from
    the largest cost between them (the cost across the box's diagonal; 2 for 'cosine') down to ``reg``."""
    power = 2.0 if metric == "sqeuclidean" else 1.0
    if metric == "cosine":
        top = 2.0
    else:
        from ..utils import dist

        top = float(dist(np.asarray(low, dtype=np.float64)[None, :], np.asarray(high, dtype=np.float64)[None, :],
                         metric=metric, p=p)[0, 0])
    eps_list = epsilon_schedule(power, top ** (1 / power), reg ** (1 / power), scaling)
    eps_list[-1] = reg  # exactly, whatever the rounding of reg^(1/p)^p
    return eps_list


def sinkhorn_divergence(X_a, X_b, a=None, b=None, reg=None, reg_m=None, metric="sqeuclidean", p=2.0, scaling=0.5,
                        max_iter=1000, tol=1e-9, lazy=None, n_threads=None, warn=True):
    r"""Sinkhorn divergence ``S(a, b) = OT(a, b) - (OT(a, a) + OT(b, b)) / 2`` between two point clouds.

    ``OT`` is the entropic transport cost including its regularisation (``<P, C> + reg KL(P | a b^T)``, plus
    ``reg_m`` times the KL divergences of the marginals when ``reg_m`` is given). The three problems are solved
    together by symmetric updates with epsilon annealing from the clouds' diameter (see
    :mod:`numbaot.entropic.divergence`). ``S >= 0``, ``S(a, a) = 0``, and ``S`` tends to the exact OT cost as
    ``reg -> 0``.

    Parameters
    ----------
    X_a, X_b : arrays of shape (n, d) and (m, d), or (n,) and (m,)
        Support points: numpy, or CUDA arrays (CuPy, Numba) to solve on the GPU (potentials stay on the device,
        one scalar per step comes back; every metric but 'cosine').
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None); of equal mass unless ``reg_m`` is given.
    reg : float > 0
        Entropic regularisation eps in the units of the cost (GeomLoss's ``blur``: ``reg = p * blur**p``).
    reg_m : float > 0, optional
        Strength rho of the KL penalties on the marginals (unbalanced OT); None for balanced OT (GeomLoss's
        ``reach``: ``reg_m = p * reach**p``).
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski', 'cosine'}
        Ground cost, as in :func:`numbaot.dist`.
    p : float >= 1
        Exponent of 'minkowski'.
    scaling : float in (0, 1)
        Annealing ratio: eps is multiplied by ``scaling**2`` ('sqeuclidean') or ``scaling`` (other metrics) per
        step, from the largest cost between the clouds down to ``reg``.
    max_iter : int
        Maximum number of symmetric steps in all (annealing included).
    tol : float >= 0 or None
        Continue at ``reg`` after the annealing until the summed L1 marginal error of the three problems is at
        most ``tol``; None stops after the schedule (GeomLoss's behaviour: a fixed number of steps).
    lazy : bool or None
        Costs from the points at every step (O(n + m) memory) or cost matrices; None: matrices up to n m = 5000^2.
    n_threads : int, optional
        Threads (default: Numba's thread count).
    warn : bool
        Emit a ConvergenceWarning when ``tol`` is not reached.

    Returns
    -------
    float
        The divergence, in the dtype of the points (use ``solve_sample(..., debias=True)`` for potentials and
        convergence information).

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> abs(float(numbaot.sinkhorn_divergence(X, X, reg=0.01))) < 1e-15  # zero, up to rounding
    True
    >>> round(float(numbaot.sinkhorn_divergence(X, X + [0.5, 0.0], reg=1e-4)), 4)  # a translation by t: |t|^2
    0.25
    """
    return solve_divergence(X_a, X_b, a, b, reg, reg_m, metric, p, scaling, True, max_iter, tol, lazy, n_threads,
                            warn).value
