"""``ot.sliced`` over numbaot: sliced, max-sliced and spherical sliced Wasserstein.

With ``log=True`` the projections are drawn here (by :func:`numbaot.get_random_projections`, or the sphere's) and
passed to the solver, so that ``log['projections']`` are the ones used.
"""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["sliced_wasserstein_distance", "max_sliced_wasserstein_distance", "sliced_wasserstein_sphere",
           "sliced_wasserstein_sphere_unif", "get_random_projections", "get_projections_sphere"]


def get_random_projections(d, n_projections, seed=None, backend=None, type_as=None):
    """``n_projections`` random directions of R^d as the columns of a (d, n_projections) array."""
    import numbaot

    return numbaot.get_random_projections(d, n_projections, seed)


def get_projections_sphere(d, n_projections, seed=None, backend=None, type_as=None):
    """Random orthonormal (d, 2) frames for the spherical sliced distance (numbaot's layout)."""
    import numbaot

    return numbaot.get_projections_sphere(d, n_projections, seed)


def _scaler(scaler):
    if scaler is not None:
        raise C.PotNotImplementedError("scaler= is not implemented by numbaot.pot; scale the samples first")


def sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None,
                                log=False, scaler=None):
    """Sliced Wasserstein distance (POT's name) by :func:`numbaot.sliced_wasserstein_distance`;
    ``log={'projections': ...}``.

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> X = np.zeros((3, 2))
    >>> float(ot.sliced_wasserstein_distance(X, X + [1.0, 0.0], n_projections=20, seed=0)) > 0
    True
    """
    import numbaot

    _scaler(scaler)
    X_s, X_t = np.asarray(X_s, dtype=float), np.asarray(X_t, dtype=float)
    if log and projections is None:
        projections = numbaot.get_random_projections(X_s.shape[1], n_projections, seed)
    value = numbaot.sliced_wasserstein_distance(X_s, X_t, C.weights(a), C.weights(b), n_projections, p,
                                                projections, seed)
    return (value, {"projections": projections}) if log else value


def max_sliced_wasserstein_distance(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None,
                                    log=False, scaler=None):
    """Max-sliced Wasserstein distance over sampled directions (POT's name) by
    :func:`numbaot.max_sliced_wasserstein_distance`; ``log={'projections': ...}``."""
    import numbaot

    _scaler(scaler)
    X_s, X_t = np.asarray(X_s, dtype=float), np.asarray(X_t, dtype=float)
    if log and projections is None:
        projections = numbaot.get_random_projections(X_s.shape[1], n_projections, seed)
    value = numbaot.max_sliced_wasserstein_distance(X_s, X_t, C.weights(a), C.weights(b), n_projections, p,
                                                    projections, seed)
    return (value, {"projections": projections}) if log else value


def sliced_wasserstein_sphere(X_s, X_t, a=None, b=None, n_projections=50, p=2, projections=None, seed=None,
                              log=False):
    """Spherical sliced Wasserstein (POT's name) by :func:`numbaot.sliced_wasserstein_sphere`."""
    import numbaot

    value = numbaot.sliced_wasserstein_sphere(C.as_array(X_s), C.as_array(X_t), C.weights(a), C.weights(b),
                                              n_projections, p, projections, seed)
    return (value, {}) if log else value


def sliced_wasserstein_sphere_unif(X_s, a=None, n_projections=50, projections=None, seed=None, log=False):
    """Spherical sliced Wasserstein to the uniform distribution (POT's name)."""
    import numbaot

    value = numbaot.sliced_wasserstein_sphere_unif(C.as_array(X_s), C.weights(a), n_projections, projections, seed)
    return (value, {}) if log else value


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {
    "projection_sphere_to_circle": "numbaot.sliced_wasserstein_sphere",
    "linear_sliced_wasserstein_sphere": "numbaot.sliced_wasserstein_sphere",
    "min_sliced_transport_plan": "numbaot.sliced_wasserstein_distance",
    "expected_sliced_plan": "numbaot.sliced_wasserstein_distance",
    "sliced_plans": "numbaot.sliced_wasserstein_distance",
}
__getattr__ = C.missing_getattr(__name__, _MISSING)
