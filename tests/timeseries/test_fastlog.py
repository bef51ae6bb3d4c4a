"""The vectorisable logarithm of the soft-DTW sweeps against ``math.log``: within 2 ulp over the whole float64
range (subnormals included), IEEE specials, and the soft-DTW cell against its plain three-exponential form."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from numbaot._jit import cpu_jit
from numbaot.timeseries._bodies import soft_cell
from numbaot.timeseries._fastlog import fast_log

_fast_log = fast_log.cpu


@cpu_jit
def _apply(x, out):
    for i in range(x.shape[0]):
        out[i] = _fast_log(x[i])


def _ulp_error(x):
    out = np.empty_like(x)
    _apply(x, out)
    ref = np.array([math.log(v) for v in x])
    return np.abs(out - ref) / np.where(ref == 0.0, 5e-324, np.spacing(np.abs(ref)))


def test_two_ulp_over_the_float64_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(1.0, 3.0, 50_000),  # soft-DTW's range: 1 <= sum of the three weights <= 3
        np.exp(rng.uniform(-700.0, 700.0, 50_000)), 1.0 + rng.uniform(-1e-6, 1e-6, 5_000),
        np.sqrt(2.0) * (1.0 + rng.uniform(-1e-12, 1e-12, 1_000)),  # where the reduction switches
        rng.uniform(0.0, 1.0, 1_000) * 2.2250738585072014e-308,  # subnormals
        [5e-324, 2.2250738585072014e-308, np.finfo(np.float64).max, 0.5, 1.0, 2.0, 3.0],
    ])
    x = x[x > 0]
    assert _ulp_error(x).max() <= 2


@given(st.floats(min_value=5e-324, allow_infinity=False, allow_nan=False))
def test_any_positive_argument(value):
    assert _ulp_error(np.array([value]))[0] <= 2


def test_specials():
    x = np.array([0.0, -0.0, np.inf, -1.0, -np.inf, np.nan])
    out = np.empty_like(x)
    _apply(x, out)
    assert out[0] == -np.inf and out[1] == -np.inf and out[2] == np.inf
    assert np.all(np.isnan(out[3:]))


_cell = soft_cell.cpu


@cpu_jit
def _cells(d, u, l, c, gamma, out):
    for t in range(d.shape[0]):
        out[t] = _cell(d[t], u[t], l[t], c[t], gamma)


def test_soft_cell_against_three_exponentials():
    rng = np.random.default_rng(1)
    d, u, l = (rng.standard_normal(2000) * 3 for _ in range(3))
    l[:50] = d[:50]  # ties
    u[50:100] = np.inf  # borders
    d[100:150] = np.inf
    c = rng.random(2000)
    for gamma in (1e-3, 0.5, 7.0):
        out = np.empty((2000, 4))
        _cells(d, u, l, c, gamma, out)
        for t in range(2000):
            low = min(d[t], u[t], l[t])
            e = np.exp((low - np.array([d[t], u[t], l[t]])) * (1.0 / gamma))  # the cores' rounding of the argument
            value = c[t] + low - gamma * math.log(e.sum())
            assert abs(out[t, 0] - value) <= 1e-14 * max(1.0, abs(value))
            np.testing.assert_allclose(out[t, 1:], e / e.sum(), rtol=1e-14, atol=1e-300)
