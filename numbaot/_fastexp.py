"""An exponential that LLVM can vectorise, for the log-domain Sinkhorn inner loops (a twin: ``fast_exp.cpu`` and
``fast_exp.cuda``).

Why: ``math.exp`` compiles to a call into libm, which LLVM cannot vectorise without SVML (absent from llvmlite's
wheels), so a log-domain half-step spent ~10 ns per entry in scalar ``exp``. Here ``exp(x) = 2**k * exp(r)`` with
``k = round(x / ln 2)`` and ``|r| <= ln(2) / 2``: ``exp(r)`` is a Taylor polynomial (Horner, fused multiply-adds)
and ``2**k`` is built directly in the exponent bits (an LLVM bitcast, see ``_bits_as_float``). Every step is
straight-line arithmetic, so a loop of ``fast_exp`` calls becomes SIMD code.

Accuracy: within 2 ulp of ``math.exp`` for float64 (degree-13 polynomial) and 2 ulp of float32 ``exp`` for float32
arguments (degree-7 polynomial, computed in float32), over the normal range. The differences from IEEE ``exp``:
results below about ``9.0e-308`` (float64: ``x < -707``) or ``4.4e-38`` (float32: ``x < -86``) are flushed to 0,
which is harmless in sums of exponentials whose largest term is about 1 (the only use); ``exp(-inf) = 0``,
``exp(+inf) = exp(x > 709.78) = inf`` and ``exp(nan) = nan`` as usual.

On the GPU ``fast_exp.cuda`` is CUDA's own ``exp`` (already a fast hardware-assisted routine).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ._jit import cpu_jit

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact for |k| < 2**11
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_LN2_HI_F32 = 0.693145751953125  # float32 split: 12 significant bits, exact products for |k| < 2**8
_LN2_LO_F32 = 1.428606765330187e-06


@intrinsic
def _bits_as_float(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (or an int32 as a float32): an LLVM bitcast, no memory."""
    if bits == types.int64:
        return types.float64(types.int64), lambda ctx, builder, sig, args: builder.bitcast(args[0], ir.DoubleType())
    if bits == types.int32:
        return types.float32(types.int32), lambda ctx, builder, sig, args: builder.bitcast(args[0], ir.FloatType())
    return None


def _exp_any(x):
    """Pure-Python name the overloads below attach to (never called directly)."""
    return math.exp(x)


@overload(_exp_any, jit_options={"fastmath": {"contract"}})  # FMAs yes, reassociation no (it undoes the split ln 2)
def _exp_any_impl(x):
    if x == types.float32:
        def exp32(x):
            big = x > types.float32(88.72)
            # p * 2**(k - 1) must stay normal (p >= 1 / sqrt 2): k >= -124 needs x >= -86.29. A subnormal
            # intermediate costs a microcode assist per vector op (~100 cycles): a float32 half-step whose row
            # had 0.25% of its exponents in (-86.9, -86.3) ran 4x slower than one with none
            small = x < types.float32(-86.0)
            xc = min(max(x, types.float32(-86.0)), types.float32(88.72))
            k = np.floor(xc * types.float32(_LOG2E) + types.float32(0.5))
            r = (xc - k * types.float32(_LN2_HI_F32)) - k * types.float32(_LN2_LO_F32)
            p = types.float32(1.0 / 5040.0)
            p = p * r + types.float32(1.0 / 720.0)
            p = p * r + types.float32(1.0 / 120.0)
            p = p * r + types.float32(1.0 / 24.0)
            p = p * r + types.float32(1.0 / 6.0)
            p = p * r + types.float32(0.5)
            p = p * r + types.float32(1.0)
            p = p * r + types.float32(1.0)
            # 2**(k - 1) * 2 keeps k = 128 (x near 88.7) representable; int32 conversions vectorise on AVX2
            y = p * _bits_as_float(types.int32((types.int32(k) + 126) << 23)) * types.float32(2.0)  # numba widens int32 sums
            if small:
                y = types.float32(0.0)
            if big:
                y = types.float32(math.inf)
            if x != x:
                y = x
            return y

        return exp32
    if isinstance(x, types.Float):
        def exp64(x):
            big = x > 709.78
            small = x < -707.0  # p * 2**(k - 1) must stay normal: k >= -1020 needs x >= -707.35
            xc = min(max(x, -707.0), 709.78)
            k = np.floor(xc * _LOG2E + 0.5)
            r = (xc - k * _LN2_HI) - k * _LN2_LO
            p = 1.0 / 6227020800.0
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            # 2**(k - 1) * 2 keeps k = 1024 (x near 709.7) representable; the conversion goes through int32
            # because AVX2 converts doubles to int32 lanes but not to int64 lanes
            y = p * _bits_as_float(types.int64(types.int32(k) + types.int32(1022)) << types.int64(52)) * 2.0
            if small:
                y = 0.0
            if big:
                y = math.inf
            if x != x:
                y = x
            return y

        return exp64
    return None


@cpu_jit(fastmath={"contract"})
def _fast_exp_cpu(x):
    return _exp_any(x)


class _FastExp:
    """``fast_exp.cpu(x)``: the vectorisable exponential (float32 in, float32 out; float64 otherwise);
    ``fast_exp.cuda``: CUDA's ``exp``. Twins name it in ``deps`` so that their CUDA build calls the device one."""

    def __init__(self):
        self.cpu = _fast_exp_cpu
        self._cuda = None

    @property
    def cuda(self):
        if self._cuda is None:
            from numba import cuda

            def fast_exp_cuda(x):
                return math.exp(x)

            self._cuda = cuda.jit(device=True)(fast_exp_cuda)
        return self._cuda


fast_exp = _FastExp()
