"""Exact 1D optimal transport on the GPU: the CUDA twin of ``exact._solver_1d`` behind ``emd_1d``,
``emd2_1d`` and ``wasserstein_1d``.

Checks come first, through the dispatch table, before any solve: :func:`points_1d_cuda` and :func:`inputs_1d_cuda`
reduce the inputs on the device (``_checks``; the host's rules and messages, in the host's order) and the front-end
(``exact.api``) judges the masses and the promised sortedness. The solve drivers then take the checked inputs and
raise nothing; :func:`solve_1d_cuda` returns the host driver's tuple (``_finish.ExactAnswer``).

One problem
    1. b rescaled to the mass of a (the factor the front-end's ``check_mass`` gave);
    2. points scaled by a power of two (exact) so that ``|x - y|^p`` cannot overflow;
    3. a bitonic sort of (key, index) pairs, padded with +inf to a power of two; ties are broken by the index, so
       the order is the stable one;
    4. cumulative weights by a scan: each block's slice scanned serially by one thread (so it rounds exactly like
       the CPU core's running sum), the block totals scanned the same way, added back; a max-scan (exact) then
       keeps the result non-decreasing across blocks, where the added offsets round differently;
    5. the merge in parallel: the ``n - 1`` breakpoints of a and ``m - 1`` of b are merged (a first on ties, like
       the CPU core's ``ca <= cb``) by one thread each, which finds its rank in the other CDF by binary search and
       writes its staircase cell at its merged position; the last cell takes ``max(total_a, total_b) - prev``;
    6. the cost, the plan triples and the duals from the cells: the value is a device reduction of
       ``mass * ground_cost_1d`` (the CPU's own body, ``.cuda``) with one scalar copied back; the duals are two
       prefix sums along the staircase (``f[i+1] - f[i] = C(i+1, j) - C(i, j)`` on an a-step,
       ``g[j+1] - g[j] = C(i, j+1) - C(i, j)`` on a b-step), scattered to the input order and centred on the device.

Batches (``wasserstein_1d`` with k columns)
    each column is sorted by the same bitonic kernel, then one thread runs the serial merge of one problem.

Agreement with the CPU path: up to one block of threads (``_config.CUDA_THREADS_PER_BLOCK``, 256 by default) per
measure the cumulative weights are summed in the CPU core's order, so the merge takes the same staircase. Beyond,
the block offsets round differently from a serial sum: where cumulative weights tie in real arithmetic but not
after rounding (e.g. uniform weights 1/9 against 1/6), the two paths may walk different, equally optimal
staircases; values then agree to rounding, plans up to cells of ~1e-16 mass, and the (non-unique) duals may
differ. Weights whose partial sums are exact (integers, dyadic fractions) give the same staircase at any size. The
duals are summed differently (prefix sums of differences) and agree to rounding. Equal points are ordered by index
here; the host's argsort need not be stable, so mass may go to a different one of several equal points.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
from numba import cuda, float64

from .. import _validation as V
from .._jit import twin
from .._finish import ExactAnswer
from .._scaling import pow2_exponent, scale_up
from ..exact._solver_1d import METRIC_CODES, POWER, ground_cost_1d, merge_value
from . import _checks, _launch
from .plan import densify_cuda, fill_zero_1d_kernel as _fill_zero_1d_kernel, marginals_cuda

_cost = ground_cost_1d.cuda  # the CPU core's body; kernels resolve module globals, not attributes

#: Shared-memory buffers hold one float64 per thread of the largest block CUDA allows (a compile-time constant).
_BUF = _launch.MAX_THREADS_PER_BLOCK

_SCAN_SUM = 0
_SCAN_MAX = 1

#: Event kinds of the merged staircase.
_STEP_A = 0  # leave row i for row i + 1
_STEP_B = 1  # leave column j for column j + 1
_LAST = 2  # the final cell (n - 1, m - 1)


@twin
def search_cdf(cdf, lo, hi, value, right):
    """First ``k`` in ``[lo, hi)`` with ``cdf[k] > value`` (``right``) or ``cdf[k] >= value``; ``hi`` if none.

    ``cdf`` must be non-decreasing on ``[lo, hi)``: this is ``bisect_right`` / ``bisect_left``.
    """
    while lo < hi:
        mid = (lo + hi) // 2
        v = cdf[mid]
        if v > value or (not right and v == value):
            hi = mid
        else:
            lo = mid + 1
    return lo


_search = search_cdf.cuda


# ------------------------------------------------------------------------------------------------------- sorting
@cuda.jit
def _sort_load_kernel(x, scale, keys, idx):
    """Problems as rows: ``keys[r, i] = x[i, r] / scale`` for i < n, +inf padding after; ``idx[r, i] = i``."""
    t = cuda.grid(1)
    width = keys.shape[1]
    if t < keys.shape[0] * width:
        r = t // width
        i = t - r * width
        if i < x.shape[0]:
            keys[r, i] = x[i, r] / scale
        else:
            keys[r, i] = math.inf
        idx[r, i] = i


@cuda.jit
def _bitonic_step_kernel(keys, idx, j, k):
    """One compare-exchange stage of a bitonic sort of each row of (keys, idx), lexicographic on the pair."""
    t = cuda.grid(1)
    width = keys.shape[1]
    if t < keys.shape[0] * width:
        r = t // width
        i = t - r * width
        partner = i ^ j
        if partner > i and partner < width:  # the lower index of the pair does the exchange: no races
            ki = keys[r, i]
            kp = keys[r, partner]
            # Indices are unique, so no two pairs compare equal: "not greater" means "less".
            greater = ki > kp or (ki == kp and idx[r, i] > idx[r, partner])
            swap = greater if (i & k) == 0 else not greater
            if swap:
                keys[r, i] = kp
                keys[r, partner] = ki
                tmp = idx[r, i]
                idx[r, i] = idx[r, partner]
                idx[r, partner] = tmp


def _sort_columns_cuda(x, scale, do_sort, stream):
    """Scale and sort each column of the float64 (n, k) array ``x``.

    Returns ``keys`` (k, width) float64 and ``idx`` (k, width) int64 with the first n entries of each row the
    sorted values and their original indices (``width`` is n, or the next power of two when sorting).
    """
    n, k = int(x.shape[0]), int(x.shape[1])
    width = 1 << (n - 1).bit_length() if do_sort else n
    keys = _launch.empty((k, width), np.float64, stream)
    idx = _launch.empty((k, width), np.int64, stream)
    blocks, threads = _launch.grid_1d(k * width)
    _sort_load_kernel[blocks, threads, stream](x, scale, keys, idx)
    if do_sort:
        size = 2
        while size <= width:
            stride = size // 2
            while stride > 0:
                _bitonic_step_kernel[blocks, threads, stream](keys, idx, stride, size)
                stride //= 2
            size *= 2
    return keys, idx


@cuda.jit
def _gather_weights_kernel(w, idx, out):
    """``out[r, i] = w[idx[r, i], r]`` for (k, n) ``out``; a single weight column is shared by every row."""
    t = cuda.grid(1)
    n = out.shape[1]
    if t < out.shape[0] * n:
        r = t // n
        i = t - r * n
        out[r, i] = w[idx[r, i], min(r, w.shape[1] - 1)]


def _gather_weights_cuda(w, idx, k, n, stream):
    out = _launch.empty((k, n), np.float64, stream)
    blocks, threads = _launch.grid_1d(k * n)
    _gather_weights_kernel[blocks, threads, stream](w, idx, out)
    return out


@cuda.jit
def _descents_kernel(x, count):
    """Count the descents ``x[i + 1, t] < x[i, t]`` of the columns of ``x`` (n, k), one thread per pair of
    neighbours, in place (for ``require_sort=False``)."""
    t = cuda.grid(1)
    k = x.shape[1]
    if t < (x.shape[0] - 1) * k:
        i = t // k
        c = t - i * k
        if x[i + 1, c] < x[i, c]:
            cuda.atomic.add(count, 0, 1)


# ------------------------------------------------------------------------------------------ scans and reductions
@cuda.jit
def _block_scan_kernel(x, out, block_totals, op):
    """Inclusive scan (``op`` 0: sum, 1: max) of each block's slice of ``x``; the block's total goes aside.

    The slice is loaded into shared memory by all threads (coalesced), scanned serially by one thread, and stored
    by all: within a block the sums then round exactly like the CPU core's running sum ``ca += w[i]``.
    """
    buf = cuda.shared.array(_BUF, float64)
    tid = cuda.threadIdx.x
    start = cuda.blockIdx.x * cuda.blockDim.x
    i = start + tid
    count = min(cuda.blockDim.x, x.shape[0] - start)
    if i < x.shape[0]:
        buf[tid] = x[i]
    cuda.syncthreads()
    if tid == 0:
        acc = buf[0]
        for k in range(1, count):
            if op == _SCAN_SUM:
                acc += buf[k]
            elif buf[k] > acc:
                acc = buf[k]
            buf[k] = acc
        block_totals[cuda.blockIdx.x] = acc
    cuda.syncthreads()
    if i < x.shape[0]:
        out[i] = buf[tid]


@cuda.jit
def _add_block_offsets_kernel(out, offsets, op):
    """Fold the scanned totals of the preceding blocks into each block (same block size as the scan)."""
    b = cuda.blockIdx.x
    i = b * cuda.blockDim.x + cuda.threadIdx.x
    if b > 0 and i < out.shape[0]:
        if op == _SCAN_SUM:
            out[i] += offsets[b - 1]
        elif offsets[b - 1] > out[i]:
            out[i] = offsets[b - 1]


def _scan_cuda(x, op, stream):
    """Inclusive scan of the float64 1D device array ``x`` into a new array (block scans, recursively)."""
    n = int(x.shape[0])
    blocks, threads = _launch.grid_1d(n)
    out = _launch.empty(n, np.float64, stream)
    totals = _launch.empty(blocks, np.float64, stream)
    _block_scan_kernel[blocks, threads, stream](x, out, totals, op)
    if blocks > 1:
        offsets = _scan_cuda(totals, op, stream)
        _add_block_offsets_kernel[blocks, threads, stream](out, offsets, op)
    return out


def _cdf_cuda(w, stream):
    """Cumulative weights of the non-negative ``w``, non-decreasing.

    Within one block the serial scan is monotone; across blocks the offsets come from a differently rounded sum
    and could step back by an ulp, which would break the merge's binary searches: a max-scan (exact) removes that.
    """
    cdf = _scan_cuda(w, _SCAN_SUM, stream)
    if _launch.grid_1d(w.shape[0])[0] > 1:
        cdf = _scan_cuda(cdf, _SCAN_MAX, stream)
    return cdf


@cuda.jit
def _block_dot_kernel(x, y, use_y, out, slot):
    """``out[slot + block] = sum over the block of x[i] * y[i]`` (or of x[i] when not ``use_y``).

    Loaded into shared memory, summed serially by one thread (one barrier; see ``_block_scan_kernel``).
    """
    buf = cuda.shared.array(_BUF, float64)
    tid = cuda.threadIdx.x
    start = cuda.blockIdx.x * cuda.blockDim.x
    i = start + tid
    if i < x.shape[0]:
        buf[tid] = x[i] * y[i] if use_y else x[i]
    cuda.syncthreads()
    if tid == 0 and slot + cuda.blockIdx.x < out.shape[0]:
        acc = 0.0
        for k in range(min(cuda.blockDim.x, x.shape[0] - start)):
            acc += buf[k]
        out[slot + cuda.blockIdx.x] = acc


def _dot_cuda(x, y, out, slot, stream):
    """Write ``x @ y`` (or ``sum(x)`` when ``y`` is None) into ``out[slot]`` on the device; nothing comes back."""
    use_y = y is not None
    y = x if y is None else y
    while True:
        blocks, threads = _launch.grid_1d(x.shape[0])
        if blocks == 1:
            _block_dot_kernel[1, threads, stream](x, y, use_y, out, slot)
            return
        partial = _launch.empty(blocks, np.float64, stream)
        _block_dot_kernel[blocks, threads, stream](x, y, use_y, partial, 0)
        x = y = partial
        use_y = False


def _sum_to_host(x, stream) -> float:
    """``sum(x)`` reduced on the device, one scalar copied back."""
    out = _launch.empty(1, np.float64, stream)
    _dot_cuda(x, None, out, 0, stream)
    return float(_launch.scalar_to_host(out, 0, stream))


# ------------------------------------------------------------------------------------------------- the merge
@cuda.jit
def _merge_events_kernel(cdf_a, cdf_b, bp, rows, cols, kinds):
    """Place each breakpoint of the two CDFs at its rank in their merge (a first on ties); one thread each.

    At merged position ``s`` the staircase is in cell ``(rows[s], cols[s])`` and leaves it at cumulative mass
    ``bp[s]``, by a step of kind ``kinds[s]``.
    """
    n = cdf_a.shape[0]
    m = cdf_b.shape[0]
    last = n + m - 2
    t = cuda.grid(1)
    if t < n - 1:
        i = t
        j = _search(cdf_b, 0, m - 1, cdf_a[i], False)  # b's breakpoints strictly below come first
        bp[i + j] = cdf_a[i]
        rows[i + j] = i
        cols[i + j] = j
        kinds[i + j] = _STEP_A
    elif t < last:
        j = t - (n - 1)
        i = _search(cdf_a, 0, n - 1, cdf_b[j], True)  # a's breakpoints at or below come first (CPU: ca <= cb)
        bp[i + j] = cdf_b[j]
        rows[i + j] = i
        cols[i + j] = j
        kinds[i + j] = _STEP_B
    elif t == last:
        bp[last] = max(cdf_a[n - 1], cdf_b[m - 1])
        rows[last] = n - 1
        cols[last] = m - 1
        kinds[last] = _LAST


@cuda.jit
def _merge_cells_kernel(xs, ys, metric, p, bp, rows, cols, kinds, mass, contrib, keep, df, dg):
    """Mass, cost, and dual increments of each staircase cell (as the CPU core's loop body does serially)."""
    s = cuda.grid(1)
    count = bp.shape[0]
    if s < count:
        prev = bp[s - 1] if s > 0 else 0.0
        step = bp[s] - prev
        i = rows[s]
        j = cols[s]
        c = _cost(xs[i], ys[j], metric, p)
        mass[s] = step
        contrib[s] = step * c if step > 0.0 else 0.0
        # The CPU core keeps positive cells, and the last one if none was kept before (prev == 0 then).
        keep[s] = 1.0 if step > 0.0 or (s == count - 1 and prev == 0.0) else 0.0
        step_f = 0.0
        step_g = 0.0
        if kinds[s] == _STEP_A:
            step_f = _cost(xs[i + 1], ys[j], metric, p) - c
        elif kinds[s] == _STEP_B:
            step_g = _cost(xs[i], ys[j + 1], metric, p) - c
        df[s] = step_f
        dg[s] = step_g


@cuda.jit
def _scatter_duals_kernel(xs, ys, metric, p, rows, cols, kinds, f_cum, g_cum, pa, pb, f, g):
    """Uncentred duals in the input order: ``f[0] = 0``, ``g[0] = C(0, 0)`` (sorted), then the prefix sums."""
    s = cuda.grid(1)
    if s < rows.shape[0]:
        c00 = _cost(xs[0], ys[0], metric, p)
        if s == 0:
            f[pa[0]] = 0.0
            g[pb[0]] = c00
        if kinds[s] == _STEP_A:
            f[pa[rows[s] + 1]] = f_cum[s]
        elif kinds[s] == _STEP_B:
            g[pb[cols[s] + 1]] = c00 + g_cum[s]


@cuda.jit
def _center_kernel(f, sums, sign, unit, out):
    """``out = (f + sign * c) * unit`` with ``c = (b @ g - a @ f) / (sum a + sum b)`` read from ``sums``."""
    i = cuda.grid(1)
    if i < f.shape[0]:
        c = (sums[1] - sums[0]) / (sums[2] + sums[3])
        out[i] = (f[i] + sign * c) * unit


@cuda.jit
def _compact_kernel(keep, position, rows, cols, mass, pa, pb, out_rows, out_cols, out_mass):
    """Write the kept cells, in staircase order, as input-order (row, col, mass) triples."""
    s = cuda.grid(1)
    if s < keep.shape[0] and keep[s] > 0.0:
        k = int(position[s]) - 1
        if 0 <= k < out_rows.shape[0]:
            out_rows[k] = pa[rows[s]]
            out_cols[k] = pb[cols[s]]
            out_mass[k] = mass[s]


# ----------------------------------------------------------------------------------------------- batch merge
_merge_value_dev = merge_value.cuda  # the CPU core's walk, compiled for the device


@cuda.jit
def _merge_batch_kernel(xs, wa, ys, wb, n, m, metric, p, unit, out):
    """One problem per thread: ``out[r] = unit * cost`` of problem ``r``."""
    r = cuda.grid(1)
    if r < out.shape[0]:
        out[r] = _merge_value_dev(xs[r, :n], wa[r, :n], ys[r, :m], wb[r, :m], metric, p) * unit


# --------------------------------------------------------------------------------------------------- drivers
@cuda.jit
def _scale_columns_kernel(w, factors, out):
    """``out[i, t] = w[i, t or 0] * factors[t]``: b-side weights rescaled to the a-side mass, per problem."""
    t = cuda.grid(1)
    k = out.shape[1]
    if t < out.shape[0] * k:
        i = t // k
        c = t - i * k
        out[i, c] = w[i, min(c, w.shape[1] - 1)] * factors[c]


class Inputs1D(NamedTuple):
    """The device inputs of 1D problems after their checks (:func:`inputs_1d_cuda`): float64 (n, k) points ``x``
    and ``y``, float64 (n, k or 1) weights ``wa`` and ``wb`` (uniform when not given, noise negatives clipped) with
    their column sums ``sums_a``, ``sums_b`` (host arrays), ``top`` the largest |coordinate|, ``descents`` the
    number of descents found per side when the values were promised sorted (else None), and the caller's
    ``stream`` and ``kind`` of array."""

    x: object
    y: object
    wa: object
    wb: object
    sums_a: np.ndarray
    sums_b: np.ndarray
    top: float
    descents: Optional[tuple]
    stream: object
    kind: str


def _weights_cuda(w, name, n, labels_2d, stream):
    """Checked float64 (n, k) device weights and their sums (k,); uniform (n, 1) when ``w`` is None.

    ``labels_2d`` gives each column its own name in messages (``u_weights[:, t]``), as the CPU batch path does.
    The checks are ``_checks``' device reductions judged by ``_validation`` (the host's rules and messages).
    """
    if w is None:
        out = _launch.fill(_launch.empty((n, 1), np.float64, stream), 1.0 / n, stream)
        return out, np.array([_sum_to_host(out[:, 0], stream)])
    w = _launch.wrap(w)
    w64 = _launch.as_float64_2d(w, stream)
    k = int(w64.shape[1])
    labels = [f"{name}[:, {t}]" for t in range(k)] if (w.ndim == 2 and labels_2d) else [name]
    return w64, _checks.check_weight_columns(w64, w, labels, stream)


def _count_descents(x, stream) -> int:
    """Descents ``x[i + 1, t] < x[i, t]`` of the columns of the float64 (n, k) device array ``x``, counted where it
    lies (one pass, no copy)."""
    n, k = int(x.shape[0]), int(x.shape[1])
    descents = _launch.empty(1, np.int64, stream)
    _fill_zero_1d_kernel[1, 1, stream](descents)
    blocks, threads = _launch.grid_1d(max(n - 1, 0) * k)
    _descents_kernel[blocks, threads, stream](x, descents)
    return int(_launch.scalar_to_host(descents, 0, stream))


class Points1D(NamedTuple):
    """The checked points of 1D problems (:func:`points_1d_cuda`): float64 (n, k) copies ``x``, ``y``, ``top`` the
    largest |coordinate|, and the ``stream`` every step of the call runs on."""

    x: object
    y: object
    top: float
    stream: object


def points_1d_cuda(x, y, names, weights=(None, None)) -> Points1D:
    """The first device checks of 1D problems: the points ``x``, ``y`` (NaN, inf; the host's messages), as
    float64 (n, k) copies, on the stream that the caller's arrays name, ``weights`` (the weights the next step
    takes, None or device arrays) included: :func:`inputs_1d_cuda` runs on the same one."""
    stream = _launch.stream_of(x, y, *weights)
    x, y = _launch.wrap(x), _launch.wrap(y)
    x64 = _launch.as_float64_2d(x, stream)
    top_x = _checks.check_points_cuda(x64, x, names[0], stream)
    y64 = _launch.as_float64_2d(y, stream)
    top_y = _checks.check_points_cuda(y64, y, names[1], stream)
    return Points1D(x64, y64, max(top_x, top_y), stream)


def inputs_1d_cuda(points, x, y, wx, wy, names, promised_sorted=False, batch_labels=False) -> Inputs1D:
    """The device checks of 1D problems after :func:`points_1d_cuda` (``points``, whose stream they run on), in the
    host path's order: each side's weights in full (length, then values), then, for values ``promised_sorted``,
    their descents.

    ``x``, ``y`` are the caller's point arrays and ``names`` the four arguments' names, e.g. ``("x_a", "x_b", "a",
    "b")``; ``wx``, ``wy`` are None or (n,) / (n, k) device arrays whose kind and dimensions the front-end checked.
    The weights are judged by ``_validation`` through ``_checks``; the masses and the descents are left to the
    front-end to judge (``_validation.check_mass``, ``judge_unsorted``) before :func:`solve_1d_cuda` or
    :func:`wasserstein_1d_cuda` runs.
    """
    stream = points.stream
    kind = _launch.caller_kind(x, y, wx, wy)
    x64, y64, top = points.x, points.y, points.top
    n, m = int(x64.shape[0]), int(y64.shape[0])
    V.check_weight_length(wx, names[2], n)  # after the points, each side in full: the host's order
    wa, sums_a = _weights_cuda(wx, names[2], n, batch_labels, stream)
    V.check_weight_length(wy, names[3], m)
    wb, sums_b = _weights_cuda(wy, names[3], m, batch_labels, stream)
    descents = (_count_descents(x64, stream), _count_descents(y64, stream)) if promised_sorted else None
    return Inputs1D(x64, y64, wa, wb, sums_a, sums_b, top, descents, stream, kind)


def _cost_exponent(metric: str, p: float) -> float:
    return {"sqeuclidean": 2.0, "euclidean": 1.0, "cityblock": 1.0}.get(metric, p)


def _rescaled(w, factors, m, stream):
    """The b-side weights times one mass factor per problem (the host's ``b * factor``), or ``w`` when all are 1."""
    factors = np.asarray(factors, dtype=np.float64)
    if not np.any(factors != 1.0):
        return w
    count = len(factors)
    out = _launch.empty((m, count), np.float64, stream)
    blocks, threads = _launch.grid_1d(m * count)
    _scale_columns_kernel[blocks, threads, stream](w, cuda.to_device(factors, stream=stream), out)
    return out


def solve_1d_cuda(inputs: Inputs1D, factor, metric, p, want_plan, out_dtype) -> ExactAnswer:
    """1D exact OT between checked CUDA inputs: the GPU twin of ``exact.api``'s host driver (the same tuple).

    Parameters
    ----------
    inputs : Inputs1D
        From :func:`inputs_1d_cuda` (one problem: points (n, 1) and (m, 1)).
    factor : float
        The mass factor of b (``_validation.check_mass``, applied by the front-end's rules).
    metric : {'sqeuclidean', 'euclidean', 'cityblock', 'minkowski'}
    p : float
        Exponent of 'minkowski' (validated by the caller).
    want_plan : bool
        Also build the plan triples and the dual potentials.
    out_dtype : numpy dtype
        The result's dtype (float32 when every input is float32).

    Returns
    -------
    ExactAnswer
        ``value`` a float copied back; ``plan_coo`` a tuple of device arrays of the caller's kind (int64 rows and
        columns, plan values in ``out_dtype``), with ``densify`` and ``marginals`` building the plan and its sums
        on the device; centred ``potential_a`` / ``potential_b`` on the device. None of it raises: the inputs
        were checked.
    """
    stream, kind = inputs.stream, inputs.kind
    xa64, xb64, wa = inputs.x, inputs.y, inputs.wa
    n, m = int(xa64.shape[0]), int(xb64.shape[0])
    wb = _rescaled(inputs.wb, [factor], m, stream)
    e = pow2_exponent(inputs.top)
    scale = math.ldexp(1.0, e)
    power = _cost_exponent(metric, p)
    unit = scale_up(1.0, e, power)
    code = METRIC_CODES[metric]
    keys_a, idx_a = _sort_columns_cuda(xa64, scale, True, stream)
    keys_b, idx_b = _sort_columns_cuda(xb64, scale, True, stream)
    xs, pa = keys_a[0], idx_a[0]
    ys, pb = keys_b[0], idx_b[0]
    cdf_a = _cdf_cuda(_gather_weights_cuda(wa, idx_a, 1, n, stream)[0], stream)
    cdf_b = _cdf_cuda(_gather_weights_cuda(wb, idx_b, 1, m, stream)[0], stream)

    cells = n + m - 1
    bp = _launch.empty(cells, np.float64, stream)
    rows = _launch.empty(cells, np.int64, stream)
    cols = _launch.empty(cells, np.int64, stream)
    kinds = _launch.empty(cells, np.int64, stream)
    blocks, threads = _launch.grid_1d(cells)
    _merge_events_kernel[blocks, threads, stream](cdf_a, cdf_b, bp, rows, cols, kinds)
    mass, contrib, keep, df, dg = (_launch.empty(cells, np.float64, stream) for _ in range(5))
    _merge_cells_kernel[blocks, threads, stream](xs, ys, code, float(p), bp, rows, cols, kinds, mass, contrib,
                                                 keep, df, dg)
    value = scale_up(_sum_to_host(contrib, stream), e, power)
    if not want_plan:
        return ExactAnswer(value=value, shape=(n, m), n_iter=cells)

    # Plan triples: the kept cells, compacted in staircase order.
    position = _scan_cuda(keep, _SCAN_SUM, stream)
    nnz = int(_launch.scalar_to_host(position, cells - 1, stream))
    out_rows = _launch.empty(nnz, np.int64, stream)
    out_cols = _launch.empty(nnz, np.int64, stream)
    out_mass = _launch.empty(nnz, out_dtype, stream)
    _compact_kernel[blocks, threads, stream](keep, position, rows, cols, mass, pa, pb, out_rows, out_cols, out_mass)

    # Duals: prefix sums of the increments along the staircase, in the input order, then centred.
    f_cum = _scan_cuda(df, _SCAN_SUM, stream)
    g_cum = _scan_cuda(dg, _SCAN_SUM, stream)
    f = _launch.empty(n, np.float64, stream)
    g = _launch.empty(m, np.float64, stream)
    _scatter_duals_kernel[blocks, threads, stream](xs, ys, code, float(p), rows, cols, kinds, f_cum, g_cum, pa, pb,
                                                   f, g)
    sums = _launch.empty(4, np.float64, stream)
    _dot_cuda(wa[:, 0], f, sums, 0, stream)
    _dot_cuda(wb[:, 0], g, sums, 1, stream)
    _dot_cuda(wa[:, 0], None, sums, 2, stream)
    _dot_cuda(wb[:, 0], None, sums, 3, stream)
    potentials = []
    for duals, sign in ((f, 1.0), (g, -1.0)):
        out = _launch.empty(duals.shape[0], out_dtype, stream)
        blk, thr = _launch.grid_1d(duals.shape[0])
        _center_kernel[blk, thr, stream](duals, sums, sign, unit, out)
        potentials.append(_launch.to_caller(out, kind))

    coo = tuple(_launch.to_caller(x, kind) for x in (out_rows, out_cols, out_mass))
    return ExactAnswer(value=value, shape=(n, m), n_iter=cells, plan_coo=coo, potential_a=potentials[0],
                       potential_b=potentials[1], densify=densify_cuda(coo, (n, m), stream, kind),
                       marginals=marginals_cuda(coo, (n, m), stream, kind))


def wasserstein_1d_cuda(inputs: Inputs1D, factors, p, require_sort, batched, out_dtype):
    """``W_p^p`` between checked 1D device inputs, one problem or a batch: the twin of ``exact.api.wasserstein_1d``.

    Parameters
    ----------
    inputs : Inputs1D
        From :func:`inputs_1d_cuda`: column ``t`` of the points (and of 2D weights) is problem ``t``.
    factors : array of shape (k,) or (1,)
        The v side's mass factors (``_validation.check_mass`` of each problem, applied by the front-end).
    p : float >= 1
        The ground cost is ``|x - y|^p``.
    require_sort : bool
        When False the values are taken as sorted (the front-end judged ``inputs.descents``).
    batched : bool
        2D values: one problem per column, a device array of values back.
    out_dtype : numpy dtype

    Returns
    -------
    float, or CUDA array of shape (k,)
        A float for one problem (one value copied back; the front-end casts it); for a batch, a device array of
        the caller's kind in ``out_dtype``.
    """
    stream, kind = inputs.stream, inputs.kind
    u64, v64 = inputs.x, inputs.y
    n, m, k = int(u64.shape[0]), int(v64.shape[0]), int(u64.shape[1])
    wv = _rescaled(inputs.wb, factors, m, stream)
    e = pow2_exponent(inputs.top)
    scale = math.ldexp(1.0, e)
    keys_u, idx_u = _sort_columns_cuda(u64, scale, require_sort, stream)
    keys_v, idx_v = _sort_columns_cuda(v64, scale, require_sort, stream)
    ws = _gather_weights_cuda(inputs.wa, idx_u, k, n, stream)
    vs = _gather_weights_cuda(wv, idx_v, k, m, stream)
    unit = scale_up(1.0, e, p)
    if not batched:
        cdf_u = _cdf_cuda(ws[0], stream)
        cdf_v = _cdf_cuda(vs[0], stream)
        cells = n + m - 1
        bp = _launch.empty(cells, np.float64, stream)
        rows = _launch.empty(cells, np.int64, stream)
        cols = _launch.empty(cells, np.int64, stream)
        kinds = _launch.empty(cells, np.int64, stream)
        blocks, threads = _launch.grid_1d(cells)
        _merge_events_kernel[blocks, threads, stream](cdf_u, cdf_v, bp, rows, cols, kinds)
        mass, contrib, keep, df, dg = (_launch.empty(cells, np.float64, stream) for _ in range(5))
        _merge_cells_kernel[blocks, threads, stream](keys_u[0], keys_v[0], POWER, float(p), bp, rows, cols, kinds,
                                                     mass, contrib, keep, df, dg)
        return scale_up(_sum_to_host(contrib, stream), e, p)
    values = _launch.empty(k, np.float64, stream)
    blocks, threads = _launch.grid_1d(k)
    _merge_batch_kernel[blocks, threads, stream](keys_u, ws, keys_v, vs, n, m, POWER, float(p), unit, values)
    out = values
    if out_dtype != np.float64:
        out = _launch.empty(k, out_dtype, stream)
        _cast_kernel[blocks, threads, stream](values, out)
    return _launch.to_caller(out, kind)


@cuda.jit
def _cast_kernel(x, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = x[i]
