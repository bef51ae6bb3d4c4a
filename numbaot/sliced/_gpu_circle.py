"""The circle and sphere front-ends' path for device arrays: host checks of shapes, device checks of values
(``numbaot.cuda._checks``: the host's messages), then the driver ``numbaot.cuda.circle``.

Scalars come back as numpy scalars, batches (2D inputs) as the caller's kind of CUDA array. Projections of the
spherical distances are host arrays (drawn by the front-end, or given): they are small and copied once.
"""
from __future__ import annotations

import numpy as np

from .. import _device, _validation as V


def _values(x, name, stream):
    from ..cuda import _checks, _launch

    x = V.as_float_array(x, name, ndim=(1, 2), allow_cuda=True)
    rows = _launch.as_float64_2d(_launch.wrap(x), stream)
    _checks.check_points_cuda(rows, x, name, stream)
    return x, rows


def _weights(w, name, n, k, stream):
    """(float64 device weights (n, 1) or (n, k), or None; host masses (k,))."""
    if w is None:
        return None, np.ones(k)
    from ..cuda import _checks, _launch

    w = V.as_float_array(w, name, ndim=(1, 2), allow_cuda=True)
    shape = tuple(w.shape)
    if shape not in ((n,), (n, k)):
        raise ValueError(f"{name} has shape {shape}; it must be ({n},) or ({n}, {k})")
    col = _launch.as_float64_2d(_launch.wrap(w), stream)
    labels = [name] if w.ndim == 1 else [f"{name}[:, {t}]" for t in range(k)]
    totals = _checks.check_weight_columns(col, w, labels, stream)
    return col, np.broadcast_to(totals, (k,)).astype(np.float64)


def _pair(placement, u_values, v_values, u_weights, v_weights):
    from ..cuda import circle as driver

    stream = placement.stream
    u, u_rows = _values(u_values, "u_values", stream)
    v, v_rows = _values(v_values, "v_values", stream)
    if u.ndim != v.ndim or tuple(u.shape)[1:] != tuple(v.shape)[1:]:
        raise ValueError(f"u_values has shape {tuple(u.shape)} and v_values {tuple(v.shape)}: both must be 1D, or 2D "
                         "with the same number of columns (one problem per column)")
    k = int(u_rows.shape[1])
    wa, mass_a = _weights(u_weights, "u_weights", int(u.shape[0]), k, stream)
    wb, mass_b = _weights(v_weights, "v_weights", int(v.shape[0]), k, stream)
    dtype = V.mass_dtype(*(w for w in (u_weights, v_weights) if w is not None))
    V.check_mass_pairs(mass_a, mass_b, dtype, ("u_weights", "v_weights"))
    xs, ca = driver.circle_rows_cuda(u_rows, wa, stream)
    ys, cb = driver.circle_rows_cuda(v_rows, wb, stream)
    return xs, ca, ys, cb, mass_a, u.ndim == 2, V.result_dtype(u, v)


def _to_caller(x, placement):
    """A small host array (k values) on the caller's device, as the caller's kind of array."""
    from numba import cuda

    return _device.to_caller(cuda.to_device(np.ascontiguousarray(x), stream=placement.stream), placement.kind)


def _finish(placement, values, batched, dtype):
    if batched:
        return _to_caller(np.asarray(values, dtype=dtype), placement)
    return dtype.type(values[0])


def circle(placement, u_values, v_values, u_weights, v_weights, p, return_theta=False):
    """``wasserstein_circle`` / ``binary_search_circle`` / ``wasserstein1_circle`` (p = 1) on the device."""
    from ..cuda import circle as driver

    xs, ca, ys, cb, mass, batched, dtype = _pair(placement, u_values, v_values, u_weights, v_weights)
    values, thetas = driver.circle_cost_cuda(xs, ca, ys, cb, p, placement.stream)
    value = _finish(placement, values * mass, batched, dtype)
    if not return_theta:
        return value
    return value, (_to_caller(thetas, placement) if batched else float(thetas[0]))


def unif_circle(placement, u_values, u_weights):
    """``semidiscrete_wasserstein2_unif_circle`` on the device."""
    from ..cuda import circle as driver

    stream = placement.stream
    u, rows = _values(u_values, "u_values", stream)
    k = int(rows.shape[1])
    w, mass = _weights(u_weights, "u_weights", int(u.shape[0]), k, stream)
    for t in range(k):
        if abs(mass[t] - 1.0) > 1e-9:
            raise ValueError(f"u_weights must sum to 1 (the uniform measure on the circle has mass 1), got "
                             f"{mass[t]:.17g}; pass u_weights / u_weights.sum()")
    xs, cdf = driver.circle_rows_cuda(rows, w, stream)
    return _finish(placement, driver.w2_uniform_cuda(xs, cdf, stream), u.ndim == 2, V.result_dtype(u))


def _on_sphere(X, name, stream, tol):
    from ..cuda import _checks, _launch
    from ..cuda import circle as driver

    X = V.as_float_array(X, name, ndim=2, allow_cuda=True)
    rows = _launch.as_float64_2d(_launch.wrap(X), stream)
    _checks.check_points_cuda(rows, X, name, stream)
    if int(X.shape[1]) < 2:
        raise ValueError(f"{name} has points of dimension {int(X.shape[1])}; the sphere S^(d-1) needs d >= 2")
    squared = driver.squared_norms_cuda(rows, stream)
    bad = np.flatnonzero(np.abs(squared - 1.0) > tol)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] is not on the unit sphere (|x|^2 = {squared[i]:.6g}); "
                         f"normalise the points: {name} / np.linalg.norm({name}, axis=1, keepdims=True)")
    return X, rows


def sphere_points(placement, X, name, tol):
    """Checked float64 (n, d) device copy of the caller's points on the sphere, and the caller's array."""
    return _on_sphere(X, name, placement.stream, tol)


def sphere(placement, X_s, X_t, a, b, p, U, rows_s, rows_t):
    """Mean over the planes ``U`` (L, d, 2) of ``W_p^p`` between the projected clouds (checked device rows)."""
    from ..cuda import circle as driver

    stream = placement.stream
    L = int(U.shape[0])
    wa, mass_a = _weights(a, "a", int(X_s.shape[0]), L, stream)
    wb, mass_b = _weights(b, "b", int(X_t.shape[0]), L, stream)
    V.check_mass(float(mass_a[0]), float(mass_b[0]), V.mass_dtype(*(w for w in (a, b) if w is not None)))
    xs, ca = driver.circle_rows_cuda(driver.sphere_coordinates_cuda(rows_s, U, stream), wa, stream)
    ys, cb = driver.circle_rows_cuda(driver.sphere_coordinates_cuda(rows_t, U, stream), wb, stream)
    values, _ = driver.circle_cost_cuda(xs, ca, ys, cb, p, stream)
    return float(np.mean(values * mass_a))


def sphere_unif(placement, X_s, a, U, rows):
    from ..cuda import circle as driver

    stream = placement.stream
    L = int(U.shape[0])
    w, mass = _weights(a, "a", int(X_s.shape[0]), L, stream)
    if abs(mass[0] - 1.0) > 1e-9:
        raise ValueError(f"a must sum to 1 (the uniform measure on the sphere has mass 1), got {mass[0]:.17g}; pass "
                         "a / a.sum()")
    xs, cdf = driver.circle_rows_cuda(driver.sphere_coordinates_cuda(rows, U, stream), w, stream)
    return float(np.mean(driver.w2_uniform_cuda(xs, cdf, stream)))
