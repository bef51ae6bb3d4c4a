"""The softmin of one row, the body every Sinkhorn variant is built from (CPU cores, and CUDA kernels later).

``softmin_row(C, i, h, inv_eps)`` returns ``log sum_j exp(h[j] - C[i, j] * inv_eps)``, the log-sum-exp that a
log-domain Sinkhorn half-step takes per row; two passes over the row (its maximum, then the sum of shifted
exponentials), which stay in cache for any practical row length. Rows whose terms are all ``-inf`` (every cost
+inf, or every weight zero) return ``-inf``.
"""
from __future__ import annotations

import math

from .._jit import twin


@twin
def softmin_row(C, i, h, inv_eps):
    m = C.shape[1]
    top = -math.inf
    for j in range(m):
        t = h[j] - C[i, j] * inv_eps
        if t > top:
            top = t
    if top == -math.inf:
        return -math.inf
    total = 0.0
    for j in range(m):
        total += math.exp(h[j] - C[i, j] * inv_eps - top)
    return top + math.log(total)
