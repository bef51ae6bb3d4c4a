"""Affine maps between the Gaussians fitted to two samples: the Bures-Wasserstein Monge map
(:func:`OT_mapping_linear`, :class:`LinearTransport`) and the Gaussian Gromov-Wasserstein map
(:class:`LinearGWTransport`), on :mod:`numbaot.gaussian`."""
from __future__ import annotations

import numpy as np

from .. import _validation as V
from ._base import BaseEstimator, check_features, check_fitted, distribution_estimation_uniform, estimate_weights, \
    host_points, target_points


def OT_mapping_linear(xs, xt, reg=1e-6, ws=None, wt=None, bias=True, log=False):
    r"""The affine Monge map ``x -> x @ A + b`` between the Gaussians fitted to two weighted samples (Knott and
    Smith 1984; POT's ``ot.da.OT_mapping_linear``, an alias of ``empirical_bures_wasserstein_mapping``).

    ``A = Cs^{-1/2} (Cs^{1/2} Ct Cs^{1/2})^{1/2} Cs^{-1/2}``, ``b = mt - ms A``, with ``reg`` added to both
    covariances' diagonals.

    Parameters
    ----------
    xs, xt : arrays of shape (n, d) and (m, d)
        Host or device arrays (device arrays: the map is computed on the GPU and returned in the caller's kind, as
        :func:`numbaot.empirical_bures_wasserstein_mapping` does; ``log=True`` then runs on host arrays only).
    reg : float >= 0
    ws, wt : arrays of shape (n,) or (n, 1), and (m,) or (m, 1), optional
        Sample weights (uniform when None).
    bias : bool
        Estimate the means (else they are taken as 0 and ``b = 0``).
    log : bool
        Also return a dict with the fitted means and covariances.

    Returns
    -------
    A : array of shape (d, d)
    b : array of shape (d,)
    log : dict, only when ``log``

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import OT_mapping_linear
    >>> x = np.random.default_rng(0).normal(size=(400, 2))
    >>> A, b = OT_mapping_linear(x, 3 * x + 1, reg=0.0)
    >>> bool(np.allclose(x @ A + b, 3 * x + 1))
    True
    """
    from ..gaussian.api import empirical_bures_wasserstein_mapping

    log = V.check_bool(log, "log")
    if log:
        from .. import _dispatch

        _dispatch.require_host(_dispatch.place(xs=xs, xt=xt, ws=ws, wt=wt), "OT_mapping_linear(log=True)",
                               "pass log=False (the map itself runs on the GPU), or host arrays")
    A, b = empirical_bures_wasserstein_mapping(xs, xt, reg=reg, ws=ws, wt=wt, bias=bias)
    if not log:
        return A, b
    return A, b, _moments_log(xs, xt, reg, ws, wt, bias)


def _moments_log(xs, xt, reg, ws, wt, bias):
    """The fitted moments of OT_mapping_linear's log (host arrays)."""
    ms, Cs = _moments(np.asarray(xs, dtype=np.float64), ws, bias, reg)
    mt, Ct = _moments(np.asarray(xt, dtype=np.float64), wt, bias, reg)
    return {"ms": ms, "mt": mt, "Cs": Cs, "Ct": Ct}


def _moments(x, w, bias, reg):
    """Weighted mean and covariance (+ reg I) of the rows of x (plain numpy: for the logs and GW signs)."""
    x = x if x.ndim == 2 else x.reshape(-1, 1)
    w = np.full(x.shape[0], 1.0 / x.shape[0]) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    w = w / w.sum()
    mean = w @ x if bias else np.zeros(x.shape[1])
    xc = x - mean
    cov = (xc * w[:, None]).T @ xc
    cov = 0.5 * (cov + cov.T) + reg * np.eye(x.shape[1])
    return mean, cov


class _AffineTransport(BaseEstimator):
    """transform / inverse_transform of an affine map ``x @ A_ + B_`` and its inverse ``x @ A1_ + B1_``."""

    def fit_transform(self, Xs=None, ys=None, Xt=None, yt=None):
        """``fit(Xs, ys, Xt, yt)`` then ``transform(Xs)``."""
        return self.fit(Xs, ys, Xt, yt).transform(Xs)

    def transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Map source samples: ``Xs @ A_ + B_``, in the dtype of ``Xs`` (the other arguments are accepted for POT's
        signature)."""
        check_fitted(self, ("A_", "B_"))
        Xs = host_points(Xs, "Xs")
        check_features(Xs, self.A_.shape[0], "Xs", "Xs")
        return (Xs @ self.A_ + self.B_).astype(Xs.dtype, copy=False)

    def inverse_transform(self, Xs=None, ys=None, Xt=None, yt=None, batch_size=128):
        """Map target samples back: ``Xt @ A1_ + B1_``."""
        check_fitted(self, ("A1_", "B1_"))
        Xt = target_points(Xs, Xt)
        check_features(Xt, self.A1_.shape[0], "Xt", "Xt")
        return (Xt @ self.A1_ + self.B1_).astype(Xt.dtype, copy=False)

    def _samples(self, Xs, Xt, same_dim=True):
        self._forget_fit()
        Xs = host_points(Xs, "Xs")
        Xt = host_points(Xt, "Xt")
        if same_dim:
            V.check_same_dimension(Xs, Xt, ("Xs", "Xt"))
        self.mu_s = estimate_weights(self, Xs, "Xs")
        self.mu_t = estimate_weights(self, Xt, "Xt")
        self.xs_ = Xs
        self.xt_ = Xt
        return Xs, Xt


class LinearTransport(_AffineTransport):
    r"""Domain adaptation by the affine Monge map between the Gaussians fitted to the samples (Knott and Smith 1984;
    Peyre and Cuturi 2019, remark 2.29): ``x -> x @ A_ + B_`` sends ``N(ms, Cs)`` onto ``N(mt, Ct)``.

    Parameters
    ----------
    reg : float >= 0
        Added to the diagonal of both covariances.
    bias : bool
        Estimate the means (else ``B_ = 0``).
    log : bool
        Keep the fitted moments in ``log_``.
    distribution_estimation : callable
        ``X -> weights`` of the samples (uniform by default).

    Attributes
    ----------
    A_, B_ : arrays of shapes (d, d) and (d,)
        The map source -> target.
    A1_, B1_ : arrays of shapes (d, d) and (d,)
        Its inverse, target -> source.
    mu_s, mu_t, xs_, xt_, log_
    ran_on_ : str
        Only after a fit on device arrays: "cuda" (the moments and the map computed on the GPU by
        :func:`numbaot.empirical_bures_wasserstein_mapping`; the inverse map on host copies).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import LinearTransport
    >>> x = np.random.default_rng(0).normal(size=(400, 2))
    >>> est = LinearTransport(reg=0.0).fit(Xs=x, Xt=2 * x + 1)
    >>> bool(np.allclose(est.transform(x), 2 * x + 1)), bool(np.allclose(est.inverse_transform(Xt=2 * x + 1), x))
    (True, True)
    """

    def __init__(self, reg=1e-8, bias=True, log=False, distribution_estimation=distribution_estimation_uniform):
        self.reg = reg
        self.bias = bias
        self.log = log
        self.distribution_estimation = distribution_estimation

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the map from the samples (labels are accepted and ignored); returns self."""
        log = V.check_bool(self.log, "log")
        Xs, Xt = self._samples(Xs, Xt)
        uniform = self.distribution_estimation is distribution_estimation_uniform  # the faster unweighted moments
        ws, wt = (None, None) if uniform else (self.mu_s, self.mu_t)
        placement = self.__dict__.get("_solve_on")  # the host twin of a fit on device arrays (see _base)
        if placement is not None and placement.on_gpu:  # the closed form on the GPU (numbaot.gaussian's CUDA path)
            from .. import _device
            from .._dispatch import to_caller
            from ..gaussian.api import empirical_bures_wasserstein_mapping

            A, B = empirical_bures_wasserstein_mapping(to_caller(Xs, placement), to_caller(Xt, placement),
                                                       reg=self.reg, ws=to_caller(ws, placement),
                                                       wt=to_caller(wt, placement), bias=self.bias)
            self._on_device = {"A_": A, "B_": B}
            self.A_, self.B_ = _device.to_host(A), _device.to_host(B)
            self.ran_on_ = _device.CUDA
            self.log_ = _moments_log(Xs, Xt, self.reg, ws, wt, self.bias) if log else {}
        else:
            out = OT_mapping_linear(Xs, Xt, reg=self.reg, ws=ws, wt=wt, bias=self.bias, log=log)
            self.A_, self.B_ = out[0], out[1]
            self.log_ = out[2] if log else {}
        self.A1_ = np.linalg.inv(self.A_)
        self.B1_ = -self.B_ @ self.A1_
        return self


class LinearGWTransport(_AffineTransport):
    r"""Domain adaptation by the Gaussian Gromov-Wasserstein affine map between the Gaussians fitted to the samples
    (Delon, Desolneux and Salmona 2022); the two domains may have different dimensions.

    Parameters
    ----------
    log : bool
        Keep the fitted moments and eigenvectors in ``log_``.
    sign_eigs : array of +1/-1, 'skewness', or None
        Signs of the map along the principal axes (all +1 when None); 'skewness' takes, for each axis, the sign of
        the product of the skewnesses of the two samples projected on it.
    distribution_estimation : callable
        ``X -> weights`` of the samples (uniform by default).

    Attributes
    ----------
    A_, B_ : arrays of shapes (d_s, d_t) and (d_t,)
    A1_, B1_ : arrays of shapes (d_t, d_s) and (d_s,)
        The GW map of the reverse problem, target -> source.
    mu_s, mu_t, xs_, xt_, log_

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.da import LinearGWTransport
    >>> x = np.random.default_rng(0).normal(size=(300, 2)) * [3.0, 1.0]
    >>> est = LinearGWTransport().fit(Xs=x, Xt=x[:, ::-1] + 5)
    >>> est.transform(x).shape
    (300, 2)
    """

    def __init__(self, log=False, sign_eigs=None, distribution_estimation=distribution_estimation_uniform):
        self.log = log
        self.sign_eigs = sign_eigs
        self.distribution_estimation = distribution_estimation

    def _map(self, xs, xt, ws, wt):
        from ..gaussian.api import gaussian_gromov_wasserstein_mapping

        ms, Cs = _moments(xs, ws, True, 0.0)
        mt, Ct = _moments(xt, wt, True, 0.0)
        signs = self.sign_eigs
        info = {"Cov_s": Cs, "Cov_t": Ct}
        if isinstance(signs, str):
            if signs != "skewness":
                raise ValueError(f"sign_eigs must be None, 'skewness' or an array of +1/-1, got {signs!r}")
            k = min(Cs.shape[0], Ct.shape[0])
            d_s, U_s = _sorted_eigen(Cs)
            d_t, U_t = _sorted_eigen(Ct)
            skew_s = ws @ ((xs - ms) @ U_s[:, :k]) ** 3
            skew_t = wt @ ((xt - mt) @ U_t[:, :k]) ** 3
            signs = np.sign(skew_s * skew_t)
            signs[signs == 0] = 1.0
            info.update(d_s=d_s, d_t=d_t, U_s=U_s, U_t=U_t)
        A, b = gaussian_gromov_wasserstein_mapping(ms, mt, Cs, Ct, signs)
        return A, b, info

    def fit(self, Xs=None, ys=None, Xt=None, yt=None):
        """Fit the map and its reverse from the samples (labels are accepted and ignored); returns self."""
        log = V.check_bool(self.log, "log")
        Xs, Xt = self._samples(Xs, Xt, same_dim=False)
        self.A_, self.B_, info = self._map(Xs, Xt, self.mu_s, self.mu_t)
        self.A1_, self.B1_, info1 = self._map(Xt, Xs, self.mu_t, self.mu_s)
        self.log_ = {**info, "inverse": info1} if log else {}
        return self


def _sorted_eigen(C):
    """Eigenvalues in decreasing order and their eigenvectors (as numbaot.gaussian orders them)."""
    w, U = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    return np.maximum(w[order], 0.0), U[:, order]
