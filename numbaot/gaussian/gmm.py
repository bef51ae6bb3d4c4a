"""Optimal transport between Gaussian mixtures restricted to Gaussian-mixture couplings (Delon and Desolneux 2020),
with POT's names (``ot.gmm``): the components' squared Bures-Wasserstein costs, then exact OT (our network simplex)
between the mixture weights.

A mixture is given by means ``m`` (K, d), covariances ``C`` (K, d, d) and weights ``w`` (K,). The loss is
``MW_2^2 = min_P sum_ij P_ij W_2^2(N_i, N_j)`` over couplings P of ``w_s`` and ``w_t`` (squared, as POT).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _config, _validation as V
from ..exact.api import emd, emd2
from .api import _gaussians, _run_parallel, _same_dimension

_MAP_METHODS = ("bary", "rand")


def _mixtures(m_s, m_t, C_s, C_t, w_s, w_t):
    ms, Cs, smallest_s, batched_s = _gaussians(m_s, C_s, "m_s", "C_s", "raise")
    mt, Ct, smallest_t, batched_t = _gaussians(m_t, C_t, "m_t", "C_t", "raise")
    if not (batched_s and batched_t):
        raise ValueError("a Gaussian mixture has means of shape (K, d) and covariances of shape (K, d, d); got "
                         f"m_s {np.shape(m_s)}, m_t {np.shape(m_t)}")
    _same_dimension(ms.shape[1], mt.shape[1], ("the source mixture", "the target mixture"))
    ws, wt = V.check_balanced_weights(w_s, w_t, ms.shape[0], mt.shape[0])
    return ms, mt, Cs, Ct, ws.astype(np.float64), wt.astype(np.float64), smallest_s


def _costs(ms, mt, Cs, Ct):
    from ._bures import bures_squared_core

    D = _run_parallel(bures_squared_core, _config.n_threads(None), ms, mt, Cs, Ct, False)
    return D.reshape(ms.shape[0], mt.shape[0])


def gmm_ot_loss(m_s, m_t, C_s, C_t, w_s, w_t):
    r"""Squared mixture-Wasserstein distance ``MW_2^2`` between two Gaussian mixtures (POT's ``ot.gmm.gmm_ot_loss``).

    Parameters
    ----------
    m_s, m_t : arrays of shape (k_s, d) and (k_t, d)
        Component means.
    C_s, C_t : arrays of shape (k_s, d, d) and (k_t, d, d)
        Component covariances (symmetric PSD).
    w_s, w_t : arrays of shape (k_s,) and (k_t,)
        Component weights, of equal total mass.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> m = np.array([[0.0], [10.0]]); C = np.ones((2, 1, 1)); w = np.array([0.5, 0.5])
    >>> float(numbaot.gmm_ot_loss(m, m + 1, C, C, w, w))   # each component moves by 1
    1.0
    """
    ms, mt, Cs, Ct, ws, wt, _ = _mixtures(m_s, m_t, C_s, C_t, w_s, w_t)
    return float(emd2(ws, wt, _costs(ms, mt, Cs, Ct)))


def gmm_ot_plan(m_s, m_t, C_s, C_t, w_s, w_t):
    r"""The optimal coupling (k_s, k_t) of the mixtures' components (POT's ``ot.gmm.gmm_ot_plan``); parameters as in
    :func:`gmm_ot_loss`.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> m = np.array([[0.0], [10.0]]); C = np.ones((2, 1, 1)); w = np.array([0.5, 0.5])
    >>> numbaot.gmm_ot_plan(m, m[::-1], C, C, w, w)
    array([[0. , 0.5],
           [0.5, 0. ]])
    """
    ms, mt, Cs, Ct, ws, wt, _ = _mixtures(m_s, m_t, C_s, C_t, w_s, w_t)
    return emd(ws, wt, _costs(ms, mt, Cs, Ct))


def _plan(plan, ms, mt, Cs, Ct, ws, wt):
    if plan is None:
        return emd(ws, wt, _costs(ms, mt, Cs, Ct))
    P = V.as_float_array(plan, "plan", ndim=2)
    if P.shape != (ms.shape[0], mt.shape[0]):
        raise ValueError(f"plan has shape {P.shape}; it must be ({ms.shape[0]}, {mt.shape[0]}), one row per source "
                         "component and one column per target component")
    V.check_finite(P, "plan")
    if np.any(P < 0):
        raise ValueError("plan has negative entries; a coupling is non-negative")
    return P.astype(np.float64, copy=False)


def _log_densities(x, ms, Cs):
    """``log N(x_n; m_k, C_k)`` for every sample and component: (n, K), by Cholesky factors."""
    n, d = x.shape
    out = np.empty((n, ms.shape[0]))
    for k in range(ms.shape[0]):
        L = np.linalg.cholesky(Cs[k])
        z = np.linalg.solve(L, (x - ms[k]).T)  # (d, n)
        log_det = 2.0 * np.sum(np.log(np.diag(L)))
        out[:, k] = -0.5 * (d * math.log(2 * math.pi) + log_det + np.sum(z * z, axis=0))
    return out


def _require_definite(smallest, Cs, name):
    scale = np.max(np.abs(Cs), axis=(1, 2))
    bad = np.flatnonzero(~(smallest > 1e-12 * np.maximum(scale, np.finfo(float).tiny)))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{name}[{k}] is singular (smallest eigenvalue {smallest[k]:.3g}): the component has no "
                         "density and no Monge map; regularise it (C + reg * I)")


def _maps(ms, mt, Cs, Ct, pairs):
    """Linear parts and translations ``(A, b)`` of the Monge maps N_i -> N_j for the given (i, j) pairs."""
    from ._bures import bures_map_core

    maps = {}
    for i, j in pairs:
        A, _ = bures_map_core(Cs[i], Ct[j])
        maps[(i, j)] = (A, mt[j] - ms[i] @ A)
    return maps


def _check_samples(x, name, d):
    x = V.check_points(x, name)
    if x.shape[1] != d:
        raise ValueError(f"{name} has points of dimension {x.shape[1]} but the mixtures live in dimension {d}")
    return x.astype(np.float64, copy=False)


def gmm_ot_apply_map(x, m_s, m_t, C_s, C_t, w_s, w_t, plan=None, method="bary", seed=None):
    r"""Apply the mixture OT map to samples ``x`` of the source mixture (POT's ``ot.gmm.gmm_ot_apply_map``).

    ``method='bary'``: the barycentric map ``T(x) = sum_ij P_ij g_i(x) T_ij(x) / sum_k w_k g_k(x)``, with ``g_i``
    the source components' densities and ``T_ij`` the Monge map from component i to component j.
    ``method='rand'``: each x is sent by one ``T_ij``, drawn with probability ``P_ij g_i(x) / sum_k w_k g_k(x)``
    (``numpy.random.RandomState(seed)``, one draw per sample in order, as POT).

    Parameters
    ----------
    x : array of shape (n, d)
        Samples.
    m_s, m_t, C_s, C_t, w_s, w_t
        The mixtures, as in :func:`gmm_ot_loss`; the source covariances must be positive definite.
    plan : array of shape (k_s, k_t), optional
        The coupling of the components (default: :func:`gmm_ot_plan`).
    method : {'bary', 'rand'}
    seed : int, optional
        'rand' only.

    Returns
    -------
    array of shape (n, d)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> m = np.array([[0.0], [10.0]]); C = np.ones((2, 1, 1)); w = np.array([0.5, 0.5])
    >>> numbaot.gmm_ot_apply_map(np.array([[0.0], [10.0]]), m, m + 1, C, C, w, w).round(6)
    array([[ 1.],
           [11.]])
    """
    if not isinstance(method, str) or method not in _MAP_METHODS:
        raise ValueError(f"method must be one of {_MAP_METHODS}, got {method!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
    ms, mt, Cs, Ct, ws, wt, smallest = _mixtures(m_s, m_t, C_s, C_t, w_s, w_t)
    _require_definite(smallest, Cs, "C_s")
    x = _check_samples(x, "x", ms.shape[1])
    P = _plan(plan, ms, mt, Cs, Ct, ws, wt)
    pairs = list(zip(*(int_array.tolist() for int_array in np.nonzero(P > 0))))
    maps = _maps(ms, mt, Cs, Ct, pairs)
    logg = _log_densities(x, ms, Cs)  # (n, k_s)
    # g_i(x) / sum_k w_k g_k(x), computed in the log domain (far samples underflow every density)
    with np.errstate(divide="ignore"):
        log_mix = np.log(ws)[None, :] + logg
    top = np.max(log_mix, axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.sum(np.exp(log_mix - top), axis=1))
    ratio = np.exp(logg - log_norm[:, None])  # (n, k_s)
    if method == "bary":
        out = np.zeros_like(x)
        for (i, j) in pairs:
            A, b = maps[(i, j)]
            out += (P[i, j] * ratio[:, i])[:, None] * (x @ A + b)
        return out
    rng = np.random.RandomState(seed)
    k_t = P.shape[1]
    out = np.empty_like(x)
    for s in range(x.shape[0]):
        probs = (P * ratio[s][:, None]).reshape(-1)
        probs = probs / probs.sum()
        flat = int(rng.choice(probs.shape[0], p=probs))
        A, b = maps[(flat // k_t, flat % k_t)]
        out[s] = x[s] @ A + b
    return out


def gmm_ot_plan_density(x, y, m_s, m_t, C_s, C_t, w_s, w_t, plan=None, atol=1e-2):
    r"""Density of the mixture OT plan at the pairs (x_i, y_j) (POT's ``ot.gmm.gmm_ot_plan_density``).

    The plan is ``sum_kl P_kl (Id, T_kl)_# N_k``, singular w.r.t. Lebesgue measure: its "density" at (x, y) is
    ``sum_kl P_kl g_k(x) 1[|T_kl(x) - y| < atol]``.

    Parameters
    ----------
    x, y : arrays of shape (n, d) and (m, d)
    m_s, m_t, C_s, C_t, w_s, w_t
        The mixtures, as in :func:`gmm_ot_loss`; the source covariances must be positive definite.
    plan : array of shape (k_s, k_t), optional
        The coupling of the components (default: :func:`gmm_ot_plan`).
    atol : float > 0
        Tolerance of the indicator.

    Memory: (n, m, d) floats per component pair with positive mass (the gaps are computed exactly).

    Returns
    -------
    array of shape (n, m)

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> m = np.array([[0.0]]); C = np.ones((1, 1, 1)); w = np.array([1.0])
    >>> numbaot.gmm_ot_plan_density(np.array([[0.0]]), np.array([[1.0], [5.0]]), m, m + 1, C, C, w, w).round(6)
    array([[0.398942, 0.      ]])
    """
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not (math.isfinite(atol) and atol > 0):
        raise ValueError(f"atol must be a finite positive number, got {atol!r}")
    ms, mt, Cs, Ct, ws, wt, smallest = _mixtures(m_s, m_t, C_s, C_t, w_s, w_t)
    _require_definite(smallest, Cs, "C_s")
    x = _check_samples(x, "x", ms.shape[1])
    y = _check_samples(y, "y", ms.shape[1])
    P = _plan(plan, ms, mt, Cs, Ct, ws, wt)
    pairs = list(zip(*(int_array.tolist() for int_array in np.nonzero(P > 0))))
    maps = _maps(ms, mt, Cs, Ct, pairs)
    g = np.exp(_log_densities(x, ms, Cs))  # (n, k_s)
    out = np.zeros((x.shape[0], y.shape[0]))
    for (k, l) in pairs:
        A, b = maps[(k, l)]
        Tx = x @ A + b  # (n, d)
        gap = np.linalg.norm(Tx[:, None, :] - y[None, :, :], axis=-1)  # (n, m), exact near the threshold
        out += (P[k, l] * g[:, k])[:, None] * (gap < atol)
    return out
