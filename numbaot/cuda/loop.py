"""The host side of the log-domain Sinkhorn loop on the GPU, written once over a device geometry: the CUDA twin of
``numbaot.entropic._loop.sinkhorn_loop``, run by the dense driver (``cuda.sinkhorn``: cost matrices, batched) and
the online one (``cuda.online``: costs from the points).

A device geometry is an object with one method::

    geom.half_step(side, other, ref, shift, active, eps, tau, prev, out)

that launches, for every row i of every active problem k of ``side`` (``ROWS``: the rows of C, updating f;
``COLUMNS``: the rows of C^T, updating g), ``out[k, i] = tau * eps * (shift[k, i] - log sum_j exp(other[k, j] / eps
+ ref[k, j] - C_ij / eps))`` (``prev``: the previous value of ``out``, the shift of the one-pass log-sum-exp; it may
be ``out`` itself). Potentials, weights and the error are (B, n) / (B, m) float64 device arrays, as on the host.
The kernels are the geometries' own (the CPU cores' row bodies compiled for CUDA); the loop launches the half-steps,
the error reduction at each check (one block per problem: ``_error_kernel``) and copies back only the
B errors of a check. The loop's step modes (``LoopControl.mode``, ``omega``) are the host's: the Sinkhorn
divergence runs its three problems through this loop (``cuda.divergence.DeviceProblems``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import cuda, float64

from .._status import MAX_ITER_REACHED, NUMERICAL_ERROR, OPTIMAL
from ..entropic._geometry import COLUMNS, ROWS
from ..entropic._loop import ALTERNATE, SIMULTANEOUS, SYMMETRIC
from ..entropic._rules import Balanced
from . import _launch
from ._launch import launch_flat  # noqa: F401 - the drivers import it from here too

__all__ = ["ROWS", "COLUMNS", "DeviceWeights", "launch_flat", "sinkhorn_loop_cuda"]

_BUF = _launch.MAX_THREADS_PER_BLOCK
MODE_BALANCED = 0
MODE_UNBALANCED = 1
MODE_BOTH_SIDES = 2  # the balanced error on both sides (SIMULTANEOUS steps: f and g both moved)


class DeviceWeights(NamedTuple):
    """The weights as the loop reads them (the host's ``entropic._loop.LogWeights`` on the device): ``log_a``,
    ``log_b`` (-inf for a zero weight), the logs of the reference measure's factors ``ref_a``, ``ref_b`` and
    ``shift_a``, ``shift_b`` = ``log a - ref_a``, ``log b - ref_b``; (B, n) and (B, m) float64 device arrays."""

    log_a: object
    log_b: object
    ref_a: object
    ref_b: object
    shift_a: object
    shift_b: object


# ------------------------------------------------------------------------------------------------------ kernels
@cuda.jit
def _relax_kernel(old, new, omega, out, active):
    """``out = old + omega (new - old)`` on the active problems (``out`` may be ``old`` or ``new``); ``omega = 1``
    copies ``new`` exactly."""
    t = cuda.grid(1)
    B, n = out.shape
    if t < B * n:
        k = t // n
        if active[k]:
            i = t - k * n
            out[k, i] = new[k, i] if omega == 1.0 else old[k, i] + omega * (new[k, i] - old[k, i])


def _copy(src, dst, active, stream):
    """``dst = src`` on the active problems (B, n)."""
    launch_flat(_relax_kernel, int(dst.shape[0]) * int(dst.shape[1]), stream, src, src, 1.0, dst, active)


@cuda.jit
def _error_kernel(mode, f, f_prev, g, g_new, log_a, log_b, inv_eps, active, err):
    """One block per problem: the balanced L1 column-marginal error (plus the rows' with ``MODE_BOTH_SIDES``), or
    ``max |delta f|, |delta g| / eps``.

    Threads stride over the entries, then one thread folds the block's partials (NaN propagates: a NaN error
    stops the problem with NUMERICAL_ERROR)."""
    buf = cuda.shared.array(_BUF, float64)
    k = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    step = cuda.blockDim.x
    n = f.shape[1]
    m = g.shape[1]
    acc = 0.0
    if active[k]:
        if mode != MODE_UNBALANCED:
            for j in range(tid, m, step):
                lb = log_b[k, j]
                if lb > -math.inf:
                    acc += abs(math.exp(lb + (g[k, j] - g_new[k, j]) * inv_eps) - math.exp(lb))
            if mode == MODE_BOTH_SIDES:
                for i in range(tid, n, step):
                    la = log_a[k, i]
                    if la > -math.inf:
                        acc += abs(math.exp(la + (f_prev[k, i] - f[k, i]) * inv_eps) - math.exp(la))
        else:
            for i in range(tid, n, step):
                if log_a[k, i] > -math.inf:
                    d = abs(f[k, i] - f_prev[k, i])
                    if not d <= acc:
                        acc = d
            for j in range(tid, m, step):
                if log_b[k, j] > -math.inf:
                    d = abs(g_new[k, j] - g[k, j])
                    if not d <= acc:
                        acc = d
    buf[tid] = acc
    cuda.syncthreads()
    if tid == 0:
        total = 0.0
        for s in range(step):
            v = buf[s]
            if mode != MODE_UNBALANCED:
                total += v
            elif not v <= total:
                total = v
        err[k] = total if mode != MODE_UNBALANCED else total * inv_eps


@cuda.jit
def _nonfinite_kernel(x, log_w, bad):
    """``bad[k] = 1`` when a potential of problem k with positive weight is NaN or inf (bad is zeroed before)."""
    t = cuda.grid(1)
    B, n = x.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        if log_w[k, i] > -math.inf and not math.isfinite(x[k, i]):
            bad[k] = 1


# ---------------------------------------------------------------------------------------------------- host loop
def sinkhorn_loop_cuda(geom, w, rule, ctl, f, g, stream):
    """Log-domain Sinkhorn on a batch of B problems over a device geometry, from the device potentials ``f``
    (B, n) and ``g`` (B, m), updated in place; the same iterates, checks and stopping rule as the host's
    ``sinkhorn_loop`` with the same ``rule`` (``_rules.Balanced``: the L1 error of the column marginals;
    ``_rules.Damped``: ``max |delta f|, |delta g| / eps``; the other rules run on the host only, the front-ends
    send them there) and ``ctl`` (a ``_loop.LoopControl``: its step mode and weight ``omega`` too). ``w`` is a
    :class:`DeviceWeights`.

    Returns ``(status, n_iter, errors, n_errors)`` on the host: (B,) int64, (B,) int64, (B, L) float64 (row k's
    first ``n_errors[k]`` entries are problem k's checks), (B,) int64.
    """
    eps, tau_a, tau_b = float(rule.eps), float(rule.tau_a), float(rule.tau_b)
    mode = MODE_BALANCED if isinstance(rule, Balanced) else MODE_UNBALANCED
    step_mode, omega = int(ctl.mode), float(ctl.omega)
    relaxed = step_mode != ALTERNATE or omega != 1.0  # the old f is needed at every step
    if step_mode == SIMULTANEOUS and mode == MODE_BALANCED:
        mode = MODE_BOTH_SIDES
    B, n, m = int(f.shape[0]), int(f.shape[1]), int(g.shape[1])
    g_new = _launch.empty((B, m), np.float64, stream)
    f_prev = _launch.empty((B, n), np.float64, stream) if mode != MODE_BALANCED or relaxed else f
    err = _launch.empty(B, np.float64, stream)
    active_host = np.ones(B, np.uint8)
    active = cuda.to_device(active_host, stream=stream)
    status = np.full(B, MAX_ITER_REACHED, dtype=np.int64)
    n_iter = np.zeros(B, np.int64)
    history = [[] for _ in range(B)]
    # a block no wider than the longer side (small problems launch few idle threads; the simulator runs each one)
    err_threads = max(1, min(_launch.threads_per_block(), max(n, m)))
    inv_eps = 1.0 / eps
    caller_g, swapped = g, False
    it = 0
    while it < ctl.max_iter and active_host.any():
        it += 1
        check = it % ctl.check_every == 0 or it == ctl.max_iter
        if (check and mode == MODE_UNBALANCED) or relaxed:
            _copy(f, f_prev, active, stream)
        if step_mode == SIMULTANEOUS:  # g from the old f, before f moves
            geom.half_step(COLUMNS, f, w.ref_a, w.shift_b, active, eps, tau_b, g, g_new)
        geom.half_step(ROWS, g, w.ref_b, w.shift_a, active, eps, tau_a, f, f)
        if step_mode == ALTERNATE:
            if omega != 1.0:  # over-relaxed: f = f_old + omega (f_new - f_old)
                launch_flat(_relax_kernel, B * n, stream, f_prev, f, omega, f, active)
            geom.half_step(COLUMNS, f, w.ref_a, w.shift_b, active, eps, tau_b, g, g_new)
        elif step_mode == SYMMETRIC:  # g follows f: C = C^T, the same weights
            _copy(f, g_new, active, stream)
        n_iter[active_host.astype(bool)] = it
        if check:
            _error_kernel[B, err_threads, stream](mode, f, f_prev, g, g_new, w.log_a, w.log_b, inv_eps, active, err)
        if omega != 1.0:
            launch_flat(_relax_kernel, B * m, stream, g, g_new, omega, g, active)
            if step_mode == SIMULTANEOUS:
                launch_flat(_relax_kernel, B * n, stream, f_prev, f, omega, f, active)
        elif B == 1:  # one problem: it stops the loop when it stops, so the buffers can trade places
            g, g_new = g_new, g
            swapped = not swapped
        else:
            _copy(g_new, g, active, stream)
        if step_mode == SYMMETRIC:
            _copy(g, f, active, stream)
        if check:
            errors = _launch.small_to_host(err, stream)  # the one copy per check: B scalars
            changed = False
            for k in np.flatnonzero(active_host):
                e = float(errors[k])
                history[k].append(e)
                if not math.isfinite(e):
                    status[k], active_host[k], changed = NUMERICAL_ERROR, 0, True
                elif e <= ctl.tol:
                    status[k], active_host[k], changed = OPTIMAL, 0, True
            if changed and active_host.any():
                active.copy_to_device(active_host, stream=stream)
    if swapped:  # the last g sits in the other buffer: copy it back into the caller's
        ones = cuda.to_device(np.ones(1, np.uint8), stream=stream)
        _copy(g, caller_g, ones, stream)
        g = caller_g
    bad = cuda.to_device(np.zeros(B, np.int8), stream=stream)
    launch_flat(_nonfinite_kernel, B * n, stream, f, w.log_a, bad)
    launch_flat(_nonfinite_kernel, B * m, stream, g, w.log_b, bad)
    status[_launch.small_to_host(bad, stream).astype(bool)] = NUMERICAL_ERROR
    n_checks = max(1, max(len(h) for h in history))
    errors = np.full((B, n_checks), np.nan)
    for k, h in enumerate(history):
        errors[k, :len(h)] = h
    return status, n_iter, errors, np.array([len(h) for h in history], dtype=np.int64)
