"""The spatio-temporal alignment on the GPU for frames that are point clouds, or histograms on a support that is not
a product grid: the CUDA twin of ``timeseries._sta_clouds``, device arrays in, device arrays out.

The loops are the host's own (``_sta_clouds.solve_self``, ``_sta_clouds.solve_cross``: the same annealing, the
same averaged and over-relaxed symmetric steps, each problem stopping on its own), run here on :class:`DeviceBatch`,
the device version of their operations: every softmin is a half-step of the GPU Sinkhorn loop's dense geometry
(``cuda.sinkhorn.DenseDeviceCosts``, the CPU's softmin body compiled for CUDA, one thread per row of every problem
of the batch) on squared Euclidean cost matrices built on the device from the frames' points, in the two layouts
that geometry reads (one per half-step; a self-problem's costs are symmetric, so one serves both); averages,
fixed-point errors and the per-problem finiteness checks are kernels, and each step copies back the B errors of
its batch (the over-relaxation rule, ``_sta.observe_all``, runs on them on the host, as the host loop does).
Histograms on a shared support solve every pair on that support's cost matrix (symmetric, one layout; repeated
per problem of a batch, as the dense geometry reads one matrix per problem). Batches are cut so that the cost
layouts stay under :data:`CHUNK_FLOATS` entries.

The frame divergences then fill a (T_x, T_y) device matrix and soft-DTW runs over it on the GPU as on a grid
(``cuda.sta``). Results equal the host path's to rounding at a fixed step count (tests).

The driver takes checked inputs: the front-end (``timeseries.api``) has the frames copied to float64 and checked on
the device first (the ``sta.clouds.points`` and ``sta.frames`` dispatch steps, ``cuda._checks``: the host's
messages), judges the histograms' masses and the cost matrices' size (``_sta_clouds.check_pair_size``) itself.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from ..timeseries._sta import fixed_point_term, relaxed
from . import _launch
from .loop import launch_flat
from .sinkhorn import DenseDeviceCosts

_term = fixed_point_term.cuda  # the grid path's bodies; kernels resolve module globals, not attributes
_relaxed = relaxed.cuda

#: Bound on the cost layouts of one batch of problems (two (n, m) matrices per problem), in float64 entries.
CHUNK_FLOATS = 2**25


# ------------------------------------------------------------------------------------------------------ kernels
@cuda.jit
def _costs_kernel(P, Q, ia, ib, Y, Z):
    """Problem k: ``C = |P[ia[k], i] - Q[ib[k], j]|^2`` summed coordinate by coordinate (``_sta_clouds._costs``),
    written as ``Y[j, k n + i]`` and ``Z[i, k m + j]`` (``cuda.sinkhorn``'s layouts); one thread per entry. ``Z``
    may be ``Y`` when every problem's costs are symmetric (both writes are then the same value)."""
    t = cuda.grid(1)
    B = ia.shape[0]
    n, m = P.shape[1], Q.shape[1]
    if t < B * n * m:
        k = t // (n * m)
        r = t - k * n * m
        i = r // m
        j = r - i * m
        p, q = ia[k], ib[k]
        acc = 0.0
        for d in range(P.shape[2]):
            diff = P[p, i, d] - Q[q, j, d]
            acc += diff * diff
        Y[j, k * n + i] = acc
        Z[i, k * m + j] = acc


@cuda.jit
def _gather_kernel(W, idx, out):
    """``out[k, i] = W[idx[k], i]``."""
    t = cuda.grid(1)
    B, n = out.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        out[k, i] = W[idx[k], i]


@cuda.jit
def _put_rows_kernel(src, dst, first):
    """``dst[first + k, i] = src[k, i]``."""
    t = cuda.grid(1)
    B, n = src.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        dst[first + k, i] = src[k, i]


@cuda.jit
def _error_kernel(w, old, new, inv_eps, err):
    """Problem k (one thread): ``sum_i w_i |exp((old_i - new_i) / eps) - 1|`` over w > 0
    (``_sta_clouds._fixed_point_error``; the bins' terms are ``_sta.fixed_point_term``)."""
    k = cuda.grid(1)
    if k < w.shape[0]:
        total = 0.0
        for i in range(w.shape[1]):
            total += _term(w[k, i], old[k, i], new[k, i], inv_eps)
        err[k] = total


@cuda.jit
def _relax_kernel(old, new, weight):
    """``old[k] = new[k]`` where ``weight[k]`` is 1, else ``old[k] + (new[k] - old[k]) weight[k]``
    (``_sta_clouds._relax``; ``_sta.relaxed``), in place."""
    t = cuda.grid(1)
    B, n = old.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        old[k, i] = _relaxed(old[k, i], new[k, i], weight[k])


@cuda.jit
def _nonfinite_kernel(v, w, bad):
    """``bad[k] = 1`` when a potential of problem k with positive weight is not finite (``bad`` zeroed before)."""
    t = cuda.grid(1)
    B, n = v.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        if w[k, i] > 0.0 and not math.isfinite(v[k, i]):
            bad[k] = 1


@cuda.jit
def _pair_values_kernel(a, b, f, g, fa, gb, ia, ib, first, values, potentials, keep):
    """Pair k of a batch (one thread), p = first + k: ``values[p] = sum_{a > 0} a (f - fa[ia[k]]) + sum_{b > 0} b
    (g - gb[ib[k]])`` and with ``keep`` the debiased potential ``potentials[p] = f - fa[ia[k]]``
    (``_sta_clouds.CloudProblems.cross_divergences``)."""
    k = cuda.grid(1)
    if k < a.shape[0]:
        i, j = ia[k], ib[k]
        p = first + k
        sa = 0.0
        for q in range(a.shape[1]):
            df = f[k, q] - fa[i, q]
            if a[k, q] > 0.0:
                sa += a[k, q] * df
            if keep:
                potentials[p, q] = df
        sb = 0.0
        for q in range(b.shape[1]):
            if b[k, q] > 0.0:
                sb += b[k, q] * (g[k, q] - gb[j, q])
        values[p] = sa + sb


# ------------------------------------------------------------------------------------------------------ drivers
class DeviceBatch:
    """The operations of ``_sta_clouds.solve_self`` / ``solve_cross`` (``_sta_clouds._Batch``'s interface) on a
    batch of B problems whose costs are the device geometry ``geom`` (a ``DenseDeviceCosts``): potentials and
    weights are (B, n) float64 device arrays; errors and finiteness come back as host (B,) arrays."""

    def __init__(self, geom, B, stream):
        self.geom, self.B, self.stream = geom, B, stream
        self.all = cuda.to_device(np.ones(B, np.uint8), stream=stream)
        self._active = cuda.to_device(np.ones(B, np.uint8), stream=stream)  # refilled per step (B bytes)
        self._weight = cuda.to_device(np.ones(B), stream=stream)
        self._zeros = {}
        self._free = {}  # potentials the loops released (``relax``'s ``new``), by shape: no allocation per step
        self._err = _launch.empty(B, np.float64, stream)

    def _shape(self, x):
        return int(x.shape[0]), int(x.shape[1])

    def zeros(self, like):
        B, n = self._shape(like)
        out = _launch.empty((B, n), np.float64, self.stream)
        _launch.fill(out, 0.0, self.stream)
        return out

    def log(self, w):
        from .sta import _log_kernel  # the grid path's kernel: log of every entry, -inf at zero weights

        B, n = self._shape(w)
        out = _launch.empty((B, n), np.float64, self.stream)
        launch_flat(_log_kernel, B * n, self.stream, w, out)
        return out

    def _zero_shift(self, shape):
        if shape not in self._zeros:
            out = _launch.empty(shape, np.float64, self.stream)
            _launch.fill(out, 0.0, self.stream)
            self._zeros[shape] = out
        return self._zeros[shape]

    def softmin(self, side, log_w, other, eps, prev, active=None):
        """``-eps log sum_j w_j exp((other_j - C_ij) / eps)`` on the rows of ``side`` of every active problem, a new
        device array (``prev`` where a problem is inactive, and the one-pass log-sum-exp's shift)."""
        shape = self._shape(prev)
        free = self._free.get(shape)
        out = free.pop() if free else _launch.empty(shape, np.float64, self.stream)
        launch_flat(_put_rows_kernel, shape[0] * shape[1], self.stream, prev, out, 0)
        act = self.all
        if active is not None:
            self._active.copy_to_device(np.ascontiguousarray(active, dtype=np.uint8), stream=self.stream)
            act = self._active
        self.geom.half_step(side, other, log_w, self._zero_shift(shape), act, float(eps), 1.0, out, out)
        return out

    def error(self, w, old, new, eps):
        launch_flat(_error_kernel, self.B, self.stream, w, old, new, 1.0 / float(eps), self._err)
        return _launch.small_to_host(self._err, self.stream).copy()

    def relax(self, old, new, weight):
        """``old + weight (new - old)`` per problem, in place in ``old`` (returned); ``new`` is released (the loops
        hold no other reference to it)."""
        self._weight.copy_to_device(np.ascontiguousarray(np.broadcast_to(np.asarray(weight, dtype=np.float64),
                                                                         (self.B,))), stream=self.stream)
        B, n = self._shape(old)
        launch_flat(_relax_kernel, B * n, self.stream, old, new, self._weight)
        self._free.setdefault((B, n), []).append(new)
        return old

    def nonfinite(self, *pairs):
        bad = cuda.to_device(np.zeros(self.B, np.int8), stream=self.stream)
        for v, w in pairs:
            B, n = self._shape(v)
            launch_flat(_nonfinite_kernel, B * n, self.stream, v, w, bad)
        return _launch.small_to_host(bad, self.stream).astype(bool)


class DeviceFrames:
    """A series of measures on the device: ``points`` (T, n, k) float64, a cloud per frame, or (1, n, k) the support
    every frame shares (``shared``); ``weights`` (T, n) float64; ``factors`` (T,) host, what each frame's weights
    were multiplied by to reach the common mass."""

    def __init__(self, points, weights, shared, factors):
        self.points, self.weights, self.shared, self.factors = points, weights, shared, factors

    def point_index(self, frames):
        return np.zeros_like(frames) if self.shared else frames


class DeviceCloudProblems:
    """The device twin of ``_sta_clouds.CloudProblems``: the batched frame problems of one STA call."""

    def __init__(self, eps_list, max_iter, tol, stream):
        self.eps_list = np.asarray(eps_list, dtype=np.float64)
        self.max_iter, self.tol, self.stream = int(max_iter), float(tol), stream

    def _batches(self, A, B, ia, ib, same):
        """``(slice, device frame indices of A, of B, DeviceBatch)`` per chunk of the problems (ia[k], ib[k])."""
        stream = self.stream
        n, m = int(A.points.shape[1]), int(B.points.shape[1])  # within _sta_clouds.PAIR_FLOATS (the front-end)
        P = ia.shape[0]
        size = max(1, CHUNK_FLOATS // ((1 if same else 2) * n * m))
        for start in range(0, P, size):
            stop = min(P, start + size)
            b = stop - start
            d_ia = cuda.to_device(np.ascontiguousarray(ia[start:stop]), stream=stream)
            d_ib = cuda.to_device(np.ascontiguousarray(ib[start:stop]), stream=stream)
            p_ia = cuda.to_device(np.ascontiguousarray(A.point_index(ia[start:stop])), stream=stream)
            p_ib = cuda.to_device(np.ascontiguousarray(B.point_index(ib[start:stop])), stream=stream)
            Y = _launch.empty((m, b * n), np.float64, stream)
            Z = Y if same else _launch.empty((n, b * m), np.float64, stream)
            launch_flat(_costs_kernel, b * n * m, stream, A.points, B.points, p_ia, p_ib, Y, Z)
            yield slice(start, stop), d_ia, d_ib, DeviceBatch(DenseDeviceCosts(Y.T, Z.T, stream), b, stream)

    def _gather(self, W, idx, b):
        out = _launch.empty((b, int(W.shape[1])), np.float64, self.stream)
        launch_flat(_gather_kernel, b * int(W.shape[1]), self.stream, W, idx, out)
        return out

    def self_potentials(self, S):
        """The symmetric potentials of OT(w, w) for every frame of S: ``(device (T, n), (status, n_iter, errors))``
        with the statuses on the host."""
        from ..timeseries._sta_clouds import solve_self

        T, n = int(S.weights.shape[0]), int(S.weights.shape[1])
        frames = np.arange(T, dtype=np.int64)
        out = _launch.empty((T, n), np.float64, self.stream)
        status, n_iter, errors = np.zeros(T, np.int64), np.zeros(T, np.int64), np.zeros(T)
        for part, d_i, _, batch in self._batches(S, S, frames, frames, True):
            b = part.stop - part.start
            f, status[part], n_iter[part], errors[part] = solve_self(batch, self._gather(S.weights, d_i, b),
                                                                     self.eps_list, self.max_iter, self.tol)
            launch_flat(_put_rows_kernel, b * n, self.stream, f, out, part.start)
        return out, (status, n_iter, errors)

    def cross_divergences(self, A, B, fa, gb, pairs, want_potentials):
        """The divergences of the frame pairs ``pairs`` (P, 2) host: ``(values (P,), potentials (P, n) or None on
        the device, (status, n_iter, errors) on the host)``."""
        from ..timeseries._sta_clouds import solve_cross

        stream = self.stream
        P, n = int(pairs.shape[0]), int(A.weights.shape[1])
        values = _launch.empty(max(P, 1), np.float64, stream)
        potentials = _launch.empty((P if want_potentials else 1, n), np.float64, stream)
        status, n_iter, errors = np.zeros(P, np.int64), np.zeros(P, np.int64), np.zeros(P)
        symmetric = A.shared and B.shared  # one support: every problem's costs are symmetric
        for part, d_i, d_j, batch in self._batches(A, B, pairs[:, 0], pairs[:, 1], symmetric):
            b = part.stop - part.start
            a, w = self._gather(A.weights, d_i, b), self._gather(B.weights, d_j, b)
            f, g, status[part], n_iter[part], errors[part] = solve_cross(batch, a, w, self.eps_list, self.max_iter,
                                                                         self.tol)
            launch_flat(_pair_values_kernel, b, stream, a, w, f, g, fa, gb, d_i, d_j, part.start, values,
                        potentials, want_potentials)
        return values, (potentials if want_potentials else None), (status, n_iter, errors)


def _bounding_box(frames, stream):
    from .divergence import bounding_box

    flat = [F.points.reshape(int(F.points.shape[0]) * int(F.points.shape[1]), int(F.points.shape[2]))
            for F in frames]
    return bounding_box(flat[0], flat[-1], stream)


def _frame_costs(problems, reports, x, y, symmetric, want):
    """The (Ta, Tb) device matrix of the frame divergences between the sides ``x`` and ``y``, each ``(frames (a
    DeviceFrames), their self-potentials)``, and the pairs' potentials with ``want`` (``cuda.sta.assemble_cuda``'s
    ``frame_costs``)."""
    from ..timeseries._sta import all_pairs
    from .sta import frame_matrix_cuda

    (A, fa), (B, fb) = x, y
    stream = problems.stream
    Ta, Tb = int(A.weights.shape[0]), int(B.weights.shape[0])
    pairs = all_pairs(Ta, Tb, upper=symmetric)
    values, pots, rep = problems.cross_divergences(A, B, fa, fb, pairs, want)
    reports.append(("frame pairs", *rep))
    if pairs.shape[0] == 0:
        return cuda.to_device(np.zeros((Ta, Tb)), stream=stream), pots
    return frame_matrix_cuda(values, cuda.to_device(pairs, stream=stream), Ta, Tb, symmetric, stream), pots


def sta_clouds_cuda(X, Y, factors, support, reg, gamma, max_iter, tol, return_grad, divergence, out_dtype,
                    placement):
    """``sta`` (or with ``divergence`` ``sta_divergence``) of checked device frames (float64 copies, the
    front-end's steps) that are point clouds (``support`` None: X (T_x, n, k), Y (T_y, m, k), uniform weights;
    ``factors`` None) or histograms (T, n_bins) on ``support`` (n_bins, k), a host array that is not a product
    grid, their frames rescaled here by ``factors`` (two host arrays, judged by the front-end) to X[0]'s mass.
    Returns ``(value, gradient (T_x, n_bins) in out_dtype on the caller's device or None, reports)``, as
    ``cuda.sta.sta_cuda`` does."""
    from ..timeseries._sta_clouds import schedule_box
    from .sta import assemble_cuda, rescale_frames_cuda

    stream = placement.stream
    if support is None:
        frames = []
        for points in (X, Y):
            T, n = int(points.shape[0]), int(points.shape[1])
            weights = _launch.empty((T, n), np.float64, stream)
            _launch.fill(weights, 1.0 / n, stream)
            frames.append(DeviceFrames(points, weights, False, np.ones(T)))
        A, B = frames
    else:
        WA, WB = rescale_frames_cuda((X, Y), factors, stream)
        points = cuda.to_device(np.ascontiguousarray(support, dtype=np.float64)[None], stream=stream)
        A, B = DeviceFrames(points, WA, True, factors[0]), DeviceFrames(points, WB, True, factors[1])
    low, high = _bounding_box((A, B), stream)
    problems = DeviceCloudProblems(schedule_box(low, high, reg), max_iter, tol, stream)
    reports = []
    sides = []
    for F in (A, B):
        f, rep = problems.self_potentials(F)
        reports.append(("self-problems (OT of a frame with itself)", *rep))
        sides.append((F, f))
    frame_costs = functools.partial(_frame_costs, problems, reports)
    value, grad = assemble_cuda(frame_costs, *sides, A.factors, gamma, return_grad, divergence, out_dtype,
                                placement)
    return value, grad, reports
