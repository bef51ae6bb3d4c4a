"""Host-side sorting for the 1D solvers.

numpy's sorts (SIMD quicksort / argsort) are 4-10x faster than the ones Numba compiles, and they release the GIL, so
the two measures of a problem are sorted on two host threads at once above ``_config.PARALLEL_SORT_MIN`` points.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _config

_pool = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="numbaot-sort")
    return _pool


def _order(values, weights, need_perm):
    """Sorted values (and weights, and the permutation when asked) of one measure; rows of 2D inputs sort apart."""
    if weights is None and not need_perm:
        return np.sort(values, axis=-1), None, None
    perm = np.argsort(values, axis=-1)
    xs = np.take_along_axis(values, perm, axis=-1)
    ws = None if weights is None else np.take_along_axis(weights, perm, axis=-1) if weights.ndim == values.ndim \
        else weights[perm]
    return xs, ws, perm


def sort_pair(x, wx, y, wy, need_perm: bool, threads: int):
    """Sort both measures, on two threads when they are large and ``threads > 1``.

    ``x`` (n,) or (k, n); ``wx`` None (uniform: the caller fills it), (n,) for 1D ``x``, or (k, n).
    Returns ``(xs, wxs, px), (ys, wys, py)``; permutations are None unless ``need_perm``.
    """
    if threads > 1 and x.size + y.size >= _config.PARALLEL_SORT_MIN:
        pool = _executor()
        fx = pool.submit(_order, x, wx, need_perm)
        fy = pool.submit(_order, y, wy, need_perm)
        return fx.result(), fy.result()
    return _order(x, wx, need_perm), _order(y, wy, need_perm)
