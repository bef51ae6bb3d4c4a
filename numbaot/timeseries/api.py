"""Time-series front-ends: dynamic time warping, soft-DTW, their pairwise matrices and barycenters, and the
spatio-temporal alignment of series of measures (:func:`sta`).

Conventions
-----------
A series is an array of shape (n, d) (n frames of d features) or (n,) (taken as (n, 1)). Every value is the
**summed frame cost along the alignment** for the chosen ``metric`` (the frame cost ``|x_i - y_j|^2`` for
'sqeuclidean', ``|x_i - y_j|`` for 'euclidean', ``sum_k |x_ik - y_jk|`` for 'cityblock'), with no root taken:
``dtw(X, Y)`` with the default 'sqeuclidean' is the square of tslearn's ``dtw(X, Y)`` and of dtaidistance's
``dtw.distance(x, y)`` (both return ``sqrt`` of the summed squared differences); ``soft_dtw`` equals tslearn's
``soft_dtw`` (squared Euclidean frame costs, no root).

The Sakoe-Chiba band of radius ``window`` allows cell (i, j) when ``-window <= i - j - s <= window`` for some
``s`` between 0 and ``n - m`` (of either sign; the band is widened by the length difference so that the last cell stays
reachable); this is tslearn's ``sakoe_chiba_radius``, and dtaidistance's ``window`` is ours plus one.

Collections of series (``cdist_*``, barycenters) are an array of shape (N, n, d), an array (N, n) of N univariate
series, or a list of N series of possibly different lengths.

Series on a GPU (CuPy or Numba device arrays) run the soft-DTW verbs and the pairwise matrices on the GPU
(``numbaot.cuda.timeseries``); the answers stay on the device. So do :func:`sta` and :func:`sta_divergence` of
device frames (``numbaot.cuda.sta`` on a product grid, ``numbaot.cuda.sta_clouds`` for point clouds and any other
support) and :func:`sta_barycenter` of device histograms on a product grid.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

import numpy as np

from .. import _config, _device, _dispatch, _validation as V
from .._status import ConvergenceWarning

_METRICS = ("sqeuclidean", "euclidean", "cityblock")


# ------------------------------------------------------------------------------------------------------- validation
def _metric_code(metric) -> int:
    from ._bodies import METRIC_CODES

    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, one of {_METRICS}, got {metric!r}")
    if metric not in METRIC_CODES:
        raise ValueError(f"metric must be one of {_METRICS} for time series, got {metric!r}")
    return METRIC_CODES[metric]


def _check_gamma(gamma) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a positive real number, got {gamma!r}")
    gamma = float(gamma)
    if gamma == 0:
        raise ValueError("gamma = 0 is plain DTW; call numbaot.timeseries.dtw instead (soft-DTW needs gamma > 0)")
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be a finite positive number, got {gamma}")
    return gamma


def _check_window(window) -> int:
    """None (no band) -> -1; else a radius >= 0."""
    if window is None:
        return -1
    if isinstance(window, bool) or not isinstance(window, numbers.Integral):
        raise TypeError(f"window must be None or a non-negative integer (the band's radius), got {window!r}")
    if window < 0:
        raise ValueError(f"window must be >= 0 (the Sakoe-Chiba band's radius; None for no band), got {window}")
    return int(window)


def _series(X, name, allow_cuda=False):
    """One series as a 2D array: (n, d) host float64/float32, finite; device arrays as given (1D or 2D)."""
    X = V.as_float_array(X, name, ndim=(1, 2), allow_cuda=allow_cuda)
    if X.ndim == 2 and X.shape[1] == 0:
        raise ValueError(f"{name} has shape {tuple(X.shape)}: each frame needs at least one feature")
    if _device.is_cuda_array(X):
        return X
    V.check_finite(X, name)
    return X if X.ndim == 2 else X.reshape(-1, 1)


def _pair(X, Y):
    X = _series(X, "X")
    Y = _series(Y, "Y")
    _same_series_features(X, Y)
    return X, Y


def _on_device(X, Y):
    return _device.is_cuda_array(X) or _device.is_cuda_array(Y)


def _device_pair(X, Y):
    """Device series X, Y checked as :func:`_pair` checks host ones and in its order (X's shape and values, then
    Y's, then the features), the values on the device (the ``timeseries.series`` dispatch step: ``check_finite``'s
    message), before any driver runs. Returns X, Y, their float64 (n, d) device copies and the placement."""
    placement = _dispatch.place(X=X, Y=Y)
    step = _dispatch.driver("timeseries.series", placement)
    X = _series(X, "X", True)
    X64 = step(X, "X", placement.stream)
    Y = _series(Y, "Y", True)
    Y64 = step(Y, "Y", placement.stream)
    _same_series_features(X, Y)
    return X, Y, (X64, Y64), placement


def _same_series_features(X, Y):
    dx = 1 if X.ndim == 1 else X.shape[1]
    dy = 1 if Y.ndim == 1 else Y.shape[1]
    if dx != dy:
        raise ValueError(
            f"X has frames of {dx} features but Y of {dy}; both series must have the same number of features per "
            "frame (shape (n, d) and (m, d))"
        )


def _f64(X):
    return np.ascontiguousarray(X, dtype=np.float64)


class _Collection:
    """A collection of N series as one flat (sum of lengths, d) float64 array and int64 offsets (N + 1,)."""

    def __init__(self, flat, offsets, dtype, univariate, equal):
        self.flat, self.offsets, self.dtype, self.univariate, self.equal = flat, offsets, dtype, univariate, equal

    def __len__(self):
        return self.offsets.shape[0] - 1

    @property
    def d(self):
        return self.flat.shape[1]

    def lengths(self):
        return np.diff(self.offsets)

    def series(self, k):
        return self.flat[self.offsets[k]:self.offsets[k + 1]]


def _collection(S, name) -> _Collection:
    if isinstance(S, (list, tuple)):
        if len(S) == 0:
            raise ValueError(f"{name} is an empty list; pass at least one series")
        parts = [_series(s, f"{name}[{k}]") for k, s in enumerate(S)]
        dims = {p.shape[1] for p in parts}
        if len(dims) > 1:
            first = parts[0].shape[1]
            k = next(k for k, p in enumerate(parts) if p.shape[1] != first)
            raise ValueError(f"{name}[{k}] has frames of {parts[k].shape[1]} features but {name}[0] of {first}; "
                             "every series must have the same number of features per frame")
        univariate = all(np.ndim(s) == 1 if not hasattr(s, "ndim") else s.ndim == 1 for s in S)
        lengths = np.array([p.shape[0] for p in parts], dtype=np.int64)
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.float64)
        return _Collection(flat, offsets, V.result_dtype(*parts), univariate, bool(np.all(lengths == lengths[0])))
    arr = V.as_float_array(S, name, ndim=(2, 3))
    if arr.shape[1] == 0 or (arr.ndim == 3 and arr.shape[2] == 0):
        raise ValueError(f"{name} has shape {arr.shape}: the series are empty (pass series of at least one frame "
                         "with at least one feature)")
    V.check_finite(arr, name)
    univariate = arr.ndim == 2
    N, n = arr.shape[0], arr.shape[1]
    flat = _f64(arr.reshape(N * n, -1))
    offsets = np.arange(N + 1, dtype=np.int64) * n
    return _Collection(flat, offsets, V.result_dtype(arr), univariate, True)


def _weights(weights, K):
    if weights is None:
        return np.full(K, 1.0 / K)
    w = V.as_float_array(weights, "weights", ndim=1)
    if w.shape[0] != K:
        raise ValueError(f"weights has {w.shape[0]} entries but there are {K} series; pass one weight per series")
    V.check_finite(w, "weights")
    if np.any(w < 0):
        i = int(np.argmax(w < 0))
        raise ValueError(f"weights[{i}] is {w[i]}; barycenter weights must be >= 0")
    if w.sum() <= 0:
        raise ValueError("weights are all zero; give at least one series a positive weight")
    return _f64(w) / w.sum()


def _check_tables(n, m, per_cell, what, hint):
    """Item 31 of the bad-input rules: refuse (n, m) tables of ``per_cell`` float64s that cannot fit, before
    allocating."""
    n_bytes = 8 * per_cell * int(n) * int(m)
    if n_bytes > _config.MAX_DENSE_BYTES:
        raise ValueError(f"{what} for series of {n} and {m} frames needs {n_bytes / 2**30:.1f} GiB, over the "
                         f"{_config.MAX_DENSE_BYTES / 2**30:.1f} GiB limit (NUMBAOT_MAX_DENSE_BYTES); {hint}")


def _threads(n_threads):
    return _config.n_threads(n_threads)


# ---------------------------------------------------------------------------------------------------------- DTW
def dtw(X, Y, *, metric="sqeuclidean", window=None, return_path=False):
    """Dynamic time warping (Sakoe and Chiba 1978): the least summed frame cost over monotone alignments.

    Parameters
    ----------
    X, Y : arrays of shape (n, d) and (m, d), or (n,) and (m,)
        The two series (numpy; any float or integer dtype).
    metric : {'sqeuclidean', 'euclidean', 'cityblock'}
        Frame cost; the value is its sum along the optimal path, no root taken (see the module's conventions:
        tslearn's and dtaidistance's DTW with the default metric is ``sqrt`` of ours).
    window : int >= 0, optional
        Radius of the Sakoe-Chiba band (tslearn's ``sakoe_chiba_radius``; dtaidistance's ``window`` minus 1).
    return_path : bool
        Also return the optimal path.

    Returns
    -------
    value : float
    path : int64 array of shape (L, 2), if ``return_path``
        Index pairs (i, j) from (0, 0) to (n - 1, m - 1), each step +1 in i, j or both.

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> float(ts.dtw([0.0, 1.0, 2.0], [0.0, 2.0]))
    1.0
    >>> value, path = ts.dtw([0.0, 1.0, 2.0], [0.0, 2.0], return_path=True)
    >>> path.tolist()
    [[0, 0], [1, 0], [2, 1]]
    """
    code = _metric_code(metric)
    radius = _check_window(window)
    return_path = V.check_bool(return_path, "return_path")
    X, Y = _pair(X, Y)
    dtype = V.result_dtype(X, Y)
    if return_path:
        from ._dtw import dtw_accumulated_core, dtw_backtrack

        _check_tables(X.shape[0], Y.shape[0], 1, "the DTW path's accumulated cost table",
                      "the value alone (return_path=False) takes O(m) memory")

        D = dtw_accumulated_core(_f64(X), _f64(Y), code, radius)
        return dtype.type(D[-1, -1]), dtw_backtrack(D)
    from ._dtw import dtw_value_core

    return dtype.type(dtw_value_core(_f64(X), _f64(Y), code, radius))


def dtw_path(X, Y, *, metric="sqeuclidean", window=None):
    """The optimal DTW path and value, ``(path, value)``, in tslearn's ``dtw_path`` order (see :func:`dtw`; the
    value here is the summed cost, tslearn's is its square root for the default metric).

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> path, value = ts.dtw_path([1.0, 2.0], [1.0, 1.0, 2.0])
    >>> path.tolist(), float(value)
    ([[0, 0], [0, 1], [1, 2]], 0.0)
    """
    value, path = dtw(X, Y, metric=metric, window=window, return_path=True)
    return path, value


def cdist_dtw(A, B=None, *, metric="sqeuclidean", window=None, n_threads=None):
    """DTW between every series of A and every series of B (A with itself when B is None), in parallel.

    Parameters
    ----------
    A, B : arrays of shape (N, n, d) or (N, n), or lists of series (lengths may differ)
        numpy, or (equal lengths, no band) CUDA arrays of shape (N, n, d) to run on the GPU.
    metric, window
        As in :func:`dtw`.
    n_threads : int, optional
        Threads over the pairs (default: Numba's thread count).

    Returns
    -------
    array of shape (N, M)
        With B None, symmetric with a zero diagonal (each pair computed once).

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> ts.cdist_dtw([[0.0, 1.0], [0.0, 0.0, 1.0], [2.0]]).tolist()
    [[0.0, 0.0, 5.0], [0.0, 0.0, 9.0], [5.0, 9.0, 0.0]]
    """
    code = _metric_code(metric)
    radius = _check_window(window)
    threads = _threads(n_threads)
    if _device.is_cuda_array(A) or (B is not None and _device.is_cuda_array(B)):
        placement = _dispatch.place(A=A, B=B)
        if radius >= 0:
            raise ValueError("cdist_dtw runs without a band on the GPU in this version; pass window=None, or host "
                             "arrays for a banded DTW")
        A, B, copies = _device_collections(placement, A, B)
        return _dispatch.driver("cdist_dtw", placement)(*copies, code, V.result_dtype(A, B), placement)
    ca = _collection(A, "A")
    cb = ca if B is None else _collection(B, "B")
    _same_features(ca, cb)
    from .._threads import run_parallel
    from ._dtw import cdist_dtw_core

    out = run_parallel(cdist_dtw_core, threads, ca.flat, ca.offsets, cb.flat, cb.offsets, code, radius, B is None,
                       threads)
    return out.astype(_out_dtype(ca, cb), copy=False)


def _out_dtype(*collections):
    return np.dtype(np.float32) if all(c.dtype == np.float32 for c in collections) else np.dtype(np.float64)


def _same_features(ca, cb):
    if ca.d != cb.d:
        raise ValueError(f"A has frames of {ca.d} features but B of {cb.d}; both collections must have the same "
                         "number of features per frame")


# ----------------------------------------------------------------------------------------------------- soft-DTW
def soft_dtw(X, Y, gamma=1.0, *, metric="sqeuclidean"):
    r"""soft-DTW (Cuturi and Blondel 2017): DTW with the minimum over alignments replaced by a soft minimum,

    .. math:: \mathrm{sdtw}_\gamma(X, Y) = -\gamma \log \sum_{A} \exp(-\langle A, C(X, Y)\rangle / \gamma),

    summed over the monotone alignment matrices A, with C the frame costs. It is smooth, tends to :func:`dtw` as
    gamma -> 0, and may be negative (``sdtw(X, X) < 0``); :func:`soft_dtw_divergence` removes that bias.

    Parameters
    ----------
    X, Y : arrays of shape (n, d) and (m, d), or (n,) and (m,)
        numpy, or CUDA arrays (CuPy, Numba) to run on the GPU.
    gamma : float > 0
        Smoothing, in the units of the frame cost; stable down to ~1e-4 times the costs' scale and below.
    metric : {'sqeuclidean', 'euclidean', 'cityblock'}
        Frame cost (tslearn's ``soft_dtw`` is 'sqeuclidean').

    Returns
    -------
    float

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> round(float(ts.soft_dtw([0.0, 1.0, 2.0], [0.0, 2.0], gamma=1e-3)), 2)  # close to dtw: 1.0
    1.0
    >>> float(ts.soft_dtw([1.0], [3.0], gamma=10.0))  # one frame each: the frame cost
    4.0
    """
    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    if _on_device(X, Y):
        X, Y, copies, placement = _device_pair(X, Y)
        return _dispatch.driver("soft_dtw", placement)(*copies, code, gamma, V.result_dtype(X, Y), placement,
                                                       "value")
    X, Y = _pair(X, Y)
    from ._soft_dtw import soft_dtw_value_core

    return V.result_dtype(X, Y).type(soft_dtw_value_core(_f64(X), _f64(Y), code, gamma))


def soft_dtw_alignment(X, Y, gamma=1.0, *, metric="sqeuclidean"):
    """The expected alignment ``E = d soft_dtw / d C`` (Cuturi and Blondel 2017, Alg. 2) and the value.

    ``E[i, j]`` is the probability that frames i and j are aligned under the Gibbs distribution over alignments;
    as gamma -> 0 it tends to the optimal DTW path's 0/1 matrix. Returns ``(E, value)`` (tslearn's order),
    E of shape (n, m), on the inputs' device.

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> E, value = ts.soft_dtw_alignment([0.0, 1.0, 2.0], [0.0, 2.0], gamma=1e-3)
    >>> E.round(3).tolist()  # frame 1 is as close to both: half aligned to each
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    X, Y, copies, placement = _device_pair(X, Y) if _on_device(X, Y) else (*_pair(X, Y), None, _dispatch.HOST)
    _check_tables(X.shape[0], Y.shape[0], 5, "soft-DTW's alignment tables (R, E and the softmin weights)",
                  "soft_dtw gives the value alone in O(n + m) memory")
    if placement.on_gpu:
        value, E = _dispatch.driver("soft_dtw", placement)(*copies, code, gamma, V.result_dtype(X, Y), placement,
                                                           "alignment")
        return E, value
    from ._soft_dtw import soft_dtw_alignment_series_core

    dtype = V.result_dtype(X, Y)
    value, E = soft_dtw_alignment_series_core(_f64(X), _f64(Y), code, gamma)
    return E.astype(dtype, copy=False), dtype.type(value)


def soft_dtw_grad(X, Y, gamma=1.0, *, metric="sqeuclidean"):
    """soft-DTW and its gradient with respect to X: ``(value, grad)``, grad of X's shape.

    The gradient is ``sum_j E[i, j] d c(x_i, y_j) / d x_i`` with E from :func:`soft_dtw_alignment`:
    ``2 (x_i - y_j)`` for 'sqeuclidean', ``(x_i - y_j) / |x_i - y_j|`` for 'euclidean' and ``sign(x_i - y_j)``
    for 'cityblock' (the subgradient 0 where they are not differentiable). The gradient with respect to Y is
    ``soft_dtw_grad(Y, X)``'s (soft-DTW is symmetric for these metrics).

    Examples
    --------
    >>> import numpy as np, numbaot.timeseries as ts
    >>> value, grad = ts.soft_dtw_grad(np.array([1.0]), np.array([3.0]))
    >>> float(value), grad.tolist()
    (4.0, [-4.0])
    """
    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    one_d = getattr(X, "ndim", np.ndim(X)) == 1
    X, Y, copies, placement = _device_pair(X, Y) if _on_device(X, Y) else (*_pair(X, Y), None, _dispatch.HOST)
    _check_tables(X.shape[0], Y.shape[0], 5, "soft-DTW's alignment tables (R, E and the softmin weights)",
                  "soft_dtw gives the value alone in O(n + m) memory")
    if placement.on_gpu:
        return _dispatch.driver("soft_dtw", placement)(*copies, code, gamma, V.result_dtype(X, Y), placement,
                                                       "grad", one_d)
    from ._soft_dtw import soft_dtw_grad_core

    dtype = V.result_dtype(X, Y)
    value, G = soft_dtw_grad_core(_f64(X), _f64(Y), code, gamma)
    G = G.astype(dtype, copy=False)
    return dtype.type(value), (G.reshape(-1) if one_d else G)


def soft_dtw_divergence(X, Y, gamma=1.0, *, metric="sqeuclidean"):
    """The soft-DTW divergence (Blondel, Mensch and Vert 2021):
    ``sdtw(X, Y) - (sdtw(X, X) + sdtw(Y, Y)) / 2``.

    Non-negative for the 'sqeuclidean' frame cost (a positive definite kernel ``exp(-C / gamma)``), zero iff
    X equals Y, symmetric; it tends to ``dtw(X, Y) - (dtw(X, X) + dtw(Y, Y)) / 2 = dtw(X, Y)`` as gamma -> 0.

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> float(ts.soft_dtw_divergence([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]))
    0.0
    >>> float(ts.soft_dtw_divergence([0.0, 1.0, 2.0], [0.0, 2.0], gamma=1e-3)) > 0
    True
    """
    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    if _on_device(X, Y):
        X, Y, (X64, Y64), placement = _device_pair(X, Y)
        run = _dispatch.driver("soft_dtw", placement)
        dtype = V.result_dtype(X, Y)
        return (run(X64, Y64, code, gamma, dtype, placement, "value")
                - (run(X64, X64, code, gamma, dtype, placement, "value")
                   + run(Y64, Y64, code, gamma, dtype, placement, "value")) / 2)
    X, Y = _pair(X, Y)
    from ._soft_dtw import soft_dtw_value_core

    dtype = V.result_dtype(X, Y)
    X, Y = _f64(X), _f64(Y)
    value = soft_dtw_value_core(X, Y, code, gamma) - 0.5 * (soft_dtw_value_core(X, X, code, gamma)
                                                             + soft_dtw_value_core(Y, Y, code, gamma))
    return dtype.type(value)


def cdist_soft_dtw(A, B=None, gamma=1.0, *, metric="sqeuclidean", n_threads=None):
    """soft-DTW between every series of A and every series of B (A with itself when B is None), in parallel.

    Parameters
    ----------
    A, B : arrays of shape (N, n, d) or (N, n), or lists of series (lengths may differ)
        numpy, or (equal lengths) CUDA arrays of shape (N, n, d) to run on the GPU.
    gamma, metric
        As in :func:`soft_dtw`.
    n_threads : int, optional
        Threads over the pairs (default: Numba's thread count).

    Returns
    -------
    array of shape (N, M)
        With B None, symmetric (each pair computed once); its diagonal holds ``sdtw(x, x)``, not 0.

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> ts.cdist_soft_dtw([[1.0], [3.0]], gamma=0.5).tolist()
    [[0.0, 4.0], [4.0, 0.0]]
    """
    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    threads = _threads(n_threads)
    if _device.is_cuda_array(A) or (B is not None and _device.is_cuda_array(B)):
        placement = _dispatch.place(A=A, B=B)
        A, B, copies = _device_collections(placement, A, B)
        return _dispatch.driver("cdist_soft_dtw", placement)(*copies, code, gamma, V.result_dtype(A, B), placement)
    ca = _collection(A, "A")
    cb = ca if B is None else _collection(B, "B")
    _same_features(ca, cb)
    from .._threads import run_parallel
    from ._soft_dtw import cdist_soft_dtw_core

    out = run_parallel(cdist_soft_dtw_core, threads, ca.flat, ca.offsets, cb.flat, cb.offsets, code, gamma,
                       B is None, threads)
    return out.astype(_out_dtype(ca, cb), copy=False)


def _same_device_features(A, B):
    if A.shape[2] != B.shape[2]:
        raise ValueError(f"A has frames of {A.shape[2]} features but B of {B.shape[2]}; both collections must have "
                         "the same number of features per frame")


def _device_collections(placement, A, B):
    """Device collections A, B (None: A itself) checked as ``_collection`` checks host ones and in its order (A's
    shape and values, then B's, then the features), the values on the device (the ``timeseries.collection``
    dispatch step: ``check_finite``'s message), before any driver runs. Returns A, B and their float64 (N, n, d)
    device copies."""
    step = _dispatch.driver("timeseries.collection", placement)
    A = _device_collection(A, "A")
    A64 = step(A, "A", placement.stream)
    if B is None:
        B, B64 = A, A64
    else:
        B = _device_collection(B, "B")
        B64 = step(B, "B", placement.stream)
    _same_device_features(A, B)
    return A, B, (A64, B64)


def _device_collection(S, name):
    """A collection on the GPU: a (N, n, d) device array (equal lengths), checked from its metadata."""
    if not _device.is_cuda_array(S):
        raise ValueError(f"{name} is a host array but the other collection is on the GPU; pass both on one device")
    S = V.as_float_array(S, name, ndim=3, allow_cuda=True)
    if S.shape[1] == 0 or S.shape[2] == 0:
        raise ValueError(f"{name} has shape {tuple(S.shape)}: the series are empty")
    return S


# -------------------------------------------------------------------------------------------------- barycenters
def _initial(init, col, name="init"):
    """``init`` as a float64 (n_z, d) series with the collection's features, or None when not given."""
    if init is not None:
        Z = _series(init, name)
        if Z.shape[1] != col.d:
            raise ValueError(f"{name} has frames of {Z.shape[1]} features but the series of {col.d}")
        return _f64(Z)
    return None


def _finish_barycenter(Z, col):
    Z = Z.astype(col.dtype, copy=False)
    return Z.reshape(-1) if col.univariate else Z


def soft_dtw_barycenter(series, gamma=1.0, weights=None, init=None, *, metric="sqeuclidean", max_iter=100,
                        tol=1e-5, n_threads=None):
    """The soft-DTW barycenter (Cuturi and Blondel 2017, Sec. 4): ``argmin_Z sum_k w_k sdtw_gamma(Z, X_k)``, by
    scipy's L-BFGS-B with the exact gradient (each evaluation runs the K series in parallel).

    Parameters
    ----------
    series : array (N, n, d) or (N, n), or list of series (lengths may differ)
    gamma : float > 0
    weights : array of shape (N,), optional
        Non-negative, normalised to sum to 1 (uniform when None).
    init : array of shape (n_z, d) or (n_z,), optional
        Starting barycenter, which fixes its length; default: the weighted mean of the series (equal lengths) or
        the :func:`dtw_barycenter_averaging` of them (unequal lengths; as long as the first series).
    metric : {'sqeuclidean', 'euclidean', 'cityblock'}
    max_iter : int
        L-BFGS-B iterations; a ConvergenceWarning when reached.
    tol : float
        L-BFGS-B's ``ftol``/``gtol``.
    n_threads : int, optional

    Returns
    -------
    array of shape (n_z, d), or (n_z,) when every series was given 1D

    Examples
    --------
    >>> import numpy as np, numbaot.timeseries as ts
    >>> Z = ts.soft_dtw_barycenter([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], gamma=0.01)
    >>> np.allclose(Z, [0.0, 1.0, 2.0], atol=0.05)
    True
    """
    import scipy.optimize

    code = _metric_code(metric)
    gamma = _check_gamma(gamma)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    threads = _threads(n_threads)
    col = _collection(series, "series")
    w = _weights(weights, len(col))
    Z0 = _initial(init, col)
    if Z0 is None:
        if col.equal:
            n = int(col.lengths()[0])
            Z0 = np.einsum("k,kij->ij", w, col.flat.reshape(len(col), n, col.d))
        else:
            Z0 = _dba(col, w, col.series(0).copy(), code, -1, 10, 1e-5, threads, warn=False)
    shape = Z0.shape
    from .._threads import numba_threads
    from ._soft_dtw import barycenter_objective_core

    def objective(z):
        value, G = barycenter_objective_core(z.reshape(shape), col.flat, col.offsets, w, code, gamma, threads)
        return value, G.ravel()

    with numba_threads(threads):
        res = scipy.optimize.minimize(objective, Z0.ravel(), jac=True, method="L-BFGS-B",
                                      options=dict(maxiter=max_iter, ftol=tol, gtol=tol))
    if res.nit >= max_iter and not res.success:
        warnings.warn(f"soft_dtw_barycenter: L-BFGS-B stopped at max_iter = {max_iter} ({res.message}); raise "
                      "max_iter or loosen tol", ConvergenceWarning, stacklevel=2)
    return _finish_barycenter(res.x.reshape(shape), col)


def _dba(col, w, Z, code, radius, max_iter, tol, threads, warn=True):
    from .._threads import numba_threads
    from ._dtw import dba_step_core

    previous = math.inf
    with numba_threads(threads):
        for _ in range(max_iter):
            new, cost = dba_step_core(Z, col.flat, col.offsets, w, code, radius, threads)
            # cost is the objective at Z; each step cannot increase it (Petitjean et al. 2011)
            if previous - cost <= tol * max(abs(cost), 1e-300):
                return Z if cost >= previous else new
            previous = cost
            Z = new
    if warn:
        warnings.warn(f"dtw_barycenter_averaging: stopped at max_iter = {max_iter} before the objective settled; "
                      "raise max_iter or loosen tol", ConvergenceWarning, stacklevel=3)
    return Z


def dtw_barycenter_averaging(series, weights=None, init=None, *, metric="sqeuclidean", window=None, max_iter=30,
                             tol=1e-5, n_threads=None):
    """DTW barycenter averaging (Petitjean, Ketterlin and Gancarski 2011): align the current average to every
    series by DTW, replace each of its frames by the weighted mean of the frames aligned to it, repeat until the
    weighted sum of DTW values stops decreasing by more than ``tol`` (relative); it never increases.

    Parameters
    ----------
    series : array (N, n, d) or (N, n), or list of series (lengths may differ)
    weights : array of shape (N,), optional
    init : array of shape (n_z, d) or (n_z,), optional
        Starting average, which fixes its length; default: the medoid (the series with the least weighted sum of
        DTW to the others).
    metric, window
        As in :func:`dtw` (the mean is the minimiser of the 'sqeuclidean' frame cost; other metrics still use the
        mean, as the method is defined).
    max_iter : int
        Updates at most (a ConvergenceWarning when reached); tol : float >= 0.
    n_threads : int, optional

    Returns
    -------
    array of shape (n_z, d), or (n_z,) when every series was given 1D

    Examples
    --------
    >>> import numbaot.timeseries as ts
    >>> ts.dtw_barycenter_averaging([[0.0, 0.0, 2.0], [0.0, 2.0, 2.0]], init=[0.0, 1.0, 2.0]).tolist()
    [0.0, 1.0, 2.0]
    """
    code = _metric_code(metric)
    radius = _check_window(window)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    threads = _threads(n_threads)
    col = _collection(series, "series")
    w = _weights(weights, len(col))
    Z0 = _initial(init, col)
    if Z0 is None:
        from .._threads import run_parallel
        from ._dtw import cdist_dtw_core

        D = run_parallel(cdist_dtw_core, threads, col.flat, col.offsets, col.flat, col.offsets, code, radius, True,
                         threads)
        Z0 = col.series(int(np.argmin(D @ w))).copy()
    return _finish_barycenter(_dba(col, w, Z0, code, radius, max_iter, tol, threads), col)


# ------------------------------------------------------------------------------------ spatio-temporal alignment
class _Measures(NamedTuple):
    """A validated series of measures: ``points`` the clouds (T, n, k), one per frame, or the support (n, k) that
    every frame shares (float64); ``weights`` (T, n) float64, every frame of the common mass; ``dtype`` the
    caller's; ``factors`` (T,) what each frame's weights were multiplied by to reach the common mass."""

    points: np.ndarray
    weights: np.ndarray
    dtype: np.dtype
    factors: np.ndarray


def _measures(F, name, support):
    """Series of measures: (T, n_bins) histograms on ``support`` (n_bins, k), or (T, n_points, k) point clouds
    with uniform weights when ``support`` is None. Returns the :class:`_Measures` (factors still ones) and the
    frames' masses (T,) (None for clouds)."""
    if support is None:
        F = V.as_float_array(F, name, ndim=3)
        if F.shape[1] == 0 or F.shape[2] == 0:
            raise ValueError(f"{name} has shape {F.shape}: each frame needs at least one point of one coordinate")
        V.check_finite(F, name)
        T, n = F.shape[0], F.shape[1]
        return _Measures(_f64(F), np.full((T, n), 1.0 / n), F.dtype, np.ones(T)), None
    F = V.as_float_array(F, name, ndim=2)
    if F.shape[1] != support.shape[0]:
        raise ValueError(f"{name} has frames of {F.shape[1]} bins but support has {support.shape[0]} points; each "
                         "frame is a histogram on the support's points")
    W = np.empty(F.shape)
    for t in range(F.shape[0]):
        W[t] = V.check_weights(F[t], f"{name}[{t}]", F.shape[1])
    return _Measures(support, W, F.dtype, np.ones(F.shape[0])), W.sum(axis=1)


def _mass_dtype(*dtypes):
    """float32 when any series is float32 (its masses are only that accurate), else float64."""
    return np.dtype(np.float32) if np.dtype(np.float32) in {np.dtype(d) for d in dtypes} else np.dtype(np.float64)


def _equal_masses(series, masses, names):
    """The series with every frame rescaled to the first frame's mass, after ``_validation.check_frame_masses``."""
    factors = V.check_frame_masses(*masses, dtype=_mass_dtype(*(S.dtype for S in series)), names=names)
    return [S._replace(weights=S.weights * c[:, None], factors=c) for S, c in zip(series, factors)]


def _support(support):
    return _f64(V.check_points(support, "support"))


def _check_sta(X, Y, gamma, reg, support, max_iter, tol):
    gamma = _check_gamma(gamma)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    if support is not None:
        support = _support(support)
        (A, ma), (B, mb) = _measures(X, "X", support), _measures(Y, "Y", support)
        A, B = _equal_masses([A, B], [ma, mb], ("X", "Y"))
    else:
        (A, _), (B, _) = _measures(X, "X", None), _measures(Y, "Y", None)
        if A.points.shape[2] != B.points.shape[2]:
            raise ValueError(f"X has points of dimension {A.points.shape[2]} but Y of dimension {B.points.shape[2]}")
    return gamma, reg, max_iter, tol, support, A, B


class _GridFrames:
    """The batched solves on a product grid (``_sta``) behind ``_sta_clouds.CloudProblems``' interface."""

    def __init__(self, problem, max_iter, tol, n_threads):
        self.problem, self.max_iter, self.tol, self.n_threads = problem, max_iter, tol, n_threads

    def self_potentials(self, points, W):
        from ._sta import self_potentials

        return self_potentials(self.problem, W, self.max_iter, self.tol, self.n_threads)

    def cross_divergences(self, PA, WA, PB, WB, fa, gb, pairs, want_potentials):
        from ._sta import cross_divergences

        return cross_divergences(self.problem, WA, WB, fa, gb, pairs, self.max_iter, self.tol, self.n_threads,
                                 want_potentials)


def _frame_problems(support, series, reg, max_iter, tol, n_threads):
    """How the frame costs are solved: on the grid (``_sta``) when ``support`` is a product grid, else by
    ``_sta_clouds``' batches, with one annealing schedule over every frame's points."""
    from ._sta import GridProblem, grid_geometry
    from ._sta_clouds import CloudProblems, schedule

    geom = None if support is None else grid_geometry(support)
    if geom is not None:
        return _GridFrames(GridProblem(geom, support, reg), max_iter, tol, n_threads)
    return CloudProblems(schedule([S.points for S in series], reg), max_iter, tol, n_threads)


_SELF = "self-problems (OT of a frame with itself)"


def _self_potentials(problems, S, reports):
    """The symmetric potentials of the self-problems OT(x, x) of the frames of S, once per frame."""
    potentials, status, n_iter, errors = problems.self_potentials(S.points, S.weights)
    reports.append((_SELF, status, n_iter, errors))
    return potentials


def _frame_costs(problems, A, B, fa, fb, symmetric, want_potentials, reports):
    """Delta[i, j] = Sinkhorn divergence between frame i of A and frame j of B, from the frames' self-potentials
    ``fa``, ``fb``, all pairs in one batched solve (``symmetric``: A is B, the pairs i < j only); with
    ``want_potentials`` also the debiased potentials f_ba - f_aa on frame i's points (Ta, Tb, n), the divergence's
    gradient in frame i's weights."""
    from ._sta import all_pairs

    Ta, Tb = A.weights.shape[0], B.weights.shape[0]
    pairs = all_pairs(Ta, Tb, upper=symmetric)
    values, pots, status, n_iter, errors = problems.cross_divergences(A.points, A.weights, B.points, B.weights, fa,
                                                                      fb, pairs, want_potentials)
    reports.append(("frame pairs", status, n_iter, errors))
    Delta = np.zeros((Ta, Tb))
    Delta[pairs[:, 0], pairs[:, 1]] = values
    if symmetric:
        Delta[pairs[:, 1], pairs[:, 0]] = values
    potentials = None
    if want_potentials:
        potentials = np.zeros((Ta, Tb, A.weights.shape[1]))
        potentials[pairs[:, 0], pairs[:, 1]] = pots
    return Delta, potentials


def _warn_frames(reports, tol, stacklevel=4):
    """One ConvergenceWarning for the frame problems of ``reports`` (a list of ``(what, status, n_iter, errors)``)
    that stopped short: the worst status, how many, the largest error. Called by the front-ends."""
    from .._status import warn_status

    bad = [(what, st != 0, st, it, err) for what, st, it, err in reports if np.any(st != 0)]
    if not bad:
        return
    worst = max(int(st[b].max()) for _, b, st, _, _ in bad)
    counts = ", ".join(f"{int(b.sum())} of {st.size} {what}" for what, b, st, _, _ in bad)
    err, steps = max((float(e[b].max()), int(it[b][np.argmax(e[b])])) for _, b, _, it, e in bad)
    warn_status(worst, "sinkhorn divergence", f"{counts} stopped short; largest marginal error {err:.3g} > tol "
                f"{tol:g} after {steps} steps", stacklevel=stacklevel)


def _device_grid(support, reg, *, any_support=False):
    """The ``_sta.GridProblem`` of a device STA call and the support: ``support`` (host or device) read once on the
    host, which must be a product grid; with ``any_support`` (``sta``, ``sta_divergence``) the problem is None for
    any other support (the frame costs then run on cost matrices, ``cuda.sta_clouds``)."""
    from ._sta import GridProblem, grid_geometry

    if support is None:
        raise ValueError("sta_barycenter on device arrays takes histograms on a grid (pass support=, the grid's "
                         "points)")
    if _device.is_cuda_array(support):  # the grid's coordinates: read once on the host to build the axes' costs
        support = _device.to_host(support)
    support = _support(support)
    geom = grid_geometry(support)
    if geom is None:
        if any_support:
            return None, support
        raise ValueError(f"support of shape {support.shape} is not a product grid (a 1D support, or the points of a "
                         "2D grid in C order as np.meshgrid gives); on the GPU sta_barycenter needs one (pass host "
                         "arrays for any other support)")
    return GridProblem(geom, support, reg), support


def _device_clouds(F, name, placement):
    """Device point clouds (T, n, k), checked as the host checks them (``_measures``) and in its order: the shape
    here, then NaN and inf on the device (the ``sta.clouds.points`` dispatch step, ``check_finite``'s message).
    Returns F and its float64 device copy, the driver's input."""
    F = V.as_float_array(F, name, ndim=3, allow_cuda=True)
    if F.shape[1] == 0 or F.shape[2] == 0:
        raise ValueError(f"{name} has shape {tuple(F.shape)}: each frame needs at least one point of one coordinate")
    return F, _dispatch.driver("sta.clouds.points", placement)(F, name, placement.stream)


def _device_frames(F, name, support, placement):
    """Device histograms (T, n_bins) on ``support``, checked as the host checks them (``_measures``) and in its
    order: the shape here, then every frame as ``check_weights`` checks it, on the device (the ``sta.frames``
    dispatch step, the host's messages). Returns F, its float64 device copy (the driver's input) and the frames'
    masses (T,) on the host, for :func:`_device_factors`."""
    F = V.as_float_array(F, name, ndim=2, allow_cuda=True)
    if F.shape[1] != support.shape[0]:
        raise ValueError(f"{name} has frames of {F.shape[1]} bins but support has {support.shape[0]} points; "
                         "each frame is a histogram on the support's points")
    copy, masses = _dispatch.driver("sta.frames", placement)(F, name, placement.stream)
    return F, copy, masses


def _device_factors(given, names):
    """The masses of the device series ``given`` (:func:`_device_frames`' triples) judged as the host judges them
    (``_equal_masses``: ``check_frame_masses`` at the series' precision), before the driver runs: the factors that
    rescale each series' frames to the first frame's mass (the driver applies them on the device)."""
    return V.check_frame_masses(*(m for _, _, m in given), dtype=_mass_dtype(*(F.dtype for F, _, _ in given)),
                                names=names)


def _check_pair_sizes(n, m):
    """``_sta_clouds.check_pair_size`` for the problems of a device STA call between frames of n and m points, in
    the order the driver solves them (the self-problems of each side, then the pairs), before any allocation."""
    from ._sta_clouds import check_pair_size

    for p, q in ((n, n), (m, m), (n, m)):
        check_pair_size(p, q)


def _sta_device(X, Y, gamma, reg, support, max_iter, tol, return_grad, divergence):
    """``sta`` / ``sta_divergence`` of device frames: validated here, solved by a CUDA driver (``numbaot.cuda.sta``
    on a product grid, ``numbaot.cuda.sta_clouds`` for point clouds and any other support), the gradient left on
    the device."""
    gamma = _check_gamma(gamma)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    placement = _dispatch.place(X=X, Y=Y)
    if support is None:  # point clouds: batches of Sinkhorn solves on cost matrices built on the device
        (X, A), (Y, B) = _device_clouds(X, "X", placement), _device_clouds(Y, "Y", placement)
        if X.shape[2] != Y.shape[2]:
            raise ValueError(f"X has points of dimension {X.shape[2]} but Y of dimension {Y.shape[2]}")
        if return_grad:
            raise ValueError("return_grad=True needs histograms on a support (the gradient is in the frames' "
                             "weights)")
        problem, factors = None, None
    else:
        problem, support = _device_grid(support, reg, any_support=True)
        given = [_device_frames(X, "X", support, placement), _device_frames(Y, "Y", support, placement)]
        factors = _device_factors(given, ("X", "Y"))
        (X, A, _), (Y, B, _) = given
    out_dtype = V.result_dtype(X, Y)
    if problem is None:  # point clouds, or histograms on a support that is not a product grid
        _check_pair_sizes(int(A.shape[1]), int(B.shape[1]))
        value, grad, reports = _dispatch.driver("sta.clouds", placement)(A, B, factors, support, reg, gamma, max_iter,
                                                                         tol, return_grad, divergence, out_dtype,
                                                                         placement)
    else:
        value, grad, reports = _dispatch.driver("sta", placement)(A, B, factors, problem, gamma, max_iter, tol,
                                                                  return_grad, divergence, out_dtype, placement)
    _warn_frames(reports, tol, stacklevel=5)
    return (out_dtype.type(value), grad) if return_grad else out_dtype.type(value)


def sta(X, Y, gamma=1.0, reg=0.1, *, support=None, return_grad=False, max_iter=1000, tol=1e-6, n_threads=None):
    r"""Spatio-temporal alignment (Janati, Cuturi and Gramfort 2020): soft-DTW between two series of measures
    whose frame cost is the Sinkhorn divergence between frames,

    .. math:: \mathrm{STA}(X, Y) = \mathrm{sdtw}_\gamma(\Delta), \qquad
              \Delta_{ij} = S_\varepsilon(x_i, y_j) = \mathrm{OT}_\varepsilon(x_i, y_j)
              - \tfrac12 \mathrm{OT}_\varepsilon(x_i, x_i) - \tfrac12 \mathrm{OT}_\varepsilon(y_j, y_j),

    with the squared Euclidean ground cost and ``eps = reg`` (:func:`numbaot.sinkhorn_divergence`'s conventions).
    The self-problems ``OT(x_i, x_i)``, ``OT(y_j, y_j)`` are solved once per frame, then all T_x T_y cross problems
    in one batched solve. Histograms on a product grid (a 1D support, or a 2D grid of points ``(u_j, v_i)`` in C
    order, as ``np.meshgrid`` gives) take the grid's compiled loop (``timeseries._sta``), pairs across threads, with
    log-sum-exps along the grid's axes (O(N (H + W)) per step for N = H W bins instead of O(N^2)). Device
    histograms (CuPy or Numba arrays) take the same solve on the GPU, one block per problem (``numbaot.cuda.sta``),
    then soft-DTW there too; the gradient stays on the device. Point clouds and histograms on any other support
    take batches of entropic's Sinkhorn loop over cost matrices (``timeseries._sta_clouds``); on device arrays
    the same loops run on the GPU's batched half-steps over cost matrices built there (``numbaot.cuda.sta_clouds``).

    Parameters
    ----------
    X, Y : arrays
        With ``support``: histograms of shape (T_x, n_bins) and (T_y, n_bins), one frame per row, non-negative,
        all of the same mass (to 1e-9 relative, 1e-6 for float32 frames; each frame is rescaled to X[0]'s mass).
        Without: point clouds of shape (T_x, n, k) and (T_y, m, k), uniform weights.
    gamma : float > 0
        soft-DTW smoothing, in the units of the divergence.
    reg : float > 0
        Entropic regularisation of the frame divergences.
    support : array of shape (n_bins, k) or (n_bins,), optional
        The grid the histograms live on.
    return_grad : bool
        Also return the gradient with respect to X's weights (histograms only): ``sum_j E_ij grad_a S(x_i, y_j)``
        with E the expected alignment and ``grad_a S`` the debiased Sinkhorn potential (envelope theorem); it is
        defined up to a constant per frame (frames keep their mass).
    max_iter, tol
        Of each Sinkhorn-divergence solve: its step cap and the L1 marginal error it stops at (a
        ConvergenceWarning when one stops short). The value and gradient are accurate to about ``tol`` times the
        costs' scale; lower it (and raise ``max_iter``) for finite-difference checks.
    n_threads : int, optional

    Returns
    -------
    value : float
        In float32 when X and Y are both float32, else float64.
    grad : array of shape (T_x, n_bins), if ``return_grad``

    Examples
    --------
    >>> import numpy as np, numbaot.timeseries as ts
    >>> X = np.array([[[0.0]], [[1.0]]]); Y = np.array([[[0.0]], [[1.0]], [[1.0]]])  # one Dirac per frame
    >>> value = ts.sta(X, Y, gamma=0.5, reg=0.1)  # = soft-DTW of the points (squared Euclidean frame costs)
    >>> bool(np.isclose(value, ts.soft_dtw([0.0, 1.0], [0.0, 1.0, 1.0], gamma=0.5)))
    True
    """
    return_grad = V.check_bool(return_grad, "return_grad")
    if _device.is_cuda_array(X) or _device.is_cuda_array(Y):
        return _sta_device(X, Y, gamma, reg, support, max_iter, tol, return_grad, False)
    gamma, reg, max_iter, tol, support, A, B = _check_sta(X, Y, gamma, reg, support, max_iter, tol)
    if return_grad and support is None:
        raise ValueError("return_grad=True needs histograms on a support (the gradient is in the frames' weights)")
    out_dtype = V.result_dtype(A, B)
    problems = _frame_problems(support, (A, B), reg, max_iter, tol, n_threads)
    reports = []
    fa, fb = _self_potentials(problems, A, reports), _self_potentials(problems, B, reports)
    Delta, potentials = _frame_costs(problems, A, B, fa, fb, False, return_grad, reports)
    _warn_frames(reports, tol)
    from ._soft_dtw import soft_dtw_alignment_core, soft_dtw_matrix_value_core

    if not return_grad:
        return out_dtype.type(soft_dtw_matrix_value_core(Delta, gamma))
    value, E = soft_dtw_alignment_core(Delta, gamma)
    grad = np.einsum("ij,ijq->iq", E, potentials) * A.factors[:, None]
    return out_dtype.type(value), grad.astype(out_dtype, copy=False)


def sta_divergence(X, Y, gamma=1.0, reg=0.1, *, support=None, max_iter=1000, tol=1e-6, n_threads=None):
    """The debiased spatio-temporal alignment ``STA(X, Y) - (STA(X, X) + STA(Y, Y)) / 2`` (zero when X = Y);
    parameters as in :func:`sta`. Costs (T_x + T_y)^2 / 2 frame divergences.

    Examples
    --------
    >>> import numpy as np, numbaot.timeseries as ts
    >>> X = np.array([[[0.0]], [[1.0]]])
    >>> float(ts.sta_divergence(X, X, gamma=0.5, reg=0.1))
    0.0
    """
    if _device.is_cuda_array(X) or _device.is_cuda_array(Y):
        return _sta_device(X, Y, gamma, reg, support, max_iter, tol, False, True)
    gamma, reg, max_iter, tol, support, A, B = _check_sta(X, Y, gamma, reg, support, max_iter, tol)
    from ._soft_dtw import soft_dtw_matrix_value_core

    def sdtw(Delta):
        return soft_dtw_matrix_value_core(Delta, gamma)

    problems = _frame_problems(support, (A, B), reg, max_iter, tol, n_threads)
    reports = []
    fa, fb = _self_potentials(problems, A, reports), _self_potentials(problems, B, reports)
    Dxy, _ = _frame_costs(problems, A, B, fa, fb, False, False, reports)
    Dxx, _ = _frame_costs(problems, A, A, fa, fa, True, False, reports)
    Dyy, _ = _frame_costs(problems, B, B, fb, fb, True, False, reports)
    _warn_frames(reports, tol)
    return V.result_dtype(A, B).type(sdtw(Dxy) - 0.5 * (sdtw(Dxx) + sdtw(Dyy)))


class _HostDescent:
    """The steps of :func:`_mirror_descent` on host frames (``numbaot.cuda.sta.DeviceDescent`` is the GPU twin):
    the objective ``sum_k w_k sta(Z, X_k)`` and its gradient, each series' self-potentials solved once."""

    def __init__(self, problems, series, w, gamma, support, mass, Z0):
        self.problems, self.gamma, self.support, self.mass, self.Z0 = problems, gamma, support, mass, Z0
        self.reports = []  # the series' self-problems, for the front-end's warning
        self.series = [(wk, S, _self_potentials(problems, S, self.reports) if wk > 0 else None)
                       for wk, S in zip(w, series)]

    def objective(self, Z):
        """``(F(Z), grad F(Z), reports)``."""
        from ._soft_dtw import soft_dtw_alignment_core

        reports = []
        frames = _Measures(self.support, Z, np.dtype(np.float64), np.ones(Z.shape[0]))
        fz = _self_potentials(self.problems, frames, reports)
        total, grad = 0.0, np.zeros_like(Z)
        for wk, S, fs in self.series:
            if wk > 0:
                Delta, potentials = _frame_costs(self.problems, frames, S, fz, fs, False, True, reports)
                value, E = soft_dtw_alignment_core(Delta, self.gamma)
                total += wk * value
                grad += wk * np.einsum("ij,ijq->iq", E, potentials)
        return total, grad, reports

    def centre(self, grad, Z):
        """The part of the gradient that changes the frames (each row's component along Z removed), and its largest
        entry in absolute value where Z > 0."""
        centred = grad - (grad * Z).sum(axis=1, keepdims=True) / self.mass
        return centred, float(np.abs(centred[Z > 0]).max(initial=0.0))

    def trial(self, Z, centred, step):
        """The exponentiated-gradient step ``Z exp(-step centred)``, each frame rescaled to the mass."""
        trial = Z * np.exp(-step * (centred - centred.max(axis=1, keepdims=True)))
        return trial * (self.mass / trial.sum(axis=1, keepdims=True))

    def finish(self, Z, out_dtype):
        return Z.astype(out_dtype, copy=False)


def _mirror_descent(ops, objective, Z, max_iter, tol):
    """Exponentiated-gradient descent with backtracking from Z: a step is taken only if the objective decreases;
    the step doubles after each step taken and halves on each refusal. ``objective(Z)`` gives ``(value, grad)``,
    ``ops`` the rest (``_HostDescent`` or its GPU twin). Returns ``(Z, converged)``."""
    value, grad = objective(Z)
    step = None
    for _ in range(max_iter):
        centred, scale = ops.centre(grad, Z)
        if scale == 0.0:
            return Z, True
        if step is None:
            step = 1.0 / scale  # first step: log-weights move by at most 1
        for _ in range(30):  # backtracking: halve until F decreases
            trial = ops.trial(Z, centred, step)
            new_value, new_grad = objective(trial)
            if new_value < value:
                break
            step *= 0.5
        else:
            return Z, True  # no decrease at any step size: a stationary point to the precision of the frame costs
        decrease = value - new_value
        Z, value, grad = trial, new_value, new_grad
        step *= 2.0
        if decrease <= tol * max(abs(value), 1e-300):
            return Z, True
    return Z, False


def sta_barycenter(series, gamma=1.0, reg=0.1, weights=None, init=None, *, support, max_iter=50, tol=1e-6,
                   sinkhorn_max_iter=1000, sinkhorn_tol=1e-6, n_threads=None):
    """A spatio-temporal barycenter (Janati, Cuturi and Gramfort 2020, Sec. 4): series of histograms on
    ``support`` minimising ``F(Z) = sum_k w_k sta(Z, X_k)``, by mirror descent (exponentiated gradient, which
    keeps every frame non-negative with its mass) with the exact gradient of :func:`sta` and a backtracking step:
    a step is taken only if F decreases, so F never increases. Each series' self-problems are solved once; each
    evaluation of F solves Z's once and the frame pairs of every series in batches (:func:`sta`'s solves). Device
    histograms on a product grid (CuPy or Numba arrays) run the whole descent on the GPU (``numbaot.cuda.sta``).

    Parameters
    ----------
    series : list of K arrays of shape (T_k, n_bins)
        Histograms on ``support``, every frame of the same mass (to 1e-9 relative, 1e-6 for float32).
    gamma, reg : float > 0
        As in :func:`sta`.
    weights : array of shape (K,), optional
        Non-negative, normalised to sum to 1 (uniform when None).
    init : array of shape (T, n_bins), optional
        Starting frames (fixing T); entries that are 0 stay 0. Default: the frame-wise weighted mean of the series
        when they all have T frames, else the first series.
    support : array of shape (n_bins, k) or (n_bins,)
    max_iter : int
        Descent steps at most (a ConvergenceWarning when reached); tol: stop when F decreases by less than
        ``tol * |F|`` in a step.
    sinkhorn_max_iter, sinkhorn_tol
        Of each frame divergence (``max_iter``, ``tol`` of :func:`sta`).
    n_threads : int, optional

    Returns
    -------
    array of shape (T, n_bins)
        float32 when every series is float32; on the series' device.

    Examples
    --------
    >>> import numpy as np, numbaot.timeseries as ts
    >>> grid = np.linspace(0.0, 1.0, 3)
    >>> X = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    >>> flat = np.full((2, 3), 1 / 3)
    >>> Z = ts.sta_barycenter([X, X], 0.1, 0.5, support=grid, init=flat, tol=1e-4)
    >>> bool(ts.sta(Z, X, 0.1, 0.5, support=grid) < ts.sta(flat, X, 0.1, 0.5, support=grid))
    True
    """
    gamma = _check_gamma(gamma)
    reg = V.check_reg(reg)
    max_iter = V.check_max_iter(max_iter)
    tol = V.check_tol(tol)
    sinkhorn_max_iter = V.check_max_iter(sinkhorn_max_iter, "sinkhorn_max_iter")
    sinkhorn_tol = V.check_tol(sinkhorn_tol, "sinkhorn_tol")
    if not isinstance(series, (list, tuple)) or len(series) == 0:
        raise TypeError("series must be a non-empty list of (T_k, n_bins) histogram arrays")
    w = _weights(weights, len(series))
    names = tuple(f"series[{k}]" for k in range(len(series)))
    arrays = dict(zip(names, series), init=init)
    on_device = any(x is not None and _device.is_cuda_array(x) for x in arrays.values())
    if on_device:  # the whole descent on the GPU: the iterate, the frame costs and the steps stay there
        placement = _dispatch.place(**arrays)
        problem, support = _device_grid(support, reg)
        given = [_device_frames(F, name, support, placement) for name, F in zip(names, series)]
        if init is not None:
            given.append(_device_frames(init, "init", support, placement))
        factors = _device_factors(given, names + ("init",))
        out_dtype = V.result_dtype(*(F for F, _, _ in given[:len(series)]))
        copies = [copy for _, copy, _ in given]
        ops = _dispatch.driver("sta_barycenter", placement)(copies[:len(series)], None if init is None else copies[-1],
                                                            factors, w, problem, gamma, sinkhorn_max_iter,
                                                            sinkhorn_tol, placement)
    else:
        support = _support(support)
        given = [_measures(F, name, support) for name, F in zip(names, series)]
        if init is not None:
            given.append(_measures(init, "init", support))
        frames = _equal_masses([S for S, _ in given], [m for _, m in given], names + ("init",))
        if init is not None:
            Z0, frames = frames[-1].weights, frames[:-1]
        elif all(S.weights.shape[0] == frames[0].weights.shape[0] for S in frames):
            Z0 = np.einsum("k,kij->ij", w, np.stack([S.weights for S in frames]))
        else:
            Z0 = frames[0].weights.copy()
        out_dtype = V.result_dtype(*frames)
        problems = _frame_problems(support, frames, reg, sinkhorn_max_iter, sinkhorn_tol, n_threads)
        ops = _HostDescent(problems, frames, w, gamma, support, float(frames[0].weights[0].sum()), Z0)
    _warn_frames(ops.reports, sinkhorn_tol, stacklevel=4)  # the series' self-problems

    def objective(Z):
        value, grad, reports = ops.objective(Z)
        _warn_frames(reports, sinkhorn_tol, stacklevel=6)
        return value, grad

    Z, converged = _mirror_descent(ops, objective, ops.Z0, max_iter, tol)
    if not converged:
        warnings.warn(f"sta_barycenter: stopped at max_iter = {max_iter} while the objective still decreased; raise "
                      "max_iter or loosen tol", ConvergenceWarning, stacklevel=2)
    return ops.finish(Z, out_dtype)
