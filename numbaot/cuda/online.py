"""Online log-domain Sinkhorn between point clouds on the GPU: the CUDA twin of ``entropic._online``.

One thread per point computes its row's softmin over the other cloud with the very body the CPU cores use
(``_online.softmin_points``, compiled with ``.cuda``; its costs come from ``_costs.cost_term``/``cost_finish``, the
pieces of ``pair_cost``), in one fused pass shifted by the previous iterate (a small local array is its chunk
buffer). Every ``check_every`` iterations the L1 marginal error is reduced on the device into one scalar, the only
value copied back inside the loop. Inputs are CuPy, Numba device or simulator arrays; the potentials and the plan
(densified on request) come back as the caller's kind of array.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import cuda, float64

from .. import _validation as V
from .._costs import METRIC_CODES
from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..entropic._online import plan_entry, softmin_points
from . import _checks, _launch

_softmin_points = softmin_points.cuda
_plan_entry = plan_entry.cuda

#: Length of each thread's chunk buffer (local memory); the GPU gains nothing from longer chunks.
CHUNK = 16


@cuda.jit
def _h_kernel(other, log_w, inv_eps, h):
    j = cuda.grid(1)
    if j < h.shape[0]:
        h[j] = other[j] * inv_eps + log_w[j]


@cuda.jit
def _half_step_kernel(X, Y, metric, p, norms_x, norms_y, h, inv_eps, eps, prev, out):
    i = cuda.grid(1)
    if i < X.shape[0]:
        buf = cuda.local.array(CHUNK, float64)
        guess = -prev[i] * inv_eps
        if not math.isfinite(guess):
            guess = 0.0
        out[i] = -eps * _softmin_points(X, i, Y, h, inv_eps, metric, p, norms_x, norms_y, guess, buf)


@cuda.jit
def _marginal_error_kernel(log_b, g, g_new, eps, err):
    """``err[0] += sum_j |b_j exp((g_j - g_new_j) / eps) - b_j|``: the column error read off the g-update."""
    j = cuda.grid(1)
    if j < g.shape[0] and log_b[j] > -math.inf:
        cuda.atomic.add(err, 0, abs(math.exp(log_b[j] + (g[j] - g_new[j]) / eps) - math.exp(log_b[j])))


@cuda.jit
def _sums_kernel(X, Y, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps, acc):
    """Per row: ``acc[0] += sum_j P_ij C_ij``, ``acc[1] += f_i r_i``, ``acc[2] += r_i`` with ``r_i = sum_j P_ij``;
    ``acc[3] += 1`` for a non-finite potential on a point of positive weight; ``acc[6] += r_i log(r_i / a_i) - r_i
    + a_i`` (the generalised KL of the row sums against a)."""
    i = cuda.grid(1)
    if i < X.shape[0]:
        r = 0.0
        s = 0.0
        for j in range(Y.shape[0]):
            w, c = _plan_entry(X, i, Y, j, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps)
            if w > 0.0:
                r += w
                s += w * c
        cuda.atomic.add(acc, 0, s)
        cuda.atomic.add(acc, 1, f[i] * r if r > 0.0 else 0.0)
        cuda.atomic.add(acc, 2, r)
        if log_a[i] > -math.inf and not math.isfinite(f[i]):
            cuda.atomic.add(acc, 3, 1.0)
        w = math.exp(log_a[i])
        cuda.atomic.add(acc, 6, r * (math.log(r) - log_a[i]) - r + w if r > 0.0 else w)


@cuda.jit
def _max_change_kernel(new, old, log_w, out):
    """``out[0] = max(out[0], |new_i - old_i|)`` over the positive weights; ``out[1] += 1`` per NaN change."""
    i = cuda.grid(1)
    if i < new.shape[0] and log_w[i] > -math.inf:
        diff = abs(new[i] - old[i])
        if diff <= math.inf:
            cuda.atomic.max(out, 0, diff)
        else:
            cuda.atomic.add(out, 1, 1.0)


@cuda.jit
def _weighted_sum_kernel(v, log_w, acc):
    """``acc[4] += sum_j w_j v_j``, ``acc[5] += sum_j w_j``; ``acc[3] += 1`` per non-finite ``v_j`` with
    ``w_j > 0``."""
    j = cuda.grid(1)
    if j < v.shape[0] and log_w[j] > -math.inf:
        w = math.exp(log_w[j])
        cuda.atomic.add(acc, 4, w * v[j])
        cuda.atomic.add(acc, 5, w)
        if not math.isfinite(v[j]):
            cuda.atomic.add(acc, 3, 1.0)


@cuda.jit
def _dense_plan_kernel(X, Y, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps, out):
    t = cuda.grid(1)
    m = out.shape[1]
    if t < out.shape[0] * m:
        i = t // m
        j = t - i * m
        out[i, j] = _plan_entry(X, i, Y, j, metric, p, norms_x, norms_y, log_a, log_b, f, g, inv_eps)[0]


@cuda.jit
def _log_weights_kernel(w, scale, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        x = w[i, 0] * scale
        out[i] = math.log(x) if x > 0.0 else -math.inf


@cuda.jit
def _fill_kernel(out, value):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = value


@cuda.jit
def _cast_kernel(x, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = x[i]


def _launch_1d(kernel, n, stream, *args):
    blocks, threads = _launch.grid_1d(n)
    kernel[blocks, threads, stream](*args)


def _log_weights(w, n, name, stream):
    """``(log w, sum w)`` on the device for validated weights (uniform ``1/n`` when None)."""
    out = _launch.empty(n, np.float64, stream)
    if w is None:
        _launch_1d(_fill_kernel, n, stream, out, -math.log(n))
        return out, 1.0
    V.check_weight_length(w, name, n)  # here, in the host's order: the points first, then a, then b
    w64 = _launch.as_float64_2d(_launch.wrap(w), stream)
    total = float(_checks.check_weight_columns(w64, _launch.wrap(w), [name], stream)[0])
    return w64, total


class DeviceClouds(NamedTuple):
    """Two validated point clouds on the device, as the CUDA twins of the online cores take them."""

    stream: object
    kind: str  # the caller's kind of array (answers are returned as that kind)
    out_dtype: np.dtype
    X: object  # (n, d) float64
    Y: object  # (m, d) float64
    log_a: object  # (n,) float64, -inf for a zero weight
    log_b: object  # (m,) float64; b rescaled to the mass of a when balanced
    sum_a: float
    sum_b: float  # after the rescaling
    ones_a: object  # (n,) the 'norms' of the cost bodies ('cosine' only, which the GPU refuses)
    ones_b: object  # (m,)


def prepare_clouds(X_a, X_b, a, b, metric, balanced=True) -> DeviceClouds:
    """Check CUDA clouds and weights on the device with the host's messages (the arguments' kinds, shapes and the
    metric were checked by the front-end: ``_validation.check_points(..., allow_cuda=True)``,
    ``check_online_gpu_metric``) and make float64 copies and log-weights.

    ``balanced``: the masses must agree (``_validation.check_mass``) and b is rescaled to the mass of a.
    """
    stream = _launch.stream_of(X_a, X_b, a, b)
    kind = _launch.caller_kind(X_a, X_b, a, b)
    out_dtype = V.result_dtype(X_a, X_b)
    Xw, Yw = _launch.wrap(X_a), _launch.wrap(X_b)
    X = _launch.as_float64_2d(Xw, stream)
    _checks.check_points_cuda(X, Xw, "X_a", stream)
    Y = _launch.as_float64_2d(Yw, stream)
    _checks.check_points_cuda(Y, Yw, "X_b", stream)
    V.check_same_dimension(X, Y)
    n, m = int(X.shape[0]), int(Y.shape[0])
    wa, sum_a = _log_weights(a, n, "a", stream)
    wb, sum_b = _log_weights(b, m, "b", stream)
    scale = 1.0
    if balanced:
        given = [w for w in (a, b) if w is not None]
        scale = V.check_mass(sum_a, sum_b, V.mass_dtype(*given))  # b is rescaled to a's mass
    if a is not None:
        log_a = _launch.empty(n, np.float64, stream)
        _launch_1d(_log_weights_kernel, n, stream, wa, 1.0, log_a)
    else:
        log_a = wa
    if b is not None:
        log_b = _launch.empty(m, np.float64, stream)
        _launch_1d(_log_weights_kernel, m, stream, wb, scale, log_b)
    else:
        log_b = wb
        if scale != 1.0:
            _launch_1d(_fill_kernel, m, stream, log_b, math.log(scale / m))
    return DeviceClouds(stream, kind, out_dtype, X, Y, log_a, log_b, sum_a, sum_b * scale, filled(n, 1.0, stream),
                        filled(m, 1.0, stream))


def filled(n, value, stream):
    """A new float64 device vector of ``n`` copies of ``value``."""
    out = _launch.empty(n, np.float64, stream)
    _launch_1d(_fill_kernel, n, stream, out, value)
    return out


def to_caller_dtype(v, out_dtype, kind, stream):
    """The float64 device vector ``v`` in ``out_dtype`` (cast on the device) and the caller's kind of array."""
    if out_dtype == np.float64:
        return _launch.to_caller(v, kind)
    out = _launch.empty(v.shape[0], out_dtype, stream)
    _launch_1d(_cast_kernel, v.shape[0], stream, v, out)
    return _launch.to_caller(out, kind)


def solve_online_cuda(X_a, X_b, a, b, reg, metric, p, max_iter, tol, check_every, rho_a=math.inf, rho_b=math.inf):
    """Online log-domain Sinkhorn between CUDA point clouds (the arguments validated as in ``solve_online``).

    Finite ``rho_a``/``rho_b`` penalise the marginals by KL: the half-steps are damped by ``rho / (rho + eps)``
    and the loop stops on the change of the potentials, as ``entropic._loop.sinkhorn_loop`` in its plain
    unbalanced mode.
    Returns ``(f, g, status, n_iter, errors, value, value_linear, densify, out_dtype)`` with ``f``, ``g`` in the
    caller's kind of array (float32 when both clouds are float32) and ``densify`` building the dense plan there.
    """
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    tau_a, tau_b = (1.0 if math.isinf(r) else r / (r + reg) for r in (rho_a, rho_b))
    clouds = prepare_clouds(X_a, X_b, a, b, metric, balanced)
    stream, kind, out_dtype, X, Y, log_a, log_b, sum_a, sum_b, ones_a, ones_b = clouds
    n, m = int(X.shape[0]), int(Y.shape[0])
    code = METRIC_CODES[metric]
    f = filled(n, 0.0, stream)
    g = filled(m, 0.0, stream)
    g_new = _launch.empty(m, np.float64, stream)
    h_b = _launch.empty(m, np.float64, stream)
    h_a = _launch.empty(n, np.float64, stream)
    err = _launch.empty(2, np.float64, stream)
    f_prev = None if balanced else _launch.empty(n, np.float64, stream)
    inv_eps = 1.0 / reg
    errors = []
    status = MAX_ITER_REACHED
    n_iter = 0
    while n_iter < max_iter:
        check = (n_iter + 1) % check_every == 0 or n_iter + 1 == max_iter
        if check and not balanced:
            _launch_1d(_cast_kernel, n, stream, f, f_prev)
        _launch_1d(_h_kernel, m, stream, g, log_b, inv_eps, h_b)
        # the kernel's last factor is -eps: the damping folds into it
        _launch_1d(_half_step_kernel, n, stream, X, Y, code, p, ones_a, ones_b, h_b, inv_eps, reg * tau_a, f, f)
        _launch_1d(_h_kernel, n, stream, f, log_a, inv_eps, h_a)
        _launch_1d(_half_step_kernel, m, stream, Y, X, code, p, ones_b, ones_a, h_a, inv_eps, reg * tau_b, g,
                   g_new)
        n_iter += 1
        if check:
            _launch_1d(_fill_kernel, 2, stream, err, 0.0)
            if balanced:
                _launch_1d(_marginal_error_kernel, m, stream, log_b, g, g_new, reg, err)
            else:
                _launch_1d(_max_change_kernel, n, stream, f, f_prev, log_a, err)
                _launch_1d(_max_change_kernel, m, stream, g_new, g, log_b, err)
        g, g_new = g_new, g
        if check:
            e, nan = (float(v) for v in _launch.small_to_host(err, stream))  # the one copy per check
            if not balanced:
                e = math.nan if nan else e / reg
            errors.append(e)
            if not math.isfinite(e):
                status = NUMERICAL_ERROR
                break
            if e <= tol:
                status = OPTIMAL
                break
    acc = filled(7, 0.0, stream)
    _launch_1d(_sums_kernel, n, stream, X, Y, code, p, ones_a, ones_b, log_a, log_b, f, g, inv_eps, acc)
    if balanced:  # the columns of P sum to b (rescaled to the mass of a): sum_j c_j g_j = <b, g>
        _launch_1d(_weighted_sum_kernel, m, stream, g, log_b, acc)
        value_linear, f_mass, mass, bad, gb, _, _ = (float(v) for v in _launch.small_to_host(acc, stream))
        penalties = 0.0
    else:  # the column sums of P: the same kernel with the clouds swapped
        cols = filled(7, 0.0, stream)
        _launch_1d(_sums_kernel, m, stream, Y, X, code, p, ones_b, ones_a, log_b, log_a, g, f, inv_eps, cols)
        value_linear, f_mass, mass, bad, _, _, kl_a = (float(v) for v in _launch.small_to_host(acc, stream))
        _, gb, _, bad_b, _, _, kl_b = (float(v) for v in _launch.small_to_host(cols, stream))
        bad += bad_b
        # rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b), an exact marginal (rho = inf) left out
        penalties = sum(rho * kl for rho, kl in ((rho_a, kl_a), (rho_b, kl_b)) if not math.isinf(rho))
    if bad:
        status = NUMERICAL_ERROR
    # <P, C> + reg KL(P | ab^T) = sum P (f + g) - reg (sum P - |a||b|)
    value = f_mass + gb - reg * (mass - sum_a * sum_b) + penalties

    def densify():
        out = _launch.empty((n, m), out_dtype, stream)
        _launch_1d(_dense_plan_kernel, n * m, stream, X, Y, code, p, ones_a, ones_b, log_a, log_b, f, g, inv_eps,
                   out)
        return _launch.to_caller(out, kind)

    return (to_caller_dtype(f, out_dtype, kind, stream), to_caller_dtype(g, out_dtype, kind, stream), status,
            n_iter, np.asarray(errors), value, value_linear, densify, out_dtype)

