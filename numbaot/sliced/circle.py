"""Optimal transport on the circle and spherical sliced Wasserstein: validate, sort, call the ``_circle`` cores.

POT's names and conventions (``ot.wasserstein_circle``, ``ot.sliced_wasserstein_sphere``): points on the circle
are coordinates in [0, 1) (taken modulo 1), the cost is ``d(x, y)^p`` with ``d`` the arc length, and values are
``W_p^p`` (``wasserstein1_circle``: ``W_1``; the spherical sliced distances: the p-th root of the mean).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _config, _dispatch, _validation as V
from .api import _check_seed

#: |x|^2 may differ from 1 by this much for a point to count as on the sphere (POT's tolerance).
SPHERE_TOL = 1e-4


# ---------------------------------------------------------------------------------------------------- preparation
def _circle_values(x, name):
    x = V.as_float_array(x, name, ndim=(1, 2))
    V.check_finite(x, name)
    return x


def _rows(values, weights, name_w, k):
    """Problems as rows: sorted coordinates in [0, 1) (k, n) and their weights normalised to 1, and the masses."""
    n = values.shape[0]
    coords = np.mod(values.astype(np.float64).reshape(n, -1).T, 1.0)  # (k, n)
    coords[coords >= 1.0] = 0.0  # x mod 1 rounds to 1.0 for tiny negative x
    if weights is None:
        w = np.full((k, n), 1.0 / n)
    else:
        w = V.as_float_array(weights, name_w, ndim=(1, 2))
        if w.shape not in ((n,), (n, k)):
            raise ValueError(f"{name_w} has shape {w.shape}; it must be ({n},) or ({n}, {k})")
        cols = w.reshape(n, -1)
        w = np.stack([V.check_weights(np.ascontiguousarray(cols[:, min(t, cols.shape[1] - 1)]),
                                      name_w if w.ndim == 1 else f"{name_w}[:, {t}]", n) for t in range(k)])
        w = w.astype(np.float64)
    masses = w.sum(axis=1)
    order = np.argsort(coords, axis=1, kind="stable")
    xs = np.ascontiguousarray(np.take_along_axis(coords, order, axis=1))
    ws = np.ascontiguousarray(np.take_along_axis(w, order, axis=1) / masses[:, None])
    return xs, ws, masses


def _cumulative(ws):
    c = np.cumsum(ws, axis=1)
    c[:, -1] = 1.0  # exactly 1: the walk integrates t over [0, 1)
    return np.ascontiguousarray(np.minimum(c, 1.0))


def _pair(u_values, v_values, u_weights, v_weights):
    u = _circle_values(u_values, "u_values")
    v = _circle_values(v_values, "v_values")
    if u.ndim != v.ndim or u.shape[1:] != v.shape[1:]:
        raise ValueError(f"u_values has shape {u.shape} and v_values {v.shape}: both must be 1D, or 2D with the "
                         "same number of columns (one problem per column)")
    k = 1 if u.ndim == 1 else u.shape[1]
    xs, wa, mass_a = _rows(u, u_weights, "u_weights", k)
    ys, wb, mass_b = _rows(v, v_weights, "v_weights", k)
    dtype = V.mass_dtype(*(w for w in (u_weights, v_weights) if isinstance(w, np.ndarray)))
    V.check_mass_pairs(mass_a, mass_b, dtype, ("u_weights", "v_weights"))
    return xs, wa, ys, wb, mass_a, u.ndim == 2, V.result_dtype(u, v)


def _device_pair(u_values, v_values, u_weights, v_weights):
    """Where the arrays live (device arrays take the CUDA path of ``_gpu_circle``)."""
    return _dispatch.place(u_values=u_values, v_values=v_values, u_weights=u_weights, v_weights=v_weights)


def _parallel(core, n_threads, *args):
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(_config.n_threads(n_threads))
    try:
        return core(*args)
    finally:
        numba.set_num_threads(previous)


def _finish(values, batched, dtype):
    return values.astype(dtype) if batched else dtype.type(values[0])


# ------------------------------------------------------------------------------------------------------ the circle
def wasserstein_circle(u_values, v_values, u_weights=None, v_weights=None, p=1, *, n_threads=None):
    r"""``W_p^p`` between measures on the circle R/Z (POT's ``ot.wasserstein_circle``).

    .. math:: W_p^p(\mu, \nu) = \min_\theta \int_0^1 |F_\mu^{-1}(t) - F_\nu^{-1}(t + \theta)|^p \, dt

    with the cumulative functions lifted to R. The cost is convex and piecewise linear in theta; it is minimised
    by bisection on the sign of its exact derivative (each evaluation one O(n + m) merge) to float64 resolution,
    not to a tolerance: the value is exact up to rounding.

    Parameters
    ----------
    u_values, v_values : arrays of shape (n,) or (n, k), and (m,) or (m, k)
        Coordinates on the circle, taken modulo 1; one problem per column (in parallel).
    u_weights, v_weights : arrays of shape (n,) or (n, k), and (m,) or (m, k), optional
        Weights (uniform when None), of equal mass per problem.
    p : float >= 1
    n_threads : int, optional
        Threads for batches (default: Numba's thread count).

    Returns
    -------
    numpy scalar, or array of shape (k,) for 2D inputs
        CUDA inputs (CuPy, Numba) are sorted and solved on the GPU (one thread per problem runs the same
        bisection); a batch comes back as the caller's kind of CUDA array, a single value as a numpy scalar.

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.wasserstein_circle([0.05], [0.95], p=2)), 12)   # across 0: the arc is 0.1
    0.01
    """
    p = V.check_p(p)
    placement = _device_pair(u_values, v_values, u_weights, v_weights)
    if placement.on_gpu:
        from . import _gpu_circle

        return _gpu_circle.circle(placement, u_values, v_values, u_weights, v_weights, p)
    xs, wa, ys, wb, mass, batched, dtype = _pair(u_values, v_values, u_weights, v_weights)
    from ._circle import circle_cost_batch

    values, _ = _parallel(circle_cost_batch, n_threads, xs, _cumulative(wa), ys, _cumulative(wb), p)
    return _finish(values * mass, batched, dtype)


def binary_search_circle(u_values, v_values, u_weights=None, v_weights=None, p=1, *, return_theta=False,
                         n_threads=None):
    r"""``W_p^p`` on the circle by the search over the shift theta (POT's ``ot.binary_search_circle``), with the
    optimal shift on request; otherwise as :func:`wasserstein_circle`.

    Parameters
    ----------
    u_values, v_values, u_weights, v_weights, p, n_threads
        As in :func:`wasserstein_circle`.
    return_theta : bool
        Also return the optimal shift(s) theta in [-1, 1] (POT's ``log['optimal_theta']``).

    Returns
    -------
    value, or (value, theta)

    Examples
    --------
    >>> import numbaot
    >>> value, theta = numbaot.binary_search_circle([0.1, 0.6], [0.3, 0.8], p=2, return_theta=True)
    >>> round(float(value), 12), round(abs(float(theta)), 6)
    (0.04, 0.0)
    """
    p = V.check_p(p)
    return_theta = V.check_bool(return_theta, "return_theta")
    placement = _device_pair(u_values, v_values, u_weights, v_weights)
    if placement.on_gpu:
        from . import _gpu_circle

        return _gpu_circle.circle(placement, u_values, v_values, u_weights, v_weights, p, return_theta)
    xs, wa, ys, wb, mass, batched, dtype = _pair(u_values, v_values, u_weights, v_weights)
    from ._circle import circle_cost_batch

    values, thetas = _parallel(circle_cost_batch, n_threads, xs, _cumulative(wa), ys, _cumulative(wb), p)
    value = _finish(values * mass, batched, dtype)
    if not return_theta:
        return value
    return value, (thetas if batched else float(thetas[0]))


def wasserstein1_circle(u_values, v_values, u_weights=None, v_weights=None, *, n_threads=None):
    r"""``W_1`` on the circle in closed form (POT's ``ot.lp.solver_circle.wasserstein1_circle``): with F and G the
    cumulative functions on [0, 1), ``W_1 = min_alpha int_0^1 |F(x) - G(x) - alpha| dx``, alpha a weighted median
    of F - G (Hundrieser et al. 2021). Parameters as in :func:`wasserstein_circle`; CUDA inputs run
    :func:`wasserstein_circle`'s GPU search with p = 1 (the same value up to rounding).

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.wasserstein1_circle([0.05], [0.95])), 12)
    0.1
    """
    placement = _device_pair(u_values, v_values, u_weights, v_weights)
    if placement.on_gpu:  # the bisection with p = 1 (exact up to rounding), as the closed form's check
        from . import _gpu_circle

        return _gpu_circle.circle(placement, u_values, v_values, u_weights, v_weights, 1.0)
    xs, wa, ys, wb, mass, batched, dtype = _pair(u_values, v_values, u_weights, v_weights)
    from ._circle import circle_w1_batch

    values = _parallel(circle_w1_batch, n_threads, xs, wa, ys, wb)
    return _finish(values * mass, batched, dtype)


def semidiscrete_wasserstein2_unif_circle(u_values, u_weights=None, *, n_threads=None):
    r"""``W_2^2`` between a discrete measure on the circle and the uniform measure, in closed form (POT's
    ``ot.semidiscrete_wasserstein2_unif_circle``).

    For the uniform target the cost of a shift theta is a parabola in theta; its minimum is the variance of
    ``F^{-1}(t) - t`` for t uniform on [0, 1).

    Parameters
    ----------
    u_values : array of shape (n,) or (n, k)
        Coordinates on the circle, taken modulo 1.
    u_weights : array of shape (n,) or (n, k), optional
        Weights summing to 1 (the uniform measure has mass 1); uniform when None.
    n_threads : int, optional

    Returns
    -------
    numpy scalar, or array of shape (k,)

    Examples
    --------
    >>> import numbaot
    >>> round(float(numbaot.semidiscrete_wasserstein2_unif_circle([0.5])), 12)   # int (x - 1/2)^2 = 1/12
    0.083333333333
    """
    placement = _dispatch.place(u_values=u_values, u_weights=u_weights)
    if placement.on_gpu:
        from . import _gpu_circle

        return _gpu_circle.unif_circle(placement, u_values, u_weights)
    u = _circle_values(u_values, "u_values")
    k = 1 if u.ndim == 1 else u.shape[1]
    xs, wa, mass = _rows(u, u_weights, "u_weights", k)
    for t in range(k):
        if abs(mass[t] - 1.0) > 1e-9:
            raise ValueError(f"u_weights must sum to 1 (the uniform measure on the circle has mass 1), got "
                             f"{mass[t]:.17g}; pass u_weights / u_weights.sum()")
    from ._circle import w2_to_uniform_batch

    values = _parallel(w2_to_uniform_batch, n_threads, xs, wa)
    return _finish(values, u.ndim == 2, V.result_dtype(u))


# ------------------------------------------------------------------------------------------------------ the sphere
def get_projections_sphere(d, n_projections, seed=None):
    """``n_projections`` random planes of R^d: an array (L, d, 2) of orthonormal pairs (QR of Gaussian draws).

    An int seed draws with ``numpy.random.RandomState(seed)``, which gives POT's
    ``ot.sliced.get_projections_sphere(d, n_projections, seed)``.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> U = numbaot.get_projections_sphere(3, 4, seed=0)
    >>> U.shape, bool(np.allclose(U[0].T @ U[0], np.eye(2)))
    ((4, 3, 2), True)
    """
    d = V.check_max_iter(d, "d")
    if d < 2:
        raise ValueError(f"d must be >= 2 (a plane must fit in R^d), got {d}")
    n_projections = V.check_max_iter(n_projections, "n_projections")
    seed = _check_seed(seed)
    if isinstance(seed, np.random.Generator):
        Z = seed.standard_normal((n_projections, d, 2))
    else:
        rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
        Z = rng.randn(n_projections, d, 2)
    Q, _ = np.linalg.qr(Z)
    return Q


def _on_sphere(X, name):
    X = V.as_float_array(X, name, ndim=2)
    V.check_finite(X, name)
    if X.shape[1] < 2:
        raise ValueError(f"{name} has points of dimension {X.shape[1]}; the sphere S^(d-1) needs d >= 2")
    squared = np.sum(X.astype(np.float64) ** 2, axis=1)
    bad = np.flatnonzero(np.abs(squared - 1.0) > SPHERE_TOL)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] is not on the unit sphere (|x|^2 = {squared[i]:.6g}); "
                         f"normalise the points: {name} / np.linalg.norm({name}, axis=1, keepdims=True)")
    return X


def _sphere_projections(projections, d, n_projections, seed):
    if projections is None:
        return get_projections_sphere(d, V.check_max_iter(n_projections, "n_projections"), seed)
    U = V.as_float_array(projections, "projections", ndim=3)
    if U.shape[1:] != (d, 2):
        raise ValueError(f"projections has shape {U.shape}; it must be (L, {d}, 2): one pair of directions per "
                         "plane")
    V.check_finite(U, "projections")
    return U.astype(np.float64, copy=False)


def _circle_coordinates(X, U):
    """Coordinates in [0, 1) of the points' projections on each plane: (L, n); a point orthogonal to a plane
    (measure zero) gets coordinate 0.5 (angle 0)."""
    planar = np.einsum("ldk,nd->lnk", U, X.astype(np.float64))
    coords = (np.arctan2(planar[..., 1], planar[..., 0]) + math.pi) / (2 * math.pi)
    coords[coords >= 1.0] = 0.0
    return coords


def _check_common(n_projections, p, seed, projections):
    if projections is None:
        V.check_max_iter(n_projections, "n_projections")
    return V.check_p(p), _check_seed(seed)


def sliced_wasserstein_sphere(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                              n_threads=None):
    r"""Spherical sliced Wasserstein distance (Bonet et al. 2023; POT's ``ot.sliced_wasserstein_sphere``).

    .. math:: SSW_p(\mu, \nu) = \Big(\frac{1}{L} \sum_l W_p^p(P^{U_l}_\# \mu, P^{U_l}_\# \nu)\Big)^{1/p}

    where ``P^U(x) = U^T x / |U^T x|`` sends the sphere onto the great circle of the plane U, and ``W_p`` is the
    circle's (see :func:`wasserstein_circle`); the L circle problems are solved in parallel.

    Parameters
    ----------
    X_s, X_t : arrays of shape (n, d) and (m, d)
        Points on the unit sphere (``|x|^2`` within 1e-4 of 1); CUDA arrays (with CUDA or no weights) are projected
        and solved on the GPU, the planes staying host arrays.
    a, b : arrays of shape (n,) and (m,), optional
        Weights (uniform when None) of equal mass.
    n_projections : int >= 1
        Number of random planes L, when ``projections`` is None.
    p : float >= 1
    projections : array of shape (L, d, 2), optional
        Orthonormal pairs spanning the planes (see :func:`get_projections_sphere`).
    seed : int, numpy Generator or RandomState, optional
        An int gives POT's planes for the same seed.
    n_threads : int, optional

    Returns
    -------
    numpy scalar

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.random.default_rng(0).normal(size=(50, 3)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> round(float(numbaot.sliced_wasserstein_sphere(X, X, seed=0)), 12)
    0.0
    """
    p, seed = _check_common(n_projections, p, seed, projections)
    placement = _dispatch.place(X_s=X_s, X_t=X_t, a=a, b=b)
    if placement.on_gpu:
        from . import _gpu_circle

        X_s, rows_s = _gpu_circle.sphere_points(placement, X_s, "X_s", SPHERE_TOL)
        X_t, rows_t = _gpu_circle.sphere_points(placement, X_t, "X_t", SPHERE_TOL)
        V.check_same_dimension(X_s, X_t, ("X_s", "X_t"))
        U = _sphere_projections(projections, int(X_s.shape[1]), n_projections, seed)
        V.check_weight_length(a, "a", X_s.shape[0])
        V.check_weight_length(b, "b", X_t.shape[0])
        mean = _gpu_circle.sphere(placement, X_s, X_t, a, b, p, U, rows_s, rows_t)
        return V.result_dtype(X_s, X_t).type(max(mean, 0.0) ** (1.0 / p))
    X_s = _on_sphere(X_s, "X_s")
    X_t = _on_sphere(X_t, "X_t")
    V.check_same_dimension(X_s, X_t, ("X_s", "X_t"))
    U = _sphere_projections(projections, X_s.shape[1], n_projections, seed)
    V.check_weight_length(a, "a", X_s.shape[0])
    V.check_weight_length(b, "b", X_t.shape[0])
    wa, wb = V.check_balanced_weights(a, b, X_s.shape[0], X_t.shape[0])
    u = _circle_coordinates(X_s, U).T  # (n, L): one problem per column
    v = _circle_coordinates(X_t, U).T
    values = wasserstein_circle(u, v, wa, wb, p, n_threads=n_threads)
    dtype = V.result_dtype(X_s, X_t)
    return dtype.type(max(float(np.mean(values)), 0.0) ** (1.0 / p))


def sliced_wasserstein_sphere_unif(X_s, a=None, n_projections=50, projections=None, seed=None, *, n_threads=None):
    r"""Spherical sliced ``SSW_2`` between a weighted point cloud on the sphere and the uniform measure on it (POT's
    ``ot.sliced_wasserstein_sphere_unif``): the square root of the mean over planes of
    :func:`semidiscrete_wasserstein2_unif_circle` (the uniform measure on the sphere projects to the uniform
    measure on each great circle).

    Parameters
    ----------
    X_s : array of shape (n, d)
        Points on the unit sphere.
    a : array of shape (n,), optional
        Weights summing to 1 (uniform when None).
    n_projections, projections, seed, n_threads
        As in :func:`sliced_wasserstein_sphere`.

    Returns
    -------
    numpy scalar

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> t = 2 * np.pi * (np.arange(1000) + 0.5) / 1000
    >>> X = np.stack([np.cos(t), np.sin(t)], axis=1)          # evenly spread on the circle S^1
    >>> bool(numbaot.sliced_wasserstein_sphere_unif(X, seed=0) < 1e-3)
    True
    """
    if projections is None:
        V.check_max_iter(n_projections, "n_projections")
    seed = _check_seed(seed)
    placement = _dispatch.place(X_s=X_s, a=a)
    if placement.on_gpu:
        from . import _gpu_circle

        X_s, rows = _gpu_circle.sphere_points(placement, X_s, "X_s", SPHERE_TOL)
        U = _sphere_projections(projections, int(X_s.shape[1]), n_projections, seed)
        mean = _gpu_circle.sphere_unif(placement, X_s, a, U, rows)
        return V.result_dtype(X_s).type(max(mean, 0.0) ** 0.5)
    X_s = _on_sphere(X_s, "X_s")
    U = _sphere_projections(projections, X_s.shape[1], n_projections, seed)
    w = None if a is None else V.check_weights(a, "a", X_s.shape[0])
    if w is not None and abs(float(np.sum(w)) - 1.0) > 1e-9:
        raise ValueError(f"a must sum to 1 (the uniform measure on the sphere has mass 1), got {float(np.sum(w)):.17g}"
                         "; pass a / a.sum()")
    values = semidiscrete_wasserstein2_unif_circle(_circle_coordinates(X_s, U).T, w, n_threads=n_threads)
    return V.result_dtype(X_s).type(max(float(np.mean(values)), 0.0) ** 0.5)
