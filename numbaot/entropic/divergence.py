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

import numpy as np

from .._defaults import MAX_ITER, TOL
from ._options import DivergenceOptions
from ._schedules import annealing_schedule
from ._symmetric import CloudProblems, DenseProblems, divergence_value, hausdorff_potentials, symmetric_sinkhorn


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

    metric, p = V.check_metric(metric, p)
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
    # a fixed schedule, no tolerance: float32 clouds may iterate on float32 costs
    ops = (CloudProblems(X_a, X_b, metric, p, n_threads, True) if lazy else
           DenseProblems(X_a, X_b, metric, p, n_threads, True, V.result_dtype(X_a, X_b)))
    f_aa, g_bb, g_ab, f_ba, status, _, _ = symmetric_sinkhorn(ops, log_a, log_b, eps_list, rho, True, 0, None,
                                                             cross=False)
    F, G = hausdorff_potentials(f_aa, g_bb, g_ab, f_ba, eps_list[-1], rho)
    value = 0.5 * (float(np.dot(a[a > 0], F[a > 0])) + float(np.dot(b[b > 0], G[b > 0])))
    return value, F, G, status


def solve_divergence(X_a, X_b, a=None, b=None, reg=None, reg_m=None, metric="sqeuclidean", p=2.0, scaling=0.5,
                     debias=True, max_iter=MAX_ITER, tol=TOL, lazy=None, n_threads=None, warn=True, eps_list=None):
    """The Sinkhorn divergence (``debias=True``) or the annealed ``OT_eps`` (``debias=False``) between point
    clouds, as an :class:`OTResult`; what ``solve_sample(..., reg=..., debias=True)`` calls. CUDA clouds are solved
    on the GPU (``numbaot.cuda.divergence``; the result's potentials and plan are the caller's kind of array).

    ``value`` is the divergence, ``potential_a``/``potential_b`` GeomLoss's debiased potentials
    ``f_ba - f_aa`` and ``g_ab - g_bb`` (the gradients of S in the weights), ``plan_operator``/``plan`` those of the
    a-b problem, ``value_linear`` its ``<P, C>``. ``eps_list`` replaces the annealing schedule (its last entry must
    be ``reg``). ``tol=None`` runs the schedule and the final update only (GeomLoss's fixed iteration count);
    ``errors`` holds the summed marginal (fixed-point) error of every symmetric step.
    """
    from .. import _dispatch, _validation as V
    from .._finish import CloudsAnswer, clouds_detail, finish_clouds
    from ._sinkhorn_log import plan_linear
    from ._online import PointGeometry, online_plan_parts, plan_sums

    reg = V.check_reg(reg)
    metric, p = V.check_metric(metric, p)
    rho = V.check_reg_m_single(reg_m)
    scaling = V.check_open_unit(scaling, "scaling")
    debias = V.check_bool(debias, "debias")
    max_iter = V.check_max_iter(max_iter)
    tol = None if tol is None else V.check_tol(tol)
    opts = DivergenceOptions(reg, rho, metric, p, scaling, debias, max_iter, tol, eps_list)
    placement = _dispatch.place(X_a=X_a, X_b=X_b, a=a, b=b)
    if placement.on_gpu:
        return _solve_divergence_cuda(placement, X_a, X_b, a, b, opts, lazy, warn)
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
    if lazy:
        problems = CloudProblems(X_a, X_b, metric, p, n_threads, debias)
    else:  # float32 costs only under a fixed schedule: their error floor (~1e-6) is above the usual tolerances
        problems = DenseProblems(X_a, X_b, metric, p, n_threads, debias, out_dtype if tol is None else np.float64)
    f_aa, g_bb, g_ab, f_ba, status, n_iter, errors = symmetric_sinkhorn(problems, log_a, log_b, eps_list, rho,
                                                                         debias, max_iter, tol)
    value = divergence_value(a, b, f_aa, g_bb, g_ab, f_ba, reg, rho, debias)
    geom = PointGeometry(X_a, X_b, metric, p)
    # <P, C> of the a-b problem by the read-outs of the solvers it shares the loop with: the online solver's sums
    # from the points, or the dense solver's plan and values over blocks of rows of the cost matrix
    if lazy:
        value_linear = float(plan_sums(geom, log_a, log_b, f_ba, g_ab, reg, n_threads)[1].sum())
    else:
        value_linear = plan_linear(problems.C["xy"], log_a, log_b, f_ba, g_ab, reg, n_threads)
    operator, densify = online_plan_parts(geom, log_a, log_b, f_ba, g_ab, reg, out_dtype, n_threads)
    pot_a, pot_b = (f_ba - f_aa, g_ab - g_bb) if debias else (f_ba, g_ab)
    answer = CloudsAnswer(value, value_linear, pot_a.astype(out_dtype), pot_b.astype(out_dtype), status,
                          n_iter, errors, densify, operator, f_aa.astype(out_dtype) if debias else None,
                          g_bb.astype(out_dtype) if debias else None)
    return finish_clouds(answer, shape=(n, m), out_dtype=out_dtype, solver="sinkhorn divergence",
                         detail=clouds_detail(answer, "marginal error", tol, "steps"), warn=warn, weights=(a, b),
                         points=(X_a, X_b), stacklevel=5)


def _solve_divergence_cuda(placement, X_a, X_b, a, b, opts, lazy, warn):
    """The CUDA twin's answer as an :class:`OTResult` on the caller's device (see ``numbaot.cuda.divergence``):
    the costs always come from the points there, whatever ``lazy`` says."""
    from .. import _dispatch, _validation as V
    from .._finish import clouds_detail, finish_clouds

    solve_divergence_cuda = _dispatch.driver("divergence", placement)
    X_a = V.check_points(X_a, "X_a", allow_cuda=True)
    X_b = V.check_points(X_b, "X_b", allow_cuda=True)
    V.check_online_gpu_metric(opts.metric)
    if lazy is not None:
        V.check_bool(lazy, "lazy")
    # the values and masses, on the device with the host's messages, before the driver (which takes the checked
    # copies)
    from .online import check_device_clouds

    X, Y, wa, wb, masses = check_device_clouds(placement, X_a, X_b, a, b, balanced=opts.rho is None)
    opts = opts._replace(p=2.0 if opts.p is None else float(opts.p))
    answer, out_dtype = solve_divergence_cuda(X, Y, wa, wb, masses, opts, V.result_dtype(X_a, X_b), placement)
    return finish_clouds(answer, shape=(X_a.shape[0], X_b.shape[0]), out_dtype=out_dtype,
                         solver="sinkhorn divergence (cuda)",
                         detail=clouds_detail(answer, "marginal error", opts.tol, "steps"), warn=warn, device="cuda",
                         stacklevel=6)


def sinkhorn_divergence(X_a, X_b, a=None, b=None, *, reg=None, reg_m=None, metric="sqeuclidean", p=2.0,
                        scaling=0.5, max_iter=MAX_ITER, tol=TOL, lazy=None, n_threads=None, warn=True):
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
