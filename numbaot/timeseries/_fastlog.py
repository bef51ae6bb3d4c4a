"""A natural logarithm that LLVM can vectorise, for the soft-DTW sweeps (a twin: ``fast_log.cpu`` and
``fast_log.cuda``), float64 only.

Why: ``math.log`` compiles to a call into libm, which LLVM cannot vectorise, and soft-DTW takes one log per cell of
its (n, m) table. Here ``x = 2**e * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` read from the bits of x (LLVM
bitcasts, no memory), and ``log(m) = 2 atanh(s) = 2 (s + s^3 / 3 + s^5 / 5 + ...)`` with ``s = (m - 1) / (m + 1)``,
``|s| <= 0.1716``: eleven terms of that series (Horner in ``s^2``) leave a truncation error below ``s^2^11 / 23``,
under 1e-17 relative. ``log(x) = e ln 2 + log(m)`` with ln 2 split in two so that ``e ln 2`` is exact to the last
bit. Every step is straight-line arithmetic and selects, so a loop of ``fast_log`` calls becomes SIMD code.

Accuracy: within 2 ulp of ``math.log`` over the whole float64 range (``tests/timeseries/test_fastlog.py`` measures
it, subnormals included); ``log(0) = -inf``, ``log(inf) = inf``, ``log(x < 0) = log(nan) = nan`` as usual.

On the GPU ``fast_log.cuda`` is CUDA's own ``log``.
"""
from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import cpu_jit

_LN2_HI = 6.93147180369123816490e-01  # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with 32 significant bits: e * _LN2_HI exact
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_TWO54 = 18014398509481984.0  # 2**54: lifts subnormals into the normal range
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000  # exponent bits of 1.0


@intrinsic
def _float_as_bits(typingctx, x):
    """The bits of a float64 as an int64 (an LLVM bitcast)."""
    if x == types.float64:
        return types.int64(types.float64), lambda ctx, builder, sig, args: builder.bitcast(args[0], ir.IntType(64))
    return None


@intrinsic
def _bits_as_float(typingctx, bits):
    """The float64 whose bits are the int64 ``bits`` (an LLVM bitcast)."""
    if bits == types.int64:
        return types.float64(types.int64), lambda ctx, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())
    return None


@cpu_jit(fastmath={"contract"}, error_model="numpy")  # FMAs yes, reassociation no (it would undo the split ln 2)
def _fast_log_cpu(x):
    tiny = x < 2.2250738585072014e-308
    xs = x * _TWO54 if tiny else x
    bits = _float_as_bits(xs)
    # the exponent through int32: AVX2 converts int32 lanes to doubles, not int64 ones
    e = types.int32(bits >> 52) - types.int32(1023)
    if tiny:
        e -= types.int32(54)
    m = _bits_as_float((bits & _MANTISSA) | _ONE_BITS)  # [1, 2)
    if m > _SQRT2:
        m *= 0.5
        e += types.int32(1)
    f = m - 1.0  # exact
    s = f / (m + 1.0)
    z = s * s
    p = 1.0 / 23.0
    p = p * z + 1.0 / 21.0
    p = p * z + 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    two_s = 2.0 * s
    log_m = two_s + two_s * (z * p)
    k = types.float64(e)
    y = k * _LN2_HI + (k * _LN2_LO + log_m)
    if x == 0.0:
        y = -math.inf
    if x == math.inf:
        y = x
    if not x >= 0.0:  # negative or NaN
        y = math.nan
    return y


class _FastLog:
    """``fast_log.cpu(x)``: the vectorisable logarithm (float64); ``fast_log.cuda``: CUDA's ``log``. Twins name it
    in ``deps`` so that their CUDA build calls the device one."""

    def __init__(self):
        self.cpu = _fast_log_cpu
        self._cuda = None

    @property
    def cuda(self):
        if self._cuda is None:
            from numba import cuda

            def fast_log_cuda(x):
                return math.log(x)

            self._cuda = cuda.jit(device=True)(fast_log_cuda)
        return self._cuda


fast_log = _FastLog()
