"""``ot.gmm`` over numbaot: OT between Gaussian mixtures (Delon and Desolneux 2020)."""
from __future__ import annotations

import numpy as np

from . import _common as _c

__all__ = ["gmm_ot_loss", "gmm_ot_plan", "gmm_ot_apply_map", "gmm_ot_plan_density", "gaussian_pdf",
           "gaussian_logpdf", "gmm_pdf", "dist_bures_squared"]


def gmm_ot_loss(m_s, m_t, C_s, C_t, w_s, w_t, log=False):
    """The mixture-W2 loss (POT's name) by :func:`numbaot.gmm_ot_loss`."""
    import numbaot

    value = _c.asserts(numbaot.gmm_ot_loss)(m_s, m_t, C_s, C_t, w_s, w_t)
    return (value, {}) if log else value


def gmm_ot_plan(m_s, m_t, C_s, C_t, w_s, w_t, log=False):
    """The plan between mixture components (POT's name) by :func:`numbaot.gmm_ot_plan`."""
    import numbaot

    plan = _c.asserts(numbaot.gmm_ot_plan)(m_s, m_t, C_s, C_t, w_s, w_t)
    return (plan, {}) if log else plan


def gmm_ot_apply_map(x, m_s, m_t, C_s, C_t, w_s, w_t, plan=None, method="bary", seed=None):
    """Map points by the mixture plan (POT's name) by :func:`numbaot.gmm_ot_apply_map`."""
    import numbaot

    return _c.asserts(numbaot.gmm_ot_apply_map)(x, m_s, m_t, C_s, C_t, w_s, w_t, plan, method, seed)


def gmm_ot_plan_density(x, y, m_s, m_t, C_s, C_t, w_s, w_t, plan=None, atol=1e-2):
    """Density of the mixture plan (POT's name) by :func:`numbaot.gmm_ot_plan_density`."""
    import numbaot

    return _c.asserts(numbaot.gmm_ot_plan_density)(x, y, m_s, m_t, C_s, C_t, w_s, w_t, plan, atol)


def gaussian_logpdf(x, m, C):
    """Log-density of N(m, C) at the rows of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.gmm import gaussian_pdf
    >>> round(float(gaussian_pdf(np.zeros((1, 1)), np.zeros(1), np.eye(1))[0]), 6)
    0.398942
    """
    x, m, C = np.asarray(x, dtype=float), np.asarray(m, dtype=float), np.asarray(C, dtype=float)
    d = m.shape[-1]
    if x.shape[-1] != d or C.shape != (d, d):
        raise _c.MarginalsError(f"x has points of dimension {x.shape[-1]}, m of {d} and C has shape {C.shape}")
    L = np.linalg.cholesky(C)
    flat = x.reshape(-1, d)
    z = np.linalg.solve(L, (flat - m).T)
    out = -0.5 * np.sum(z ** 2, axis=0) - np.log(np.diag(L)).sum() - 0.5 * d * np.log(2 * np.pi)
    return out.reshape(x.shape[:-1])


def gaussian_pdf(x, m, C):
    """Density of N(m, C) at the rows of ``x``."""
    return np.exp(gaussian_logpdf(x, m, C))


def gmm_pdf(x, m, C, w):
    """Density of the mixture ``sum_k w_k N(m_k, C_k)`` at the rows of ``x``."""
    m, C, w = np.asarray(m, dtype=float), np.asarray(C, dtype=float), np.asarray(w, dtype=float)
    if m.ndim != 2 or C.shape != (m.shape[0], m.shape[1], m.shape[1]) or w.shape != (m.shape[0],):
        raise _c.MarginalsError(f"m (k, d), C (k, d, d) and w (k,) expected, got {m.shape}, {C.shape}, {w.shape}")
    return sum(wk * gaussian_pdf(x, mk, Ck) for wk, mk, Ck in zip(w, m, C))


def dist_bures_squared(m_s, m_t, C_s, C_t):
    """Squared Bures-Wasserstein distances between all pairs of components, shape (k_s, k_t)."""
    import numbaot

    m_s, m_t = np.asarray(m_s, dtype=float), np.asarray(m_t, dtype=float)
    C_s, C_t = np.asarray(C_s, dtype=float), np.asarray(C_t, dtype=float)
    d = m_s.shape[-1]
    if m_t.shape[-1] != d or C_s.shape != (m_s.shape[0], d, d) or C_t.shape != (m_t.shape[0], d, d):
        raise _c.MarginalsError(f"means (ks, d), (kt, d) and covariances (ks, d, d), (kt, d, d) expected, got "
                                f"{m_s.shape}, {m_t.shape}, {C_s.shape}, {C_t.shape}")
    out = np.empty((m_s.shape[0], m_t.shape[0]))
    for i in range(m_s.shape[0]):
        for j in range(m_t.shape[0]):
            out[i, j] = numbaot.bures_wasserstein_distance(m_s[i], m_t[j], C_s[i], C_t[j]) ** 2
    return out


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "gmm_barycenter_fixed_point": "numbaot.bures_wasserstein_barycenter",
}
__getattr__ = _c.missing_getattr(__name__, _MISSING)
