r"""Bures-Wasserstein distances and maps between high-dimensional Gaussians of low-rank-plus-isotropic covariance
(Bouveyron and Corneli; POT's ``ot.gaussian.*_hd``).

A Gaussian ``N(m, U, l, sigma^2)`` in R^p has covariance ``Sigma = U diag(l) U^T + sigma^2 I_p`` with ``U`` (p, d)
orthonormal columns (its principal subspace), ``l`` (d,) the extra variances along them and ``sigma^2`` the
residual variance. Both ``Sigma_s^{1/2} = sigma_s I + U_s diag(sqrt(l_s + sigma_s^2) - sigma_s) U_s^T`` and
``Sigma_t`` leave any subspace that contains the columns of ``U_s`` and ``U_t`` invariant and act on its
orthogonal complement as ``sigma_s I`` and ``sigma_t^2 I``. So with ``Q`` (p, r) an orthonormal basis of the span
of ``[U_s, U_t]`` (``r <= d_s + d_t``), ``Sigma_s^{1/2} Sigma_t Sigma_s^{1/2}`` is ``sigma_s^2 sigma_t^2`` on the
complement and an r x r matrix on the subspace: the distance costs O(p r^2) instead of the O(p^3) of a p x p
square root, and the map is ``(sigma_t / sigma_s)(I - Q Q^T) + Q A_r Q^T``.

The empirical versions fit ``(U, l, sigma^2)`` to a sample by probabilistic PCA (Tipping and Bishop): ``U`` the
``d`` leading eigenvectors of the (regularised) sample covariance, ``sigma^2`` the mean of its ``p - d`` other
eigenvalues (at least ``reg``), ``l`` the leading eigenvalues minus that mean.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dispatch, _validation as V
from .api import _check_reg_nonnegative, _moments, _sample_weights

#: Largest |U^T U - I| accepted for "orthonormal columns".
_ORTHO_TOL = 1e-8


# ------------------------------------------------------------------------------------------------------ checks
def _mean(m, name, p):
    m = V.as_float_array(m, name, ndim=(1, 2))
    if m.ndim == 2 and m.shape[0] != 1:
        raise ValueError(f"{name} must be one mean of shape ({p},) (or (1, {p})), got shape {m.shape}")
    m = m.reshape(-1).astype(np.float64)
    if m.shape[0] != p:
        raise ValueError(f"{name} has {m.shape[0]} entries but the Gaussians live in dimension {p} (rows of Us)")
    V.check_finite(m, name)
    return m


def _variance(s, name):
    if isinstance(s, bool) or isinstance(s, (str, bytes)):
        raise TypeError(f"{name} must be a non-negative number (or an array of one), got {s!r}")
    arr = np.asarray(s)
    if arr.dtype.kind not in "biuf" or arr.size != 1:
        raise TypeError(f"{name} must be a non-negative number (or an array of one), got {s!r}")
    value = float(arr.reshape(-1)[0])
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} (a residual variance) must be a finite number >= 0, got {value}")
    return value


def _model(U, l, sigma2, names, p=None):
    """Checked ``(U (p, d), l (d,), sigma^2)`` of one high-dimensional Gaussian."""
    nU, nl, ns = names
    U = V.as_float_array(U, nU, ndim=2).astype(np.float64, copy=False)
    V.check_finite(U, nU)
    if p is not None and U.shape[0] != p:
        raise ValueError(f"{nU} has {U.shape[0]} rows but the other Gaussian lives in dimension {p}; both must live "
                         "in the same dimension")
    if U.shape[1] > U.shape[0]:
        raise ValueError(f"{nU} has shape {U.shape}: at most {U.shape[0]} orthonormal columns fit in dimension "
                         f"{U.shape[0]}")
    gap = np.max(np.abs(U.T @ U - np.eye(U.shape[1])))
    if gap > _ORTHO_TOL:
        raise ValueError(f"{nU} must have orthonormal columns (its principal axes): max |{nU}^T {nU} - I| = {gap:.3g}; "
                         f"orthonormalise it (numpy.linalg.qr({nU})[0])")
    l = V.as_float_array(l, nl, ndim=1).astype(np.float64, copy=False)
    V.check_finite(l, nl)
    if l.shape[0] != U.shape[1]:
        raise ValueError(f"{nl} has {l.shape[0]} entries but {nU} has {U.shape[1]} columns: one variance per axis")
    sigma2 = _variance(sigma2, ns)
    total = l + sigma2
    if np.any(total < -1e-12 * max(float(np.max(np.abs(total))), 1.0)):
        k = int(np.argmin(total))
        raise ValueError(f"{nl}[{k}] + {ns} = {total[k]:.6g} < 0: the covariance along that axis would be negative")
    return U, l, sigma2


def _reduced(Us, ls, s2s, Ut, lt, s2t):
    """Orthonormal basis Q (p, r) of a subspace holding the columns of Us and Ut; ``Sigma_s^{1/2}`` and
    ``Sigma_t`` restricted to it (r, r); and ``c_s = sqrt(l_s + sigma_s^2)``."""
    p = Us.shape[0]
    if Us.shape[1] + Ut.shape[1] < p:
        Q, _ = np.linalg.qr(np.hstack([Us, Ut]))
    else:
        Q = np.eye(p)
    r = Q.shape[1]
    Ps, Pt = Q.T @ Us, Q.T @ Ut  # the axes in Q's coordinates
    sigma_s = np.sqrt(s2s)
    cs = np.sqrt(np.maximum(ls + s2s, 0.0))
    Bs = sigma_s * np.eye(r) + (Ps * (cs - sigma_s)) @ Ps.T
    Bt = s2t * np.eye(r) + (Pt * lt) @ Pt.T
    return Q, 0.5 * (Bs + Bs.T), 0.5 * (Bt + Bt.T), cs


def _sym_sqrt(M):
    w, W = np.linalg.eigh(0.5 * (M + M.T))
    return (W * np.sqrt(np.maximum(w, 0.0))) @ W.T


# ------------------------------------------------------------------------------------------------- closed forms
def _distance(ms, mt, Us, Ut, ls, lt, s2s, s2t):
    p = Us.shape[0]
    Q, Bs, Bt, _ = _reduced(Us, ls, s2s, Ut, lt, s2t)
    r = Q.shape[1]
    w = np.linalg.eigvalsh(Bs @ Bt @ Bs)
    cross = float(np.sum(np.sqrt(np.maximum(w, 0.0)))) + (p - r) * np.sqrt(s2s * s2t)
    squared = float(np.sum((ms - mt) ** 2) + np.sum(ls) + np.sum(lt) + p * (s2s + s2t) - 2.0 * cross)
    return float(np.sqrt(max(squared, 0.0)))


def _mapping(ms, mt, Us, Ut, ls, lt, s2s, s2t):
    if not s2s > 1e-12 * (s2s + float(np.max(ls, initial=0.0))):
        raise ValueError(f"sigma2_s is 0 (or {s2s:.3g}, below 1e-12 times the largest variance): the source covariance "
                         "is singular and the Monge map from a degenerate "
                         "Gaussian is not defined; pass a positive residual variance (reg > 0 in the empirical "
                         "function)")
    p = Us.shape[0]
    Q, Bs, Bt, _ = _reduced(Us, ls, s2s, Ut, lt, s2t)
    Bs_inv = np.linalg.inv(Bs)
    Ar = Bs_inv @ _sym_sqrt(Bs @ Bt @ Bs) @ Bs_inv
    Ar = 0.5 * (Ar + Ar.T)
    ratio = np.sqrt(s2t / s2s)
    A = ratio * (np.eye(p) - Q @ Q.T) + Q @ (Ar @ Q.T)
    A = 0.5 * (A + A.T)
    return A, mt - ms @ A


def _host_only(what, **arrays):
    _dispatch.require_host(_dispatch.place(**arrays), what, "pass numpy arrays (the _hd closed forms are small "
                           "dense problems), or use bures_wasserstein_distance's GPU path on full covariances")


def _check_all(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t):
    _host_only("the _hd Bures-Wasserstein functions", ms=ms, mt=mt, Us=Us, Ut=Ut, ls=ls, lt=lt)
    Us, ls, s2s = _model(Us, ls, sigma2_s, ("Us", "ls", "sigma2_s"))
    p = Us.shape[0]
    Ut, lt, s2t = _model(Ut, lt, sigma2_t, ("Ut", "lt", "sigma2_t"), p)
    return _mean(ms, "ms", p), _mean(mt, "mt", p), Us, Ut, ls, lt, s2s, s2t


def bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t):
    r"""``W_2`` between two Gaussians of covariance ``U diag(l) U^T + sigma^2 I`` (POT's
    ``ot.gaussian.bures_wasserstein_distance_hd``), without forming a p x p matrix square root.

    .. math:: W_2^2 = \|m_s - m_t\|^2 + \mathrm{tr}\,\Lambda_s + \mathrm{tr}\,\Lambda_t + p(\sigma_s^2 + \sigma_t^2)
              - 2\,\mathrm{tr}\big((\Sigma_s^{1/2} \Sigma_t \Sigma_s^{1/2})^{1/2}\big)

    computed on the span of ``[Us, Ut]`` (see the module docstring): O(p (d_s + d_t)^2) operations.

    Parameters
    ----------
    ms, mt : arrays of shape (p,) (or (1, p))
        Means.
    Us, Ut : arrays of shape (p, d_s) and (p, d_t)
        Orthonormal columns spanning each principal subspace (checked to 1e-8).
    ls, lt : arrays of shape (d_s,) and (d_t,)
        Variances along those axes on top of the residual one (``l + sigma^2 >= 0``).
    sigma2_s, sigma2_t : float >= 0 (or arrays of one entry)
        Residual variances.

    Returns
    -------
    float
        ``W_2`` (not squared), as POT.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> U = np.eye(4)[:, :1]                                  # one principal axis in R^4
    >>> W = numbaot.bures_wasserstein_distance_hd(np.zeros(4), np.zeros(4), U, U, [3.0], [8.0], 1.0, 1.0)
    >>> round(float(W), 12)                                   # |2 - 3| along the axis, 0 elsewhere
    1.0
    """
    return _distance(*_check_all(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t))


def bures_wasserstein_mapping_hd(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t):
    r"""The Monge map ``x -> x @ A + b`` between two Gaussians of covariance ``U diag(l) U^T + sigma^2 I`` (POT's
    ``ot.gaussian.bures_wasserstein_mapping_hd``): ``A = Sigma_s^{-1/2} (Sigma_s^{1/2} Sigma_t Sigma_s^{1/2})^{1/2}
    Sigma_s^{-1/2}``, computed on the span of ``[Us, Ut]`` and ``sqrt(sigma2_t / sigma2_s) I`` off it.

    Parameters
    ----------
    As in :func:`bures_wasserstein_distance_hd`; ``sigma2_s`` must be positive (a singular source has no map).

    Returns
    -------
    A : array of shape (p, p)
        Symmetric positive semi-definite.
    b : array of shape (p,)
        ``mt - ms @ A``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> U = np.eye(3)[:, :1]
    >>> A, b = numbaot.bures_wasserstein_mapping_hd(np.zeros(3), np.ones(3), U, U, [3.0], [12.0], 1.0, 4.0)
    >>> np.diag(A), b                                          # stretch 2 along the axis (and off it)
    (array([2., 2., 2.]), array([1., 1., 1.]))
    """
    return _mapping(*_check_all(ms, mt, Us, Ut, ls, lt, sigma2_s, sigma2_t))


# ------------------------------------------------------------------------------------------------- empirical
def _intrinsic(d_intrinsic, p):
    if isinstance(d_intrinsic, (list, tuple, np.ndarray)) and len(d_intrinsic) == 2:
        pair = list(d_intrinsic)
    else:
        pair = [d_intrinsic, d_intrinsic]
    out = []
    for d in pair:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"d_intrinsic must be an int or a pair of ints (source, target), got {d_intrinsic!r}")
        if not 1 <= int(d) < p:
            raise ValueError(f"d_intrinsic must lie in [1, {p - 1}] (fewer principal axes than the dimension p = "
                             f"{p}, so that a residual variance is left), got {d_intrinsic!r}")
        out.append(int(d))
    return out


def _ppca(C, d, reg):
    """``(U, l, sigma^2)`` of probabilistic PCA with ``d`` axes on the covariance ``C`` (p, p)."""
    p = C.shape[0]
    w, W = np.linalg.eigh(C)
    top = w[p - d:]
    sigma2 = (np.trace(C) - np.sum(top)) / (p - d)
    return W[:, p - d:], top - sigma2, max(float(sigma2), reg)


def _empirical_models(xs, xt, d_intrinsic, reg, ws, wt, bias):
    _host_only("the empirical _hd Bures-Wasserstein functions", xs=xs, xt=xt, ws=ws, wt=wt)
    xs = V.check_points(xs, "xs")
    xt = V.check_points(xt, "xt")
    V.check_same_dimension(xs, xt, ("xs", "xt"))
    reg = _check_reg_nonnegative(reg)
    bias = V.check_bool(bias, "bias")
    p = xs.shape[1]
    if p < 2:
        raise ValueError("the high-dimensional model needs points in dimension p >= 2 (d_intrinsic < p axes plus a "
                         "residual variance); use empirical_bures_wasserstein_distance")
    d_s, d_t = _intrinsic(d_intrinsic, p)
    ms, Cs = _moments(xs.astype(np.float64, copy=False), _sample_weights(ws, "ws", xs.shape[0]), bias, reg)
    mt, Ct = _moments(xt.astype(np.float64, copy=False), _sample_weights(wt, "wt", xt.shape[0]), bias, reg)
    Us, ls, s2s = _ppca(Cs, d_s, reg)
    Ut, lt, s2t = _ppca(Ct, d_t, reg)
    return ms, mt, Us, Ut, ls, lt, s2s, s2t


def empirical_bures_wasserstein_distance_hd(xs, xt, d_intrinsic, reg=0.0, ws=None, wt=None, bias=True):
    r"""``W_2`` between the high-dimensional Gaussians fitted to two weighted samples by probabilistic PCA (POT's
    ``ot.gaussian.empirical_bures_wasserstein_distance_hd``; see the module docstring).

    Parameters
    ----------
    xs, xt : arrays of shape (n, p) and (m, p)
        Samples.
    d_intrinsic : int, or pair of ints
        Principal axes kept for the source and the target, each in [1, p - 1].
    reg : float >= 0
        Added to the covariances' diagonal, and a floor of the residual variances.
    ws, wt : arrays of shape (n,) or (n, 1), and (m,) or (m, 1), optional
        Sample weights (uniform when None).
    bias : bool
        Estimate the means (True), or take them as 0.

    Returns
    -------
    float

    Notes
    -----
    The residual variance is the mean of the ``p - d`` trailing eigenvalues. POT 0.9.7 divides their sum by
    ``p - d + reg`` in this function (and by ``p - d`` in the mapping): the two agree for ``reg = 0``, the default.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(500, 10))
    >>> round(float(numbaot.empirical_bures_wasserstein_distance_hd(x, x + 2.0, 3)), 10)  # a shift by 2 in R^10
    6.3245553203
    """
    return _distance(*_empirical_models(xs, xt, d_intrinsic, reg, ws, wt, bias))


def empirical_bures_wasserstein_mapping_hd(xs, xt, d_intrinsic, reg=0.0, ws=None, wt=None, bias=True):
    r"""The Monge map ``x -> x @ A + b`` between the high-dimensional Gaussians fitted to two weighted samples by
    probabilistic PCA (POT's ``ot.gaussian.empirical_bures_wasserstein_mapping_hd``); parameters as in
    :func:`empirical_bures_wasserstein_distance_hd`. A zero residual variance of the source (``reg = 0`` with
    data of rank at most ``d_intrinsic``) raises a ValueError suggesting ``reg > 0``.

    Returns
    -------
    A : array of shape (p, p)
    b : array of shape (p,)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> x = np.random.default_rng(0).normal(size=(500, 6))
    >>> A, b = numbaot.empirical_bures_wasserstein_mapping_hd(x, 3 * x + 1, 2)
    >>> bool(np.allclose(x @ A + b, 3 * x + 1))
    True
    """
    return _mapping(*_empirical_models(xs, xt, d_intrinsic, reg, ws, wt, bias))
