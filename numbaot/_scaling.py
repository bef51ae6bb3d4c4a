"""Exact rescaling by powers of two, so that costs computed from extreme coordinates never overflow (bad input 9).

Dividing by a power of two is exact (barring underflow to subnormals); the value is multiplied back by
``2**(e * power)`` at the end, in two factors so that no intermediate overflows when the result itself fits.
"""
from __future__ import annotations

import math

import numpy as np

#: Magnitudes inside this range are used as they are: no rescaling, no copy.
SAFE_RANGE = (1e-100, 1e100)


def pow2_exponent(top: float) -> int:
    """``e`` such that ``top / 2**e <= 1`` when ``top`` lies outside ``SAFE_RANGE``, else 0 (no rescaling)."""
    if top == 0.0 or not math.isfinite(top) or SAFE_RANGE[0] < top < SAFE_RANGE[1]:
        return 0
    return min(math.frexp(top)[1], 1023)


def max_abs(*arrays) -> float:
    """The largest |x| over host arrays, without a temporary array."""
    return max(max(float(np.max(x)), -float(np.min(x))) for x in arrays)


def scale_up(value, e: int, power: float):
    """``value * 2**(e * power)`` for scalars or arrays, with no spurious overflow of an intermediate factor."""
    if e == 0:
        return value
    k = e * power
    whole = math.floor(k)
    with np.errstate(over="ignore"):
        out = np.ldexp(np.asarray(value, dtype=np.float64) * 2.0 ** (k - whole), whole)
    return out if np.ndim(out) else float(out)
