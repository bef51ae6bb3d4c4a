"""Host-side sorting for the 1D solvers.

numpy's sorts (SIMD quicksort) are 4-10x faster than the ones Numba compiles and release the GIL, so the two
measures of a problem are sorted on two host threads at once above ``_config.PARALLEL_SORT_MIN`` points.

A weighted measure needs its weights in sorted order too. ``np.argsort`` followed by two gathers costs ~60 ms at
n = 1e6 here; ``_packed_order`` gets the same in ~30 ms by sorting plain uint64 words (numpy's fastest sort) that
hold an order-preserving image of the value in their high bits and the point's index in their low bits. The few
values whose truncated images collide are then put in exact order by a bounded insertion pass; when collisions
are long (many values equal to ~1e-13 relative but not exactly equal), it falls back to ``np.argsort``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _config
from .._jit import cpu_jit

#: Below this many points ``np.argsort`` is as fast as the packed sort.
PACKED_MIN = 4096
#: Longest run of colliding truncated keys that the insertion pass repairs; longer runs fall back to argsort.
MAX_COLLISION_RUN = 64

_pool = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="numbaot-sort")
    return _pool


def _forget_pool_after_fork() -> None:
    # A forked child inherits the pool object but not its threads: waiting on it would hang forever.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


@cpu_jit
def _pack_keys(x, w, shift, keys, xw):
    """``keys[i]``: the order-preserving uint64 image of ``x[i]`` with its low ``shift`` bits replaced by ``i``;
    ``xw`` interleaves values and weights so that the gather after the sort misses the cache once per point."""
    bits = x.view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    for i in range(x.shape[0]):
        u = bits[i]
        u = ~u if u & sign else u | sign  # negatives: flip all bits; positives: set the sign bit
        keys[i] = ((u >> shift) << shift) | np.uint64(i)
        xw[i, 0] = x[i]
        xw[i, 1] = w[i]


@cpu_jit
def _unpack(keys, shift, xw, xs, ws, perm):
    """Gather values, weights and indices in key order; repair collisions. Returns False if it had to give up."""
    n = keys.shape[0]
    mask = (np.uint64(1) << shift) - np.uint64(1)
    descents = 0
    run = 1
    longest = 1
    for k in range(n):
        idx = np.int64(keys[k] & mask)
        perm[k] = idx
        xs[k] = xw[idx, 0]
        ws[k] = xw[idx, 1]
        if k > 0:
            if (keys[k] >> shift) == (keys[k - 1] >> shift):
                run += 1
                longest = max(longest, run)
            else:
                run = 1
            if xs[k] < xs[k - 1]:
                descents += 1
    if descents == 0:
        return True
    if longest > MAX_COLLISION_RUN:
        return False
    # insertion sort: an element moves back at most within its run of colliding keys
    for k in range(1, n):
        v = xs[k]
        if v < xs[k - 1]:
            wv = ws[k]
            pv = perm[k]
            t = k
            while t > 0 and xs[t - 1] > v:
                xs[t] = xs[t - 1]
                ws[t] = ws[t - 1]
                perm[t] = perm[t - 1]
                t -= 1
            xs[t] = v
            ws[t] = wv
            perm[t] = pv
    return True


def _packed_order(x, w):
    """Sorted ``(values, weights, permutation)`` of one 1D float64 measure; see the module docstring."""
    n = x.shape[0]
    shift = np.uint64(max(1, (n - 1).bit_length()))
    keys = np.empty(n, dtype=np.uint64)
    xw = np.empty((n, 2))
    _pack_keys(x, w, shift, keys, xw)
    keys.sort()
    xs = np.empty(n)
    ws = np.empty(n)
    perm = np.empty(n, dtype=np.int64)
    if _unpack(keys, shift, xw, xs, ws, perm):
        return xs, ws, perm
    perm = np.argsort(x)
    return x[perm], w[perm], perm


def _order(values, weights, need_perm):
    """Sorted values (and weights, and the permutation when asked) of one measure; rows of 2D inputs sort apart.

    ``weights`` is None (nothing travels with the sort), of the values' shape, or 1D and shared by every row.
    """
    if weights is None and not need_perm:
        return np.sort(values, axis=-1), None, None
    size = values.shape[-1]
    if PACKED_MIN <= size < 2**40:
        w = np.zeros(size) if weights is None else weights
        if values.ndim == 1:
            return _packed_order(values, w)
        parts = [_packed_order(row, w if w.ndim == 1 else w[r]) for r, row in enumerate(values)]
        return tuple(np.stack(part) for part in zip(*parts))
    perm = np.argsort(values, axis=-1)
    xs = np.take_along_axis(values, perm, axis=-1)
    if weights is None:
        return xs, None, perm
    ws = np.take_along_axis(weights, perm, axis=-1) if weights.ndim == values.ndim else weights[perm]
    return xs, ws, perm


def sort_pair(x, wx, y, wy, need_perm: bool, threads: int):
    """Sort both measures, on two threads when they are large and ``threads > 1``.

    ``x`` (n,) or (k, n); ``wx`` None (uniform: the caller fills it), (n,) shared, or like ``x``.
    Returns ``(xs, wxs, px), (ys, wys, py)``; permutations are None unless ``need_perm`` or weights travel.
    """
    if threads > 1 and x.size + y.size >= _config.PARALLEL_SORT_MIN:
        pool = _executor()
        fx = pool.submit(_order, x, wx, need_perm)
        fy = pool.submit(_order, y, wy, need_perm)
        return fx.result(), fy.result()
    return _order(x, wx, need_perm), _order(y, wy, need_perm)
