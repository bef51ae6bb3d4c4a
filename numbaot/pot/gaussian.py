"""``ot.gaussian`` over numbaot: Bures-Wasserstein distances, maps and barycenters, Gaussian GW.

``log=True`` adds the matrix square roots POT records ('Cs12', 'Cs12inv') or the empirical moments ('Cs', 'Ct').
"""
from __future__ import annotations

import numpy as np

from . import _common as _c

__all__ = ["bures_wasserstein_distance", "bures_wasserstein_mapping", "bures_wasserstein_barycenter",
           "empirical_bures_wasserstein_distance", "empirical_bures_wasserstein_mapping",
           "gaussian_gromov_wasserstein_distance", "gaussian_gromov_wasserstein_mapping",
           "empirical_gaussian_gromov_wasserstein_distance", "empirical_gaussian_gromov_wasserstein_mapping",
           "bures_distance", "bures_barycenter_fixpoint", "bures_barycenter_gradient_descent",
           "bures_wasserstein_distance_hd", "bures_wasserstein_mapping_hd", "empirical_bures_wasserstein_distance_hd",
           "empirical_bures_wasserstein_mapping_hd"]


def _sqrtm(S):
    w, V = np.linalg.eigh(np.asarray(S, dtype=float))
    w = np.maximum(w, 0)
    return (V * np.sqrt(w)) @ V.T, (V * np.where(w > 0, 1 / np.sqrt(np.where(w > 0, w, 1)), 0)) @ V.T


def _moments(x, w, reg, bias):
    x = np.asarray(x, dtype=float)
    w = np.full(x.shape[0], 1.0 / x.shape[0]) if w is None else np.asarray(w, dtype=float).ravel() / np.sum(w)
    mu = w @ x
    xc = x - mu if bias else x
    return mu, (xc * w[:, None]).T @ xc + reg * np.eye(x.shape[1])


def bures_wasserstein_distance(ms, mt, Cs, Ct, paired=False, log=False):
    """Bures-Wasserstein distance between Gaussians (POT's name) by :func:`numbaot.bures_wasserstein_distance`.

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> round(float(ot.gaussian.bures_wasserstein_distance(np.zeros(2), np.ones(2), np.eye(2), np.eye(2)) ** 2), 9)
    2.0
    """
    import numbaot

    ms, mt, row = _row_means(ms, mt, Cs, Ct)
    with _c.asserting():  # POT asserts the shapes (one Gaussian against a stack is refused)
        value = numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct, paired)
    if log:
        return value, {"Cs12": _sqrtm(Cs)[0] if np.ndim(Cs) == 2 else None}
    return value


def bures_distance(Cs, Ct, paired=False, log=False, nx=None):
    """Bures distance between covariances (the Bures-Wasserstein distance of centred Gaussians)."""
    Cs, Ct = np.asarray(Cs, dtype=float), np.asarray(Ct, dtype=float)
    zs, zt = np.zeros(Cs.shape[:-1]), np.zeros(Ct.shape[:-1])
    return bures_wasserstein_distance(zs, zt, Cs, Ct, paired, log)


def _row_means(ms, mt, Cs, Ct):
    """POT accepts means of shape (1, d) for one Gaussian: flattened here (and the shift given back as (1, d))."""
    ms, mt = np.asarray(ms, dtype=float), np.asarray(mt, dtype=float)
    row = ms.ndim == 2 and ms.shape[0] == 1 and np.ndim(Cs) == 2
    if row:
        ms, mt = ms[0], mt.reshape(-1)
    return ms, mt, row


def bures_wasserstein_mapping(ms, mt, Cs, Ct, log=False):
    """The affine Monge map ``(A, b)`` between Gaussians (POT's name) by :func:`numbaot.bures_wasserstein_mapping`;
    ``log={'Cs12', 'Cs12inv'}``."""
    import numbaot

    ms, mt, row = _row_means(ms, mt, Cs, Ct)
    A, b = numbaot.bures_wasserstein_mapping(ms, mt, Cs, Ct)
    b = b[None, :] if row else b
    if log:
        Cs12, Cs12inv = _sqrtm(Cs)
        return A, b, {"Cs12": Cs12, "Cs12inv": Cs12inv}
    return A, b


def empirical_bures_wasserstein_distance(xs, xt, reg=1e-6, ws=None, wt=None, bias=True, log=False):
    """Bures-Wasserstein distance between the Gaussians fitted to two samples (POT's name)."""
    import numbaot

    value = numbaot.empirical_bures_wasserstein_distance(xs, xt, reg, ws, wt, bias)
    if log:
        return value, {"Cs": _moments(xs, ws, reg, bias)[1], "Ct": _moments(xt, wt, reg, bias)[1]}
    return value


def empirical_bures_wasserstein_mapping(xs, xt, reg=1e-6, ws=None, wt=None, bias=True, log=False):
    """The affine Monge map between the Gaussians fitted to two samples (POT's name); ``log={'Cs', 'Ct'}``."""
    import numbaot

    A, b = numbaot.empirical_bures_wasserstein_mapping(xs, xt, reg, ws, wt, bias)
    if log:
        return A, b, {"Cs": _moments(xs, ws, reg, bias)[1], "Ct": _moments(xt, wt, reg, bias)[1]}
    return A, b


def bures_wasserstein_barycenter(m, C, weights=None, method="fixed_point", num_iter=1000, eps=1e-7, log=False,
                                 step_size=1, batch_size=None):
    """Bures-Wasserstein barycenter ``(mb, Cb)`` of Gaussians (POT's name) by
    :func:`numbaot.bures_wasserstein_barycenter`; ``log={'num_iter': ...}`` is not recorded (empty dict)."""
    import numbaot

    stochastic = method in ("stochastic_gradient_descent", "averaged_stochastic_gradient_descent")
    # POT samples the batches from numpy's global random state: np.random.seed makes a POT script reproducible
    seed = int(np.random.randint(2**31)) if stochastic else None
    mb, Cb = numbaot.bures_wasserstein_barycenter(m, C, _c.weights(weights), method,
                                                  max_iter=_c.max_iter(num_iter, "num_iter"), tol=eps,
                                                  step_size=step_size,
                                                  batch_size=(batch_size or 1) if stochastic else None, seed=seed)
    return (mb, Cb, {}) if log else (mb, Cb)


def bures_barycenter_fixpoint(C, weights=None, num_iter=1000, eps=1e-7, log=False, nx=None):
    """Covariance of the Bures barycenter by the fixed point iteration."""
    C = np.asarray(C, dtype=float)
    out = bures_wasserstein_barycenter(np.zeros(C.shape[:-1]), C, weights, "fixed_point", num_iter, eps, log)
    return (out[1], out[2]) if log else out[1]


def bures_barycenter_gradient_descent(C, weights=None, num_iter=1000, eps=1e-7, log=False, step_size=1,
                                      batch_size=None, averaged=False, nx=None):
    """Covariance of the Bures barycenter by gradient descent."""
    C = np.asarray(C, dtype=float)
    method = "gradient_descent"
    if batch_size is not None:
        method = "averaged_stochastic_gradient_descent" if averaged else "stochastic_gradient_descent"
    out = bures_wasserstein_barycenter(np.zeros(C.shape[:-1]), C, weights, method, num_iter, eps, log, step_size,
                                       batch_size)
    return (out[1], out[2]) if log else out[1]


def gaussian_gromov_wasserstein_distance(Cov_s, Cov_t, log=False):
    """Gaussian GW distance (POT's name) by :func:`numbaot.gaussian_gromov_wasserstein_distance`."""
    import numbaot

    value = numbaot.gaussian_gromov_wasserstein_distance(Cov_s, Cov_t)
    return (value, {}) if log else value


def gaussian_gromov_wasserstein_mapping(mu_s, mu_t, Cov_s, Cov_t, sign_eigs=None, log=False):
    """Gaussian GW map ``(A, b)`` (POT's name) by :func:`numbaot.gaussian_gromov_wasserstein_mapping`."""
    import numbaot

    mu_s, mu_t, row = _row_means(mu_s, mu_t, Cov_s, Cov_t)
    A, b = numbaot.gaussian_gromov_wasserstein_mapping(mu_s, mu_t, Cov_s, Cov_t, sign_eigs)
    b = b[None, :] if row else b
    return (A, b, {}) if log else (A, b)


def empirical_gaussian_gromov_wasserstein_distance(xs, xt, ws=None, wt=None, log=False):
    """Gaussian GW distance between the Gaussians fitted to two samples (POT's name)."""
    import numbaot

    value = numbaot.empirical_gaussian_gromov_wasserstein_distance(xs, xt, ws, wt)
    if log:
        return value, {"Cov_s": _moments(xs, ws, 0.0, True)[1], "Cov_t": _moments(xt, wt, 0.0, True)[1]}
    return value


def _skewness_signs(xs, xt, ws, wt):
    """POT's ``sign_eigs='skewness'``: the sign of the product of the two clouds' third moments along their
    principal axes (eigenvectors by decreasing eigenvalue, as numbaot's map uses them)."""
    out = []
    for x, w in ((xs, ws), (xt, wt)):
        x = np.asarray(x, dtype=float)
        w = np.full(x.shape[0], 1.0 / x.shape[0]) if w is None else np.asarray(w, dtype=float).ravel() / np.sum(w)
        mu, cov = _moments(x, w, 0.0, True)
        vals, vecs = np.linalg.eigh(cov)
        out.append((((x - mu) @ vecs[:, np.argsort(vals)[::-1]]) ** 3 * w[:, None]).sum(axis=0))
    size = min(out[0].shape[0], out[1].shape[0])
    return np.sign(out[0][:size] * out[1][:size])


def empirical_gaussian_gromov_wasserstein_mapping(xs, xt, ws=None, wt=None, sign_eigs=None, log=False):
    """Gaussian GW map between the Gaussians fitted to two samples (POT's name)."""
    import numbaot

    if isinstance(sign_eigs, str):
        if sign_eigs != "skewness":
            raise ValueError(f"sign_eigs must be None, an array of signs or 'skewness', got {sign_eigs!r}")
        sign_eigs = _skewness_signs(xs, xt, ws, wt)
    A, b = numbaot.empirical_gaussian_gromov_wasserstein_mapping(xs, xt, ws, wt, sign_eigs)
    return (A, b, {}) if log else (A, b)


def bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t, log=False):
    """``W_2`` between high-dimensional Gaussians (POT's name) by :func:`numbaot.bures_wasserstein_distance_hd`;
    ``log={'Ss_sq', 'St'}`` (the p x p matrices POT records)."""
    import numbaot

    value = numbaot.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t)
    if log:
        Ss_sq, _, St = _hd_matrices(Us, Ut, ls, lt, sigma2_s, sigma2_t)
        return value, {"Ss_sq": Ss_sq, "St": St}
    return value


def _hd_matrices(Us, Ut, ls, lt, sigma2_s, sigma2_t):
    """``Sigma_s^{1/2}``, ``Sigma_s^{-1/2}`` (None when sigma2_s = 0) and ``Sigma_t`` as p x p matrices (for logs)."""
    Us, Ut = np.asarray(Us, dtype=float), np.asarray(Ut, dtype=float)
    ls, lt = np.asarray(ls, dtype=float), np.asarray(lt, dtype=float)
    s2s, s2t = float(np.ravel(sigma2_s)[0]), float(np.ravel(sigma2_t)[0])
    p = Us.shape[0]
    root = np.sqrt(ls + s2s)
    Ss_sq = (Us * (root - np.sqrt(s2s))) @ Us.T + np.sqrt(s2s) * np.eye(p)
    Ss_sqinv = None if s2s <= 0 else (np.eye(p) - (Us * ((root - np.sqrt(s2s)) / root)) @ Us.T) / np.sqrt(s2s)
    return Ss_sq, Ss_sqinv, (Ut * lt) @ Ut.T + s2t * np.eye(p)


def bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t, log=False):
    """The affine Monge map ``(A, b)`` between high-dimensional Gaussians (POT's name) by
    :func:`numbaot.bures_wasserstein_mapping_hd`; ``log={'Ss_sq', 'Ss_sqinv'}``."""
    import numbaot

    row = np.ndim(ms) == 2
    A, b = numbaot.bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t)
    b = b[None, :] if row else b
    if log:
        Ss_sq, Ss_sqinv, _ = _hd_matrices(Us, Ut, ls, lt, sigma2_s, sigma2_t)
        return A, b, {"Ss_sq": Ss_sq, "Ss_sqinv": Ss_sqinv}
    return A, b


def _ppca_models(xs, xt, d_intrinsic, reg, ws, wt, bias, offset):
    """POT 0.9.7's probabilistic-PCA fit of both samples: means and ``(U, l, sigma^2)``, the residual variance being
    the trailing eigenvalues' sum over ``p - d + offset``."""
    d_pair = (d_intrinsic, d_intrinsic) if isinstance(d_intrinsic, int) else tuple(d_intrinsic)
    out = {}
    for side, x, w, d in (("s", xs, ws, d_pair[0]), ("t", xt, wt, d_pair[1])):
        mean, cov = _moments(x, w, reg, bias)
        p = cov.shape[0]
        vals, vecs = np.linalg.eigh(cov)
        sigma2 = (np.trace(cov) - np.sum(vals[p - d:])) / (p - d + offset)
        out["m" + side] = mean if bias else np.zeros(p)
        out["U" + side], out["l" + side] = vecs[:, p - d:], vals[p - d:] - sigma2
        out["sigma2_" + side] = np.array([max(sigma2, reg)])
    return out


def empirical_bures_wasserstein_distance_hd(xs, xt, d_intrinsic, reg=0.0, ws=None, wt=None, bias=True, log=False):
    """``W_2`` between the high-dimensional Gaussians fitted to two samples (POT's name), with POT 0.9.7's residual
    variance (the trailing eigenvalues' sum divided by ``p - d + reg``), by
    :func:`numbaot.bures_wasserstein_distance_hd` after :func:`numbaot.empirical_bures_wasserstein_distance_hd`'s
    checks; ``log`` holds the fitted models."""
    import numbaot

    numbaot.empirical_bures_wasserstein_distance_hd(xs, xt, d_intrinsic, reg, ws, wt, bias)  # checks the input
    fit = _ppca_models(xs, xt, d_intrinsic, reg, ws, wt, bias, reg)
    value = numbaot.bures_wasserstein_distance_hd(fit["ms"], fit["mt"], fit["Us"], fit["Ut"], fit["ls"], fit["lt"],
                                                  fit["sigma2_s"], fit["sigma2_t"])
    return (value, {k: v for k, v in fit.items() if k not in ("ms", "mt")}) if log else value


def empirical_bures_wasserstein_mapping_hd(xs, xt, d_intrinsic, reg=0.0, ws=None, wt=None, bias=True, log=False):
    """The affine Monge map between the high-dimensional Gaussians fitted to two samples (POT's name) by
    :func:`numbaot.empirical_bures_wasserstein_mapping_hd`; ``b`` of shape (1, p) as POT; ``log`` holds the models."""
    import numbaot

    A, b = numbaot.empirical_bures_wasserstein_mapping_hd(xs, xt, d_intrinsic, reg, ws, wt, bias)
    if log:
        fit = _ppca_models(xs, xt, d_intrinsic, reg, ws, wt, bias, 0.0)
        return A, b[None, :], {k: v for k, v in fit.items() if k not in ("ms", "mt")}
    return A, b[None, :]


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "empirical_bures_wasserstein_barycenter": "numbaot.bures_wasserstein_barycenter",
}
__getattr__ = _c.missing_getattr(__name__, _MISSING)
