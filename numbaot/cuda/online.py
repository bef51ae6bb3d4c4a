"""Online log-domain Sinkhorn between point clouds on the GPU: the CUDA twin of ``entropic._online``, the GPU Sinkhorn
loop (``cuda.loop``, the one the dense driver runs) over the point-cloud geometry :class:`DevicePointClouds`.

One thread per point computes its row's softmin over the other cloud with the very body the CPU cores use
(``_online.softmin_points``, compiled with ``.cuda``; its costs come from ``_costs.cost_term``/``cost_finish``, the
pieces of ``pair_cost``), in one fused pass shifted by the previous iterate (a small local array is its chunk
buffer). Every ``check_every`` iterations the loop reduces the error on the device and copies back that one scalar,
the only value copied back inside the loop. Inputs are CuPy, Numba device or simulator arrays; the potentials and
the plan (densified on request) come back as the caller's kind of array.

The driver takes checked inputs: the front-ends (``entropic.online.check_device_clouds``, for the online solve and
the divergence) check the clouds and weights on the device first, with the host's rules and messages and in its
order (``cuda._checks``' ``online.*`` dispatch steps); nothing here judges them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import cuda, float64

from .._costs import METRIC_CODES
from .._finish import CloudsAnswer
from .._status import NUMERICAL_ERROR
from ..entropic._loop import control
from ..entropic._online import plan_entry, softmin_points
from ..entropic._rules import rule_for
from . import _launch
from .loop import ROWS, DeviceWeights, sinkhorn_loop_cuda

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
def _cast_kernel(x, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = x[i]


class DevicePointClouds:
    """The point-cloud geometry of the GPU loop (``cuda.loop``) and of the divergence's symmetric updates: two
    float64 device clouds, the metric's code and exponent, and the cost bodies' 'norms'; the costs are computed
    from the points in every half-step (``_half_step_kernel``, one thread per point)."""

    def __init__(self, X, Y, code, p, norms_x, norms_y, stream):
        self.sides = ((X, Y, code, p, norms_x, norms_y), (Y, X, code, p, norms_y, norms_x))
        self.stream = stream
        self._h = {}  # one buffer per length: each h is consumed by the launch right after it, on the same stream
        self._views = {}

    def softmin(self, side, other, ref, eps, scale, prev, out):
        """``out_i = -scale log sum_j exp(other_j / eps + ref_j - C_ij / eps)`` for the points i of ``side``
        (``ROWS``: X against Y; ``COLUMNS``: Y against X), on vectors (``prev``: out's previous value, or a
        guess)."""
        X, Y, code, p, norms_x, norms_y = self.sides[0 if side == ROWS else 1]
        n, m = int(X.shape[0]), int(Y.shape[0])
        h = self._h.get(m)
        if h is None:
            h = self._h[m] = _launch.empty(m, np.float64, self.stream)
        inv_eps = 1.0 / eps
        _launch_1d(_h_kernel, m, self.stream, other, ref, inv_eps, h)
        _launch_1d(_half_step_kernel, n, self.stream, X, Y, code, p, norms_x, norms_y, h, inv_eps, scale, prev, out)

    def half_step(self, side, other, ref, shift, active, eps, tau, prev, out):
        """The loop's half-step (one problem: row 0 of the (1, .) arrays; ``shift`` is zero under the KL reference
        and ``active`` is all ones while the loop runs); the damping folds into the kernel's factor."""
        self.softmin(side, self._row(other), self._row(ref), eps, tau * eps, self._row(prev), self._row(out))

    def _row(self, x):
        # the loop passes the same few (1, .) arrays at every step: their row views are made once
        view = self._views.get(id(x))
        if view is None or view[0] is not x:
            view = self._views[id(x)] = (x, x[0])
        return view[1]


_launch_1d = _launch.launch_flat


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


def device_clouds(X, Y, wa, wb, masses, out_dtype, placement) -> DeviceClouds:
    """:class:`DeviceClouds` from checked float64 device copies: the clouds ``X`` (n, d), ``Y`` (m, d), the weights
    ``wa`` (n, 1), ``wb`` (m, 1) (None: uniform) and ``masses = (sum_a, sum_b, scale)``, ``scale`` rescaling b to
    the mass of a (1.0 for unbalanced problems); ``out_dtype`` is the answers' dtype, ``placement`` the caller's
    stream and kind of array. Nothing here judges the input."""
    stream = placement.stream
    sum_a, sum_b, scale = masses
    n, m = int(X.shape[0]), int(Y.shape[0])
    log_a = filled(n, -math.log(n), stream)
    if wa is not None:
        _launch_1d(_log_weights_kernel, n, stream, wa, 1.0, log_a)
    log_b = filled(m, math.log(scale / m) if scale != 1.0 else -math.log(m), stream)
    if wb is not None:
        _launch_1d(_log_weights_kernel, m, stream, wb, scale, log_b)
    return DeviceClouds(stream, placement.kind, out_dtype, X, Y, log_a, log_b, sum_a, sum_b * scale,
                        filled(n, 1.0, stream), filled(m, 1.0, stream))


def filled(n, value, stream):
    """A new float64 device vector of ``n`` copies of ``value``."""
    return _launch.fill(_launch.empty(n, np.float64, stream), value, stream)


def to_caller_dtype(v, out_dtype, kind, stream):
    """The float64 device vector ``v`` in ``out_dtype`` (cast on the device) and the caller's kind of array."""
    if out_dtype == np.float64:
        return _launch.to_caller(v, kind)
    out = _launch.empty(v.shape[0], out_dtype, stream)
    _launch_1d(_cast_kernel, v.shape[0], stream, v, out)
    return _launch.to_caller(out, kind)


def solve_online_cuda(X, Y, wa, wb, masses, opts, out_dtype, placement):
    """Online log-domain Sinkhorn between checked CUDA point clouds (``opts``: an ``entropic._options.
    OnlineOptions``, validated by the front-end as in ``solve_online``): ``X``, ``Y``, ``wa``, ``wb`` and
    ``masses`` are :func:`device_clouds`' arguments, the float64 device copies that the front-end
    (``entropic.online.check_device_clouds``) checked with the host's rules; nothing here raises on the input.

    Finite ``rho_a``/``rho_b`` penalise the marginals by KL: the half-steps are damped by ``rho / (rho + eps)``
    and the loop stops on the change of the potentials, as ``entropic._loop.sinkhorn_loop`` in its plain
    unbalanced mode.
    Returns ``(answer, out_dtype)``: a ``numbaot._finish.CloudsAnswer`` whose potentials are of the caller's kind
    of array (float32 when both clouds are float32) and whose ``densify`` builds the dense plan there.
    """
    reg, metric, p, rho_a, rho_b = opts.reg, opts.metric, opts.p, opts.rho_a, opts.rho_b
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    clouds = device_clouds(X, Y, wa, wb, masses, out_dtype, placement)
    stream, kind, out_dtype, X, Y, log_a, log_b, sum_a, sum_b, ones_a, ones_b = clouds
    n, m = int(X.shape[0]), int(Y.shape[0])
    code = METRIC_CODES[metric]
    f = filled(n, 0.0, stream)
    g = filled(m, 0.0, stream)
    # the loop's (1, n) and (1, m) views: one problem, KL reference a b^T (no shift)
    la, lb = log_a.reshape(1, n), log_b.reshape(1, m)
    w = DeviceWeights(la, lb, la, lb, filled(n, 0.0, stream).reshape(1, n), filled(m, 0.0, stream).reshape(1, m))
    geom = DevicePointClouds(X, Y, code, p, ones_a, ones_b, stream)
    status, n_iter, errors, n_errors = sinkhorn_loop_cuda(geom, w, rule_for(reg, rho_a, rho_b),
                                                          control(opts.max_iter, opts.tol, opts.check_every),
                                                          f.reshape(1, n), g.reshape(1, m), stream)
    status, n_iter, errors = int(status[0]), int(n_iter[0]), errors[0, :int(n_errors[0])].copy()
    inv_eps = 1.0 / reg
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

    answer = CloudsAnswer(value, value_linear, to_caller_dtype(f, out_dtype, kind, stream),
                          to_caller_dtype(g, out_dtype, kind, stream), status, n_iter, errors, densify)
    return answer, out_dtype
