"""Scalar bodies shared by the CPU cores and the CUDA kernels of the time-series family (twins).

``frame_cost`` is the cost between frame ``i`` of X and frame ``j`` of Y (rows of (n, d) arrays); ``soft_cell``
one cell of the soft-DTW recursion: the cost plus the smoothed minimum ``-gamma log(e^{-a/gamma} + e^{-b/gamma} +
e^{-c/gamma})`` of its three predecessors, shifted by their minimum so that no exponential overflows whatever gamma
(+inf predecessors count as absent), and the weights that softmin gives each predecessor (the backward pass's
factors).

The exponentials and the logarithm are ``fast_exp`` and ``fast_log`` (straight-line arithmetic on the CPU, so that
a loop over the cells of an anti-diagonal vectorises; CUDA's own ``exp`` and ``log`` on the GPU), and the minimum is
taken with selects, not branches.
"""
from __future__ import annotations

import math

from .._fastexp import fast_exp
from .._jit import twin
from ._fastlog import fast_log

_exp = fast_exp.cpu  # Numba resolves module globals; the CUDA build rebinds _exp to fast_exp.cuda
_log = fast_log.cpu  # likewise to fast_log.cuda

#: metric name -> code passed into the cores
METRIC_CODES = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2}


@twin
def frame_cost(X, i, Y, j, code):
    d = X.shape[1]
    total = 0.0
    if code == 2:
        for k in range(d):
            total += abs(X[i, k] - Y[j, k])
        return total
    for k in range(d):
        diff = X[i, k] - Y[j, k]
        total += diff * diff
    if code == 1:
        return math.sqrt(total)
    return total


@twin(deps={"_exp": fast_exp, "_log": fast_log})
def soft_cell(diag, up, left, cost, gamma):
    """R(i, j) = cost + softmin(R(i-1, j-1), R(i-1, j), R(i, j-1)) and the softmin's normalised weights of those
    three predecessors, ``(value, w_diag, w_up, w_left)``. +inf predecessors get weight exactly 0; when all three
    are +inf (+inf costs can cut a cell off) the value is +inf and the three weights 0. Selects, not ``min()``:
    which predecessor is lowest varies at random, and a branch per cell would stop the vectorisation of a sweep
    over cells. The lowest one's
    exponential is exp(0) = 1, so two exponentials are taken, of the other two (``rest1``, ``rest2``), and the
    three terms are put back in their order (the same sum, bit for bit, as with three)."""
    diag_first = diag < up
    low1 = diag if diag_first else up  # the lower of diag and up
    rest1 = up if diag_first else diag  # the higher
    left_last = low1 < left
    low = low1 if left_last else left
    rest2 = left if left_last else low1
    inv_gamma = 1.0 / gamma  # loop-invariant: hoisted by LLVM
    # all three +inf (a cell cut off by +inf costs): inf - inf would be NaN, so the gaps become 0 (total 3, value
    # cost + inf = +inf) and the weights 0; selects again, no early return
    finite = low < math.inf
    gap1 = low - rest1
    gap2 = low - rest2
    e_rest1 = _exp((gap1 if finite else 0.0) * inv_gamma)
    e_rest2 = _exp((gap2 if finite else 0.0) * inv_gamma)
    e_low1 = e_rest2  # when left is the lowest, low1 is the second of the rest
    e_left = e_rest2
    if left_last:
        e_low1 = 1.0
    else:
        e_left = 1.0
    e_diag = e_low1 if diag_first else e_rest1
    e_up = e_rest1 if diag_first else e_low1
    total = e_diag + e_up + e_left
    inv_total = 1.0 / total if finite else 0.0
    return cost + low - gamma * _log(total), e_diag * inv_total, e_up * inv_total, e_left * inv_total
