"""The softmin of one row, the body every Sinkhorn variant is built from (CPU cores and CUDA kernels).

``softmin_row(C, i, h, inv_eps)`` returns ``log sum_j exp(h[j] - C[i, j] * inv_eps)``, the log-sum-exp that a
log-domain Sinkhorn half-step takes per row: two passes over the row (its maximum, then the sum of shifted
exponentials). Rows whose terms are all ``-inf`` (every cost +inf, or every weight zero) return ``-inf``.

``softmin_row_shifted(C, i, h, inv_eps, shift)`` is the one-pass version for when a good guess ``shift`` of the
answer is known (the previous iterate's value, in Sinkhorn): ``shift + log sum_j exp(h[j] - C[i, j] * inv_eps -
shift)``. It skips the maximum pass, so it reads the row once; it returns NaN when the guess is so far off that the
sum leaves ``[1e-30, 1e30]`` (accuracy could suffer, or terms overflow), and the caller then takes the two-pass
``softmin_row``. The bound suits float32 rows too (float32 exponentials underflow below about 1e-38).

Both use ``fast_exp`` (``numbaot._fastexp``), which LLVM vectorises on the CPU; float32 rows with a float32
``inv_eps``, ``h`` and ``shift`` take float32 exponentials, summed in float64. That halves the memory read but,
measured at n = 5000 (session 13, one thread, AMD EPYC), does not make a row faster: the float64 sum keeps the loop
at four lanes (63 ms per float32 half-step against 39 ms in float64).
"""
from __future__ import annotations

import math

from .._fastexp import fast_exp
from .._jit import twin

_exp = fast_exp.cpu  # Numba resolves module globals; the CUDA build rebinds _exp to fast_exp.cuda


@twin(deps={"_exp": fast_exp})
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
        total += _exp(h[j] - C[i, j] * inv_eps - top)
    return top + math.log(total)


@twin(deps={"_exp": fast_exp})
def softmin_row_shifted(C, i, h, inv_eps, shift):
    m = C.shape[1]
    total = 0.0
    for j in range(m):
        total += _exp(h[j] - C[i, j] * inv_eps - shift)
    if total > 1e-30 and total < 1e30:  # False for NaN too (shift = +-inf, or a NaN in the row)
        return shift + math.log(total)
    return math.nan
