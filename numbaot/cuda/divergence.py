"""Sinkhorn divergences between point clouds on the GPU: the device twin of ``entropic.divergence``.

The annealed symmetric Sinkhorn (``entropic._symmetric.symmetric_sinkhorn``) runs unchanged on
:class:`DeviceProblems`: each of its steps is a run of the GPU Sinkhorn loop (``cuda.loop.sinkhorn_loop_cuda``, in
the loop's step modes) over the point-cloud geometry the online solver runs (``online.DevicePointClouds``: the CPU's
``softmin_points`` body compiled for CUDA, with the costs computed from the points, so the dense and the lazy paths
are the same here); the final sums are kernels. The potentials stay on the device for the whole loop, and each run
of the loop copies back one scalar per step: its fixed-point error.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .._costs import METRIC_CODES
from .._finish import CloudsAnswer
from ..entropic._loop import control
from ..entropic._rules import Balanced
from . import _launch
from .loop import DeviceWeights, sinkhorn_loop_cuda
from .online import (DevicePointClouds, _dense_plan_kernel, _launch_1d, _sums_kernel, filled, device_clouds,
                     to_caller_dtype)


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


class DeviceProblems:
    """The problems of ``symmetric_sinkhorn`` on device potentials (``entropic._symmetric.HostProblems``'
    interface): a point-cloud geometry per pair, run by the GPU loop; and the reductions of the divergence's value,
    one scalar each."""

    def __init__(self, clouds, metric, p):
        self.stream = clouds.stream
        code = METRIC_CODES[metric]
        X, Y, ones_a, ones_b = clouds.X, clouds.Y, clouds.ones_a, clouds.ones_b
        self.geoms = {"xy": DevicePointClouds(X, Y, code, p, ones_a, ones_b, self.stream),
                      "xx": DevicePointClouds(X, X, code, p, ones_a, ones_a, self.stream),
                      "yy": DevicePointClouds(Y, Y, code, p, ones_b, ones_b, self.stream)}
        self._scalar = _launch.empty(1, np.float64, self.stream)

    def set_weights(self, log_a, log_b):
        n, m = int(log_a.shape[0]), int(log_b.shape[0])
        la, lb = log_a.reshape(1, n), log_b.reshape(1, m)
        za, zb = self._zeros(n), self._zeros(m)
        # the reference measure a b^T: no shift
        self.weights = {"xy": DeviceWeights(la, lb, la, lb, za, zb), "xx": DeviceWeights(la, la, la, la, za, za),
                        "yy": DeviceWeights(lb, lb, lb, lb, zb, zb)}

    def _zeros(self, n):
        return filled(n, 0.0, self.stream).reshape(1, n)

    def zeros(self, pair):
        w = self.weights[pair]
        return self._zeros(int(w.log_a.shape[1])), self._zeros(int(w.log_b.shape[1]))

    def copy(self, v):
        out = _launch.empty(tuple(int(s) for s in v.shape), np.float64, self.stream)
        out.copy_to_device(v, stream=self.stream)
        return out

    def run(self, pair, f, g, eps, tau, mode, omega, n_steps):
        status, _, errors, n_errors = sinkhorn_loop_cuda(self.geoms[pair], self.weights[pair],
                                                          Balanced(eps, tau, tau),
                                                          control(n_steps, -1.0, 1, mode, omega), f, g, self.stream)
        return int(status[0]), errors[0, :int(n_errors[0])]

    def vector(self, v):
        return v[0]

    def _reduce(self, launches):
        """Zero the device scalar, run ``launches(scalar)``, and copy the scalar back (the one copy)."""
        _launch.fill(self._scalar, 0.0, self.stream)
        launches(self._scalar)
        return float(_launch.scalar_to_host(self._scalar, 0, self.stream))

    def dual_sum(self, log_w, u, v, rho):
        """``sum_i w_i (u_i - v_i)``, or ``sum_i w_i (exp(-v_i / rho) - exp(-u_i / rho))`` when rho is given
        (``v`` None: zero)."""
        if v is None:
            v = self._zeros(int(log_w.shape[0]))[0]
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
    ops = DeviceProblems(clouds, metric, p)
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
