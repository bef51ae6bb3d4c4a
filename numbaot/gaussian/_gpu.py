"""The Gaussian front-ends' path for device arrays (CuPy, Numba device arrays, the CUDA simulator's arrays).

Shapes are checked here on the host (they need no copy); values are checked on the device by the driver's kernels
(``numbaot.cuda.gaussian``): finiteness and symmetry by per-matrix reductions, positive semi-definiteness by a
Cholesky factorisation of ``C + 1e-10 max|C| I`` (the host path compares the smallest eigenvalue with
``-1e-10`` times the largest), a source covariance's invertibility by a Cholesky factorisation of
``C - 1e-12 max|C| I``. Only per-matrix flags come back to the host. Square roots are Newton-Schulz iterations
(tolerance ``NS_TOL`` = 1e-12 on the change of the normalised root, at most ``NS_MAX_ITER`` = 100 iterations);
a square root that does not converge is reported with a ConvergenceWarning naming its status.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _device, _validation as V
from .._status import OPTIMAL, ConvergenceWarning, Status, warn_status

_SYM_RTOL = 1e-10
_PSD_RTOL = 1e-10
_SINGULAR_RTOL = 1e-12


def _driver():
    from ..cuda import gaussian

    return gaussian


def _covariances(C, name, psd, stream):
    """A checked, symmetrised float64 (K, d, d) device copy of the caller's (d, d) or (K, d, d) device array."""
    g = _driver()
    C = V.as_float_array(C, name, ndim=(2, 3), allow_cuda=True)
    shape = tuple(C.shape)
    if shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be square covariance matrices, got shape {shape}")
    stack = g.as_stack(C, stream)
    stats = g.matrix_stats_cuda(stack, stream)

    def where(k):
        return f"{name}[{k}]" if C.ndim == 3 else name

    bad = np.flatnonzero(stats[:, 0] > 0)
    if bad.size:
        raise ValueError(f"{where(int(bad[0]))} has a NaN or infinite entry; {name} must be finite (no NaN or inf)")
    bad = np.flatnonzero(stats[:, 1] > _SYM_RTOL * np.maximum(stats[:, 2], np.finfo(float).tiny))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{where(k)} is not symmetric (largest |C_ij - C_ji| = {stats[k, 1]:.3g}); pass covariance "
                         "matrices (symmetrise with (C + C.T) / 2)")
    g.symmetrize_cuda(stack, stream)
    ok = g.cholesky_ok_cuda(stack, _PSD_RTOL, stream)
    bad = np.flatnonzero(ok == 0)
    if bad.size:
        k = int(bad[0])
        if psd == "project":
            raise ValueError(f"{where(k)} is not positive semi-definite; psd='project' (setting negative eigenvalues "
                             "to 0) needs an eigendecomposition, which runs on the host only: pass host arrays, or "
                             "pass covariance matrices")
        raise ValueError(f"{where(k)} is not positive semi-definite (an eigenvalue is below -1e-10 times its largest "
                         "entry); pass covariance matrices, or host arrays with psd='project' to set negative "
                         "eigenvalues to 0")
    return C, stack


def _means(m, name, stream):
    from ..cuda import _checks

    g = _driver()
    m = V.as_float_array(m, name, ndim=(1, 2), allow_cuda=True)
    rows = g.as_rows(m, stream)
    _checks.check_points_cuda(rows if m.ndim == 2 else rows.reshape(int(m.shape[0]), 1), m, name, stream)
    return m, rows


def _gaussians(m, C, name_m, name_C, psd, stream):
    m, rows = _means(m, name_m, stream)
    C, stack = _covariances(C, name_C, psd, stream)
    if m.ndim + 1 != C.ndim:
        raise ValueError(f"{name_m} has shape {tuple(m.shape)} and {name_C} {tuple(C.shape)}: pass one Gaussian ((d,) "
                         "and (d, d)) or a stack ((K, d) and (K, d, d))")
    if tuple(m.shape)[-1] != tuple(C.shape)[-1] or (m.ndim == 2 and m.shape[0] != C.shape[0]):
        raise ValueError(f"{name_m} has shape {tuple(m.shape)} but {name_C} has shape {tuple(C.shape)}; they must "
                         "describe the same Gaussians: (d,) with (d, d), or (K, d) with (K, d, d)")
    return rows, stack, m.ndim == 2


def _warn_roots(status, solver):
    if status != OPTIMAL:
        warn_status(status, solver, "a matrix square root by Newton-Schulz iterations did not converge", stacklevel=5)


def _require_positive_definite(stack, name, stream):
    ok = _driver().cholesky_ok_cuda(stack, -_SINGULAR_RTOL, stream)
    if not ok[0]:
        raise ValueError(f"{name} is singular (an eigenvalue is at most 1e-12 times its largest entry): the Monge map "
                         "from a degenerate Gaussian is not defined; regularise it (C + reg * I, or reg > 0 in the "
                         "empirical functions)")


def distance(placement, ms, mt, Cs, Ct, paired, psd):
    stream = placement.stream
    g = _driver()
    ms_, Cs_, batched_s = _gaussians(ms, Cs, "ms", "Cs", psd, stream)
    mt_, Ct_, batched_t = _gaussians(mt, Ct, "mt", "Ct", psd, stream)
    if int(Cs_.shape[1]) != int(Ct_.shape[1]):
        raise ValueError(f"Cs lives in dimension {int(Cs_.shape[1])} but Ct in dimension {int(Ct_.shape[1])}; both "
                         "Gaussians must have the same dimension")
    if batched_s != batched_t:
        raise ValueError("pass one Gaussian on both sides or stacks on both sides (ms, Cs with mt, Ct)")
    n, m = int(ms_.shape[0]), int(mt_.shape[0])
    if paired and batched_s and n != m:
        raise ValueError(f"paired=True needs stacks of equal length, got {n} and {m} Gaussians")
    use_pairs = bool(paired and batched_s)
    squared, status = g.bures_squared_cuda(ms_, mt_, Cs_, Ct_, use_pairs, stream)
    _warn_roots(status, "bures_wasserstein_distance")
    dist = g.sqrt_vector_cuda(squared, stream)
    if not batched_s:
        from ..cuda import _launch

        return float(_launch.small_to_host(dist, stream)[0])
    out = dist if use_pairs else dist.reshape(n, m)
    return _device.to_caller(out, placement.kind)


def mapping(placement, ms, mt, Cs, Ct, psd):
    stream = placement.stream
    ms_, Cs_, batched_s = _gaussians(ms, Cs, "ms", "Cs", psd, stream)
    mt_, Ct_, batched_t = _gaussians(mt, Ct, "mt", "Ct", psd, stream)
    if batched_s or batched_t:
        raise ValueError("bures_wasserstein_mapping takes one Gaussian per side: ms, mt of shape (d,), Cs, Ct of "
                         "shape (d, d)")
    if int(Cs_.shape[1]) != int(Ct_.shape[1]):
        raise ValueError(f"Cs lives in dimension {int(Cs_.shape[1])} but Ct in dimension {int(Ct_.shape[1])}; both "
                         "Gaussians must have the same dimension")
    return _map(placement, ms_, mt_, Cs_, Ct_, "Cs", "bures_wasserstein_mapping")


def _map(placement, ms_, mt_, Cs_, Ct_, name, solver):
    stream = placement.stream
    _require_positive_definite(Cs_, name, stream)
    A, b, status = _driver().bures_map_cuda(ms_, mt_, Cs_, Ct_, stream)
    _warn_roots(status, solver)
    return _device.to_caller(A[0], placement.kind), _device.to_caller(b, placement.kind)


def _samples(x, name, stream):
    from ..cuda import _checks, _launch

    x = V.as_float_array(x, name, ndim=2, allow_cuda=True)
    rows = _launch.as_float64_2d(_launch.wrap(x), stream)
    _checks.check_points_cuda(rows, x, name, stream)
    return x, rows


def _sample_weights(w, name, n, stream):
    """(n, 1) float64 device weights (noise negatives clipped) and their sum; (None, n) when uniform."""
    if w is None:
        return None, float(n)
    from ..cuda import _checks, _launch

    w = V.as_float_array(w, name, ndim=(1, 2), allow_cuda=True)
    if w.ndim == 2 and w.shape[1] != 1:
        raise ValueError(f"{name} has shape {tuple(w.shape)}; it must be ({n},) or ({n}, 1)")
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} entries but there are {n} points (or rows of M) for it")
    col = _launch.as_float64_2d(_launch.wrap(w), stream)
    totals = _checks.check_weight_columns(col, w if w.ndim == 1 else w[:, 0], [name], stream)
    return col, float(totals[0])


def _empirical(placement, xs, xt, reg, ws, wt, bias):
    stream = placement.stream
    xs, xs_ = _samples(xs, "xs", stream)
    xt, xt_ = _samples(xt, "xt", stream)
    V.check_same_dimension(xs, xt, ("xs", "xt"))
    ws_, total_s = _sample_weights(ws, "ws", int(xs.shape[0]), stream)
    wt_, total_t = _sample_weights(wt, "wt", int(xt.shape[0]), stream)
    g = _driver()
    ms, Cs = g.moments_cuda(xs_, ws_, total_s, bias, reg, stream)
    mt, Ct = g.moments_cuda(xt_, wt_, total_t, bias, reg, stream)
    return ms, mt, Cs, Ct


def empirical_distance(placement, xs, xt, reg, ws, wt, bias):
    from ..cuda import _launch

    ms, mt, Cs, Ct = _empirical(placement, xs, xt, reg, ws, wt, bias)
    squared, status = _driver().bures_squared_cuda(ms, mt, Cs, Ct, False, placement.stream)
    _warn_roots(status, "empirical_bures_wasserstein_distance")
    return float(math.sqrt(_launch.small_to_host(squared, placement.stream)[0]))


def empirical_mapping(placement, xs, xt, reg, ws, wt, bias):
    ms, mt, Cs, Ct = _empirical(placement, xs, xt, reg, ws, wt, bias)
    return _map(placement, ms, mt, Cs, Ct, "the covariance of xs", "empirical_bures_wasserstein_mapping")


def barycenter(placement, m, C, weights, step, max_iter, tol, psd, weights_of):
    """``weights_of(host weights or None, K)`` is the front-end's check of the barycentric weights."""
    from ..cuda import _launch

    stream = placement.stream
    g = _driver()
    means, covs, batched = _gaussians(m, C, "m", "C", psd, stream)
    if not batched:
        raise ValueError(f"m must be a stack of means (K, d) and C of covariances (K, d, d), got {tuple(m.shape)} and "
                         f"{tuple(C.shape)}")
    K, d = int(covs.shape[0]), int(covs.shape[1])
    if weights is not None and _device.is_cuda_array(weights):
        weights = _device.to_host(weights)  # K numbers, read to check them (as the host path does)
    w = weights_of(weights, K)
    from numba import cuda

    start = _launch.empty((1, d, d), np.float64, stream)
    blocks, threads = _launch.grid_1d(d * d)
    g._weighted_sum_kernel[blocks, threads, stream](covs, cuda.to_device(w, stream=stream), start)
    if not g.cholesky_ok_cuda(start, -_SINGULAR_RTOL, stream)[0]:
        raise ValueError("the covariances share a null space (their weighted mean is singular): the barycenter is "
                         "degenerate; regularise them (C + reg * I)")
    mb, Cb, status, n_iter, change = g.barycenter_cuda(means, covs, w, start, step, max_iter, tol, stream)
    status = Status(int(status))
    if status == Status.NUMERICAL_ERROR:
        raise FloatingPointError("bures_wasserstein_barycenter: the iterate lost positive definiteness or became "
                                 "non-finite; the covariances are too ill-conditioned: regularise them (C + reg * I)")
    if status != Status.OPTIMAL:
        warnings.warn(f"bures_wasserstein_barycenter: {status.name}: {status.message} ({n_iter} iterations, last "
                      f"change {change:.3g} > tol={tol:g})", ConvergenceWarning, stacklevel=3)
    return _device.to_caller(mb, placement.kind), _device.to_caller(Cb, placement.kind)

