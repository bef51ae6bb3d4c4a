"""Sliced Wasserstein front-ends: validate, choose CPU or CUDA, project, solve every 1D problem in one batch.

:func:`sliced_wasserstein_distance`, :func:`max_sliced_wasserstein_distance` and :func:`get_random_projections`,
with POT's conventions (``ot.sliced``): projections of shape (d, L), values ``SW_p`` (the p-th root of the mean of
the projected ``W_p^p``).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _config, _device, _dispatch, _validation as V
from .._status import ConvergenceWarning

_MAX_SLICED_METHODS = ("sampled", "gradient")


# ------------------------------------------------------------------------------------------------------ validation
def _check_seed(seed):
    if seed is None or isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int, a numpy Generator or RandomState, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def get_random_projections(d, n_projections, seed=None):
    """``n_projections`` directions drawn uniformly on the unit sphere of R^d, as the columns of a (d, L) array.

    Parameters
    ----------
    d : int >= 1
        Dimension of the points.
    n_projections : int >= 1
        Number of directions L.
    seed : int, numpy Generator or RandomState, optional
        An int draws with ``numpy.random.RandomState(seed)``, which gives the same directions as POT's
        ``ot.sliced.get_random_projections(d, n_projections, seed)``; None draws fresh ones.

    Returns
    -------
    array of shape (d, n_projections), float64, with unit columns.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> P = numbaot.get_random_projections(3, 5, seed=0)
    >>> P.shape, bool(np.allclose(np.linalg.norm(P, axis=0), 1.0))
    ((3, 5), True)
    """
    d = V.check_max_iter(d, "d")
    n_projections = V.check_max_iter(n_projections, "n_projections")
    seed = _check_seed(seed)
    if isinstance(seed, np.random.Generator):
        P = seed.standard_normal((d, n_projections))
    else:
        rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
        P = rng.randn(d, n_projections)
    norms = np.sqrt(np.sum(P * P, axis=0, keepdims=True))
    # a Gaussian draw is exactly zero with probability 0, but guard the division all the same
    norms[norms == 0] = 1.0
    return P / norms


def _check_clouds(X_s, X_t):
    X_s = V.as_float_array(X_s, "X_s", ndim=2, allow_cuda=True)
    X_t = V.as_float_array(X_t, "X_t", ndim=2, allow_cuda=True)
    V.check_same_dimension(X_s, X_t, ("X_s", "X_t"))
    for X, name in ((X_s, "X_s"), (X_t, "X_t")):
        if not _device.is_cuda_array(X):
            V.check_finite(X, name)
    return X_s, X_t


def _check_projections(projections, d, n_projections, seed):
    """The (d, L) directions: given (checked), or drawn; host float64, or the caller's device array."""
    if projections is None:
        n_projections = V.check_max_iter(n_projections, "n_projections")
        return get_random_projections(d, n_projections, seed)
    P = V.as_float_array(projections, "projections", ndim=2, allow_cuda=True)
    if P.shape[0] != d:
        raise ValueError(f"projections has shape {tuple(P.shape)} but the points have {d} coordinates; pass one "
                         f"direction per column, shape ({d}, L)")
    if not _device.is_cuda_array(P):
        V.check_finite(P, "projections")
        P = P.astype(np.float64, copy=False)
    return P


def _prepare(X_s, X_t, a, b, n_projections, p, projections, seed):
    X_s, X_t = _check_clouds(X_s, X_t)
    p = V.check_p(p)
    if projections is None:  # n_projections is read only when directions are drawn (POT's convention)
        V.check_max_iter(n_projections, "n_projections")
    seed = _check_seed(seed)
    V.check_weight_length(a, "a", X_s.shape[0])
    V.check_weight_length(b, "b", X_t.shape[0])
    P = _check_projections(projections, X_s.shape[1], n_projections, seed)
    return X_s, X_t, p, P


def _values(X_s, X_t, a, b, P, p, n_threads):
    """``W_p^p`` of every projected problem as float64 on the host, divided by ``2**(e p)``; ``e``; the result dtype.

    (The host path scales extreme clouds by ``2**-e`` so that nothing overflows; the device path does not: e = 0.)"""
    placement = _dispatch.place(X_s=X_s, X_t=X_t, a=a, b=b, projections=P if _device.is_cuda_array(P) else None)
    if placement.on_gpu:
        out_dtype = V.result_dtype(X_s, X_t, *(w for w in (a, b) if w is not None))
        return _device_values(placement, X_s, X_t, a, b, P, p), 0, out_dtype
    from ._projections import projected_values

    n, m = X_s.shape[0], X_t.shape[0]
    a_in = None if a is None else V.as_float_array(a, "a", ndim=1)
    b_in = None if b is None else V.as_float_array(b, "b", ndim=1)
    out_dtype = V.result_dtype(X_s, X_t, a_in, b_in)
    wa, wb = V.check_balanced_weights(a_in, b_in, n, m)
    wa = np.ascontiguousarray(wa, dtype=np.float64)
    wb = np.ascontiguousarray(wb, dtype=np.float64)
    values, e = projected_values(X_s.astype(np.float64, copy=False), X_t.astype(np.float64, copy=False), wa, wb,
                                 np.asarray(P, dtype=np.float64), p, a_in is None, b_in is None,
                                 _config.n_threads(n_threads))
    return values, e, out_dtype


def _device_values(placement, X_s, X_t, a, b, P, p):
    """Device clouds: projected on the device, the L 1D problems checked there in the host's order (the projections'
    NaN and inf, then each side's weights, as ``wasserstein_1d`` checks its inputs) and their masses judged here with
    the host path's rule (``check_balanced_weights``'s), then solved by the CUDA driver; float64 values (L,) on the
    host."""
    ps, pt = _dispatch.driver("sliced.projections", placement)(X_s, X_t, a, b, P)
    # the projections are finite when the clouds are; the weights keep their own names in messages
    names = ("u_values", "v_values", "a", "b")
    points = _dispatch.driver("1d.points", placement)(ps, pt, names, (a, b))
    inputs = _dispatch.driver("1d.inputs", placement)(points, ps, pt, a, b, names, batch_labels=True)
    factor = V.check_mass(float(inputs.sums_a[0]), float(inputs.sums_b[0]), V.mass_dtype(a, b))
    return _dispatch.driver("sliced", placement)(inputs, factor, p)


# ---------------------------------------------------------------------------------------------------------- verbs
def sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                                n_threads=None):
    r"""Sliced Wasserstein distance ``SW_p`` between two weighted point clouds (POT's
    ``ot.sliced_wasserstein_distance``).

    .. math:: SW_p(\mu, \nu) = \Big(\frac{1}{L} \sum_{l=1}^{L} W_p^p(\theta_l^\top \mu, \theta_l^\top \nu)\Big)^{1/p}

    All ``L`` projections are one matrix product; the ``L`` one-dimensional problems are sorted and merged in one
    batch, in parallel over projections: O(L (n + m) log(n + m)) work, O(L (n + m)) memory.

    Parameters
    ----------
    X_s, X_t : arrays of shape (n, d) and (m, d)
        Support points; numpy, or CUDA arrays (CuPy, Numba) to project and solve on the GPU.
    a, b : arrays of shape (n,) and (m,), optional
        Weights, uniform when None, of equal total mass.
    n_projections : int >= 1
        Number of random directions L, when ``projections`` is None.
    p : float >= 1
        The ground cost is ``|x - y|^p`` on each line.
    projections : array of shape (d, L), optional
        Directions, one per column, used as given (POT's convention: they are not normalised); on the host or on
        the points' device.
    seed : int, numpy Generator or RandomState, optional
        Seed of the random directions (an int gives POT's directions for the same seed); see
        :func:`get_random_projections`.
    n_threads : int, optional
        Host threads (default: Numba's thread count).

    Returns
    -------
    numpy scalar
        ``SW_p`` (the p-th root), float32 when every array given is float32.

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> float(numbaot.sliced_wasserstein_distance(X, X, seed=0))
    0.0
    >>> P = np.array([[1.0], [0.0], [0.0]])   # the first axis only: the translation by 2 along it
    >>> round(float(numbaot.sliced_wasserstein_distance(X, X + [2.0, 0.0, 0.0], projections=P)), 12)
    2.0
    """
    X_s, X_t, p, P = _prepare(X_s, X_t, a, b, n_projections, p, projections, seed)
    values, e, out_dtype = _values(X_s, X_t, a, b, P, p, n_threads)
    return out_dtype.type(math.ldexp(max(float(np.mean(values)), 0.0) ** (1.0 / p), e))


def max_sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None, *,
                                    method="sampled", max_iter=200, tol=1e-7, return_direction=False,
                                    n_threads=None):
    r"""Max-sliced Wasserstein distance: the largest ``W_p`` between the clouds' projections on a line.

    .. math:: \max_{\|\theta\| = 1} W_p(\theta^\top \mu, \theta^\top \nu)

    ``method='sampled'`` (POT's ``ot.max_sliced_wasserstein_distance``): the largest over the given or drawn
    directions. ``method='gradient'``: from the best of them, projected gradient ascent on the unit sphere with a
    step that grows on success and halves on failure; every accepted step raises the value, so the answer is
    never below the sampled one and is attained by the returned direction (a local maximum: the problem is not
    concave).

    Parameters
    ----------
    X_s, X_t, a, b, n_projections, p, projections, seed
        As in :func:`sliced_wasserstein_distance`.
    method : {'sampled', 'gradient'}
        'gradient' on CUDA inputs runs on the GPU: each step projects, sorts and walks the coupling there; the
        step control (a few scalars and the (d,) gradient per step) runs on the host.
    max_iter : int >= 1
        'gradient': maximum number of ascent steps; reaching it emits a ConvergenceWarning (the value is still
        attained by the returned direction).
    tol : float >= 0
        'gradient': stop when the step (an angle, in radians) falls below ``tol`` (near a smooth maximum the value
        is then within ~tol^2, relative, of the local maximum).
    return_direction : bool
        Also return the unit direction (d,) that attains the value (a host array).
    n_threads : int, optional
        Host threads (default: Numba's thread count).

    Returns
    -------
    numpy scalar, or (numpy scalar, array of shape (d,)) with ``return_direction``

    Examples
    --------
    >>> import numpy as np, numbaot
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> t = np.array([3.0, 4.0, 0.0])                  # a translation: max-sliced W_2 is |t| = 5
    >>> round(float(numbaot.max_sliced_wasserstein_distance(X, X + t, seed=0, method="gradient")), 6)
    5.0
    """
    if not isinstance(method, str) or method not in _MAX_SLICED_METHODS:
        raise ValueError(f"method must be one of {_MAX_SLICED_METHODS}, got {method!r}")
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    return_direction = V.check_bool(return_direction, "return_direction")
    X_s, X_t, p, P = _prepare(X_s, X_t, a, b, n_projections, p, projections, seed)
    values, e, out_dtype = _values(X_s, X_t, a, b, P, p, n_threads)
    best = int(np.argmax(values))
    value = max(float(values[best]), 0.0)
    direction = None
    if method == "gradient" or return_direction:
        direction = np.asarray(_device.to_host(P)[:, best], dtype=np.float64)
    if method == "gradient":  # it starts from the best direction and only climbs: its value supersedes
        on_gpu = _dispatch.place(X_s=X_s, X_t=X_t, a=a, b=b).on_gpu
        value, direction, e = (_ascend_cuda if on_gpu else _ascend)(X_s, X_t, a, b, direction, p, max_iter, tol)
    result = out_dtype.type(math.ldexp(value ** (1.0 / p), e))
    return (result, direction) if return_direction else result


def _ascend(X_s, X_t, a, b, theta, p, max_iter, tol):
    """Projected gradient ascent of ``W_p^p(theta)`` on the unit sphere from ``theta``; returns
    ``(W_p^p / 2**(e p), theta, e)``, the clouds scaled by ``2**-e`` (exact) so that nothing overflows."""
    from .._scaling import max_abs, pow2_exponent
    from ._projections import direction_value_grad

    n, m = X_s.shape[0], X_t.shape[0]
    wa, wb = V.check_balanced_weights(a, b, n, m)
    wa = np.ascontiguousarray(wa, dtype=np.float64)
    wb = np.ascontiguousarray(wb, dtype=np.float64)
    e = pow2_exponent(max_abs(X_s, X_t) * math.sqrt(X_s.shape[1]))  # exact: |x - y|^p cannot overflow
    Xs = np.ldexp(X_s.astype(np.float64), -e)
    Xt = np.ldexp(X_t.astype(np.float64), -e)
    norm = float(np.linalg.norm(theta))
    theta = theta / norm if norm > 0 else np.eye(Xs.shape[1])[0]

    def evaluate(direction):
        u = Xs @ direction
        v = Xt @ direction
        return direction_value_grad(Xs, Xt, np.argsort(u), np.argsort(v), u, v, wa, wb, p)

    value, theta = _climb(evaluate, theta, max_iter, tol)
    return value, theta, e


def _ascend_cuda(X_s, X_t, a, b, theta, p, max_iter, tol):
    """``_ascend`` on device clouds (already checked by the sampled pass): each evaluation projects, sorts and walks
    the coupling on the GPU (``cuda.sliced.DirectionEvaluator``); no scaling (e = 0), as the sampled GPU path."""
    from ..cuda.sliced import DirectionEvaluator

    norm = float(np.linalg.norm(theta))
    theta = theta / norm if norm > 0 else np.eye(int(X_s.shape[1]))[0]
    value, theta = _climb(DirectionEvaluator(X_s, X_t, a, b, p), theta, max_iter, tol)
    return value, theta, 0


def _climb(evaluate, theta, max_iter, tol):
    """Projected gradient ascent on the unit sphere from the unit ``theta``: ``(value, theta)``."""
    value, grad = evaluate(theta)
    step = 0.5
    converged = False
    for _ in range(max_iter):
        tangent = grad - (grad @ theta) * theta
        size = float(np.linalg.norm(tangent))
        if size == 0.0 or step < tol:
            converged = True
            break
        # move by the angle `step` along the great circle in the ascent direction
        candidate = math.cos(step) * theta + math.sin(step) * (tangent / size)
        candidate /= np.linalg.norm(candidate)
        new_value, new_grad = evaluate(candidate)
        if new_value > value:
            theta, value, grad = candidate, new_value, new_grad
            step = min(2.0 * step, 1.0)
        else:
            step *= 0.5
    else:
        converged = step < tol
    if not converged:
        warnings.warn(f"max_sliced_wasserstein_distance(method='gradient'): stopped at max_iter={max_iter} with a "
                      f"step of {step:.3g} rad > tol={tol:g}; raise max_iter or loosen tol (the value returned is "
                      "attained by the returned direction)", ConvergenceWarning, stacklevel=4)
    return max(float(value), 0.0), theta
