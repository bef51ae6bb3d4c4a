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
``inv_eps``, ``h`` and ``shift`` take float32 exponentials. ``softmin_row_shifted`` sums them in float32 by blocks of
``BLOCK`` entries (positive terms: a block's relative rounding, ~1e-8 on average at n = 5000, is below the float32
exponential's own), the blocks in float64: the whole loop then runs at the float32 SIMD width.
Measured at n = 5000 (session 14, one thread, Intel Xeon with AVX-512): 15 ms per float32 half-step, against 65 ms
with a float64 sum of every entry (which kept the loop at four lanes) and 38 ms in float64; reading the row alone
takes 12 ms.
"""
from __future__ import annotations

import math

import numpy as np

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


#: Entries summed in the row's dtype before the partial sum joins the float64 total (``softmin_row_shifted``); 64,
#: 128, 256, 512: 18.6, 15.4, 15.5, 16.0 ms per float32 half-step at n = 5000 (the smaller, the more accurate).
BLOCK = 128


@twin(deps={"_exp": fast_exp})
def softmin_row_shifted(C, i, h, inv_eps, shift):
    m = C.shape[1]
    # blocks of BLOCK entries summed in the terms' dtype (float32 rows: full SIMD width), then in float64. The block
    # index j = b * BLOCK + l is non-negative by construction, which lets LLVM load the row contiguously (an index
    # it cannot prove non-negative, as range(j0, j1) gives, makes it gather the entries one by one)
    zero = shift - shift  # 0 in the shift's dtype; NaN for an infinite shift, which the check below refuses anyway
    total = 0.0
    n_blocks = m // BLOCK
    for b in range(n_blocks):
        part = zero
        for l in range(BLOCK):
            j = b * BLOCK + l
            part += _exp(h[j] - C[i, j] * inv_eps - shift)
        total += part
    # the tail: an unsigned index, which Numba does not wrap around either (range(n_blocks * BLOCK, m) would gather:
    # rows shorter than a block, m = 64 in float64, ran at half speed)
    part = zero
    start = np.uint64(n_blocks * BLOCK)
    for l in range(m - n_blocks * BLOCK):
        j = start + np.uint64(l)
        part += _exp(h[j] - C[i, j] * inv_eps - shift)
    total += part
    if total > 1e-30 and total < 1e30:  # False for NaN too (shift = +-inf, or a NaN in the row)
        return shift + math.log(total)
    return math.nan
