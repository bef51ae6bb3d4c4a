"""The vectorisable exponential against numpy's exp: within 2 ulp over the normal range (float64 and float32),
the documented flush to 0 below it, and IEEE specials; the CUDA twin under the simulator."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import cuda

from numbaot._fastexp import fast_exp
from numbaot._jit import cpu_jit

_fast_exp = fast_exp.cpu

# where the result stops being flushed to 0, and where it overflows
_RANGE = {np.float64: (-707.0, 709.78), np.float32: (-86.0, 88.72)}


@cpu_jit
def _apply(x, out):
    for i in range(x.shape[0]):
        out[i] = _fast_exp(x[i])


def _ulp_error(dtype, x):
    out = np.empty_like(x)
    _apply(x, out)
    assert out.dtype == dtype
    ref = np.exp(x.astype(np.float64)).astype(dtype)
    return np.abs(out.astype(np.float64) - ref) / np.spacing(ref).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_ulp_over_the_normal_range(dtype):
    lo, hi = _RANGE[dtype]
    rng = np.random.default_rng(0)
    edges = np.concatenate([np.nextafter(np.float64(lo), 0) + np.arange(50) * 1e-3, [hi]])  # k's extremes
    x = np.concatenate([rng.uniform(lo, hi, 200_000), rng.uniform(-40, 0, 200_000), edges,
                        rng.uniform(-1e-3, 1e-3, 10_000), np.arange(-60, 60, dtype=np.float64)]).astype(dtype)
    x = x[(x >= dtype(lo)) & (x <= dtype(hi))]
    assert _ulp_error(dtype, x).max() <= 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(st.floats(-1e4, 1e4))
def test_any_finite_argument(dtype, value):
    lo, hi = _RANGE[dtype]
    x = np.array([value], dtype=dtype)
    out = np.empty_like(x)
    _apply(x, out)
    if x[0] < dtype(lo):
        assert out[0] == 0.0  # flushed: would be subnormal (or zero) anyway
    elif x[0] > dtype(hi):
        assert out[0] == np.inf
    else:
        assert _ulp_error(dtype, x)[0] <= 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_subnormal_intermediate(dtype):
    """``p * 2**(k - 1)`` (p = exp(r) >= 1 / sqrt 2) stays normal down to the flush threshold, replayed in numpy
    from the same k: a subnormal intermediate would cost a microcode assist per vector op (a 4x slower half-step)."""
    lo = _RANGE[dtype][0]
    x = np.nextafter(dtype(lo), dtype(0)) + np.arange(2000, dtype=dtype) * dtype(1e-3)
    k = np.floor(x * dtype(1.4426950408889634) + dtype(0.5))
    r = x - k * dtype(np.log(2.0))
    half = np.exp(r.astype(np.float64)).astype(dtype) * np.ldexp(dtype(1.0), (k - 1).astype(np.int32))
    assert (half >= np.finfo(dtype).tiny).all()
    out = np.empty_like(x)
    _apply(x, out)
    assert (out > 0).all() and _ulp_error(dtype, x).max() <= 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_specials(dtype):
    x = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, -1e30, 1e30], dtype=dtype)
    out = np.empty_like(x)
    _apply(x, out)
    assert out[0] == 0.0 and out[1] == np.inf and np.isnan(out[2])
    assert out[3] == 1.0 and out[4] == 1.0 and out[5] == 0.0 and out[6] == np.inf


@pytest.mark.cuda
def test_cuda_twin_is_exp():
    device_exp = fast_exp.cuda

    @cuda.jit
    def kernel(x, out):  # `cuda` must be a module global: the simulator swaps it inside kernels
        i = cuda.grid(1)
        if i < x.shape[0]:
            out[i] = device_exp(x[i])

    x = np.array([-np.inf, -3.0, 0.0, 1.5, 700.0])
    out = cuda.to_device(np.empty_like(x))
    kernel[1, 8](cuda.to_device(x), out)
    np.testing.assert_allclose(out.copy_to_host(), np.exp(x), rtol=1e-15)
