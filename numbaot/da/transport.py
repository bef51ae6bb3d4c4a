"""Plan-based domain adaptation estimators on numbaot's solvers: exact (:class:`EMDTransport`), entropic
(:class:`SinkhornTransport`) and unbalanced entropic (:class:`UnbalancedSinkhornTransport`) OT between the
samples, POT's ``ot.da`` names and parameters."""
from __future__ import annotations

import numpy as np

from .. import _validation as V
from ._base import BaseTransport, distribution_estimation_uniform, normalize_cost, warn_status


def _solve_log(result, log, **extra):
    if not log:
        return {}
    out = {"status": result.status, "n_iter": result.n_iter, "err": np.asarray(result.errors)}
    out.update(extra)
    return out


def _entropic_solves_on_gpu(estimator):
    """The host twin of a fit on device arrays solves on the GPU with the method the CUDA driver has."""
    placement = estimator.__dict__.get("_solve_on")
    return placement is not None and placement.on_gpu and estimator.method == "sinkhorn_log"


def _sinkhorn_plan(estimator, **extra):
    """The entropic plan of the fitted cost and weights with the estimator's reg_e, method, max_iter and tol (a
    ConvergenceWarning in its name when not converged); sets ``coupling_`` and returns ``(result, reg, log, f, g)``
    with the potentials ``f``, ``g`` as host arrays.

    The host twin of a fit on device arrays (``_solve_on``, see ``_base.device_aware``) sends the cost and weights
    to the caller's device and solves there when the GPU driver has the method ('sinkhorn_log'); other methods are
    solved on the host. ``ran_on_`` records which.
    """
    from .. import _device
    from .._device import is_cuda_array, to_host
    from .._dispatch import to_caller
    from ..solvers import solve

    reg = V.check_reg(estimator.reg_e, "reg_e")
    log = V.check_bool(estimator.log, "log")
    V.check_bool(estimator.verbose, "verbose")
    arrays = (estimator.cost_, estimator.mu_s, estimator.mu_t)
    placement = estimator.__dict__.get("_solve_on")
    on_gpu = placement is not None and estimator._solves_on_gpu()
    if on_gpu:  # the cost may already be there (see BaseTransport._fit_cost)
        arrays = tuple(x if is_cuda_array(x) else to_caller(x, placement) for x in arrays)
    result = solve(*arrays, reg=reg, method=estimator.method, max_iter=estimator.max_iter, tol=estimator.tol,
                   warn=False, **extra)
    errors = np.asarray(result.errors)
    detail = f"error {errors[-1]:.3g} > tol {estimator.tol:g} after {result.n_iter} iterations; a larger reg_e " \
        "also helps" if errors.size else f"{result.n_iter} iterations"
    warn_status(result.status, type(estimator).__name__, detail)
    estimator.coupling_ = to_host(result.plan)
    if placement is not None and placement.on_gpu:
        estimator.ran_on_ = result.ran_on if on_gpu else _device.CPU
        if on_gpu:  # already on the caller's device: published as they are (no second copy)
            estimator._on_device = {"cost_": arrays[0], "mu_s": arrays[1], "mu_t": arrays[2], "coupling_": result.plan}
    return result, reg, log, to_host(result.potential_a), to_host(result.potential_b)


class EMDTransport(BaseTransport):
    """Domain adaptation by exact optimal transport (network simplex; Courty et al. 2017).

    Parameters
    ----------
    metric : str
        Ground cost between samples, one of numbaot.dist's metrics ('sqeuclidean', 'euclidean', 'cityblock',
        'minkowski', 'cosine').
    norm : {None, 'median', 'max', 'log', 'loglog'}
        Normalisation of the cost (POT's ``cost_normalization``).
    log : bool
        Keep a ``log_`` dict (status, pivots, potentials).
    distribution_estimation : callable
        ``X -> weights`` of the samples (uniform by default).
    out_of_sample_map : {'ferradans'}
        Out-of-sample map: nearest fitted sample's projection plus the displacement (Ferradans et al. 2014).
    limit_max : float
        Semi-supervised mode (``ys`` and ``yt`` given): labelled pairs of different classes cost ``limit_max``
        times the largest cost (``inf`` forbids them).
    max_iter : int or None
        Maximum number of network simplex pivots (POT's ``numItermax``; a ConvergenceWarning when reached). None,
        the default, is the solver's stall guard max(1e7, 1000 (n + m)): POT's default of 100000 stops problems of
        a few thousand points before the optimum.

    Attributes
    ----------
    coupling_ : array of shape (n_source_samples, n_target_samples)
    cost_ : array of shape (n_source_samples, n_target_samples)
    mu_s, mu_t : arrays of the sample weights
    xs_, xt_ : the fitted samples
    log_ : dict
    ran_on_ : str
        Only after a fit on device arrays: "cpu" (the network simplex runs on host copies; see
        :class:`~numbaot.da.BaseTransport`).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import EMDTransport
    >>> Xs, Xt = np.array([[0.0], [1.0]]), np.array([[5.0], [3.0]])
    >>> EMDTransport().fit(Xs=Xs, Xt=Xt).transform(Xs)
    array([[3.],
           [5.]])
    """

    def __init__(self, metric="sqeuclidean", norm=None, log=False,
                 distribution_estimation=distribution_estimation_uniform, out_of_sample_map="ferradans",
                 limit_max=10, max_iter=None):
        self.metric = metric
        self.norm = norm
        self.log = log
        self.distribution_estimation = distribution_estimation
        self.out_of_sample_map = out_of_sample_map
        self.limit_max = limit_max
        self.max_iter = max_iter

    def _solve(self):
        from ..solvers import solve

        log = V.check_bool(self.log, "log")
        max_iter = None if self.max_iter is None else V.check_max_iter(self.max_iter)
        result = solve(self.cost_, self.mu_s, self.mu_t, max_iter=max_iter, warn=False)
        warn_status(result.status, "EMDTransport (network simplex)", f"{result.n_iter} pivots")
        self.coupling_ = result.plan
        self.log_ = _solve_log(result, log, cost=float(result.value), u=result.potential_a, v=result.potential_b)


class SinkhornTransport(BaseTransport):
    """Domain adaptation by entropic optimal transport (Sinkhorn; Courty et al. 2017, Cuturi 2013).

    Parameters
    ----------
    reg_e : float > 0
        Entropic regularisation.
    method : str
        Sinkhorn variant of :func:`numbaot.sinkhorn` ('sinkhorn_log', 'sinkhorn', 'sinkhorn_stabilized',
        'sinkhorn_epsilon_scaling', 'greenkhorn'). Every variant gives potentials, so (unlike POT) the
        'continuous' out-of-sample map works with all of them.
    max_iter : int
        Maximum Sinkhorn iterations.
    tol : float
        Stop at this L1 marginal error (POT measures an L2 error; see :func:`numbaot.sinkhorn`).
    verbose : bool
        Accepted for POT's signature; progress is not printed (convergence problems raise a ConvergenceWarning).
    log : bool
        Keep a ``log_`` dict (status, iterations, errors, ``log_u``/``log_v`` as POT's log-domain scalings).
    metric, norm, distribution_estimation, limit_max
        As :class:`EMDTransport` (``limit_max`` defaults to inf: other classes are forbidden).
    out_of_sample_map : {'continuous', 'ferradans'}
        'continuous' (default): a point ``x`` goes to ``sum_j w_j(x) xt_j`` with the Gibbs weights
        ``w_j(x) ~ exp((g_j - c(x, xt_j)) / reg_e) b_j`` of the fitted target potential ``g`` (Pooladian and
        Niles-Weed 2021), the barycentric projection on the fitted points; 'ferradans': nearest fitted point plus
        displacement.

    Attributes
    ----------
    coupling_, cost_, mu_s, mu_t, xs_, xt_, log_
        As :class:`EMDTransport`.
    potentials_ : pair of arrays
        The dual potentials ``(f, g)``, ``coupling_ = mu_s mu_t^T exp((f + g - cost_) / reg_e)``.
    ran_on_ : str
        Only after a fit on device arrays: "cuda" with ``method='sinkhorn_log'`` (the solve dispatched to the GPU),
        "cpu" for the other methods (solved on host copies; see :class:`~numbaot.da.BaseTransport`).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import SinkhornTransport
    >>> Xs, Xt = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    >>> SinkhornTransport(reg_e=1.0).fit(Xs=Xs, Xt=Xt).transform(Xs).round(4)
    array([[2.2689],
           [2.7311]])
    """

    _OUT_OF_SAMPLE = ("continuous", "ferradans")

    def __init__(self, reg_e=1.0, method="sinkhorn_log", max_iter=1000, tol=10e-9, verbose=False, log=False,
                 metric="sqeuclidean", norm=None, distribution_estimation=distribution_estimation_uniform,
                 out_of_sample_map="continuous", limit_max=np.inf):
        self.reg_e = reg_e
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.log = log
        self.metric = metric
        self.norm = norm
        self.distribution_estimation = distribution_estimation
        self.out_of_sample_map = out_of_sample_map
        self.limit_max = limit_max

    _solves_on_gpu = _entropic_solves_on_gpu

    def _solve(self):
        result, reg, log, f, g = _sinkhorn_plan(self)
        self._fitted["reg_e"] = reg
        f = np.asarray(f, dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
        self.potentials_ = (f, g)
        with np.errstate(divide="ignore"):
            self._log_u = f / reg + np.log(self.mu_s)
            self._log_v = g / reg + np.log(self.mu_t)
        self.log_ = _solve_log(result, log, log_u=self._log_u, log_v=self._log_v)

    def _projects_fitted_points(self):
        # with a label-corrected cost, POT's continuous map (plain metric costs) differs from the plan's projection
        return self._fitted["out_of_sample_map"] == "ferradans" or not self._labelled_cost

    def _out_of_sample(self, X, side, batch_size):
        """POT's 'continuous' map, in a stable form: row-wise softmax of ``log_w - c(x, other) / reg_e``."""
        if self._fitted["out_of_sample_map"] == "ferradans":
            return super()._out_of_sample(X, side, batch_size)
        from ..utils import dist

        other, log_w = (self.xt_, self._log_v) if side == "s" else (self.xs_, self._log_u)
        metric, norm = self._fitted["metric"], self._fitted["norm"]
        out = np.empty((X.shape[0], other.shape[1]))
        for start in range(0, X.shape[0], batch_size):
            M = dist(X[start:start + batch_size], other, metric=metric).astype(np.float64, copy=False)
            M, _ = normalize_cost(M, norm, self.norm_cost_)
            z = log_w[None, :] - M / self._fitted["reg_e"]
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            out[start:start + batch_size] = z @ other
        return out


class UnbalancedSinkhornTransport(BaseTransport):
    """Domain adaptation by unbalanced entropic OT (KL-relaxed marginals; Chizat et al. 2018).

    Parameters
    ----------
    reg_e : float > 0
        Entropic regularisation.
    reg_m : float > 0, or a pair
        KL penalty on the marginals (see :func:`numbaot.sinkhorn_unbalanced`).
    method : {'sinkhorn', 'sinkhorn_log', 'sinkhorn_translation_invariant'}
        Solver of :func:`numbaot.sinkhorn_unbalanced` ('sinkhorn' is POT's default scaling iteration). On device
        arrays 'sinkhorn_log' runs on the GPU (``ran_on_ = 'cuda'``), the others on host copies (``'cpu'``).
    max_iter : int
        Maximum iterations. The default, 1000, differs from POT's 10 (which stops long before convergence).
    tol : float
        Stop when the potentials change by less than ``tol`` (relative to reg_e) per iteration.
    verbose, log, metric, norm, distribution_estimation, out_of_sample_map, limit_max
        As :class:`EMDTransport`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import UnbalancedSinkhornTransport
    >>> Xs, Xt = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    >>> est = UnbalancedSinkhornTransport(reg_e=1.0, reg_m=1.0).fit(Xs=Xs, Xt=Xt)
    >>> est.coupling_.round(4)  # mass is destroyed rather than moved far
    array([[0.0602, 0.002 ],
           [0.2457, 0.0602]])
    """

    def __init__(self, reg_e=1.0, reg_m=0.1, method="sinkhorn", max_iter=1000, tol=1e-9, verbose=False, log=False,
                 metric="sqeuclidean", norm=None, distribution_estimation=distribution_estimation_uniform,
                 out_of_sample_map="ferradans", limit_max=10):
        self.reg_e = reg_e
        self.reg_m = reg_m
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.log = log
        self.metric = metric
        self.norm = norm
        self.distribution_estimation = distribution_estimation
        self.out_of_sample_map = out_of_sample_map
        self.limit_max = limit_max

    _solves_on_gpu = _entropic_solves_on_gpu

    def _solve(self):
        result, _, log, f, g = _sinkhorn_plan(self, unbalanced=self.reg_m)
        self.log_ = _solve_log(result, log, u=f, v=g)


