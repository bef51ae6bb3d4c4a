"""Small public helpers: cost matrices between point clouds (:func:`dist`) and uniform weights (:func:`unif`)."""
from __future__ import annotations

import numpy as np

from . import _dispatch, _validation as V


def dist(x1, x2=None, metric="sqeuclidean", p=2.0, *, n_threads=None):
    """Cost matrix between two point clouds, in parallel.

    Parameters
    ----------
    x1 : array of shape (n, d) or (n,)
    x2 : array of shape (m, d) or (m,), optional
        Defaults to ``x1``.
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski', 'cosine'}
        ``|x - y|^2``, ``|x - y|``, ``sum |x_k - y_k|``, ``(sum |x_k - y_k|^p)^(1/p)`` (as scipy's ``cdist``),
        and ``1 - x.y / (|x| |y|)``.
    p : float >= 1
        Exponent of 'minkowski'.
    n_threads : int, optional
        CPU threads (default: Numba's thread count).

    Returns
    -------
    M : array of shape (n, m)
        float32 when both inputs are float32, else float64; a device array of the inputs' kind for CUDA inputs.

    Examples
    --------
    >>> import numbaot
    >>> numbaot.dist([[0.0, 0.0], [1.0, 1.0]], [[1.0, 0.0]])
    array([[1.],
           [1.]])
    """
    metric, p = V.check_metric(metric, p)
    p = 2.0 if p is None else p
    X = V.check_points(x1, "x1", allow_cuda=True)
    Y = X if x2 is None else V.check_points(x2, "x2", allow_cuda=True)
    placement = _dispatch.place(x1=X, x2=Y)
    if placement.on_gpu:  # NaN and inf refused on the device, in the host's order (x1, x2, then the dimensions)
        step = _dispatch.driver("dist.points", placement)
        X64 = step(X, "x1", placement.stream)
        Y64 = X64 if Y is X else step(Y, "x2", placement.stream)
    dims = [x.shape[1] if len(x.shape) == 2 else 1 for x in (X, Y)]  # device arrays may keep (n,) as n 1-D points
    if dims[0] != dims[1]:
        raise ValueError(f"x1 has points of dimension {dims[0]} but x2 of dimension {dims[1]}")
    out_dtype = V.result_dtype(X, Y)
    V.check_dense_size((X.shape[0], Y.shape[0]), out_dtype.itemsize, what="the cost matrix")
    if placement.on_gpu:
        norms = None
        if metric == "cosine":  # zero rows refused before the driver, as ``_costs.cosine_norms`` does on the host
            norms = _device_norms(placement, (X64, "x1"), (Y64, "x2"))
        return _dispatch.driver("dist", placement)(X64, Y64, metric, p, norms, out_dtype, placement)
    from ._costs import cost_matrix

    return cost_matrix(X, Y, metric, p, n_threads, out_dtype)


def _device_norms(placement, *clouds):
    """The row norms of each checked device cloud ``(copy, name)`` (the ``dist.norms`` dispatch step), a zero row
    refused with ``_costs.cosine_norms``'s message, in its order."""
    step = _dispatch.driver("dist.norms", placement)
    norms = []
    for X64, name in clouds:
        if norms and X64 is clouds[0][0]:  # x2 omitted: x1's norms serve both sides
            norms.append(norms[0])
            continue
        values, low, at = step(X64, placement.stream)
        if low == 0:
            V.judge_zero_row(name, at)
        norms.append(values)
    return tuple(norms)


def unif(n, type_as=None):
    """Uniform weights ``1/n`` of length ``n``.

    Parameters
    ----------
    n : int >= 1
    type_as : array, optional
        Return an array of the same dtype and device as this one (numpy float64 when None).

    Examples
    --------
    >>> import numbaot
    >>> numbaot.unif(4)
    array([0.25, 0.25, 0.25, 0.25])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a positive integer, got {n!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}: an empty distribution has no uniform weights")
    placement = _dispatch.place(type_as=type_as)
    if placement.on_gpu:
        return _dispatch.driver("unif", placement)(int(n), V.result_dtype(type_as), placement)
    dtype = np.float64 if type_as is None else V.result_dtype(np.asarray(type_as))
    return np.full(int(n), 1.0 / n, dtype=dtype)
