"""1D exact OT (emd_1d, emd2_1d, wasserstein_1d, solve_sample on 1D points) against the three oracles:
an LP solver and plain-numpy quantile formulas, optimality certificates, and planted answers."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import example, given
from hypothesis import strategies as st

import numbaot
from numbaot.exact.api import solve_1d
from tests.certificates import check_duality, check_plan
from tests.naive import cdf_l1, cost_matrix_1d, lp_ot, wasserstein_1d_quantile
from tests.strategies import measure_pairs, metrics_1d


def _rel(x, y):
    return abs(float(x) - float(y)) / max(1.0, abs(float(y)))


# --------------------------------------------------------------------------------------------- LP and certificates
@given(measure_pairs(), metrics_1d)
@example((np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([0.0, 0.0]), np.array([1.0, 1.0])),
         ("sqeuclidean", 1.0))
def test_emd_1d_equals_lp_optimum_with_certificates(pair, metric_p):
    x, a, y, b = pair
    metric, p = metric_p
    M = cost_matrix_1d(x, y, metric, p)
    lp_value, _ = lp_ot(a, b, M)
    # the shared 1D driver: emd_1d's conventions ('minkowski' is |x - y|^p) with its duals
    res = solve_1d(x, y, a, b, metric, p, want_plan=True)
    assert _rel(res.value, lp_value) < 1e-9
    check_plan(res.plan, a, b, rtol=1e-12)
    assert _rel(np.sum(res.plan * M), lp_value) < 1e-9
    check_duality(res.value, res.potential_a, res.potential_b, a, b, M, tol=1e-9 * max(1.0, np.abs(M).max()))
    assert abs(a @ res.potential_a - b @ res.potential_b) <= 1e-9 * max(1.0, abs(float(res.value)))
    assert _rel(numbaot.emd2_1d(x, y, a, b, metric=metric, p=p), lp_value) < 1e-9
    dense = numbaot.emd_1d(x, y, a, b, metric=metric, p=p)
    sparse = numbaot.emd_1d(x, y, a, b, metric=metric, p=p, dense=False)
    np.testing.assert_array_equal(sparse.toarray(), dense)
    assert sparse.nnz <= len(x) + len(y) - 1


@given(measure_pairs(), metrics_1d)
def test_symmetry_and_translation_invariance(pair, metric_p):
    x, a, y, b = pair
    metric, p = metric_p
    forward = solve_1d(x, y, a, b, metric, p, want_plan=True)
    backward = solve_1d(y, x, b, a, metric, p, want_plan=True)
    assert _rel(forward.value, backward.value) < 1e-12
    shift = 7.25
    moved = numbaot.emd2_1d(x + shift, y + shift, a, b, metric=metric, p=p)
    assert _rel(moved, forward.value) < 1e-9


@given(measure_pairs(allow_zero=False))
def test_plan_is_monotone(pair):
    """Distinct points: the support of the plan is a staircase (no two cells cross) in sorted order."""
    x, a, y, b = pair
    x = np.sort(x) + 1e-3 * np.arange(len(x))  # strictly increasing
    y = np.sort(y) + 1e-3 * np.arange(len(y))
    plan = numbaot.emd_1d(x, y, a, b)
    rows, cols = np.nonzero(plan)
    order = np.lexsort((cols, rows))
    assert np.all(np.diff(rows[order]) >= 0) and np.all(np.diff(cols[order]) >= 0)


@given(measure_pairs())
def test_p1_equals_integral_of_cdf_difference(pair):
    x, a, y, b = pair
    expected = cdf_l1(x, y, a, b)
    assert _rel(numbaot.wasserstein_1d(x, y, a, b, p=1), expected) < 1e-9
    assert _rel(numbaot.emd2_1d(x, y, a, b, metric="euclidean"), expected) < 1e-9
    total = a.sum()
    assert _rel(scipy.stats.wasserstein_distance(x, y, a, b) * total, expected) < 1e-9


@given(measure_pairs(), st.sampled_from([1.0, 1.5, 2.0, 3.0]))
def test_wasserstein_1d_matches_quantile_formula_and_emd2_1d(pair, p):
    x, a, y, b = pair
    expected = wasserstein_1d_quantile(x, y, a, b, p)
    assert _rel(numbaot.wasserstein_1d(x, y, a, b, p=p), expected) < 1e-9
    assert _rel(numbaot.emd2_1d(x, y, a, b, metric="minkowski", p=p), expected) < 1e-9


# ---------------------------------------------------------------------------------------------------- planted
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_planted_equal_size_uniform_is_sorted_matching(p):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=500), rng.uniform(-2, 2, size=500)
    expected = np.mean(np.abs(np.sort(x) - np.sort(y)) ** p)
    assert _rel(numbaot.wasserstein_1d(x, y, p=p), expected) < 1e-12
    plan = numbaot.emd_1d(x, y, metric="minkowski", p=p)
    perm_x, perm_y = np.argsort(x), np.argsort(y)
    np.testing.assert_allclose(plan[perm_x, perm_y], 1 / 500, rtol=1e-12)


def test_planted_translation_gives_shift_to_the_p():
    """Two copies of one measure shifted by t: W_p^p = t^p for every p."""
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=300), rng.random(300)
    for p in (1.0, 2.0, 2.5):
        assert _rel(numbaot.wasserstein_1d(x, x + 0.5, w, w, p=p), w.sum() * 0.5**p) < 1e-12


def test_planted_gaussians_closed_form():
    """W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2; quantile samples hit it closely."""
    q = (np.arange(20000) + 0.5) / 20000
    x, y = scipy.stats.norm.ppf(q, 1.0, 2.0), scipy.stats.norm.ppf(q, -0.5, 0.5)
    assert abs(numbaot.wasserstein_1d(x, y, p=2) - (1.5**2 + 1.5**2)) < 2e-3


# ----------------------------------------------------------------------------------------------------- batches
def test_batched_wasserstein_equals_columnwise():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=(60, 5)), rng.normal(size=(45, 5))
    wu, wv = rng.random((60, 5)), rng.random((45, 5))
    wv *= wu.sum(0) / wv.sum(0)
    for weights in ((None, None), (wu, wv), (wu[:, 0], None)):
        wa, wb = weights
        if wa is not None and wa.ndim == 1 and wb is None:
            wb = np.full(45, wa.sum() / 45)
        batch = numbaot.wasserstein_1d(u, v, wa, wb, p=2)
        assert batch.shape == (5,)
        for t in range(5):
            ca = None if wa is None else (wa if wa.ndim == 1 else wa[:, t])
            cb = None if wb is None else (wb if wb.ndim == 1 else wb[:, t])
            assert _rel(batch[t], numbaot.wasserstein_1d(u[:, t], v[:, t], ca, cb, p=2)) < 1e-12


def test_presorted_input_and_unsorted_refused():
    x, y = np.array([0.0, 1.0, 4.0]), np.array([0.5, 2.0, 3.0])
    assert numbaot.wasserstein_1d(x, y, require_sort=False) == numbaot.wasserstein_1d(x, y)
    with pytest.raises(ValueError, match="u_values is not sorted"):
        numbaot.wasserstein_1d(x[::-1], y, require_sort=False)


def test_agrees_with_pot():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=2000), rng.normal(1, 2, size=1500)
    a, b = rng.random(2000), rng.random(1500)
    a, b = a / a.sum(), b / b.sum()
    for metric, p in (("sqeuclidean", 1.0), ("euclidean", 1.0), ("minkowski", 1.5)):
        assert _rel(numbaot.emd2_1d(x, y, a, b, metric=metric, p=p), ot.emd2_1d(x, y, a, b, metric=metric, p=p)) \
            < 1e-12
    assert _rel(numbaot.wasserstein_1d(x, y, a, b, p=2), ot.wasserstein_1d(x, y, a, b, p=2)) < 1e-12


# ------------------------------------------------------------------------------------------------ numerics
def test_huge_and_tiny_coordinates_do_not_overflow():
    x, y = np.array([0.0, 1e200]), np.array([1e200, 2e200])
    value = numbaot.emd2_1d(x, y, metric="euclidean")
    assert np.isfinite(value) and _rel(value, 1e200) < 1e-12
    squared = numbaot.emd2_1d(x * 1e-60, y * 1e-60)  # (1e140)^2 fits; its square root of intermediates must too
    assert np.isfinite(squared) and abs(squared / 1e280 - 1) < 1e-12
    tiny = numbaot.emd2_1d(np.array([0.0, 1e-200]), np.array([1e-200, 2e-200]), metric="euclidean")
    assert tiny > 0 and abs(tiny / 1e-200 - 1) < 1e-12


def test_float32_in_float32_out_computed_in_float64():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=100).astype(np.float32), rng.normal(size=80).astype(np.float32)
    res = numbaot.solve_sample(x, y)
    assert res.plan.dtype == np.float32 and res.potential_a.dtype == np.float32
    assert isinstance(res.value, np.float32)
    ref = numbaot.emd2_1d(x.astype(np.float64), y.astype(np.float64))
    assert _rel(res.value, ref) < 1e-6


@given(measure_pairs(), st.sampled_from(["sqeuclidean", "euclidean", "cityblock", "minkowski"]))
def test_solve_sample_1d_uses_the_costs_of_dist(pair, metric):
    """solve_sample follows numbaot.dist's metrics in every dimension ('minkowski' rooted, so |x - y| in 1D)."""
    x, a, y, b = pair
    M = numbaot.dist(x, y, metric=metric, p=3.0)
    lp_value, _ = lp_ot(a, b, M)
    res = numbaot.solve_sample(x, y, a, b, metric=metric, p=3.0)
    assert _rel(res.value, lp_value) < 1e-9
    check_duality(res.value, res.potential_a, res.potential_b, a, b, M, tol=1e-9 * max(1.0, np.abs(M).max()))


def test_lazy_result_keeps_plan_sparse_until_asked():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=1000), rng.normal(size=700)
    res = numbaot.solve_sample(x, y, lazy=True)
    assert res._plan is None
    rows, cols, values = res.plan_coo
    assert len(values) <= 1000 + 700 - 1
    v = rng.random(700)
    np.testing.assert_allclose(res.plan_operator @ v, res.plan @ v, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.marginal_a, np.full(1000, 1e-3), rtol=1e-10)
