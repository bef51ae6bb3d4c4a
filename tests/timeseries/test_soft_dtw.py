"""soft-DTW: naive recursion, brute force over all alignments, gradients against finite differences, the DTW limit,
the divergence, peers, pairwise matrices, the barycenter and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot.timeseries as ts
from numbaot.timeseries._soft_dtw import soft_dtw_alignment_core
from tests.timeseries.naive_ts import (all_paths, brute_force, cost_matrix, expected_alignment_brute,
                                       soft_dtw_naive)

METRICS = ("sqeuclidean", "euclidean", "cityblock")


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 9), d=st.integers(1, 3),
       metric=st.sampled_from(METRICS), gamma=st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
def test_soft_dtw_equals_naive_recursion(seed, n, m, d, metric, gamma):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    expected = soft_dtw_naive(cost_matrix(X, Y, metric), gamma)
    assert ts.soft_dtw(X, Y, gamma, metric=metric) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    E, value = ts.soft_dtw_alignment(X, Y, gamma, metric=metric)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), m=st.integers(1, 4), gamma=st.sampled_from([0.05, 1.0]))
def test_soft_dtw_and_alignment_equal_brute_force(seed, n, m, gamma):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((n, 2)), rng.random((m, 2))
    C = cost_matrix(X, Y)
    E, value = ts.soft_dtw_alignment(X, Y, gamma)
    assert value == pytest.approx(brute_force(C, gamma), rel=1e-12, abs=1e-12)
    assert np.allclose(E, expected_alignment_brute(C, gamma), rtol=1e-10, atol=1e-12)


def test_alignment_is_the_gradient_in_the_costs():
    rng = np.random.default_rng(0)
    C = rng.random((7, 5)) * 3
    gamma, h = 0.3, 1e-6
    value, E = soft_dtw_alignment_core(C, gamma)
    fd = np.empty_like(C)
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            up, down = C.copy(), C.copy()
            up[i, j] += h
            down[i, j] -= h
            fd[i, j] = (soft_dtw_alignment_core(up, gamma)[0] - soft_dtw_alignment_core(down, gamma)[0]) / (2 * h)
    assert np.allclose(E, fd, rtol=1e-6, atol=1e-8)
    assert E[0, 0] == pytest.approx(1.0) and E[-1, -1] == 1.0 and np.all((E >= 0) & (E <= 1 + 1e-12))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("shape", [((12, 3), (9, 3)), ((10,), (14,))])
def test_gradient_against_finite_differences(metric, shape):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    gamma, h = 0.5, 1e-6
    value, G = ts.soft_dtw_grad(X, Y, gamma, metric=metric)
    # the value-only sweep and the storing sweep are two loops: they may round differently (e.g. bounds-checked)
    assert G.shape == X.shape and value == pytest.approx(ts.soft_dtw(X, Y, gamma, metric=metric), rel=1e-13, abs=0)
    fd = np.empty_like(X)
    for idx in np.ndindex(X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (ts.soft_dtw(up, Y, gamma, metric=metric) - ts.soft_dtw(down, Y, gamma, metric=metric)) / (2 * h)
    assert np.allclose(G, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), m=st.integers(1, 12))
def test_tends_to_dtw_as_gamma_goes_to_zero(seed, n, m):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    dtw = ts.dtw(X, Y)
    scale = cost_matrix(X, Y).max()
    n_paths = len(all_paths(n, m)) if n * m <= 30 else None
    for gamma in (1e-1 * scale, 1e-2 * scale, 1e-4 * scale):
        value = ts.soft_dtw(X, Y, gamma)
        assert np.isfinite(value)
        # dtw - gamma log(#alignments) <= sdtw <= dtw
        assert value <= dtw + 1e-12 * max(1.0, dtw)
        if n_paths is not None:
            assert value >= dtw - gamma * np.log(n_paths) - 1e-12 * max(1.0, dtw)
    assert ts.soft_dtw(X, Y, 1e-4 * scale) == pytest.approx(dtw, abs=1e-4 * scale * np.log(3.0) * (n + m), rel=0)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), m=st.integers(1, 10),
       gamma=st.sampled_from([0.01, 0.3, 1.0, 5.0]))
def test_divergence_is_non_negative_symmetric_and_zero_on_equal_series(seed, n, m, gamma):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    div = ts.soft_dtw_divergence(X, Y, gamma)
    assert div >= -1e-12
    assert ts.soft_dtw_divergence(Y, X, gamma) == pytest.approx(div, rel=1e-12, abs=1e-12)
    assert ts.soft_dtw_divergence(X, X, gamma) == 0.0
    expected = ts.soft_dtw(X, Y, gamma) - 0.5 * (ts.soft_dtw(X, X, gamma) + ts.soft_dtw(Y, Y, gamma))
    assert div == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_layouts_and_dtypes():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(20), rng.standard_normal(17)
    ref = ts.soft_dtw(x, y, 0.5)
    assert ts.soft_dtw(x[:, None], y[:, None], 0.5) == ref
    v32 = ts.soft_dtw(x.astype(np.float32), y.astype(np.float32), 0.5)
    assert v32.dtype == np.float32 and v32 == pytest.approx(ref, rel=1e-5)
    value, G = ts.soft_dtw_grad(x.astype(np.float32), y.astype(np.float32), 0.5)
    assert G.dtype == np.float32 and G.shape == x.shape


# ---------------------------------------------------------------------------------------------------- peers
@pytest.mark.slow  # peers compile their own Numba code: not in the bounds-checked pass
def test_tslearn_agrees():
    metrics = pytest.importorskip("tslearn.metrics")
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((30, 3)), rng.standard_normal((24, 3))
    for gamma in (0.01, 1.0):
        assert ts.soft_dtw(X, Y, gamma) == pytest.approx(metrics.soft_dtw(X, Y, gamma=gamma), rel=1e-10)
        A, sim = metrics.soft_dtw_alignment(X, Y, gamma=gamma)
        E, value = ts.soft_dtw_alignment(X, Y, gamma)
        assert value == pytest.approx(sim, rel=1e-10) and np.allclose(E, A, rtol=1e-8, atol=1e-12)
    S = rng.standard_normal((5, 15, 2))
    assert np.allclose(ts.cdist_soft_dtw(S, gamma=0.5), metrics.cdist_soft_dtw(S, gamma=0.5), rtol=1e-10)
    assert np.allclose(ts.cdist_soft_dtw(S, S[:2], gamma=0.5), metrics.cdist_soft_dtw(S, S[:2], gamma=0.5),
                       rtol=1e-10)


# ------------------------------------------------------------------------------------------------- pairwise
def test_cdist_soft_dtw_equals_pairwise_calls():
    rng = np.random.default_rng(4)
    A = [rng.standard_normal((k, 2)) for k in (5, 1, 9, 7)]
    B = [rng.standard_normal((k, 2)) for k in (3, 8)]
    assert np.allclose(ts.cdist_soft_dtw(A, B, 0.3), [[ts.soft_dtw(a, b, 0.3) for b in B] for a in A], rtol=1e-12)
    for threads in (1, 2):
        assert np.allclose(ts.cdist_soft_dtw(A, None, 0.3, n_threads=threads),
                           [[ts.soft_dtw(a, b, 0.3) for b in A] for a in A], rtol=1e-12)


# ------------------------------------------------------------------------------------------------ barycenter
def _objective(Z, series, gamma, w):
    return sum(wk * ts.soft_dtw(Z, s, gamma) for wk, s in zip(w, series))


def test_soft_dtw_barycenter_is_a_stationary_point_below_its_start():
    rng = np.random.default_rng(5)
    S = [np.sin(np.linspace(0, 3, k))[:, None] + 0.1 * rng.standard_normal((k, 1)) for k in (20, 20, 20)]
    w = np.array([0.2, 0.3, 0.5])
    gamma = 0.1
    Z = ts.soft_dtw_barycenter(S, gamma, w, max_iter=200, tol=1e-10)
    start = np.einsum("k,kij->ij", w, np.stack(S))
    assert _objective(Z, S, gamma, w) < _objective(start, S, gamma, w)
    G = sum(wk * ts.soft_dtw_grad(Z, s, gamma)[1] for wk, s in zip(w, S))
    assert np.abs(G).max() < 1e-4
    # unequal lengths and an init that fixes the length
    ragged = [S[0][:15], S[1], S[2][:18]]
    Zr = ts.soft_dtw_barycenter(ragged, gamma, init=np.zeros((10, 1)))
    assert Zr.shape == (10, 1)
    assert _objective(Zr, ragged, gamma, [1 / 3] * 3) < _objective(np.zeros((10, 1)), ragged, gamma, [1 / 3] * 3)


@pytest.mark.slow  # peers compile their own Numba code: not in the bounds-checked pass
def test_soft_dtw_barycenter_close_to_tslearn():
    barycenters = pytest.importorskip("tslearn.barycenters")
    rng = np.random.default_rng(6)
    S = rng.standard_normal((4, 15, 1)).cumsum(axis=1)
    ours = ts.soft_dtw_barycenter(S, 1.0, max_iter=300, tol=1e-12)
    theirs = barycenters.softdtw_barycenter(S, gamma=1.0, max_iter=300, tol=1e-12)
    w = np.full(4, 0.25)
    assert _objective(ours, S, 1.0, w) <= _objective(theirs, S, 1.0, w) + 1e-6


# ------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("gamma, exc, match", [
    (0.0, ValueError, "dtw"), (-1.0, ValueError, "positive"), (np.nan, ValueError, "finite"),
    (np.inf, ValueError, "finite"), ("1", TypeError, "gamma"), (True, TypeError, "gamma"),
])
def test_bad_gamma(gamma, exc, match):
    for verb in (ts.soft_dtw, ts.soft_dtw_alignment, ts.soft_dtw_grad, ts.soft_dtw_divergence):
        with pytest.raises(exc, match=match):
            verb([0.0, 1.0], [1.0], gamma)
    with pytest.raises(exc, match=match):
        ts.cdist_soft_dtw([[0.0, 1.0]], None, gamma)


@pytest.mark.parametrize("X, Y, match", [
    ([], [1.0], "empty"), (np.zeros((3, 2)), np.zeros((3, 3)), "features"), ([np.nan], [1.0], "nan"),
])
def test_bad_series(X, Y, match):
    for verb in (ts.soft_dtw, ts.soft_dtw_alignment, ts.soft_dtw_grad, ts.soft_dtw_divergence):
        with pytest.raises(ValueError, match=match):
            verb(X, Y, 1.0)


def test_bad_collections():
    with pytest.raises(ValueError, match=r"A\[2\] is empty"):
        ts.cdist_soft_dtw([[1.0], [2.0, 3.0], []], gamma=1.0)
    with pytest.raises(ValueError, match="features"):
        ts.cdist_soft_dtw(np.zeros((2, 3, 2)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="max_iter"):
        ts.soft_dtw_barycenter(np.zeros((2, 3)), max_iter=0)


def test_value_alone_equals_the_full_table():
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((150, 2)), rng.standard_normal((70, 2))  # n > m: diagonals of every length
    value = ts.soft_dtw(X, Y, 0.7)
    assert value == pytest.approx(ts.soft_dtw_alignment(X, Y, 0.7)[1], rel=1e-12)
    assert value == pytest.approx(soft_dtw_naive(cost_matrix(X, Y), 0.7), rel=1e-12)
    assert ts.cdist_soft_dtw([X, Y], [Y], 0.7)[0, 0] == pytest.approx(value, rel=1e-12)


def test_tables_too_large_are_refused_before_allocating(monkeypatch):
    from numbaot import _config

    monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 1000)
    X = np.zeros((20, 1))
    with pytest.raises(ValueError, match="GiB"):
        ts.soft_dtw_grad(X, X)
    with pytest.raises(ValueError, match="GiB"):
        ts.soft_dtw_alignment(X, X)
    with pytest.raises(ValueError, match="GiB"):
        ts.dtw(X, X, return_path=True)
    assert ts.soft_dtw(X, X) < 0 and ts.dtw(X, X) == 0  # the values alone need O(m) memory


def test_cells_cut_off_by_infinite_costs_are_infinite_not_nan():
    """C[0, 1] = +inf makes R(0, 1), then R(0, 2) and R(0, 3) (whose three predecessors are all +inf) infinite:
    the softmin of three +inf is +inf with zero weights, never inf - inf = NaN, and the value and the alignment
    are those of the paths that avoid the cut-off cells."""
    from numbaot.timeseries._bodies import soft_cell
    from numbaot.timeseries._soft_dtw import soft_dtw_matrix_value_core

    value, *weights = soft_cell.cpu(np.inf, np.inf, np.inf, 1.0, 0.5)
    assert value == np.inf and weights == [0.0, 0.0, 0.0]
    C = np.arange(1.0, 9.0).reshape(2, 4) / 4
    C[0, 1] = np.inf
    gamma = 0.5
    value, E = soft_dtw_alignment_core(C, gamma)
    assert np.isfinite(value) and not np.isnan(E).any()
    assert value == pytest.approx(brute_force(C, gamma), rel=1e-12)
    assert soft_dtw_matrix_value_core(C, gamma) == pytest.approx(value, rel=1e-15)
    np.testing.assert_allclose(E, expected_alignment_brute(C, gamma), rtol=1e-10, atol=1e-12)
    assert np.all(E[0, 1:] == 0.0)
