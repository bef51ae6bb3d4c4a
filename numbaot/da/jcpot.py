"""Multi-source domain adaptation under target shift (JCPOT; Redko, Courty, Flamary and Tuia 2019):
:func:`jcpot_barycenter` estimates the target's class proportions as a Wasserstein barycenter of the sources' class
distributions, :class:`JCPOTTransport` keeps the plans and transports samples and labels with them."""
from __future__ import annotations

import numpy as np

from .. import _validation as V
from ._base import BaseEstimator, check_batch_size, check_features, check_fitted, check_labels, \
    check_metric, check_out_of_sample_map, check_positive, ferradans, host_points, row_average, warn_convergence


def _logsumexp(Z, axis):
    top = np.max(Z, axis=axis, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    with np.errstate(divide="ignore"):
        return (np.log(np.sum(np.exp(Z - top), axis=axis, keepdims=True)) + top).squeeze(axis)


def _onehot(y, classes):
    """(n_classes, n) class indicators of the labels ``y`` (POT's ``D1``), classes sorted as ``classes``."""
    return (np.searchsorted(classes, y)[None, :] == np.arange(classes.shape[0])[:, None]).astype(np.float64)


def _check_domains(Xs, Ys, Xt):
    if not isinstance(Xs, (list, tuple)) or len(Xs) == 0:
        raise TypeError("Xs must be a non-empty list of source samples, one (n_k, d) array per domain")
    if not isinstance(Ys, (list, tuple)) or len(Ys) != len(Xs):
        raise TypeError(f"ys must be a list of {len(Xs)} label arrays, one per source domain in Xs")
    Xt = host_points(Xt, "Xt")
    Xs = [host_points(x, f"Xs[{k}]") for k, x in enumerate(Xs)]
    for k, x in enumerate(Xs):
        V.check_same_dimension(x, Xt, (f"Xs[{k}]", "Xt"))
    Ys = [check_labels(y, f"ys[{k}]", x.shape[0], what=f"samples in Xs[{k}]") for k, (x, y) in enumerate(zip(Xs, Ys))]
    classes = np.unique(np.concatenate(Ys))
    for k, y in enumerate(Ys):
        missing = np.setdiff1d(classes, y)
        if missing.size:
            raise ValueError(f"ys[{k}] has no sample of classes {missing.tolist()}; every source domain must hold "
                             "every class (the target proportions are a barycenter of the sources' class weights)")
    return Xs, Ys, Xt, classes


def jcpot_barycenter(Xs, Ys, Xt, reg, metric="sqeuclidean", max_iter=100, tol=1e-6, verbose=False, log=False,
                     warn=True):
    r"""Class proportions of the target by the JCPOT barycenter (Redko et al. 2019, Prop. 4; POT's
    ``ot.bregman.jcpot_barycenter``).

    For each source domain k, an entropic plan ``G_k`` (cost ``c(Xs_k, Xt)``, regularisation ``reg``) sends the
    uniform target onto source weights that are uniform within each class, class c carrying the unknown proportion
    ``h_c``; iterative Bregman projections alternate the target marginal and the class marginals, ``h`` being the
    geometric mean over the domains of the class masses. Computed in the log domain: no underflow at small ``reg``.

    Parameters
    ----------
    Xs : list of K arrays of shape (n_k, d)
    Ys : list of K arrays of shape (n_k,)
        Source labels; every domain must hold every class.
    Xt : array of shape (m, d)
    reg : float > 0
    metric : str
        Ground cost (a numbaot.dist metric).
    max_iter : int
        Maximum Bregman iterations (POT's ``numItermax``).
    tol : float >= 0
        Stop when the proportions change by at most tol (L2) in an iteration (POT's ``stopThr``).
    verbose : bool
        Accepted for POT's signature (nothing is printed).
    log : bool
        Also return a dict: ``niter``, ``err``, ``M`` (costs), ``D1``, ``D2`` (class indicator and weight
        matrices), ``gamma`` (the K plans, of shapes (n_k, m)).
    warn : bool
        ConvergenceWarning when ``max_iter`` is reached.

    Returns
    -------
    h : array of shape (n_classes,)
        Target class proportions, in the order of ``numpy.unique`` of the labels.
    log : dict, only when ``log``

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import jcpot_barycenter
    >>> Xs = [np.array([[0.0], [0.1], [5.0]]), np.array([[0.0], [5.0], [5.1]])]
    >>> Ys = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    >>> jcpot_barycenter(Xs, Ys, np.array([[0.05], [5.0], [5.05], [4.95]]), reg=0.5).round(2)
    array([0.25, 0.75])
    """
    from ..utils import dist

    metric = check_metric(metric)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    V.check_bool(verbose, "verbose")
    log = V.check_bool(log, "log")
    warn = V.check_bool(warn, "warn")
    Xs, Ys, Xt, classes = _check_domains(Xs, Ys, Xt)
    K, C = len(Xs), classes.shape[0]
    m = Xt.shape[0]
    log_a = np.full(m, -np.log(m))
    costs, logG, D1, D2 = [], [], [], []
    for x, y in zip(Xs, Ys):
        onehot = _onehot(y, classes)  # (C, n_k)
        D1.append(onehot)
        D2.append(onehot / onehot.sum(axis=1, keepdims=True))
        M = dist(x, Xt, metric=metric).astype(np.float64, copy=False)
        costs.append(M)
        logG.append(-M / reg)
    old = np.ones(C)
    errors = []
    h = old
    for it in range(max_iter):
        log_h = np.zeros(C)
        for k in range(K):
            logG[k] += (log_a - _logsumexp(logG[k], 0))[None, :]  # target marginal
            rows = np.exp(_logsumexp(logG[k], 1))
            with np.errstate(divide="ignore"):
                log_h += np.log(D1[k] @ rows) / K
        h = np.exp(log_h)
        for k in range(K):
            with np.errstate(divide="ignore"):
                logG[k] += (np.log(D2[k].T @ h) - _logsumexp(logG[k], 1))[:, None]  # class marginals
        err = float(np.linalg.norm(h - old))
        errors.append(err)
        old = h
        if err < tol:
            break
    else:
        if warn:
            warn_convergence(f"jcpot_barycenter: the proportions still changed by {errors[-1]:.3g} > tol {tol:g} "
                             f"after {max_iter} iterations; increase max_iter or reg")
    h = h / h.sum()
    if not log:
        return h
    return h, {"niter": it, "err": errors, "M": costs, "D1": D1, "D2": D2, "gamma": [np.exp(g) for g in logG]}


class JCPOTTransport(BaseEstimator):
    """Multi-source domain adaptation under target shift (JCPOT; Redko et al. 2019).

    Parameters
    ----------
    reg_e : float > 0
        Entropic regularisation.
    max_iter : int
        Maximum Bregman iterations. Default 100: POT's JCPOTTransport passes its ``max_iter`` (default 10) under a
        misspelt name, so its barycenter runs its own default of 100 iterations.
    tol : float
        Stop when the proportions change by at most tol.
    verbose : bool
        Accepted for POT's signature (nothing is printed).
    log : bool
        Keep the barycenter's log in ``log_``.
    metric : str
        Ground cost (a numbaot.dist metric).
    out_of_sample_map : {'ferradans'}
        Out-of-sample map: nearest fitted source point (over all domains) plus displacement.

    Attributes
    ----------
    coupling_ : list of K arrays of shape (n_k, n_target_samples)
    proportions_ : array of shape (n_classes,)
        Estimated target class proportions.
    xs_ : list of K arrays; xt_ : array
    log_ : dict
    ran_on_ : str
        Only after a fit on device arrays: "cpu" (the Bregman iterations run on host copies; the attributes and
        outputs are device arrays, see :class:`~numbaot.da.BaseTransport`).

    Notes
    -----
    ``inverse_transform`` sends the target samples to each of the K source domains: a list of K arrays (POT's
    JCPOTTransport inherits a method that treats the list of plans as one array and fails).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import JCPOTTransport
    >>> Xs = [np.array([[0.0], [0.1], [5.0]]), np.array([[0.0], [5.0], [5.1]])]
    >>> ys = [np.array([0, 0, 1]), np.array([0, 1, 1])]
    >>> est = JCPOTTransport(reg_e=0.5).fit(Xs, ys, Xt=np.array([[0.05], [5.0], [5.05], [4.95]]))
    >>> est.proportions_.round(2)
    array([0.25, 0.75])
    """

    def __init__(self, reg_e=0.1, max_iter=100, tol=10e-9, verbose=False, log=False, metric="sqeuclidean",
                 out_of_sample_map="ferradans"):
        self.reg_e = reg_e
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.log = log
        self.metric = metric
        self.out_of_sample_map = out_of_sample_map

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit from K source domains ``Xs`` (a list) with labels ``ys`` (a list) and the target ``Xt``; returns
        self (``yt`` is accepted and ignored)."""
        self._forget_fit()
        check_out_of_sample_map(self.out_of_sample_map, ("ferradans",))
        check_positive(self.reg_e, "reg_e")
        log = V.check_bool(self.log, "log")
        if ys is None:
            raise TypeError("JCPOTTransport needs the source labels: call fit(Xs, ys, Xt) with one array per domain")
        h, info = jcpot_barycenter(Xs, ys, Xt, self.reg_e, metric=self.metric, max_iter=self.max_iter, tol=self.tol,
                                   verbose=self.verbose, log=True)
        self.xs_ = [host_points(x, f"Xs[{k}]") for k, x in enumerate(Xs)]
        self.xt_ = host_points(Xt, "Xt")
        self.coupling_ = info["gamma"]
        self.proportions_ = h
        self.log_ = info if log else {}
        self._projections = None
        return self

    def fit_transform(self, Xs=None, ys=None, Xt=None, yt=None):
        """``fit(Xs, ys, Xt, yt)`` then ``transform(Xs)``."""
        return self.fit(Xs, ys, Xt, yt).transform(Xs)

    def _projection_list(self):
        if self._projections is None:
            self._projections = [row_average(G, self.xt_) for G in self.coupling_]
        return self._projections

    def transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport source samples onto the target.

        ``Xs`` the fitted list of domains: a list of their barycentric projections. One array of points: each goes
        to the projection of its nearest fitted source point (over all domains) plus its displacement.
        """
        check_fitted(self, ("coupling_",))
        batch_size = check_batch_size(batch_size)
        projections = self._projection_list()
        if isinstance(Xs, (list, tuple)):
            if len(Xs) == len(self.xs_) and all(np.shape(x) == f.shape and np.array_equal(x, f)
                                                 for x, f in zip(Xs, self.xs_)):
                return [p.copy() for p in projections]
            return [self.transform(x, batch_size=batch_size) for x in Xs]
        Xs = host_points(Xs, "Xs")
        check_features(Xs, self.xt_.shape[1], "Xs", "Xs")
        fitted = np.concatenate(self.xs_, axis=0)
        out = ferradans(Xs, fitted, np.concatenate(projections, axis=0), batch_size)
        return out.astype(Xs.dtype, copy=False)

    def inverse_transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Transport target samples back onto each source domain (pass ``Xt`` by keyword, as in POT).

        The fitted target points go to their barycentric projections through each domain's plan,
        ``sum_i G_k[i, j] xs_k[i] / sum_i G_k[i, j]``; other points to the projection of their nearest fitted
        target point plus their displacement from it (Ferradans et al. 2014), ``batch_size`` points at a time.

        Returns
        -------
        list of K arrays of shape (n, n_features)
            One per fitted source domain, in the dtype of ``Xt``.

        Examples
        --------
        >>> import numpy as np
        >>> from numbaot.da import JCPOTTransport
        >>> Xs = [np.array([[0.0], [10.0]]), np.array([[1.0], [11.0]])]
        >>> ys = [np.array([0, 1]), np.array([0, 1])]
        >>> est = JCPOTTransport(reg_e=1.0).fit(Xs, ys, Xt=np.array([[0.5], [10.5]]))
        >>> [x.round(6) for x in est.inverse_transform(Xt=np.array([[0.5], [10.75]]))]
        [array([[ 0.  ],
               [10.25]]), array([[ 1.  ],
               [11.25]])]
        """
        from ._base import target_points

        check_fitted(self, ("coupling_",))
        batch_size = check_batch_size(batch_size)
        Xt = target_points(Xs, Xt)
        check_features(Xt, self.xt_.shape[1], "Xt", "Xt")
        same = Xt.shape == self.xt_.shape and np.array_equal(Xt, self.xt_)
        out = []
        for G, xs in zip(self.coupling_, self.xs_):
            projection = row_average(G.T, xs)  # (m, d): the fitted target points' projections onto domain k
            out.append((projection if same else ferradans(Xt, self.xt_, projection, batch_size)).astype(Xt.dtype,
                                                                                                        copy=False))
        return out

    def transform_labels(self, ys=None):
        """Soft target labels from the K domains' labels (a list), averaged over the domains as POT does.

        Returns
        -------
        array of shape (n_target_samples, n_classes)
        """
        check_fitted(self, ("coupling_",))
        if not isinstance(ys, (list, tuple)) or len(ys) != len(self.coupling_):
            raise TypeError(f"ys must be a list of {len(self.coupling_)} label arrays, one per fitted source domain")
        ys = [check_labels(y, f"ys[{k}]", G.shape[0], what=f"fitted samples in domain {k}")
              for k, (y, G) in enumerate(zip(ys, self.coupling_))]
        classes = np.unique(np.concatenate(ys))
        out = np.zeros((classes.shape[0], self.xt_.shape[0]))
        for y, G in zip(ys, self.coupling_):
            onehot = _onehot(y, classes)
            rows = G.sum(axis=1)
            inverse = np.divide(1.0, rows, out=np.zeros_like(rows), where=rows > 0)
            out += (onehot * inverse) @ G / len(ys)  # POT's D1 times the row-normalised plan
        return out.T

    def inverse_transform_labels(self, yt=None):
        """Soft labels of each domain's samples from the target labels.

        Returns
        -------
        list of K arrays of shape (n_k, n_classes)
            Columns in the order of ``numpy.unique(yt)``.
        """
        check_fitted(self, ("coupling_",))
        yt = check_labels(yt, "yt", self.xt_.shape[0], what="fitted target samples")
        classes, index = np.unique(yt, return_inverse=True)
        onehot = np.eye(classes.shape[0])[index.reshape(-1)]  # (m, C)
        return [row_average(G, onehot) for G in self.coupling_]
