"""Small public helpers: cost matrices between point clouds (:func:`dist`) and uniform weights (:func:`unif`)."""
from __future__ import annotations

import contextlib

import numpy as np

from . import _config, _device, _validation as V




def dist(x1, x2=None, metric="sqeuclidean", p=2.0, n_threads=None):
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
    if _device.where(x1=X, x2=Y) == _device.CUDA:
        from .cuda.cost import dist_cuda

        return dist_cuda(X, Y, metric, p)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"x1 has points of dimension {X.shape[1]} but x2 of dimension {Y.shape[1]}")
    out_dtype = V.result_dtype(X, Y)
    V.check_dense_size((X.shape[0], Y.shape[0]), out_dtype.itemsize, what="the cost matrix")
    norms_x, norms_y = cosine_norms(X, Y, metric)
    from ._costs import METRIC_CODES, dist_core

    out = np.empty((X.shape[0], Y.shape[0]), dtype=out_dtype)
    Xc = X.astype(np.float64, copy=False)
    Yc = Y.astype(np.float64, copy=False)
    _run_parallel(dist_core, n_threads, Xc, Yc, METRIC_CODES[metric], float(p), norms_x, norms_y, out)
    return out


def cosine_norms(X, Y, metric, names=("x1", "x2")):
    """Row norms for 'cosine' (refusing zero rows, whose angle is undefined); dummies for other metrics."""
    if metric != "cosine":
        return np.ones(X.shape[0]), np.ones(Y.shape[0])
    norms = []
    for name, Z in zip(names, (X, Y)):
        z = np.sqrt(np.einsum("ij,ij->i", Z, Z, dtype=np.float64))
        if np.any(z == 0):
            raise ValueError(f"row {int(np.argmin(z))} of {name} is zero: the cosine distance is undefined for it")
        norms.append(z)
    return norms[0], norms[1]


@contextlib.contextmanager
def numba_threads(n_threads):
    """Run the block with Numba's thread count set to ``n_threads`` (None: unchanged), restored afterwards.

    Loops that call parallel cores many times (conditional gradient) set it once around the loop: each
    ``numba.set_num_threads`` costs microseconds of Python, as much as a small core."""
    import numba

    threads = _config.n_threads(n_threads)
    previous = numba.get_num_threads()
    if threads == previous:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _run_parallel(core, n_threads, *args):
    """Call a ``parallel=True`` core with the caller's thread count, restoring Numba's setting afterwards."""
    with numba_threads(n_threads):
        return core(*args)


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
    if type_as is not None and _device.is_cuda_array(type_as):
        from .cuda.cost import unif_cuda

        return unif_cuda(int(n), type_as)
    dtype = np.float64 if type_as is None else V.result_dtype(np.asarray(type_as))
    return np.full(int(n), 1.0 / n, dtype=dtype)
