"""Class- and structure-regularised plans for domain adaptation, on :mod:`numbaot.optim`'s solvers:
:class:`SinkhornLpl1Transport` and :class:`SinkhornL1l2Transport` (group sparsity on the source classes; Courty et
al. 2016) and :class:`EMDLaplaceTransport` (Laplacian regularisation of the transported positions; Flamary et al.
2014)."""
from __future__ import annotations

import numpy as np

from .. import _validation as V
from ._base import BaseTransport, distribution_estimation_uniform, warn_status


def _finite_cost(estimator):
    if not np.all(np.isfinite(estimator.cost_)):
        raise ValueError(f"{type(estimator).__name__}: with both ys and yt, limit_max=inf forbids the pairs of "
                         "different classes, but this solver needs finite costs; pass a finite limit_max (say 10: "
                         "ten times the largest cost)")


def _log(result_log, log):
    return dict(result_log) if log else {}


class SinkhornLpl1Transport(BaseTransport):
    """Domain adaptation by entropic OT with the l_p^1 class regulariser (p = 1/2; Courty et al. 2016): each
    target sample is discouraged from receiving mass from several source classes. Solved by
    :func:`numbaot.sinkhorn_lpl1_mm` (majorisation-minimisation, warm-started Sinkhorn).

    Parameters
    ----------
    reg_e : float > 0
        Entropic regularisation.
    reg_cl : float >= 0
        Weight of the class regulariser.
    max_iter : int
        Majorisation-minimisation steps.
    max_inner_iter : int
        Sinkhorn iterations per step.
    log : bool
        Keep the solver's log in ``log_``.
    tol : float
        Sinkhorn's tolerance.
    verbose : bool
        Accepted for POT's signature (nothing is printed).
    metric, norm, distribution_estimation, out_of_sample_map, limit_max
        As :class:`numbaot.da.EMDTransport` (``limit_max`` must be finite when both ``ys`` and ``yt`` are given:
        the solver needs finite costs).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import SinkhornLpl1Transport
    >>> Xs, ys = np.array([[0.0], [0.2], [3.0]]), np.array([0, 0, 1])
    >>> est = SinkhornLpl1Transport(reg_e=0.1, reg_cl=1.0).fit(Xs, ys, Xt=np.array([[0.1], [0.3], [3.1]]))
    >>> est.transform_labels(ys).round(3)
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    """

    def __init__(self, reg_e=1.0, reg_cl=0.1, max_iter=10, max_inner_iter=200, log=False, tol=10e-9, verbose=False,
                 metric="sqeuclidean", norm=None, distribution_estimation=distribution_estimation_uniform,
                 out_of_sample_map="ferradans", limit_max=np.inf):
        self.reg_e = reg_e
        self.reg_cl = reg_cl
        self.max_iter = max_iter
        self.max_inner_iter = max_inner_iter
        self.log = log
        self.tol = tol
        self.verbose = verbose
        self.metric = metric
        self.norm = norm
        self.distribution_estimation = distribution_estimation
        self.out_of_sample_map = out_of_sample_map
        self.limit_max = limit_max

    _solver = "sinkhorn_lpl1_mm"

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the plan (``ys`` required); returns self. Parameters as :meth:`BaseTransport.fit`."""
        from ..optim import regularized

        log = V.check_bool(self.log, "log")
        V.check_bool(self.verbose, "verbose")
        ys, _ = self._fit_cost(Xs, ys, Xt, yt, need_ys=True)
        _finite_cost(self)
        out = getattr(regularized, self._solver)(self.mu_s, ys, self.mu_t, self.cost_, self.reg_e, self.reg_cl,
                                                 max_iter=self.max_iter, max_inner_iter=self.max_inner_iter,
                                                 inner_tol=self.tol, log=True, warn=False)
        warn_status(out[1]["status"], f"{type(self).__name__} ({self._solver})",
                    f"{out[1]['n_iter']} iterations; raise max_iter or max_inner_iter, or loosen tol")
        self.coupling_ = out[0]
        self.log_ = _log(out[1], log)
        return self


class SinkhornL1l2Transport(SinkhornLpl1Transport):
    """Domain adaptation by entropic OT with the l1-l2 group lasso on the source classes (Courty et al. 2016),
    solved by :func:`numbaot.sinkhorn_l1l2_gl` (generalised conditional gradient).

    Parameters
    ----------
    reg_e, reg_cl, max_inner_iter, verbose, log, metric, norm, distribution_estimation, out_of_sample_map
        As :class:`SinkhornLpl1Transport`.
    max_iter : int
        Conditional gradient iterations.
    tol : float
        Sinkhorn's tolerance and the outer loop's (as POT).
    limit_max : float
        As :class:`SinkhornLpl1Transport`, but 10 by default (POT's default), so that labelled targets work as
        given.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import SinkhornL1l2Transport
    >>> Xs, ys = np.array([[0.0], [0.2], [3.0]]), np.array([0, 0, 1])
    >>> est = SinkhornL1l2Transport(reg_e=0.1, reg_cl=1.0).fit(Xs, ys, Xt=np.array([[0.1], [0.3], [3.1]]))
    >>> est.transform_labels(ys).round(3)
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    """

    def __init__(self, reg_e=1.0, reg_cl=0.1, max_iter=10, max_inner_iter=200, tol=10e-9, verbose=False, log=False,
                 metric="sqeuclidean", norm=None, distribution_estimation=distribution_estimation_uniform,
                 out_of_sample_map="ferradans", limit_max=10):
        super().__init__(reg_e=reg_e, reg_cl=reg_cl, max_iter=max_iter, max_inner_iter=max_inner_iter, log=log,
                         tol=tol, verbose=verbose, metric=metric, norm=norm,
                         distribution_estimation=distribution_estimation, out_of_sample_map=out_of_sample_map,
                         limit_max=limit_max)

    _solver = "sinkhorn_l1l2_gl"


class EMDLaplaceTransport(BaseTransport):
    """Domain adaptation by exact OT with a Laplacian regulariser that keeps the similarity structure of the
    samples (Flamary et al. 2014), solved by :func:`numbaot.emd_laplace` (conditional gradient, exact line search).

    Parameters
    ----------
    reg_type : {'pos', 'disp'}
        Regularise the transported positions or the displacements.
    reg_lap : float >= 0
        Weight of the Laplacian regulariser (``eta`` of :func:`numbaot.emd_laplace`).
    reg_src : float in [0, 1]
        Balance of the source and target graphs (``alpha``).
    metric, norm
        As :class:`numbaot.da.EMDTransport`.
    similarity : {'knn', 'gauss'}
        The similarity graph of each sample.
    similarity_param : int or float, optional
        k of 'knn' (default 3), sigma of 'gauss'.
    max_iter : int
        Conditional gradient iterations.
    tol : float
        Relative tolerance on the objective.
    max_inner_iter, inner_tol
        Accepted for POT's signature: each linear problem is solved to optimality by numbaot's network simplex.
    log : bool
        Keep the solver's log in ``log_``.
    verbose : bool
        Accepted for POT's signature (nothing is printed).
    distribution_estimation, out_of_sample_map
        As :class:`numbaot.da.EMDTransport`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import EMDLaplaceTransport
    >>> Xs = np.array([[0.0], [1.0], [2.0]])
    >>> EMDLaplaceTransport(reg_lap=0.1, similarity_param=1).fit(Xs=Xs, Xt=Xs + 5).transform(Xs).round(6)
    array([[5.],
           [6.],
           [7.]])
    """

    #: Semi-supervised cost of labelled pairs of different classes, in units of the largest cost (not a parameter:
    #: POT's EMDLaplaceTransport has none, and its base class's fit would fail on labels without it).
    limit_max = 10

    def __init__(self, reg_type="pos", reg_lap=1.0, reg_src=1.0, metric="sqeuclidean", norm=None, similarity="knn",
                 similarity_param=None, max_iter=100, tol=1e-9, max_inner_iter=100000, inner_tol=1e-9, log=False,
                 verbose=False, distribution_estimation=distribution_estimation_uniform,
                 out_of_sample_map="ferradans"):
        self.reg_type = reg_type
        self.reg_lap = reg_lap
        self.reg_src = reg_src
        self.metric = metric
        self.norm = norm
        self.similarity = similarity
        self.similarity_param = similarity_param
        self.max_iter = max_iter
        self.tol = tol
        self.max_inner_iter = max_inner_iter
        self.inner_tol = inner_tol
        self.log = log
        self.verbose = verbose
        self.distribution_estimation = distribution_estimation
        self.out_of_sample_map = out_of_sample_map

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the plan (labels make the cost semi-supervised, with ``limit_max`` = 10 as POT's base class);
        returns self."""
        from ..optim.regularized import emd_laplace

        log = V.check_bool(self.log, "log")
        V.check_bool(self.verbose, "verbose")
        V.check_max_iter(self.max_inner_iter, "max_inner_iter")
        V.check_tol(self.inner_tol, "inner_tol")
        V.check_choice(self.similarity, "similarity", ("knn", "gauss"))  # named as the estimator's parameters
        V.check_choice(self.reg_type, "reg_type", ("pos", "disp"))
        self._fit_cost(Xs, ys, Xt, yt)
        _finite_cost(self)
        G, info = emd_laplace(self.mu_s, self.mu_t, self.xs_, self.xt_, self.cost_, sim=self.similarity,
                              sim_param=self.similarity_param, reg=self.reg_type, eta=self.reg_lap,
                              alpha=self.reg_src, max_iter=self.max_iter, tol_rel=self.tol, log=True, warn=False)
        warn_status(info["status"], "EMDLaplaceTransport (emd_laplace)", f"{info['n_iter']} iterations")
        self.coupling_ = G
        self.log_ = _log(info, log)
        return self
