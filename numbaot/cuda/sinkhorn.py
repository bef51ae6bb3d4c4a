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

The translation-invariant variant and reg_type='entropy' run on the host only in this version.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import _validation as V
from .._finish import SinkhornAnswer
from ..entropic._loop import control
from ..entropic._rules import rule_for
from ..entropic._schedules import reg_scaling_stages
from ..entropic._softmin import softmin_row, softmin_row_shifted
from . import _checks, _launch
from .loop import ROWS, DeviceWeights, launch_flat, sinkhorn_loop_cuda

_softmin = softmin_row.cuda  # kernels resolve module globals, not attributes of a Python object
_softmin_shifted = softmin_row_shifted.cuda


# --------------------------------------------------------------------------------------------------- layouts
@cuda.jit
def _layout_kernel(M, Z, Y):
    """``Z[i, k m + j] = Y[j, k n + i] = M[k, i, j]`` (converted to the compute dtype), one thread per entry."""
    t = cuda.grid(1)
    B, n, m = M.shape
    if t < B * n * m:
        k = t // (n * m)
        r = t - k * n * m
        i = r // m
        j = r - i * m
        v = M[k, i, j]
        Z[i, k * m + j] = v
        Y[j, k * n + i] = v


@cuda.jit
def _layout_2d_kernel(M, Z, Y, write_z):
    """One problem: ``Y = M^T`` and, unless M can serve as Z itself, ``Z = M``."""
    t = cuda.grid(1)
    n, m = M.shape
    if t < n * m:
        i = t // m
        j = t - i * m
        v = M[i, j]
        if write_z:
            Z[i, j] = v
        Y[j, i] = v


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
def _transpose_kernel(x, out):
    """``out[i, k] = x[k, i]`` (float64), for (B, n) weights checked column by column."""
    t = cuda.grid(1)
    B, n = x.shape
    if t < B * n:
        k = t // n
        i = t - k * n
        out[i, k] = x[k, i]


@cuda.jit
def _broadcast_kernel(w, out):
    """``out[i, k] = w[i, 0]``: one weight vector shared by the B problems."""
    t = cuda.grid(1)
    n, B = out.shape
    if t < n * B:
        i = t // B
        out[i, t - i * B] = w[i, 0]


@cuda.jit
def _scale_columns_kernel(w, factors):
    t = cuda.grid(1)
    n, B = w.shape
    if t < n * B:
        i = t // B
        k = t - i * B
        w[i, k] = w[i, k] * factors[k]


# --------------------------------------------------------------------------------------------------- checks
@cuda.jit
def _cost_rows_kernel(X, log_w, n, first_nan, first_neginf, empty, low, high):
    """Per row t = k n + i of ``X`` (B n, m): first NaN column, first -inf column, and whether the row has weight
    but no finite cost (``check_cost_matrix``'s rules, one thread per row); ``low``, ``high``: the row's smallest
    and largest finite cost (+inf and -inf when it has none), for the spread of epsilon scaling."""
    t = cuda.grid(1)
    if t < X.shape[0]:
        k = t // n
        i = t - k * n
        nan_at = -1
        neginf_at = -1
        lo = math.inf
        hi = -math.inf
        for j in range(X.shape[1]):
            v = X[t, j]
            if v != v:
                if nan_at < 0:
                    nan_at = j
            elif v == -math.inf:
                if neginf_at < 0:
                    neginf_at = j
            elif v != math.inf:
                lo = min(lo, v)
                hi = max(hi, v)
        first_nan[t] = nan_at
        first_neginf[t] = neginf_at
        empty[t] = 1 if (hi == -math.inf and log_w[k, i] > -math.inf) else 0
        low[t] = lo
        high[t] = hi


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


def _device_weights(w, name, B, n, batch, stream):
    """Validated float64 weights (n, B) on the device and their masses (B,): the host's rules and messages."""
    if w is None:
        out = _launch.empty((n, B), np.float64, stream)
        out_host = np.full((n, B), 1.0 / n)
        out.copy_to_device(out_host, stream=stream)
        return out, np.full(B, float(np.sum(out_host[:, 0])))
    w = _launch.wrap(V.as_float_array(w, name, ndim=(1, 2) if batch else 1, allow_cuda=True))
    if w.ndim == 1:  # shapes were checked by the front-end (_validation.check_device_dense_shapes)
        w64 = _launch.as_float64_2d(w, stream)  # (n, 1)
        sums = _checks.check_weight_columns(w64, w, [name], stream)
        if B > 1:  # shared by every problem
            shared = _launch.empty((n, B), np.float64, stream)
            _launch_flat(_broadcast_kernel, n * B, stream, w64, shared)
            return shared, np.full(B, sums[0])
        return w64, sums
    w64 = _launch.as_float64_2d(w, stream)  # (B, n) float64
    cols = _launch.empty((n, B), np.float64, stream)
    _launch_flat(_transpose_kernel, B * n, stream, w64, cols)
    sums = _checks.check_weight_columns(cols, w.T, [f"{name}[{k}]" for k in range(B)], stream)
    return cols, sums


def _check_costs(Y, Z, log_a, log_b, B, n, m, batch, stream):
    """``check_cost_matrix`` on the device: per-row statistics of both layouts, judged on the host per problem.
    Returns the spread (largest minus smallest finite cost) of each problem's costs, (B,) on the host."""
    stats = []
    for X, log_w, lines in ((Y.T, log_a, n), (Z.T, log_b, m)):
        first_nan = _launch.empty(B * lines, np.int64, stream)
        first_neginf = _launch.empty(B * lines, np.int64, stream)
        empty = _launch.empty(B * lines, np.int8, stream)
        low = _launch.empty(B * lines, X.dtype, stream)
        high = _launch.empty(B * lines, X.dtype, stream)
        _launch_flat(_cost_rows_kernel, B * lines, stream, X, log_w, lines, first_nan, first_neginf, empty, low,
                     high)
        stats.append([_launch.small_to_host(x, stream).reshape(B, lines)
                      for x in (first_nan, first_neginf, empty, low, high)])
    (nan_r, neginf_r, empty_r, low_r, high_r), (_, _, empty_c, _, _) = stats
    for k in range(B):
        V.judge_cost_rows(f"M[{k}]" if batch else "M", nan_r[k], neginf_r[k], empty_r[k], empty_c[k])
    with np.errstate(invalid="ignore"):  # a problem without a finite cost was refused above
        return high_r.astype(np.float64).max(axis=1) - low_r.astype(np.float64).min(axis=1)


def _potentials_init(potentials_init, B, n, m, batch, stream):
    if potentials_init is None:
        f = _launch.empty((B, n), np.float64, stream)
        g = _launch.empty((B, m), np.float64, stream)
        f.copy_to_device(np.zeros((B, n)), stream=stream)
        g.copy_to_device(np.zeros((B, m)), stream=stream)
        return f, g
    out = []  # a pair of CUDA arrays of the right shapes (_validation.check_device_dense_shapes)
    for t, (x, lines) in enumerate(zip(potentials_init, (n, m))):
        label = f"potentials_init[{t}]"
        x = _launch.wrap(V.as_float_array(x, label, allow_cuda=True))
        x64 = _launch.as_float64_2d(x, stream)  # (lines, 1) or (B, lines)
        _checks.check_points_cuda(x64, x, label, stream)
        out.append(x64.reshape(1, lines) if not batch else x64)
    return out[0], out[1]


def solve_sinkhorn_cuda(M, a, b, opts, potentials_init, batch, anneal=False):
    """Log-domain Sinkhorn (balanced when ``rho_a = rho_b = inf``) on CUDA arrays: the GPU driver of the dense
    Sinkhorn family, the twin of ``entropic._loop.solve_dense``.

    ``anneal``: first run the epsilon stages of ``sinkhorn_unbalanced``'s
    'sinkhorn_reg_scaling' (``entropic._schedules.reg_scaling_stages``: ``reg`` halved from the costs'
    spread, each stage warm-starting the next) through the same GPU loop; the answer is the last stage's, at
    ``reg``, as on the host.

    ``M`` is (n, m) (``batch=False``) or (B, n, m); ``a``, ``b`` CUDA arrays or None. ``opts`` is the
    ``entropic._loop.SinkhornOptions`` the front-end validated (``reg_type`` is 'kl' or 'entropy'). Returns
    ``(answer, out_dtype)``: a ``numbaot._finish.SinkhornAnswer`` whose plan, potentials and marginals are device
    arrays of the caller's kind in M's dtype, with values, statuses and errors on the host.
    """
    reg, rho_a, rho_b, reg_type = opts.reg, opts.rho_a, opts.rho_b, opts.reg_type
    stream = _launch.stream_of(M, a, b)
    kind = _launch.caller_kind(M, a, b)
    M = _launch.wrap(V.as_float_array(M, "M", ndim=3 if batch else 2, allow_cuda=True))
    if batch:
        B, n, m = (int(s) for s in M.shape)
    else:
        B, (n, m) = 1, (int(s) for s in M.shape)
    balanced = math.isinf(rho_a) and math.isinf(rho_b)
    wa, sum_a = _device_weights(a, "a", B, n, batch, stream)
    wb, sum_b = _device_weights(b, "b", B, m, batch, stream)
    if balanced:
        dtype = V.mass_dtype(a, b)
        if batch:
            factors = V.check_batch_sums(sum_a, sum_b, dtype)
        else:
            factors = np.array([V.check_mass(float(sum_a[0]), float(sum_b[0]), dtype)])
        if np.any(factors != 1.0):
            _launch_flat(_scale_columns_kernel, m * B, stream, wb, cuda.to_device(factors, stream=stream))
            sum_b = sum_b * factors
    out_dtype = V.result_dtype(M)
    entropy = reg_type == "entropy"
    log_a, ref_a, shift_a = (_launch.empty((B, n), np.float64, stream) for _ in range(3))
    log_b, ref_b, shift_b = (_launch.empty((B, m), np.float64, stream) for _ in range(3))
    _launch_flat(_weights_kernel, n * B, stream, wa, log_a, ref_a, shift_a, entropy)
    _launch_flat(_weights_kernel, m * B, stream, wb, log_b, ref_b, shift_b, entropy)

    # The two layouts of the costs (see the module's docstring), in the compute dtype.
    Y = _launch.empty((m, B * n), out_dtype, stream)
    if batch:
        Z = _launch.empty((n, B * m), out_dtype, stream)
        _launch_flat(_layout_kernel, B * n * m, stream, M, Z, Y)
    else:
        reuse = np.dtype(M.dtype) == out_dtype and M.is_c_contiguous()
        Z = M if reuse else _launch.empty((n, m), out_dtype, stream)
        _launch_flat(_layout_2d_kernel, n * m, stream, M, Z, Y, not reuse)
    spread = _check_costs(Y, Z, log_a, log_b, B, n, m, batch, stream)
    rows, cols = Y.T, Z.T  # (B n, m) and (B m, n), Fortran-ordered: row t is read coalesced across threads

    f, g = _potentials_init(potentials_init, B, n, m, batch, stream)
    w = DeviceWeights(log_a, log_b, ref_a, ref_b, shift_a, shift_b)
    geom = DenseDeviceCosts(rows, cols, stream)
    if anneal:  # the front-end sends one problem; a batch would anneal from its largest spread
        for stage in reg_scaling_stages(float(np.max(spread)), opts):
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
