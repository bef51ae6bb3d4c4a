"""Hypothesis strategies: 1D measures whose masses match exactly (integer weights cross-multiplied)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def _points(size, integer_grid):
    if integer_grid:  # few distinct values: ties and duplicated points, the degenerate cases
        return hnp.arrays(np.float64, size, elements=st.integers(-3, 3).map(float))
    return hnp.arrays(np.float64, size, elements=st.floats(-100, 100, allow_nan=False, width=64))


@st.composite
def measure_pairs(draw, max_n=9, allow_zero=True):
    """``(x, a, y, b)``: 1D supports and non-negative weights with exactly equal total mass."""
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_n))
    integer_grid = draw(st.booleans())
    x = draw(_points(n, integer_grid))
    y = draw(_points(m, integer_grid))
    low = 0 if allow_zero else 1
    a = np.array(draw(st.lists(st.integers(low, 5), min_size=n, max_size=n)), dtype=np.float64)
    b = np.array(draw(st.lists(st.integers(low, 5), min_size=m, max_size=m)), dtype=np.float64)
    if a.sum() == 0:
        a[draw(st.integers(0, n - 1))] = 1.0
    if b.sum() == 0:
        b[draw(st.integers(0, m - 1))] = 1.0
    a, b = a * b.sum(), b * a.sum()  # integers: both sums are exactly sum(a) * sum(b)
    return x, a, y, b


metrics_1d = st.sampled_from([("sqeuclidean", 1.0), ("euclidean", 1.0), ("cityblock", 1.0),
                              ("minkowski", 1.0), ("minkowski", 1.5), ("minkowski", 3.0)])
