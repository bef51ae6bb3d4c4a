"""Scalar bodies shared by the CPU cores and the CUDA kernels of the time-series family (twins).

``frame_cost`` is the cost between frame ``i`` of X and frame ``j`` of Y (rows of (n, d) arrays);
``softmin3`` the smoothed minimum ``-gamma log(e^{-a/gamma} + e^{-b/gamma} + e^{-c/gamma})``, shifted by the
minimum so that no exponential overflows whatever gamma (+inf arguments count as absent).
"""
from __future__ import annotations

import math

from .._fastexp import fast_exp
from .._jit import twin

_exp = fast_exp.cpu  # Numba resolves module globals; the CUDA build rebinds _exp to fast_exp.cuda

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


@twin(deps={"_exp": fast_exp})
def softmin3(a, b, c, gamma):
    low = min(a, min(b, c))
    if low == math.inf:
        return math.inf
    total = _exp((low - a) / gamma) + _exp((low - b) / gamma) + _exp((low - c) / gamma)
    return low - gamma * math.log(total)
