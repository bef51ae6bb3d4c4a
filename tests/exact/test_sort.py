"""The packed-key sort of the 1D solvers against numpy's argsort: values sorted, weights carried along, the
permutation valid, with colliding truncated keys (repaired) and long collision runs (fallback)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numbaot.exact import _sort


def _check(x, w):
    xs, ws, perm = _sort._packed_order(x, w)
    np.testing.assert_array_equal(xs, np.sort(x))
    np.testing.assert_array_equal(np.sort(perm), np.arange(len(x)))
    np.testing.assert_array_equal(xs, x[perm])
    np.testing.assert_array_equal(ws, w[perm])


@given(hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e300, 1e300, allow_nan=False)))
def test_random_values_including_signs_zeros_and_extremes(x):
    _check(x, np.arange(len(x), dtype=np.float64))


@pytest.mark.parametrize("kind", ["near_equal_short_runs", "near_equal_long_runs", "exact_ties", "negative_zero"])
def test_collisions(kind):
    rng = np.random.default_rng(0)
    n = 20000
    if kind == "near_equal_short_runs":  # pairs of values 1 ulp apart collide in the truncated key
        base = rng.normal(size=n // 2)
        x = np.concatenate([base, np.nextafter(base, np.inf)])
        rng.shuffle(x)
    elif kind == "near_equal_long_runs":  # everything within 1e-12: one long run, the argsort fallback
        x = 1.0 + rng.random(n) * 1e-12
    elif kind == "exact_ties":
        x = rng.integers(0, 5, n).astype(float)
    else:
        x = np.where(rng.random(n) < 0.5, -0.0, 0.0) + rng.integers(-1, 2, n)
    _check(x, rng.random(n))


def test_sorting_pool_survives_fork():
    """A forked child inherits the pool object but not its threads: it must make a new one, not hang."""
    import multiprocessing

    import numbaot

    x = np.random.default_rng(1).normal(size=60000)
    expected = numbaot.emd2_1d(x, x + 1.0)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(numbaot.emd2_1d, (x, x + 1.0)).get(timeout=120)
    assert got == expected
