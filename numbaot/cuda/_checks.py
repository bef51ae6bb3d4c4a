"""Input checks of the CUDA path, computed by reductions on the device.

The host checks in ``numbaot._validation`` need only a few scalars per array (``WeightStats``; the first non-finite
entry of a point cloud). Here each block reduces its slice of the array to those scalars, the small per-block arrays
are copied back, and the host finishes the reduction and applies the very same ``judge_weights`` / ``check_mass``
rules, so that a GPU input gets the same ValueError text as a host one. A whole input array is never copied to the
host; only per-block partials and, for an error message, the one offending entry.

The functions at the end are whole dispatch steps (``_dispatch``: ``sta.frames``, ``sta.clouds.points``,
``timeseries.series``, ``timeseries.collection``, ``dist.points``, ``dist.norms``, ``entropic_partial.weights``,
``entropic_partial.costs``, ``sinkhorn.weights``, ``sinkhorn.costs``, ``sinkhorn.potentials``, ``gromov.matrix``,
``gromov.minimum``): a front-end calls
them before a driver, which then takes the checked float64 copies (and, for dense Sinkhorn, the costs' layouts)
they return.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import cuda, float64

from .. import _validation as V
from . import _launch

#: Index that stands for "none" in argmin / first-index reductions (larger than any real index).
NO_INDEX = np.iinfo(np.int64).max

_BUF = _launch.MAX_THREADS_PER_BLOCK


# -------------------------------------------------------------------------------------------------- weights
@cuda.jit
def _weight_stats_kernel(w, n_bad, first_bad, min_value, argmin, total, abs_total):
    """Per-block ``WeightStats`` fields of the columns of ``w`` (n, k); outputs are (k, blocks per column).

    The block loads its slice into shared memory (coalesced reads), then one thread folds it serially: a single
    barrier, and sums that round like the host's serial loops. The grid is flat (a y dimension would cap k at
    65535): block ``b`` serves column ``b // blocks_per_column``.
    """
    buf = cuda.shared.array(_BUF, float64)
    per_col = n_bad.shape[1]
    col = cuda.blockIdx.x // per_col
    blk = cuda.blockIdx.x - col * per_col
    start = blk * cuda.blockDim.x
    tid = cuda.threadIdx.x
    i = start + tid
    if i < w.shape[0] and col < w.shape[1]:
        buf[tid] = w[i, col]
    cuda.syncthreads()
    if tid == 0 and col < n_bad.shape[0]:
        bad = 0
        first = NO_INDEX
        low = math.inf
        low_at = NO_INDEX
        s = 0.0
        s_abs = 0.0
        for k in range(min(cuda.blockDim.x, w.shape[0] - start)):
            x = buf[k]
            if math.isfinite(x):
                if x < low:  # strict: the first index of the minimum wins, as with numpy's argmin
                    low = x
                    low_at = start + k
                s += x
                s_abs += abs(x)
            else:
                if bad == 0:
                    first = start + k
                bad += 1
        n_bad[col, blk] = bad
        first_bad[col, blk] = first
        min_value[col, blk] = low
        argmin[col, blk] = low_at
        total[col, blk] = s
        abs_total[col, blk] = s_abs


def weight_stats_cuda(w, stream) -> list:
    """``WeightStats`` of every column of a float64 device array ``w`` of shape (n, k).

    Non-finite entries are left out of the sums (a weight vector with any is refused before its sum is used).
    """
    n, k = int(w.shape[0]), int(w.shape[1])
    blocks, threads = _launch.grid_1d(n)
    outs = [_launch.empty((k, blocks), dt, stream) for dt in (np.int64, np.int64, np.float64, np.int64,
                                                               np.float64, np.float64)]
    _weight_stats_kernel[blocks * k, threads, stream](w, *outs)
    bad, first, low, low_at, total, abs_total = (_launch.small_to_host(o, stream) for o in outs)
    stats = []
    for t in range(k):
        # Finish on the host: the first block holding the minimum wins ties, as numpy's argmin does.
        b = int(np.argmin(low[t]))
        has_finite = low_at[t, b] != NO_INDEX
        stats.append(V.WeightStats(
            n_nonfinite=int(bad[t].sum()),
            first_nonfinite=int(first[t].min()) if bad[t].sum() else -1,
            min_value=float(low[t, b]) if has_finite else math.nan,
            argmin=int(low_at[t, b]) if has_finite else 0,
            total=float(np.sum(total[t])),
            abs_total=float(np.sum(abs_total[t])),
        ))
    return stats


@cuda.jit
def _clip_kernel(w):
    """Float-noise negatives to zero, in place, on a (n, k) array."""
    t = cuda.grid(1)
    k = w.shape[1]
    if t < w.shape[0] * k:
        i = t // k
        c = t - i * k
        if w[i, c] < 0.0:
            w[i, c] = 0.0


def check_weight_columns(w, original, labels, stream) -> np.ndarray:
    """Validate each column of the float64 device copy ``w`` (n, k) of the caller's weights ``original``.

    Applies ``_validation.judge_weights`` (items 1, 2, 5, 16) with the column's label; noise negatives are clipped
    in ``w`` in place. Returns the column sums after clipping (k,), for ``check_mass``.
    """
    stats = weight_stats_cuda(w, stream)
    clip = False
    for t, (st, label) in enumerate(zip(stats, labels)):
        bad_value = None
        if st.n_nonfinite:
            bad_value = _entry(original, st.first_nonfinite, t, stream)
        clip = V.judge_weights(st, label, bad_value) or clip
    if clip:
        blocks, threads = _launch.grid_1d(w.shape[0] * w.shape[1])
        _clip_kernel[blocks, threads, stream](w)
        stats = weight_stats_cuda(w, stream)
    return np.array([st.total for st in stats], dtype=np.float64)


def _entry(x, i, col, stream):
    """One entry of the caller's (n,) or (n, k) array, in its own dtype, for an error message."""
    row = x if x.ndim == 1 else x[:, col]
    return _launch.scalar_to_host(row, i, stream)


# -------------------------------------------------------------------------------------------------- points
@cuda.jit
def _finite_stats_kernel(x, n_bad, first_bad, max_abs):
    """Per block of the flattened (C order) (n, d) array: non-finite count, first such index, max |x| of the rest.

    Loaded into shared memory, folded by one thread (see ``_weight_stats_kernel``).
    """
    buf = cuda.shared.array(_BUF, float64)
    d = x.shape[1]
    size = x.shape[0] * d
    start = cuda.blockIdx.x * cuda.blockDim.x
    tid = cuda.threadIdx.x
    t = start + tid
    if t < size:
        i = t // d
        buf[tid] = x[i, t - i * d]
    cuda.syncthreads()
    if tid == 0:
        bad = 0
        first = NO_INDEX
        top = 0.0
        for k in range(min(cuda.blockDim.x, size - start)):
            v = buf[k]
            if math.isfinite(v):
                top = max(top, abs(v))
            else:
                if bad == 0:
                    first = start + k
                bad += 1
        n_bad[cuda.blockIdx.x] = bad
        first_bad[cuda.blockIdx.x] = first
        max_abs[cuda.blockIdx.x] = top


def point_stats_cuda(x, stream):
    """``(n_nonfinite, first_nonfinite_flat_index, max_abs_finite)`` of a float64 (n, d) device array."""
    size = int(x.shape[0]) * int(x.shape[1])
    blocks, threads = _launch.grid_1d(size)
    n_bad = _launch.empty(blocks, np.int64, stream)
    first = _launch.empty(blocks, np.int64, stream)
    top = _launch.empty(blocks, np.float64, stream)
    _finite_stats_kernel[blocks, threads, stream](x, n_bad, first, top)
    n_bad, first, top = (_launch.small_to_host(o, stream) for o in (n_bad, first, top))
    count = int(n_bad.sum())
    return count, (int(first.min()) if count else -1), float(top.max())


def check_points_cuda(x, original, name: str, stream) -> float:
    """Refuse NaN or inf in a point array, with ``_validation.check_finite``'s message; return ``max |x|``.

    ``x`` is the float64 (n, d) device copy of the caller's array ``original`` ((n,) or (n, d)): the message
    names the entry as the caller indexes it.
    """
    count, first, top = point_stats_cuda(x, stream)
    if count:
        d = int(x.shape[1])
        i, k = divmod(first, d)
        if original.ndim == 1:
            index, value = i, _launch.scalar_to_host(original, i, stream)
        else:
            index, value = (i, k), _launch.scalar_to_host(original[i], k, stream)
        V.judge_nonfinite_entry(name, index, value)
    return top


# ------------------------------------------------------------------------------------------ series of frames
@cuda.jit
def _as_float64_3d_kernel(x, out):
    """``out[t n + i, d] = x[t, i, d]`` (float64, C-contiguous)."""
    s = cuda.grid(1)
    T, n, k = x.shape
    if s < T * n * k:
        t = s // (n * k)
        r = s - t * n * k
        i = r // k
        d = r - i * k
        out[t * n + i, d] = x[t, i, d]


def clouds_cuda(X, name: str, stream):
    """The float64 C-contiguous device copy (T, n, k) of a 3D device array (STA's point clouds, a frame per cloud;
    soft-DTW's collections of equal-length series), refusing NaN and inf with the host's message
    (``_validation.check_finite``: the entry as the caller indexes it). A dispatch step of the front-ends
    (``sta.clouds.points``, ``timeseries.collection``), before the driver runs."""
    x = _launch.wrap(X)
    T, n, k = (int(s) for s in x.shape)
    flat = _launch.empty((T * n, k), np.float64, stream)
    blocks, threads = _launch.grid_1d(T * n * k)
    _as_float64_3d_kernel[blocks, threads, stream](x, flat)
    count, first, _ = point_stats_cuda(flat, stream)
    if count:
        t, r = divmod(first, n * k)
        i, d = divmod(r, k)
        V.judge_nonfinite_entry(name, (t, i, d), _launch.scalar_to_host(flat.reshape(T * n * k), first, stream))
    return flat.reshape(T, n, k)


def frames_cuda(X, name: str, stream):
    """The frames (rows) of a (T, N) device array of histograms as a float64 C-contiguous device copy, each frame
    checked as the host checks it (``_validation.check_weights`` with the label ``name[t]``: finite, non-negative,
    float-noise negatives clipped), and their masses (T,) on the host, for the front-end to judge
    (``_validation.check_frame_masses``). A dispatch step of ``sta``'s and ``sta_barycenter``'s front-end."""
    x = _launch.wrap(X)
    T = int(x.shape[0])
    cols = _launch.as_float64_2d(x.T, stream)  # (N, T): a frame per column
    masses = check_weight_columns(cols, x.T, [f"{name}[{t}]" for t in range(T)], stream)
    return _launch.as_float64_2d(cols.T, stream), masses


def series_cuda(X, name: str, stream):
    """The float64 C-contiguous (n, d) device copy of a device series or point cloud ((n,) read as (n, 1), or
    (n, d)), refusing NaN and inf with the host's message (``check_points_cuda``). A dispatch step of the soft-DTW
    front-ends (``timeseries.series``), of ``numbaot.dist`` (``dist.points``) and of the GW tensor product
    (``gromov.matrix``)."""
    x = _launch.wrap(X)
    x64 = _launch.as_float64_2d(x, stream)
    check_points_cuda(x64, x, name, stream)
    return x64


# ------------------------------------------------------------------------------------------ dist: cosine norms
@cuda.jit
def _row_norms_kernel(X, norms):
    i = cuda.grid(1)
    if i < X.shape[0]:
        acc = 0.0
        for k in range(X.shape[1]):
            acc += X[i, k] * X[i, k]
        norms[i, 0] = math.sqrt(acc)


def row_norms_cuda(X, stream):
    """The row norms (n, 1) of a float64 (n, d) device array (``series_cuda``'s copy), and their smallest value and
    its first row on the host: the ``dist.norms`` dispatch step of ``numbaot.dist`` with 'cosine', whose front-end
    refuses a zero row (``_validation.judge_zero_row``, ``_costs.cosine_norms``'s message) before the driver."""
    norms = _launch.empty((X.shape[0], 1), np.float64, stream)
    blocks, threads = _launch.grid_1d(X.shape[0])
    _row_norms_kernel[blocks, threads, stream](X, norms)
    stats = weight_stats_cuda(norms, stream)[0]
    return norms, stats.min_value, stats.argmin


# ------------------------------------------------------------------------------------- GW structure matrices
def minimum_cuda(X, stream):
    """The smallest entry of a finite float64 C-contiguous (n, d) device array (``series_cuda``'s copy) and its
    first position ``(i, k)`` in C order, on the host: the ``gromov.minimum`` dispatch step, by which the
    tensor product's front-end refuses a negative structure matrix under 'kl_loss'
    (``_validation.judge_negative_structure``) before the driver."""
    n, d = int(X.shape[0]), int(X.shape[1])
    stats = weight_stats_cuda(X.reshape(n * d, 1), stream)[0]  # the flat argmin: numpy's first-index tie rule
    return stats.min_value, divmod(stats.argmin, d)


# ------------------------------------------------------------------------------------ entropic partial inputs
def weights_cuda(w, name: str, n: int, stream):
    """The float64 (n, 1) device copy of device weights ``w`` ((n,), shape checked by the front-end; None: uniform),
    checked as ``_validation.check_weights`` checks them (``check_weight_columns``: the host's messages, noise
    negatives clipped), and their mass on the host. The ``entropic_partial.weights`` dispatch step; the front-end
    judges the mass (``check_transported_mass``)."""
    if w is None:
        return cuda.to_device(np.full((n, 1), 1.0 / n), stream=stream), float(np.sum(np.full(n, 1.0 / n)))
    w = _launch.wrap(w)
    w64 = _launch.as_float64_2d(w, stream)
    return w64, float(check_weight_columns(w64, w, [name], stream)[0])


@cuda.jit
def _cost_lines_kernel(C, w, transpose, first_nan, first_neginf, empty):
    """Per row (``transpose``: column) t of C: the first NaN and -inf entry along it (-1: none) and whether it has
    weight (``w[t, 0] > 0``) but no finite cost."""
    t = cuda.grid(1)
    lines = C.shape[1] if transpose else C.shape[0]
    if t < lines:
        length = C.shape[0] if transpose else C.shape[1]
        nan_at, neginf_at, finite = -1, -1, False
        for k in range(length):
            v = C[k, t] if transpose else C[t, k]
            if v != v:
                if nan_at < 0:
                    nan_at = k
            elif v == -math.inf:
                if neginf_at < 0:
                    neginf_at = k
            elif v != math.inf:
                finite = True
        first_nan[t] = nan_at
        first_neginf[t] = neginf_at
        empty[t] = 1 if (not finite and w[t, 0] > 0.0) else 0


def cost_lines_cuda(M, wa, wb, stream):
    """The float64 C-contiguous (n, m) device copy C of device costs ``M``, and what ``check_cost_matrix`` needs,
    on the host: per row the first NaN and -inf column (-1: none), per row and column whether it has weight in
    ``wa`` / ``wb`` (``weights_cuda``'s copies) but no finite cost. The ``entropic_partial.costs`` dispatch step;
    the front-end judges them (``_validation.judge_cost_rows``, in the host's order)."""
    C = _launch.as_float64_2d(_launch.wrap(M), stream)
    stats = []
    for w, lines, transpose in ((wa, int(C.shape[0]), False), (wb, int(C.shape[1]), True)):
        outs = [_launch.empty(lines, dt, stream) for dt in (np.int64, np.int64, np.int8)]
        blocks, threads = _launch.grid_1d(lines)
        _cost_lines_kernel[blocks, threads, stream](C, w, transpose, *outs)
        stats.append([_launch.small_to_host(x, stream) for x in outs])
    (nan_r, neginf_r, empty_r), (_, _, empty_c) = stats
    return C, nan_r, neginf_r, empty_r, empty_c


# ------------------------------------------------------------------------------------ dense Sinkhorn inputs
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


_flat = _launch.launch_flat


def batch_weights_cuda(w, name: str, B: int, n: int, stream):
    """The float64 (n, B) device copy of the weights of B dense problems (``w`` None: uniform; (n,): shared by
    every problem; (B, n): a row per problem, shapes checked by the front-end), each column checked as
    ``_validation.check_weights`` checks it (``check_weight_columns``: the host's messages, labels ``name`` or
    ``name[k]``, noise negatives clipped), and the masses (B,) on the host, for the front-end to judge
    (``check_mass`` / ``check_batch_sums``). The ``sinkhorn.weights`` dispatch step of the dense Sinkhorn family."""
    if w is None:
        out = _launch.empty((n, B), np.float64, stream)
        out_host = np.full((n, B), 1.0 / n)
        out.copy_to_device(out_host, stream=stream)
        return out, np.full(B, float(np.sum(out_host[:, 0])))
    w = _launch.wrap(w)
    if w.ndim == 1:
        w64 = _launch.as_float64_2d(w, stream)  # (n, 1)
        sums = check_weight_columns(w64, w, [name], stream)
        if B > 1:  # shared by every problem
            shared = _launch.empty((n, B), np.float64, stream)
            _flat(_broadcast_kernel, n * B, stream, w64, shared)
            return shared, np.full(B, sums[0])
        return w64, sums
    w64 = _launch.as_float64_2d(w, stream)  # (B, n) float64
    cols = _launch.empty((n, B), np.float64, stream)
    _flat(_transpose_kernel, B * n, stream, w64, cols)
    return cols, check_weight_columns(cols, w.T, [f"{name}[{k}]" for k in range(B)], stream)


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
def _cost_rows_kernel(X, w, n, first_nan, first_neginf, empty, low, high):
    """Per row t = k n + i of ``X`` (B n, m): first NaN column, first -inf column, and whether the row has weight
    (``w[i, k] > 0``) but no finite cost (``check_cost_matrix``'s rules, one thread per row); ``low``, ``high``:
    the row's smallest and largest finite cost (+inf and -inf when it has none), for the spread of epsilon
    scaling."""
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
        empty[t] = 1 if (hi == -math.inf and w[i, k] > 0.0) else 0
        low[t] = lo
        high[t] = hi


class DenseCosts(NamedTuple):
    """The ``sinkhorn.costs`` step's answer: the two layouts ``Y`` (m, B n) and ``Z`` (n, B m) of the costs in
    the compute dtype (see ``cuda.sinkhorn``'s docstring), ``check_cost_matrix``'s statistics per problem on the
    host, (B, n) or (B, m): ``first_nan``, ``first_neginf`` (per row, -1: none), ``rows_empty``, ``cols_empty``
    (weight but no finite cost), and the spread (B,) of each problem's finite costs (NaN when it has none)."""

    Y: object
    Z: object
    first_nan: np.ndarray
    first_neginf: np.ndarray
    rows_empty: np.ndarray
    cols_empty: np.ndarray
    spread: np.ndarray


def dense_costs_cuda(M, wa, wb, out_dtype, stream) -> DenseCosts:
    """The costs ``M`` ((n, m), or (B, n, m) for a batch) of dense Sinkhorn in the driver's two layouts, and the
    statistics the front-end judges with ``_validation.judge_cost_rows`` (per problem, in the host's order);
    ``wa`` (n, B) and ``wb`` (m, B) are ``batch_weights_cuda``'s copies. The ``sinkhorn.costs`` dispatch step.
    For one problem, ``Z`` is M itself when M is C-contiguous in the compute dtype."""
    M = _launch.wrap(M)
    if M.ndim == 3:
        B, n, m = (int(s) for s in M.shape)
        Y = _launch.empty((m, B * n), out_dtype, stream)
        Z = _launch.empty((n, B * m), out_dtype, stream)
        _flat(_layout_kernel, B * n * m, stream, M, Z, Y)
    else:
        B, (n, m) = 1, (int(s) for s in M.shape)
        Y = _launch.empty((m, n), out_dtype, stream)
        reuse = np.dtype(M.dtype) == np.dtype(out_dtype) and M.is_c_contiguous()
        Z = M if reuse else _launch.empty((n, m), out_dtype, stream)
        _flat(_layout_2d_kernel, n * m, stream, M, Z, Y, not reuse)
    stats = []
    for X, w, lines in ((Y.T, wa, n), (Z.T, wb, m)):
        outs = [_launch.empty(B * lines, dt, stream) for dt in (np.int64, np.int64, np.int8, X.dtype, X.dtype)]
        _flat(_cost_rows_kernel, B * lines, stream, X, w, lines, *outs)
        stats.append([_launch.small_to_host(x, stream).reshape(B, lines) for x in outs])
    (nan_r, neginf_r, empty_r, low_r, high_r), (_, _, empty_c, _, _) = stats
    with np.errstate(invalid="ignore"):  # a problem without a finite cost is refused by the front-end
        spread = high_r.astype(np.float64).max(axis=1) - low_r.astype(np.float64).min(axis=1)
    return DenseCosts(Y, Z, nan_r, neginf_r, empty_r, empty_c, spread)
