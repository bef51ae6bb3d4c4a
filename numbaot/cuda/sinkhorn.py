"""Dense log-domain Sinkhorn on the GPU: balanced, unbalanced (KL marginal penalties) and batched, the CUDA twin of
``numbaot.entropic._loop.sinkhorn_loop`` (dense geometry): the GPU loop ``cuda.loop.sinkhorn_loop_cuda`` (the
one the online driver runs too) over :class:`DenseDeviceCosts`.

Design
------
* **One body.** A half-step is ``out_i = tau * eps * (shift_i - softmin_row(X, i, h, 1 / eps))`` where
  ``softmin_row`` is the body the CPU cores run (``entropic._softmin``, compiled here with ``.cuda``): one thread
  per row of every problem of the batch (a flat grid over the B * n rows, so the batch is one more grid axis folded
  into the first). ``tau = rho / (rho + eps)`` is the unbalanced damping (1 for a balanced marginal).
* **Layout for coalesced reads.** A thread walks its row j = 0, 1, ...; neighbouring threads must then read
  neighbouring addresses, i.e. the row index must be the fast one in memory. The costs are therefore stored twice,
  once per half-step, as ``Y`` (m, B n) with ``Y[j, k n + i] = M[k, i, j]`` and ``Z`` (n, B m) with
  ``Z[i, k m + j] = M[k, i, j]``, and the kernels read them through their transposes ``Y.T`` (B n, m) and
  ``Z.T`` (B m, n), Fortran-ordered views whose "row" t is contiguous across threads. (Strided reads of a single
  copy would halve the memory but make one of the two half-steps uncoalesced, a >10x slower access pattern.)
  For one problem, ``Z`` is M itself when M is C-contiguous in the compute dtype.
* **One pass per row.** ``softmin_row_shifted`` (the body the CPU cores run) sums the exponentials shifted by the
  row's previous log-sum-exp, read off the previous potential: one read of the row and one exp per entry, with no
  running-maximum rescaling. Where that guess is unusable (the first iteration, a jump so large that the sum
  leaves [1e-30, 1e30]) the thread falls back to the two-pass ``softmin_row`` (maximum, then shifted sum).
* **Precision.** The costs are stored in the caller's dtype (float32 halves the bytes read per iteration, the bound
  of this memory-bound loop); potentials, weights and the accumulations of the shared body are float64.
* **Convergence on the device** (``cuda.loop``). Every ``check_every`` iterations one block per problem reduces its
  error (the L1 column-marginal error for balanced problems, ``max |delta f|, |delta g| / eps`` for unbalanced
  ones) and only the B errors are copied back; problems that stopped are skipped by later launches.

The driver takes checked inputs: the front-end (``entropic.unbalanced.device_dense_inputs``) checks the weights,
their masses, the costs and the initial potentials on the device first, with the host's rules and messages and in
its order (``cuda._checks``' ``sinkhorn.*`` dispatch steps, which also build the two layouts of the costs).

The translation-invariant variant and reg_type='entropy' run on the host only in this version.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .._finish import SinkhornAnswer
from ..entropic._loop import control
from ..entropic._rules import rule_for
from ..entropic._schedules import reg_scaling_stages
from ..entropic._softmin import softmin_row, softmin_row_shifted
from . import _launch
from .loop import ROWS, DeviceWeights, launch_flat, sinkhorn_loop_cuda

_softmin = softmin_row.cuda  # kernels resolve module globals, not attributes of a Python object
_softmin_shifted = softmin_row_shifted.cuda


# --------------------------------------------------------------------------------------------------- layouts
@cuda.jit
def _weights_kernel(w, log_w, ref, shift, entropy):
    """From validated float64 weights ``w`` (n, B): ``log_w``, and the reference and shift (B, n) of the update."""
    t = cuda.grid(1)
    n, B = w.shape
    if t < n * B:
        k = t // n
        i = t - k * n
        x = w[i, k]
        lw = math.log(x) if x > 0.0 else -math.inf
        log_w[k, i] = lw
        if entropy:
            ref[k, i] = 0.0
            shift[k, i] = lw
        else:
            ref[k, i] = lw
            shift[k, i] = 0.0


@cuda.jit
def _scale_columns_kernel(w, factors):
    t = cuda.grid(1)
    n, B = w.shape
    if t < n * B:
        i = t // B
        k = t - i * B
        w[i, k] = w[i, k] * factors[k]


# --------------------------------------------------------------------------------------------------- iterations
@cuda.jit
def _prep_kernel(other, ref_w, inv_eps, active, h):
    """``h[k, j] = other[k, j] / eps + ref_w[k, j]``: the row-independent part of a half-step."""
    t = cuda.grid(1)
    B, m = h.shape
    if t < B * m:
        k = t // m
        if active[k]:
            j = t - k * m
            h[k, j] = other[k, j] * inv_eps + ref_w[k, j]


@cuda.jit
def _half_step_kernel(X, h, shift, active, eps, tau, prev, out):
    """``out[k, i] = tau * eps * (shift[k, i] - softmin_row(X, k n + i, h[k], 1 / eps))``, one thread per row.

    One pass over the row: the log-sum-exp is shifted by its previous value, read off ``prev`` (the previous
    potential; it may be ``out`` itself), and only where that guess is unusable (first iteration, a far jump)
    the two-pass ``softmin_row`` runs."""
    t = cuda.grid(1)
    B, n = out.shape
    if t < B * n:
        k = t // n
        if active[k]:
            i = t - k * n
            s = shift[k, i]
            if s == -math.inf:
                out[k, i] = -math.inf
            else:
                inv_eps = 1.0 / eps
                low = _softmin_shifted(X, t, h[k], inv_eps, s - prev[k, i] * inv_eps / tau)
                if low != low:  # NaN: the guess was unusable
                    low = _softmin(X, t, h[k], inv_eps)
                out[k, i] = tau * eps * (s - low)


class DenseDeviceCosts:
    """The dense geometry of the GPU loop (``cuda.loop``): the two layouts of the costs, ``rows`` (B n, m) and
    ``cols`` (B m, n) (Fortran-ordered views, see the module's docstring), and a buffer for the row-independent part
    ``h`` of a half-step per side."""

    def __init__(self, rows, cols, stream):
        self.X = {0: rows, 1: cols}
        self.stream = stream
        B = int(rows.shape[0]) // int(cols.shape[1])
        # h for the row half-step has the length of a column, and the other way round
        self.h = {0: _launch.empty((B, int(rows.shape[1])), np.float64, stream),
                  1: _launch.empty((B, int(cols.shape[1])), np.float64, stream)}

    def half_step(self, side, other, ref, shift, active, eps, tau, prev, out):
        side = 0 if side == ROWS else 1
        h = self.h[side]
        launch_flat(_prep_kernel, int(h.shape[0]) * int(h.shape[1]), self.stream, other, ref, 1.0 / eps, active, h)
        launch_flat(_half_step_kernel, int(out.shape[0]) * int(out.shape[1]), self.stream, self.X[side], h, shift,
                    active, eps, tau, prev, out)


# --------------------------------------------------------------------------------------------------- results
@cuda.jit
def _plan_kernel(Z, ref_a, ref_b, f, g, inv_eps, out):
    """``out[k, i, j] = exp(ref_a + ref_b + (f_i + g_j - C_ij) / eps)``, j fastest (coalesced reads of Z)."""
    t = cuda.grid(1)
    B, n, m = out.shape
    if t < B * n * m:
        k = t // (n * m)
        r = t - k * n * m
        i = r // m
        j = r - i * m
        out[k, i, j] = math.exp(ref_a[k, i] + ref_b[k, j] + (f[k, i] + g[k, j] - Z[i, k * m + j]) * inv_eps)


@cuda.jit
def _line_stats_kernel(X, ref_own, ref_other, own, other, log_w, inv_eps, mass, lin, kl, pen):
    """Per line t = k n + i of ``X`` (rows of the plan, or its columns through the other layout):
    its mass, its share of ``<P, C>`` and of ``sum P log(P / R)``, and ``p log(p / w) - p + w`` for its marginal."""
    t = cuda.grid(1)
    B, n = own.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        s_mass = 0.0
        s_lin = 0.0
        s_kl = 0.0
        for j in range(X.shape[1]):
            c = X[t, j]
            z = (own[k, i] + other[k, j] - c) * inv_eps  # log(P / R)
            p = math.exp(ref_own[k, i] + ref_other[k, j] + z)
            if p > 0.0:
                s_mass += p
                s_lin += p * c
                s_kl += p * z
        mass[k, i] = s_mass
        lin[k, i] = s_lin
        kl[k, i] = s_kl
        lw = log_w[k, i]
        w = math.exp(lw) if lw > -math.inf else 0.0
        if s_mass > 0.0:
            pen[k, i] = s_mass * (math.log(s_mass) - lw) - s_mass + w
        else:
            pen[k, i] = w


@cuda.jit
def _cast_kernel(x, out):
    t = cuda.grid(1)
    B, n = x.shape
    if t < B * n:
        k = t // n
        out[k, t - k * n] = x[k, t - k * n]


# --------------------------------------------------------------------------------------------------- host driver
_launch_flat = launch_flat


def _potentials_init(f0, g0, B, n, m, stream):
    """The initial potentials (B, n), (B, m) in float64: zeros, or the front-end's checked float64 copies."""
    if f0 is None:
        f = _launch.empty((B, n), np.float64, stream)
        g = _launch.empty((B, m), np.float64, stream)
        f.copy_to_device(np.zeros((B, n)), stream=stream)
        g.copy_to_device(np.zeros((B, m)), stream=stream)
        return f, g
    return f0.reshape(B, n), g0.reshape(B, m)  # (n, 1) for one problem, (B, n) for a batch


def solve_sinkhorn_cuda(inputs, opts, out_dtype, placement, anneal=False):
    """Log-domain Sinkhorn (balanced when ``rho_a = rho_b = inf``) of checked device inputs: the GPU driver of the
    dense Sinkhorn family, the twin of ``entropic._loop.solve_dense``.

    ``anneal``: first run the epsilon stages of ``sinkhorn_unbalanced``'s
    'sinkhorn_reg_scaling' (``entropic._schedules.reg_scaling_stages``: ``reg`` halved from the costs'
    spread, each stage warm-starting the next) through the same GPU loop; the answer is the last stage's, at
    ``reg``, as on the host.

    ``inputs`` is the front-end's ``entropic.unbalanced.DeviceDenseInputs`` (the costs' two layouts in
    ``out_dtype``, float64 weights and masses, the balanced problems' mass factors, the costs' spread, initial
    potentials: checked on the device with the host's rules by the ``sinkhorn.*`` dispatch steps). ``opts`` is the
    ``entropic._loop.SinkhornOptions`` the front-end validated (``reg_type`` is 'kl' or 'entropy'), ``placement``
    the caller's stream and kind of array. Returns ``(answer, out_dtype)``: a ``numbaot._finish.SinkhornAnswer``
    whose plan, potentials and marginals are device arrays of the caller's kind in ``out_dtype``, with values,
    statuses and errors on the host; nothing here raises on the input.
    """
    reg, rho_a, rho_b, reg_type = opts.reg, opts.rho_a, opts.rho_b, opts.reg_type
    stream, kind = placement.stream, placement.kind
    Y, Z, wa, wb = inputs.Y, inputs.Z, inputs.wa, inputs.wb
    n, B = (int(s) for s in wa.shape)
    m = int(wb.shape[0])
    sum_a, sum_b = inputs.sum_a, inputs.sum_b
    if inputs.factors is not None and np.any(inputs.factors != 1.0):  # b rescaled to the mass of a
        _launch_flat(_scale_columns_kernel, m * B, stream, wb, cuda.to_device(inputs.factors, stream=stream))
        sum_b = sum_b * inputs.factors
    entropy = reg_type == "entropy"
    log_a, ref_a, shift_a = (_launch.empty((B, n), np.float64, stream) for _ in range(3))
    log_b, ref_b, shift_b = (_launch.empty((B, m), np.float64, stream) for _ in range(3))
    _launch_flat(_weights_kernel, n * B, stream, wa, log_a, ref_a, shift_a, entropy)
    _launch_flat(_weights_kernel, m * B, stream, wb, log_b, ref_b, shift_b, entropy)

    rows, cols = Y.T, Z.T  # (B n, m) and (B m, n), Fortran-ordered: row t is read coalesced across threads

    f, g = _potentials_init(inputs.f0, inputs.g0, B, n, m, stream)
    w = DeviceWeights(log_a, log_b, ref_a, ref_b, shift_a, shift_b)
    geom = DenseDeviceCosts(rows, cols, stream)
    if anneal:  # the front-end sends one problem; a batch would anneal from its largest spread
        for stage in reg_scaling_stages(float(np.max(inputs.spread)), opts):
            sinkhorn_loop_cuda(geom, w, rule_for(stage.reg, rho_a, rho_b),
                               control(stage.max_iter, stage.tol, stage.check_every), f, g, stream)
    rule = rule_for(reg, rho_a, rho_b)
    status, n_iter, errors, n_errors = sinkhorn_loop_cuda(geom, w, rule,
                                                          control(opts.max_iter, opts.tol, opts.check_every), f, g,
                                                          stream)
    inv_eps = 1.0 / reg

    # Answers: the plan, and per-line statistics for the values and the marginals.
    plan = _launch.empty((B, n, m), out_dtype, stream)
    _launch_flat(_plan_kernel, B * n * m, stream, Z, ref_a, ref_b, f, g, inv_eps, plan)
    row_stats = [_launch.empty((B, n), np.float64, stream) for _ in range(4)]
    col_stats = [_launch.empty((B, m), np.float64, stream) for _ in range(4)]
    _launch_flat(_line_stats_kernel, B * n, stream, rows, ref_a, ref_b, f, g, log_a, inv_eps, *row_stats)
    _launch_flat(_line_stats_kernel, B * m, stream, cols, ref_b, ref_a, g, f, log_b, inv_eps, *col_stats)
    mass_r, lin_r, kl_r, pen_r = (_launch.small_to_host(x, stream).sum(axis=1) for x in row_stats)
    pen_c = _launch.small_to_host(col_stats[3], stream).sum(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN values of a failed run stay NaN, quietly
        ref_mass = sum_a * sum_b if not entropy else np.full(B, float(n * m))
        value_linear = lin_r
        value = lin_r + reg * (kl_r - mass_r + ref_mass)
        if not math.isinf(rho_a):
            value = value + rho_a * pen_r
        if not math.isinf(rho_b):
            value = value + rho_b * pen_c

    def cast(x):
        out = _launch.empty(x.shape, out_dtype, stream)
        _launch_flat(_cast_kernel, x.shape[0] * x.shape[1], stream, x, out)
        return out

    f_out, g_out = cast(f), cast(g)
    marg_a, marg_b = row_stats[0], col_stats[0]
    answer = SinkhornAnswer(_launch.to_caller(plan, kind), _launch.to_caller(f_out, kind),
                            _launch.to_caller(g_out, kind), value, value_linear, status, n_iter, errors, n_errors,
                            lambda: (_launch.to_caller(cast(marg_a), kind), _launch.to_caller(cast(marg_b), kind)))
    return answer, out_dtype
