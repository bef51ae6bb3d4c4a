"""DTW: naive recursion and brute force over all paths, path certificates, the band, peers, pairwise matrices,
DBA and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot.timeseries as ts
from numbaot import ConvergenceWarning
from tests.timeseries.naive_ts import all_paths, brute_force, cost_matrix, dba_step_naive, dtw_naive, in_band

METRICS = ("sqeuclidean", "euclidean", "cityblock")


def _series(rng, n, d):
    return rng.standard_normal((n, d)) if d > 1 else rng.standard_normal(n)


# ------------------------------------------------------------------------------------------------------- value
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 9), d=st.integers(1, 3),
       metric=st.sampled_from(METRICS), window=st.one_of(st.none(), st.integers(0, 4)))
def test_dtw_equals_naive_recursion(seed, n, m, d, metric, window):
    rng = np.random.default_rng(seed)
    X, Y = _series(rng, n, d), _series(rng, m, d)
    expected = dtw_naive(cost_matrix(X, Y, metric), window)
    assert np.isclose(ts.dtw(X, Y, metric=metric, window=window), expected, rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 5))
def test_dtw_equals_brute_force_over_all_paths(seed, n, m):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((n, 2)), rng.random((m, 2))
    C = cost_matrix(X, Y)
    assert np.isclose(ts.dtw(X, Y), brute_force(C), rtol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), m=st.integers(1, 30), d=st.integers(1, 3),
       window=st.one_of(st.none(), st.integers(0, 5)))
def test_path_is_monotone_contiguous_in_band_and_costs_the_value(seed, n, m, d, window):
    rng = np.random.default_rng(seed)
    X, Y = _series(rng, n, d), _series(rng, m, d)
    value, path = ts.dtw(X, Y, window=window, return_path=True)
    assert path.dtype == np.int64 and path.shape[1] == 2
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [n - 1, m - 1]
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)
    assert all(in_band(i, j, n, m, window) for i, j in path)
    C = cost_matrix(X, Y)
    assert np.isclose(C[path[:, 0], path[:, 1]].sum(), value, rtol=1e-12, atol=1e-12)
    assert np.isclose(ts.dtw(X, Y, window=window), value, rtol=1e-12, atol=1e-12)
    path2, value2 = ts.dtw_path(X, Y, window=window)
    assert np.array_equal(path, path2) and value2 == value


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 25), m=st.integers(1, 25), window=st.integers(0, 6))
def test_band_never_lowers_the_value_and_a_wide_band_is_none(seed, n, m, window):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal(n), rng.standard_normal(m)
    full = ts.dtw(X, Y)
    assert ts.dtw(X, Y, window=window) >= full - 1e-12
    assert ts.dtw(X, Y, window=max(n, m)) == pytest.approx(full, rel=1e-12, abs=1e-12)
    # symmetric in its arguments, band included
    assert ts.dtw(Y, X, window=window) == pytest.approx(ts.dtw(X, Y, window=window), rel=1e-12, abs=1e-12)


def test_planted_values():
    assert ts.dtw([0.0, 1.0, 2.0], [0.0, 1.0, 1.0, 2.0]) == 0.0  # a warp of the same shape
    assert ts.dtw([0.0], [1.0, 2.0, 3.0]) == 14.0  # one frame against all: 1 + 4 + 9
    assert ts.dtw([0.0], [1.0, 2.0, 3.0], metric="cityblock") == 6.0
    # the diagonal band of radius 0 on equal lengths is the Euclidean (lock-step) sum
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 3))
    assert ts.dtw(X, Y, window=0) == pytest.approx(((X - Y) ** 2).sum(), rel=1e-12)


def test_layouts_and_dtypes():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(40), rng.standard_normal(31)
    ref = ts.dtw(x, y)
    assert ts.dtw(x[:, None], y[:, None]) == ref
    assert ts.dtw(list(x), tuple(y)) == ref
    assert ts.dtw(np.asfortranarray(np.stack([x, x], 1))[:, :1], y[::-1][::-1]) == ref
    v32 = ts.dtw(x.astype(np.float32), y.astype(np.float32))
    assert v32.dtype == np.float32 and v32 == pytest.approx(ref, rel=1e-5)
    assert ts.dtw(np.arange(3), np.arange(3)) == 0.0
    frozen = x.copy()
    frozen.flags.writeable = False
    assert ts.dtw(frozen, y) == ref


# ---------------------------------------------------------------------------------------------------- peers
@pytest.mark.slow  # peers compile their own Numba code: not in the bounds-checked pass
@pytest.mark.parametrize("window", [None, 0, 3])
def test_dtaidistance_agrees(window):
    dtaidistance = pytest.importorskip("dtaidistance")
    from dtaidistance import dtw as ddtw

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(60), rng.standard_normal(45)
    kwargs = {} if window is None else dict(window=window + 1)  # dtaidistance's window is our radius + 1
    assert dtaidistance is not None
    expected = ddtw.distance(x, y, **kwargs) ** 2  # it returns the root of the summed squares, like tslearn's dtw
    assert ts.dtw(x, y, window=window) == pytest.approx(expected, rel=1e-10)
    S = rng.standard_normal((6, 30))
    assert np.allclose(ts.cdist_dtw(S, window=window), ddtw.distance_matrix(S, **kwargs) ** 2, rtol=1e-10)


# ------------------------------------------------------------------------------------------------- pairwise
@pytest.mark.parametrize("window", [None, 1])
def test_cdist_dtw_equals_pairwise_calls(window):
    rng = np.random.default_rng(4)
    A = [rng.standard_normal((k, 2)) for k in (5, 1, 9, 7)]
    B = [rng.standard_normal((k, 2)) for k in (3, 8, 6)]
    expected = np.array([[ts.dtw(a, b, window=window) for b in B] for a in A])
    assert np.allclose(ts.cdist_dtw(A, B, window=window), expected, rtol=1e-12)
    self_expected = np.array([[ts.dtw(a, b, window=window) for b in A] for a in A])
    for threads in (1, 2):
        D = ts.cdist_dtw(A, window=window, n_threads=threads)
        assert np.allclose(D, self_expected, rtol=1e-12) and np.all(np.diag(D) == 0)
    S = rng.standard_normal((5, 12, 3))
    assert np.allclose(ts.cdist_dtw(S), [[ts.dtw(a, b) for b in S] for a in S], rtol=1e-12)
    U = rng.standard_normal((4, 10))  # (N, n): N univariate series
    assert np.allclose(ts.cdist_dtw(U, U[:2]), [[ts.dtw(a, b) for b in U[:2]] for a in U], rtol=1e-12)


# ------------------------------------------------------------------------------------------------------- DBA
def _dba_objective(Z, series, w):
    return sum(wk * ts.dtw(Z, s) for wk, s in zip(w, series))


def test_dba_decreases_the_objective_and_keeps_a_common_series():
    rng = np.random.default_rng(5)
    base = np.sin(np.linspace(0, 3, 30))
    series = [np.interp(np.linspace(0, 1, k), np.linspace(0, 1, 30), base) + 0.05 * rng.standard_normal(k)
              for k in (30, 25, 35, 28)]
    w = np.full(4, 0.25)
    init = series[1].copy()
    Z = ts.dtw_barycenter_averaging(series, init=init)
    assert Z.shape == init.shape
    assert _dba_objective(Z, series, w) <= _dba_objective(init, series, w) + 1e-12
    one = rng.standard_normal((12, 2))
    assert np.allclose(ts.dtw_barycenter_averaging([one, one, one]), one)
    # default init (the medoid) and weights concentrated on one series: that series is a fixed point
    Zw = ts.dtw_barycenter_averaging(series, weights=[0, 1, 0, 0])
    assert np.allclose(Zw, series[1])


def test_one_dba_step_equals_the_naive_update():
    rng = np.random.default_rng(6)
    S = [rng.standard_normal((k, 2)).cumsum(axis=0) for k in (12, 9, 15)]
    w = np.array([0.5, 0.2, 0.3])
    init = rng.standard_normal((10, 2))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        ours = ts.dtw_barycenter_averaging(S, w, init, max_iter=1)
    assert np.allclose(ours, dba_step_naive(init, S, w), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("X, Y, match", [
    ([], [1.0], "empty"),
    (np.zeros((3, 2)), np.zeros((3, 3)), "features"),
    ([0.0, np.nan], [1.0], r"X\[1\] is nan"),
    ([0.0, 1.0], [np.inf], r"Y\[0"),
    (np.zeros((3, 0)), np.zeros((3, 0)), "empty|feature"),
    (np.zeros((2, 2, 2)), np.zeros(3), "1-D or 2-D"),
])
def test_bad_series(X, Y, match):
    with pytest.raises(ValueError, match=match):
        ts.dtw(X, Y)


def test_bad_parameters():
    x = [0.0, 1.0]
    with pytest.raises(ValueError, match="window"):
        ts.dtw(x, x, window=-1)
    with pytest.raises(TypeError, match="window"):
        ts.dtw(x, x, window=1.5)
    with pytest.raises(ValueError, match="metric"):
        ts.dtw(x, x, metric="cosine")
    with pytest.raises(TypeError, match="return_path"):
        ts.dtw(x, x, return_path=1)
    with pytest.raises(TypeError, match="complex"):
        ts.dtw(np.array([1j]), x)
    with pytest.raises(TypeError, match="positional"):
        ts.dtw(x, x, "sqeuclidean")


@pytest.mark.parametrize("A, match", [
    ([np.zeros(3), np.zeros(0)], r"A\[1\] is empty"),
    ([], "empty list"),
    ([np.zeros((3, 2)), np.zeros((3, 1))], r"A\[1\] has frames of 1"),
    ([np.zeros(3), [np.nan]], r"A\[1\]\[0\] is nan"),
    (np.zeros((2, 0)), "empty"),
])
def test_bad_collections(A, match):
    with pytest.raises(ValueError, match=match):
        ts.cdist_dtw(A)


def test_bad_barycenter_input():
    S = np.zeros((3, 4))
    with pytest.raises(ValueError, match="weights"):
        ts.dtw_barycenter_averaging(S, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="3 series"):
        ts.dtw_barycenter_averaging(S, weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="all zero"):
        ts.dtw_barycenter_averaging(S, weights=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="features"):
        ts.dtw_barycenter_averaging(S, init=np.zeros((4, 2)))


def test_all_paths_helper_counts_delannoy_numbers():
    assert [len(all_paths(k, k)) for k in (1, 2, 3, 4)] == [1, 3, 13, 63]
