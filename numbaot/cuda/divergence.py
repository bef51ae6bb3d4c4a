"""Sinkhorn divergences between point clouds on the GPU: the device twin of ``entropic.divergence``.

The annealed symmetric loop (``entropic._symmetric.symmetric_sinkhorn``) runs unchanged on :class:`DeviceSoftmins`,
the device version of its host operations: every softmin is a half-step of the point-cloud geometry that the GPU
Sinkhorn loop runs (``online.DevicePointClouds``: the CPU's ``softmin_points`` body compiled for CUDA, with the
costs computed from the points, so the dense and the lazy paths are the same here); averages, fixed-point errors and
the final sums are kernels. The potentials stay on the device for the whole loop, and each symmetric step copies
back one scalar: its summed fixed-point error.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .._costs import METRIC_CODES
from .._finish import CloudsAnswer
from . import _launch
from .loop import COLUMNS, ROWS
from .online import (DevicePointClouds, _dense_plan_kernel, _launch_1d, _sums_kernel, filled,
                     device_clouds, to_caller_dtype)


@cuda.jit
def _relax_kernel(old, new, weight):
    i = cuda.grid(1)
    if i < old.shape[0]:
        old[i] += weight * (new[i] - old[i])


@cuda.jit
def _fixed_point_error_kernel(log_w, old, new, eps, err):
    """``err[0] += sum_i w_i |exp((old_i - new_i) / eps) - 1|`` over the positive weights (the host's
    ``_fixed_point_error``)."""
    i = cuda.grid(1)
    if i < old.shape[0] and log_w[i] > -math.inf:
        cuda.atomic.add(err, 0, math.exp(log_w[i]) * abs(math.expm1((old[i] - new[i]) / eps)))


@cuda.jit
def _count_nonfinite_kernel(v, log_w, count):
    """``count[0] += 1`` per non-finite ``v_i`` of positive weight."""
    i = cuda.grid(1)
    if i < v.shape[0] and log_w[i] > -math.inf and not math.isfinite(v[i]):
        cuda.atomic.add(count, 0, 1.0)


@cuda.jit
def _dual_terms_kernel(log_w, u, v, unbalanced, rho, acc):
    """``acc[0] += sum_i w_i (u_i - v_i)`` (balanced), or ``sum_i w_i (exp(-v_i / rho) - exp(-u_i / rho))``
    (KL penalties of strength rho), over the positive weights: one side of the divergence's dual formula."""
    i = cuda.grid(1)
    if i < u.shape[0] and log_w[i] > -math.inf:
        if unbalanced:
            term = math.expm1(-v[i] / rho) - math.expm1(-u[i] / rho)
        else:
            term = u[i] - v[i]
        cuda.atomic.add(acc, 0, math.exp(log_w[i]) * term)


@cuda.jit
def _subtract_kernel(u, v, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = u[i] - v[i]


@cuda.jit
def _bounding_box_kernel(X, low, high):
    """``low[k] = min_i X[i, k]``, ``high[k] = max_i X[i, k]`` (``low``/``high`` start at +inf/-inf)."""
    t = cuda.grid(1)
    d = X.shape[1]
    if t < X.shape[0] * d:
        i = t // d
        k = t - i * d
        cuda.atomic.min(low, k, X[i, k])
        cuda.atomic.max(high, k, X[i, k])


def bounding_box(X, Y, stream):
    """The corners ``(low, high)`` (host arrays of length d) of the box around two float64 device clouds."""
    d = int(X.shape[1])
    low, high = filled(d, math.inf, stream), filled(d, -math.inf, stream)
    for Z in (X, Y):
        _launch_1d(_bounding_box_kernel, int(Z.shape[0]) * d, stream, Z, low, high)
    return _launch.small_to_host(low, stream), _launch.small_to_host(high, stream)


class DeviceSoftmins:
    """The operations of ``symmetric_sinkhorn`` on device potentials (``entropic._symmetric.HostSoftmins``'
    interface): the softmins from the points, averages in place, and reductions that return one scalar each."""

    def __init__(self, clouds, metric, p):
        self.stream = clouds.stream
        code = METRIC_CODES[metric]
        X, Y, ones_a, ones_b = clouds.X, clouds.Y, clouds.ones_a, clouds.ones_b
        # the point-cloud geometry of the Sinkhorn loop (cuda.loop), one per problem: pair -> (geometry, side)
        ab = DevicePointClouds(X, Y, code, p, ones_a, ones_b, self.stream)
        aa = DevicePointClouds(X, X, code, p, ones_a, ones_a, self.stream)
        bb = DevicePointClouds(Y, Y, code, p, ones_b, ones_b, self.stream)
        self.pairs = {"xy": (ab, ROWS), "yx": (ab, COLUMNS), "xx": (aa, ROWS), "yy": (bb, ROWS)}
        self._free = {}  # released potentials, by length: the loop's averages recycle the new values' storage
        self._scalar = _launch.empty(1, np.float64, self.stream)

    def _vector(self, n):
        free = self._free.get(n)
        return free.pop() if free else _launch.empty(n, np.float64, self.stream)

    def softmins(self, requests, eps, damping):
        """One launch per ``(pair, log_w, other, prev)`` of ``requests``, on the stream (the launches queue up: no
        host barrier between them to save)."""
        out = []
        for pair, log_w, other, prev in requests:
            geom, side = self.pairs[pair]
            out.append(self._vector(int(geom.sides[0 if side == ROWS else 1][0].shape[0])))
            geom.softmin(side, other, log_w, eps, damping * eps, prev, out[-1])
        return out

    def zeros(self, log_w):
        return filled(int(log_w.shape[0]), 0.0, self.stream)

    def relax(self, old, new, weight):
        n = int(old.shape[0])
        if weight == 1.0:
            self._free.setdefault(n, []).append(old)  # the loop holds no other reference to `old`
            return new
        _launch_1d(_relax_kernel, n, self.stream, old, new, float(weight))
        self._free.setdefault(n, []).append(new)  # nor to `new`
        return old

    def _reduce(self, launches):
        """Zero the device scalar, run ``launches(scalar)``, and copy the scalar back (the one copy)."""
        _launch.fill(self._scalar, 0.0, self.stream)
        launches(self._scalar)
        return float(_launch.scalar_to_host(self._scalar, 0, self.stream))

    def error(self, terms, eps):
        def launches(err):
            for log_w, old, new in terms:
                _launch_1d(_fixed_point_error_kernel, int(old.shape[0]), self.stream, log_w, old, new, eps, err)

        return self._reduce(launches)

    def finite(self, pairs):
        def launches(count):
            for v, log_w in pairs:
                _launch_1d(_count_nonfinite_kernel, int(v.shape[0]), self.stream, v, log_w, count)

        return self._reduce(launches) == 0.0

    def dual_sum(self, log_w, u, v, rho):
        """``sum_i w_i (u_i - v_i)``, or ``sum_i w_i (exp(-v_i / rho) - exp(-u_i / rho))`` when rho is given
        (``v`` None: zero)."""
        if v is None:
            v = self.zeros(log_w)
        unbalanced = rho is not None

        def launches(acc):
            _launch_1d(_dual_terms_kernel, int(u.shape[0]), self.stream, log_w, u, v, unbalanced,
                       rho if unbalanced else 1.0, acc)

        return self._reduce(launches)

    def difference(self, u, v):
        out = _launch.empty(int(u.shape[0]), np.float64, self.stream)
        _launch_1d(_subtract_kernel, int(u.shape[0]), self.stream, u, v, out)
        return out


def solve_divergence_cuda(X, Y, wa, wb, masses, opts, out_dtype, placement):
    """The Sinkhorn divergence (or the annealed ``OT_eps`` without ``debias``) between CUDA point clouds that the
    front-end checked (``entropic.online.check_device_clouds``: float64 copies ``X`` (n, d), ``Y`` (m, d), weights
    ``wa``, ``wb`` (None: uniform) and ``masses``), the options validated as in
    ``entropic.divergence.solve_divergence`` (``opts``: an ``entropic._options.DivergenceOptions``); ``out_dtype``
    the answers' dtype, ``placement`` the caller's stream and kind of array.

    Returns ``(answer, out_dtype)``: a ``numbaot._finish.CloudsAnswer`` whose potentials are of the caller's kind
    of array (float32 when both clouds are float32) and whose ``densify`` builds the a-b plan there.
    """
    from ..entropic._schedules import annealing_schedule
    from ..entropic._symmetric import symmetric_sinkhorn

    reg, rho, metric, p, debias, eps_list = opts.reg, opts.rho, opts.metric, opts.p, opts.debias, opts.eps_list
    clouds = device_clouds(X, Y, wa, wb, masses, out_dtype, placement)
    stream, kind, out_dtype = clouds.stream, clouds.kind, clouds.out_dtype
    log_a, log_b = clouds.log_a, clouds.log_b
    if eps_list is None:
        low, high = bounding_box(clouds.X, clouds.Y, stream)
        eps_list = annealing_schedule(low, high, metric, p, reg, opts.scaling)
    ops = DeviceSoftmins(clouds, metric, p)
    f_aa, g_bb, g_ab, f_ba, status, n_iter, errors = symmetric_sinkhorn(ops, log_a, log_b, eps_list, rho, debias,
                                                                         opts.max_iter, opts.tol)
    # the value from the potentials (entropic.divergence.divergence_value, reduced on the device)
    value = ops.dual_sum(log_a, f_ba, f_aa, rho) + ops.dual_sum(log_b, g_ab, g_bb, rho)
    if rho is not None:
        value *= rho + reg / 2  # Sejourne et al. 2019, Prop. 12
    code = METRIC_CODES[metric]
    n, m = int(clouds.X.shape[0]), int(clouds.Y.shape[0])
    args = (clouds.X, clouds.Y, code, p, clouds.ones_a, clouds.ones_b, log_a, log_b, f_ba, g_ab, 1.0 / reg)
    acc = filled(7, 0.0, stream)
    _launch_1d(_sums_kernel, n, stream, *args, acc)
    value_linear = float(_launch.scalar_to_host(acc, 0, stream))  # <P, C> of the a-b plan
    pot_a, pot_b = (ops.difference(f_ba, f_aa), ops.difference(g_ab, g_bb)) if debias else (f_ba, g_ab)

    def densify():
        out = _launch.empty((n, m), out_dtype, stream)
        _launch_1d(_dense_plan_kernel, n * m, stream, *args, out)
        return _launch.to_caller(out, kind)

    answer = CloudsAnswer(value, value_linear, to_caller_dtype(pot_a, out_dtype, kind, stream),
                          to_caller_dtype(pot_b, out_dtype, kind, stream), status, n_iter, errors, densify)
    return answer, out_dtype
