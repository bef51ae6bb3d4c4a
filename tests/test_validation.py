"""Bad input for linear OT: one parametrized test per item of ``shared/bad-inputs.md`` (items 1-32 and 39; items
33-37, Gromov-Wasserstein, at the end of the file).

Each item is exercised through the public front-ends that take the input (``emd_1d``, ``emd2_1d``,
``wasserstein_1d``, ``solve_sample``, ``dist``, ``unif``) and, where no front-end takes it yet (cost matrices,
``reg``, ``max_iter``, ``tol``), through the shared validators of ``numbaot._validation`` directly.
Test ids start with the item number, e.g. ``test_item01_negative_weight[emd_1d]``.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import warnings

import numpy as np
import pytest

import numbaot
from numbaot import InputWarning, _config, _device
from numbaot import _validation as V
from numbaot._status import ConvergenceWarning, Status, warn_status
from tests.certificates import check_duality, check_plan
from tests.naive import cost_matrix_1d, lp_ot, wasserstein_1d_quantile

X = np.array([0.0, 1.0, 3.0])
Y = np.array([0.5, 2.0])
A3 = np.array([0.2, 0.3, 0.5])
B2 = np.array([0.4, 0.6])


# ---------------------------------------------------------------------------------------------------------- helpers
def _hash(x):
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(), x.dtype, x.shape


def call_unmutated(func, *args, **kwargs):
    """Call ``func`` and assert that no numpy argument changed (bytes, dtype, shape) and none became writeable."""
    arrays = [x for x in (*args, *kwargs.values()) if isinstance(x, np.ndarray)]
    before = [(_hash(x), x.flags.writeable) for x in arrays]
    try:
        return func(*args, **kwargs)
    finally:
        after = [(_hash(x), x.flags.writeable) for x in arrays]
        assert before == after, f"{getattr(func, '__name__', func)} mutated one of its inputs"


@contextlib.contextmanager
def no_warnings():
    """A context in which any warning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def dense(plan):
    return plan.toarray() if hasattr(plan, "toarray") else np.asarray(plan)


def case(id_, *values, marks=()):
    return pytest.param(*values, id=id_, marks=marks)


def raises_case(item, id_, func, exc, pattern, marks=()):
    return pytest.param(func, exc, pattern, id=f"{item}-{id_}", marks=marks)


def _run_raises(func, exc, pattern):
    with pytest.raises(exc, match=pattern):
        func()


# ------------------------------------------------------------------------------------------- 1: negative weight
ITEM = "item01_negative_weight"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d", lambda: numbaot.emd_1d(X, Y, a=[1.2, -0.2, 0.0]), ValueError,
                r"a\[1\] = -0\.2\d* is negative"),
    raises_case(ITEM, "emd2_1d", lambda: numbaot.emd2_1d(X, Y, b=[1.2, -0.2]), ValueError,
                r"b\[1\] = -0\.2\d* is negative"),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, Y, a=[0.5, 0.7, -0.2]), ValueError,
                r"a\[2\] = -0\.2\d* is negative"),
    raises_case(ITEM, "wasserstein_1d", lambda: numbaot.wasserstein_1d(X, Y, u_weights=[0.5, -0.2, 0.7]),
                ValueError, r"u_weights\[1\] = -0\.2\d* is negative"),
    raises_case(ITEM, "wasserstein_1d_batch", lambda: numbaot.wasserstein_1d(
        np.ones((3, 2)), np.ones((2, 2)), v_weights=np.array([[0.5, 1.2], [0.5, -0.2]])),
        ValueError, r"v_weights\[:, 1\]\[1\] = -0\.2\d* is negative"),
    raises_case(ITEM, "check_weights", lambda: V.check_weights(np.array([0.5, -0.2, 0.7]), "a", 3), ValueError,
                r"a\[1\] = -0\.2\d* is negative; weights must be >= 0"),
    raises_case(ITEM, "check_balanced_weights", lambda: V.check_balanced_weights(A3, [1.2, -0.2], 3, 2),
                ValueError, r"b\[1\] = -0\.2\d* is negative"),
    raises_case(ITEM, "beyond_noise", lambda: V.check_weights(np.array([0.5, -1e-10, 0.5]), "a", 3), ValueError,
                r"a\[1\] = -1e-10 is negative"),
])
def test_item01_negative_weight(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ----------------------------------------------------------------------------------------- 2: float-noise negatives
A_NOISE = np.array([0.5, -1e-18, 0.5])
A_CLIPPED = np.array([0.5, 0.0, 0.5])


@pytest.mark.parametrize("front", ["emd_1d", "emd2_1d", "solve_sample", "wasserstein_1d", "check_weights"],
                         ids=lambda f: f"item02_noise_negative_clipped-{f}")
def test_item02_noise_negative_clipped(front):
    a = A_NOISE.copy()
    with pytest.warns(InputWarning, match=r"(a|u_weights) has negative entries down to -1e-18 \(at index 1\)"):
        if front == "emd_1d":
            got = call_unmutated(numbaot.emd_1d, X, Y, a)
            np.testing.assert_array_equal(got, numbaot.emd_1d(X, Y, A_CLIPPED))
            assert got.sum() == pytest.approx(1.0)  # never POT's all-zero plan
            assert np.all(got[1] == 0)
        elif front == "emd2_1d":
            got = call_unmutated(numbaot.emd2_1d, X, Y, a)
            assert got == numbaot.emd2_1d(X, Y, A_CLIPPED)
        elif front == "solve_sample":
            got = call_unmutated(numbaot.solve_sample, X, Y, a)
            np.testing.assert_array_equal(got.plan, numbaot.solve_sample(X, Y, A_CLIPPED).plan)
        elif front == "wasserstein_1d":
            got = call_unmutated(numbaot.wasserstein_1d, X, Y, a)
            assert got == numbaot.wasserstein_1d(X, Y, A_CLIPPED)
        else:
            got = call_unmutated(V.check_weights, a, "a", 3)
            np.testing.assert_array_equal(got, A_CLIPPED)
    np.testing.assert_array_equal(a, A_NOISE)


# ------------------------------------------------------------------------------------------------ 3: unequal mass
ITEM = "item03_mass_mismatch"
_MASS = r"sum\(a\) = {} and sum\(b\) = {}.*normalize.*unbalanced OT"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d", lambda: numbaot.emd_1d(X, Y, a=[1.0, 1.0, 1.0]), ValueError, _MASS.format(3, 1)),
    raises_case(ITEM, "emd2_1d", lambda: numbaot.emd2_1d(X, Y, b=[1.0, 1.0]), ValueError, _MASS.format(1, 2)),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, Y, a=[1.0, 1.0, 2.0], b=[1.0, 1.0]),
                ValueError, _MASS.format(4, 2)),
    raises_case(ITEM, "wasserstein_1d", lambda: numbaot.wasserstein_1d(X, Y, u_weights=[1.0, 1.0, 1.0]),
                ValueError, _MASS.format(3, 1)),
    raises_case(ITEM, "wasserstein_1d_batch", lambda: numbaot.wasserstein_1d(
        np.ones((3, 2)), np.ones((2, 2)), v_weights=np.array([[0.5, 1.0], [0.5, 1.0]])),
        ValueError, _MASS.format(1, 2)),
    raises_case(ITEM, "check_balanced_weights", lambda: V.check_balanced_weights([1.0, 2.0], [1.0, 1.0], 2, 2),
                ValueError, _MASS.format(3, 2)),
    raises_case(ITEM, "check_mass_f64", lambda: V.check_mass(1.0, 1.25, np.float64), ValueError,
                r"sum\(a\) = 1 and sum\(b\) = 1\.25 \(relative difference 0\.2 > 1e-09\)"),
    raises_case(ITEM, "check_mass_f32", lambda: V.check_mass(2.0, 2.0 + 2**-16, np.float32), ValueError,
                r"sum\(a\) = 2 and sum\(b\) = 2\.0000152587890625 .*> 1e-06"),
])
def test_item03_mass_mismatch(func, exc, pattern):
    _run_raises(func, exc, pattern)


# --------------------------------------------------------------------------------------- 4: mass within tolerance
def _softmax32(seed, n):
    """A float32 softmax whose float64 sum differs from 1 by more than 1e-9 (float32 rounding)."""
    rng = np.random.default_rng(seed)
    while True:
        z = rng.normal(size=n).astype(np.float32)
        w = np.exp(z) / np.exp(z).sum()
        if abs(float(w.sum(dtype=np.float64)) - 1.0) > 1e-9:
            return w


@pytest.mark.parametrize("variant", [
    "check_mass_f64", "check_mass_f32", "emd_1d_f64", "emd_1d_f32_softmax_both", "wasserstein_1d_f32",
    "emd_1d_f32_softmax_a_uniform_b",
], ids=lambda v: f"item04_mass_within_tol-{v}")
def test_item04_mass_within_tol(variant):
    if variant == "check_mass_f64":
        assert V.check_mass(1.0, 1.0 + 5e-10, np.float64) == pytest.approx(1.0 / (1.0 + 5e-10), rel=1e-15)
        return
    if variant == "check_mass_f32":
        assert V.check_mass(1.0, 1.0 + 5e-7, np.float32) == pytest.approx(1.0 / (1.0 + 5e-7), rel=1e-15)
        return
    if variant == "emd_1d_f64":
        b = np.array([0.4, 0.6 * (1 + 1e-12)])
        with no_warnings():
            plan = call_unmutated(numbaot.emd_1d, X, Y, A3, b)
        check_plan(plan, A3, b * (A3.sum() / b.sum()), rtol=1e-15)
        return
    x32 = X.astype(np.float32)
    y32 = np.array([0.5, 2.0, 2.5, 4.0], dtype=np.float32)
    a = _softmax32(0, 3)
    b = _softmax32(1, 4) if variant != "emd_1d_f32_softmax_a_uniform_b" else None
    if variant == "wasserstein_1d_f32":
        with no_warnings():
            got = call_unmutated(numbaot.wasserstein_1d, x32, y32, a, b, p=2)
        bb = b * (a.sum(dtype=np.float64) / b.sum(dtype=np.float64))
        assert got.dtype == np.float32
        assert float(got) == pytest.approx(wasserstein_1d_quantile(x32, y32, a, bb, 2), rel=1e-6)
        return
    with no_warnings():
        plan = numbaot.emd_1d(x32, y32, a, b)
    assert plan.dtype == np.float32
    bb = np.full(4, 0.25) if b is None else b.astype(np.float64)
    bb = bb * (a.sum(dtype=np.float64) / bb.sum())
    check_plan(plan, a, bb, rtol=1e-6)


# ------------------------------------------------------------------------------------------ 5: NaN/inf in weights
ITEM = "item05_nonfinite_weight_or_point"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d_a_nan", lambda: numbaot.emd_1d(X, Y, a=[0.5, np.nan, 0.5]), ValueError,
                r"a\[1\] is nan: a must be finite; 1 entries are NaN or inf"),
    raises_case(ITEM, "emd2_1d_b_inf", lambda: numbaot.emd2_1d(X, Y, b=[np.inf, 0.5]), ValueError,
                r"b\[0\] is inf: b must be finite"),
    raises_case(ITEM, "solve_sample_b_neginf", lambda: numbaot.solve_sample(X, Y, b=[0.5, -np.inf]), ValueError,
                r"b\[1\] is -inf: b must be finite"),
    raises_case(ITEM, "wasserstein_1d_u_weights_nan", lambda: numbaot.wasserstein_1d(
        X, Y, u_weights=[np.nan, 0.5, 0.5]), ValueError, r"u_weights\[0\] is nan"),
    raises_case(ITEM, "check_weights_inf", lambda: V.check_weights(np.array([1.0, 2.0, np.inf]), "a", 3),
                ValueError, r"a\[2\] is inf"),
    raises_case(ITEM, "emd_1d_x_a_nan", lambda: numbaot.emd_1d([0.0, 1.0, np.nan], Y), ValueError,
                r"x_a\[2\] is nan; x_a must be finite"),
    raises_case(ITEM, "emd_1d_x_b_inf", lambda: numbaot.emd_1d(X, [0.0, np.inf]), ValueError,
                r"x_b\[1\] is inf; x_b must be finite"),
    raises_case(ITEM, "wasserstein_1d_v_values_inf", lambda: numbaot.wasserstein_1d(X, [0.0, -np.inf]),
                ValueError, r"v_values\[1\] is -inf"),
    raises_case(ITEM, "solve_sample_X_a_nan", lambda: numbaot.solve_sample([np.nan, 0.0], Y), ValueError,
                r"[xX]_a\[0\] is nan"),
    raises_case(ITEM, "solve_sample_names_X_a", lambda: numbaot.solve_sample([np.nan, 0.0], Y), ValueError,
                r"X_a\[0\] is nan"),
])
def test_item05_nonfinite_weight_or_point(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ----------------------------------------------------------------------------------------------------- 6: NaN in M
ITEM = "item06_nan_cost"
M_NAN = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, np.nan], [np.nan, 1.0, 0.0]])


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "check_cost_matrix", lambda: V.check_cost_matrix(M_NAN), ValueError,
                r"M\[1, 2\] is NaN; costs must be real numbers"),
    raises_case(ITEM, "check_cost_matrix_with_weights", lambda: V.check_cost_matrix(M_NAN, A3, A3), ValueError,
                r"M\[1, 2\] is NaN"),
    raises_case(ITEM, "check_cost_matrix_nan_before_neginf", lambda: V.check_cost_matrix(
        np.array([[-np.inf, np.nan]])), ValueError, r"M\[0, 1\] is NaN"),
    raises_case(ITEM, "check_cost_matrix_name", lambda: V.check_cost_matrix(M_NAN, name="C"), ValueError,
                r"C\[1, 2\] is NaN"),
    raises_case(ITEM, "dist_points_nan", lambda: numbaot.dist(np.array([[0.0, 0.0], [1.0, np.nan]])), ValueError,
                r"x1\[\(?1, 1\)?\] is nan"),
    raises_case(ITEM, "dist_x2_inf", lambda: numbaot.dist(np.zeros((2, 2)), np.array([[0.0, np.inf]])),
                ValueError, r"x2\[\(?0, 1\)?\] is inf"),
])
def test_item06_nan_cost(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ---------------------------------------------------------------------------------------------- 7: +inf in M
M_FORBID = np.array([[1.0, np.inf], [2.0, 3.0]])


@pytest.mark.parametrize("variant", [
    "feasible", "infeasible_row", "infeasible_col", "infeasible_row_no_weights", "zero_weight_row_ok",
    "emd_avoids_the_forbidden_arc", "oracle_respects_forbidden_arc",
], ids=lambda v: f"item07_forbidden_arc-{v}")
def test_item07_forbidden_arc(variant):
    if variant == "feasible":
        with no_warnings():
            M = call_unmutated(V.check_cost_matrix, M_FORBID, np.array([0.5, 0.5]), np.array([0.5, 0.5]))
        np.testing.assert_array_equal(M, M_FORBID)
    elif variant == "infeasible_row":
        M = np.array([[1.0, 2.0], [np.inf, np.inf]])
        with pytest.raises(ValueError, match=r"row 1 of M has no finite cost but a\[1\] has mass.*infeasible"):
            V.check_cost_matrix(M, np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    elif variant == "infeasible_col":
        M = np.array([[np.inf, 2.0], [np.inf, 1.0]])
        with pytest.raises(ValueError, match=r"column 0 of M has no finite cost but b\[0\] has mass"):
            V.check_cost_matrix(M, np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    elif variant == "infeasible_row_no_weights":
        with pytest.raises(ValueError, match=r"row 0 of M has no finite cost"):
            V.check_cost_matrix(np.array([[np.inf, np.inf], [1.0, 2.0]]))
    elif variant == "zero_weight_row_ok":
        M = np.array([[1.0, 2.0], [np.inf, np.inf]])
        out = V.check_cost_matrix(M, np.array([1.0, 0.0]), np.array([0.5, 0.5]))
        np.testing.assert_array_equal(out, M)
    elif variant == "emd_avoids_the_forbidden_arc":
        res = numbaot.solve(M_FORBID)
        assert res.plan[0, 1] == 0.0 and float(res.value) == pytest.approx(2.0)  # rows 0 -> 0, 1 -> 1
    else:
        value, plan = lp_ot([0.5, 0.5], [0.5, 0.5], M_FORBID)
        assert value == pytest.approx(2.0)
        assert plan[0, 1] == 0.0
        check_plan(plan, [0.5, 0.5], [0.5, 0.5], rtol=1e-9)


# ---------------------------------------------------------------------------------------------- 8: -inf in M
@pytest.mark.parametrize("M", [
    case("item08_neginf_cost-corner", np.array([[0.0, -np.inf], [1.0, 2.0]])),
    case("item08_neginf_cost-with_posinf", np.array([[0.0, -np.inf], [np.inf, 2.0]])),
])
def test_item08_neginf_cost(M):
    with pytest.raises(ValueError, match=r"M\[0, 1\] is -inf: the transport cost would be unbounded below"):
        V.check_cost_matrix(M)


# ------------------------------------------------------------------------------------------- 9: extreme ranges
@pytest.mark.parametrize("variant", [
    "emd_near_max", "emd_huge_negative_and_positive", "emd_span_2e308", "emd_precision_warning", "emd_no_warning",
    "emd2_1d_1e300", "emd2_1d_euclidean_1.5e308", "emd2_1d_sqeuclidean_1e154", "wasserstein_1d_1.5e308",
], ids=lambda v: f"item09_extreme_range-{v}")
def test_item09_extreme_range(variant):
    eye = np.eye(2)
    if variant == "emd_near_max":  # costs near the float maximum, one forbidden arc
        M = np.array([[1e308, 1.5e308], [1.2e308, np.inf]])
        res = numbaot.solve(M)
        assert float(res.value) == pytest.approx(1.5e308 / 2 + 1.2e308 / 2, rel=1e-12)
        assert np.all(np.isfinite(res.potential_a)) and np.all(np.isfinite(res.potential_b))
        np.testing.assert_array_equal(res.plan, np.array([[0.0, 0.5], [0.5, 0.0]]))
    elif variant == "emd_huge_negative_and_positive":
        M = np.array([[-1e300, 1e300], [0.0, 5.0]])
        assert float(numbaot.emd2(None, None, M)) == pytest.approx(-1e300 / 2 + 5.0 / 2, rel=1e-12)
    elif variant == "emd_span_2e308":  # the span itself overflows a float
        M = np.array([[-1e308, 1e308], [1e308, -1e308]])
        np.testing.assert_array_equal(numbaot.emd(None, None, M), eye / 2)
        assert float(numbaot.emd2(None, None, M)) == -1e308
    elif variant == "emd_precision_warning":  # one huge cost next to ordinary ones
        M = np.random.default_rng(9).random((30, 30))
        M[0, 0] = 1e15
        with pytest.warns(InputWarning, match=r"the costs reach 1e\+15 .* float64 resolves only"):
            numbaot.emd2(None, None, M)
    elif variant == "emd_no_warning":
        with no_warnings():
            assert float(numbaot.emd2(None, None, np.array([[-3.0, 1.0], [0.5, 4.0]]))) == pytest.approx(0.5)
    elif variant == "emd2_1d_1e300":
        got = numbaot.emd2_1d([1e300, 1.5e300], [1.2e300, 1.1e300], metric="euclidean")
        assert float(got) == pytest.approx(2e299, rel=1e-12)
    elif variant == "emd2_1d_euclidean_1.5e308":
        assert float(numbaot.emd2_1d([1.5e308], [1e308], metric="euclidean")) == pytest.approx(5e307, rel=1e-12)
    elif variant == "emd2_1d_sqeuclidean_1e154":
        x, y = 1e154, 1.1e154
        assert float(numbaot.emd2_1d([x], [y])) == pytest.approx((y - x) ** 2, rel=1e-12)
    else:
        assert float(numbaot.wasserstein_1d([1.5e308], [1e308], p=1)) == pytest.approx(5e307, rel=1e-12)


# --------------------------------------------------------------------------------------------- 10: all-negative M
@pytest.mark.parametrize("shift", [5.0, 1e6], ids=lambda s: f"item10_all_negative_cost-minus_{s:g}")
def test_item10_all_negative_cost(shift):
    rng = np.random.default_rng(10)
    M0 = rng.random((4, 3))
    M = M0 - shift
    a = np.array([0.1, 0.2, 0.3, 0.4])
    b = np.array([0.5, 0.25, 0.25])
    with no_warnings():
        out = call_unmutated(V.check_cost_matrix, M, a, b)
        res = call_unmutated(numbaot.solve, M, a, b)
    np.testing.assert_array_equal(out, M)
    assert float(res.value) == pytest.approx(float(numbaot.emd2(a, b, M0)) - shift * a.sum(), rel=1e-12)
    # The oracle: the cost of M - shift is the cost of M minus shift times the mass, with the same plan.
    v0, p0 = lp_ot(a, b, M0)
    v1, p1 = lp_ot(a, b, M)
    assert v1 == pytest.approx(v0 - shift * a.sum(), rel=1e-9, abs=1e-9)
    assert np.sum(p1 * M0) == pytest.approx(v0, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------------------------------- 11: shape mismatch
ITEM = "item11_shape_mismatch"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "check_cost_matrix", lambda: V.check_cost_matrix(np.ones((3, 3)), np.ones(3), np.ones(4)),
                ValueError, r"M has shape \(3, 3\) but a has 3 and b has 4 entries"),
    raises_case(ITEM, "check_cost_matrix_only_a", lambda: V.check_cost_matrix(np.ones((3, 3)), np.ones(4)),
                ValueError, r"M has shape \(3, 3\) but a has 4"),
    raises_case(ITEM, "emd_1d_a", lambda: numbaot.emd_1d(X, Y, a=[0.5, 0.5]), ValueError,
                r"a has 2 entries but there are 3 points"),
    raises_case(ITEM, "emd2_1d_b", lambda: numbaot.emd2_1d(X, Y, b=[0.2, 0.3, 0.5]), ValueError,
                r"b has 3 entries but there are 2 points"),
    raises_case(ITEM, "solve_sample_a", lambda: numbaot.solve_sample(X, Y, a=[1.0]), ValueError,
                r"a has 1 entries but there are 3 points"),
    raises_case(ITEM, "wasserstein_1d_values", lambda: numbaot.wasserstein_1d(np.ones((3, 2)), np.ones((2, 3))),
                ValueError, r"u_values has shape \(3, 2\) and v_values \(2, 3\)"),
    raises_case(ITEM, "wasserstein_1d_values_ndim", lambda: numbaot.wasserstein_1d(np.ones((3, 2)), np.ones(2)),
                ValueError, r"u_values has shape \(3, 2\) and v_values \(2,\)"),
    raises_case(ITEM, "wasserstein_1d_weights", lambda: numbaot.wasserstein_1d(X, Y, u_weights=[0.5, 0.5]),
                ValueError, r"u_weights has shape \(2,\); it must be \(3,\)"),
    raises_case(ITEM, "dist_dims", lambda: numbaot.dist(np.ones((2, 2)), np.ones((3, 3))), ValueError,
                r"x1 has points of dimension 2 but x2 of dimension 3"),
    raises_case(ITEM, "check_balanced_weights", lambda: V.check_balanced_weights(np.ones(3), np.ones(3), 3, 4),
                ValueError, r"b has 3 entries but there are 4 points"),
])
def test_item11_shape_mismatch(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ---------------------------------------------------------------------------------------------- 12: wrong ndim
ITEM = "item12_wrong_ndim"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "check_cost_matrix_1d", lambda: V.check_cost_matrix(np.ones(3)), ValueError,
                r"M must be 2-D, got an array of shape \(3,\)"),
    raises_case(ITEM, "check_cost_matrix_3d", lambda: V.check_cost_matrix(np.ones((2, 2, 2))), ValueError,
                r"M must be 2-D, got an array of shape \(2, 2, 2\)"),
    raises_case(ITEM, "check_cost_matrix_0d", lambda: V.check_cost_matrix(1.0), ValueError, r"M must be 2-D"),
    raises_case(ITEM, "check_weights_2d", lambda: V.check_weights(np.ones((3, 1)), "a", 3), ValueError,
                r"a must be 1-D, got an array of shape \(3, 1\)"),
    raises_case(ITEM, "emd_1d_a_2d", lambda: numbaot.emd_1d(X, Y, a=np.ones((3, 1)) / 3), ValueError,
                r"a must be 1-D"),
    raises_case(ITEM, "emd_1d_x_a_multidim", lambda: numbaot.emd_1d(np.ones((3, 2)), Y), ValueError,
                r"x_a has shape \(3, 2\): 1D OT needs points of shape \(n,\) or \(n, 1\)"),
    raises_case(ITEM, "emd2_1d_x_b_3d", lambda: numbaot.emd2_1d(X, np.ones((2, 1, 1))), ValueError,
                r"x_b must be 1-D or 2-D, got an array of shape \(2, 1, 1\)"),
    raises_case(ITEM, "solve_sample_dimension_mismatch", lambda: numbaot.solve_sample(X, np.ones((2, 3))),
                ValueError, r"X_a has points of dimension 1 but X_b of dimension 3"),
    raises_case(ITEM, "solve_sample_3d", lambda: numbaot.solve_sample(X, np.ones((2, 3, 1))), ValueError,
                r"X_b must be 1-D or 2-D"),
    raises_case(ITEM, "wasserstein_1d_3d", lambda: numbaot.wasserstein_1d(np.ones((2, 2, 2)), Y), ValueError,
                r"u_values must be 1-D or 2-D"),
    raises_case(ITEM, "dist_3d", lambda: numbaot.dist(np.ones((2, 2, 2))), ValueError,
                r"x1 must be 1-D or 2-D"),
])
def test_item12_wrong_ndim(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ----------------------------------------------------------------------------------------- 13, 14: n = 1 or m = 1
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "minkowski"])
@pytest.mark.parametrize("side", [
    case("item13_single_point-n1", "n1"), case("item13_single_point-m1", "m1"),
])
def test_item13_single_point(side, metric):
    x, y = np.array([0.3]), np.array([0.0, 1.0, 2.5, -1.0])
    a, b = np.array([1.0]), np.array([0.2, 0.3, 0.1, 0.4])
    if side == "m1":
        x, y, a, b = y, x, b, a
    res = call_unmutated(numbaot.solve_sample, x, y, a, b, metric=metric, p=1.5)
    M = numbaot.dist(x, y, metric=metric, p=1.5)  # solve_sample's costs are dist's in every dimension
    expected_plan = a[0] * b[None, :] if side == "n1" else a[:, None] * b[0]
    np.testing.assert_allclose(res.plan, expected_plan, rtol=1e-15, atol=1e-15)
    assert float(res.value) == pytest.approx(float(np.sum(expected_plan * M)), rel=1e-12)
    # Every cell is on the support: f_i + g_j = M_ij everywhere, and a @ f == b @ g (centred).
    check_duality(res.value, res.potential_a, res.potential_b, a, b, M, tol=1e-12, plan=res.plan)
    assert float(a @ res.potential_a) == pytest.approx(float(b @ res.potential_b), rel=1e-12, abs=1e-15)
    assert res.converged


@pytest.mark.parametrize("front", ["solve_sample", "emd_1d", "emd2_1d", "wasserstein_1d"],
                         ids=lambda f: f"item14_one_by_one-{f}")
def test_item14_one_by_one(front):
    x, y, a, b = [0.5], [2.0], [2.0], [2.0]
    if front == "solve_sample":
        res = numbaot.solve_sample(x, y, a, b)
        np.testing.assert_array_equal(res.plan, [[2.0]])
        assert float(res.value) == 2.25 * 2.0
        check_duality(res.value, res.potential_a, res.potential_b, a, b, [[2.25]], tol=1e-15, plan=res.plan)
    elif front == "emd_1d":
        np.testing.assert_array_equal(numbaot.emd_1d(x, y, a, b, metric="euclidean"), [[2.0]])
    elif front == "emd2_1d":
        assert float(numbaot.emd2_1d(x, y, a, b, metric="euclidean")) == 1.5 * 2.0
    else:
        assert float(numbaot.wasserstein_1d(x, y, a, b, p=3)) == 1.5**3 * 2.0


# ------------------------------------------------------------------------------------------------ 15: empty input
ITEM = "item15_empty"
_EMPTY = r"{} is empty .*empty distribution"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d_x_a", lambda: numbaot.emd_1d([], Y), ValueError, _EMPTY.format("x_a")),
    raises_case(ITEM, "emd_1d_x_b", lambda: numbaot.emd_1d(X, np.empty((0, 1))), ValueError, _EMPTY.format("x_b")),
    raises_case(ITEM, "emd2_1d_a_empty_list_not_uniform", lambda: numbaot.emd2_1d(X, Y, a=[]), ValueError,
                r"a is empty .*never means uniform"),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, []), ValueError, r"(?i)x_b is empty"),
    raises_case(ITEM, "wasserstein_1d", lambda: numbaot.wasserstein_1d([], Y), ValueError,
                _EMPTY.format("u_values")),
    raises_case(ITEM, "wasserstein_1d_weights", lambda: numbaot.wasserstein_1d(X, Y, v_weights=[]), ValueError,
                _EMPTY.format("v_weights")),
    raises_case(ITEM, "dist_no_points", lambda: numbaot.dist(np.empty((0, 2))), ValueError, _EMPTY.format("x1")),
    raises_case(ITEM, "dist_no_dims", lambda: numbaot.dist(np.ones((2, 2)), np.empty((3, 0))), ValueError,
                _EMPTY.format("x2")),
    raises_case(ITEM, "unif_0", lambda: numbaot.unif(0), ValueError, r"n must be >= 1, got 0.*empty distribution"),
    raises_case(ITEM, "unif_negative", lambda: numbaot.unif(-2), ValueError, r"n must be >= 1, got -2"),
    raises_case(ITEM, "check_cost_matrix", lambda: V.check_cost_matrix(np.empty((0, 3))), ValueError,
                _EMPTY.format("M")),
    raises_case(ITEM, "check_weights", lambda: V.check_weights([], "b", 0), ValueError, _EMPTY.format("b")),
    raises_case(ITEM, "as_float_array", lambda: V.as_float_array([], "x"), ValueError, _EMPTY.format("x")),
])
def test_item15_empty(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ------------------------------------------------------------------------------------------ 16: all-zero weights
ITEM = "item16_all_zero_weights"
_ZERO = r"{} has zero total mass \(all entries are 0\)"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d_a", lambda: numbaot.emd_1d(X, Y, a=[0.0, 0.0, 0.0]), ValueError, _ZERO.format("a")),
    raises_case(ITEM, "emd2_1d_b", lambda: numbaot.emd2_1d(X, Y, b=[0, 0]), ValueError, _ZERO.format("b")),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, Y, a=np.zeros(3), b=np.zeros(2)),
                ValueError, _ZERO.format("a")),
    raises_case(ITEM, "wasserstein_1d", lambda: numbaot.wasserstein_1d(X, Y, v_weights=[0.0, 0.0]), ValueError,
                _ZERO.format("v_weights")),
    raises_case(ITEM, "check_weights", lambda: V.check_weights(np.zeros(4), "a", 4), ValueError, _ZERO.format("a")),
    raises_case(ITEM, "check_weights_noise_only", lambda: V.check_weights(np.array([0.0, -0.0]), "b", 2),
                ValueError, _ZERO.format("b")),
])
def test_item16_all_zero_weights(func, exc, pattern):
    _run_raises(func, exc, pattern)


# ---------------------------------------------------------------------------------------- 17: some zero weights
def _integer_masses(rng, n, m, zeros_a, zeros_b):
    a = rng.integers(1, 5, n).astype(float)
    a[zeros_a] = 0.0
    if a.sum() == 0:
        a[-1] = 1.0
    total = int(a.sum())
    keep = np.ones(m, bool)
    keep[zeros_b] = False
    if not keep.any():
        keep[0] = True
    b = np.zeros(m)
    b[keep] = rng.multinomial(total, np.full(keep.sum(), 1.0 / keep.sum()))
    return a, b


ZERO_CASES = [
    case("item17_zero_weights-first", [0], []),
    case("item17_zero_weights-last", [-1], [-1]),
    case("item17_zero_weights-middle", [1, 2], [0]),
    case("item17_zero_weights-random", None, None),
]


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "minkowski"])
@pytest.mark.parametrize("zeros_a, zeros_b", ZERO_CASES)
def test_item17_zero_weights(zeros_a, zeros_b, metric):
    rng = np.random.default_rng(17)
    trials = 1 if zeros_a is not None else 30
    for _ in range(trials):
        n, m = (5, 4) if zeros_a is not None else tuple(rng.integers(1, 8, 2))
        za = zeros_a if zeros_a is not None else rng.choice(n, rng.integers(0, n), replace=False)
        zb = zeros_b if zeros_b is not None else rng.choice(m, rng.integers(0, m), replace=False)
        x = rng.integers(0, 4, n) + rng.random(n) * (rng.random() < 0.5)  # ties half of the time
        y = rng.integers(0, 4, m) + rng.random(m) * 0.5
        a, b = _integer_masses(rng, n, m, za, zb)
        M = numbaot.dist(x, y, metric=metric, p=1.5)  # solve_sample's costs are dist's in every dimension
        with no_warnings():
            res = call_unmutated(numbaot.solve_sample, x, y, a, b, metric=metric, p=1.5)
        np.testing.assert_array_equal(res.plan[a == 0], 0.0)
        np.testing.assert_array_equal(res.plan[:, b == 0], 0.0)
        check_plan(res.plan, a, b, rtol=1e-12)
        value, _ = lp_ot(a, b, M)
        assert float(res.value) == pytest.approx(value, rel=1e-9, abs=1e-9)
        # Feasible duals for every row and column, zero-weight ones included, centred: a @ f == b @ g.
        f, g = res.potential_a, res.potential_b
        scale = max(1.0, float(M.max()))
        reduced = M - f[:, None] - g[None, :]
        assert reduced.min() >= -1e-12 * scale, (x, y, a, b, reduced.min())
        assert float(a @ f) == pytest.approx(float(b @ g), rel=1e-12, abs=1e-12 * scale)
        check_duality(res.value, f, g, a, b, M, tol=1e-12, plan=res.plan)


# ------------------------------------------------------------------------------------- 18: duplicates and ties
@pytest.mark.parametrize("x, y, a, b", [
    case("item18_degenerate-duplicated_points", [0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.5],
         [1, 1, 1, 1, 1], [2, 1, 1, 1]),
    case("item18_degenerate-identical_measures", [2.0, 1.0, 2.0, 0.0], [0.0, 2.0, 1.0, 2.0], None, None),
    case("item18_degenerate-all_points_equal", [3.0, 3.0, 3.0], [3.0, 3.0], [1, 2, 3], [3, 3]),
    case("item18_degenerate-equal_cumulative_breaks", [0.0, 1.0, 2.0, 3.0], [0.5, 1.5, 2.5, 3.5], None, None),
])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
def test_item18_degenerate(x, y, a, b, metric):
    x, y = np.asarray(x, float), np.asarray(y, float)
    aw = np.full(x.size, 1.0 / x.size) if a is None else np.asarray(a, float)
    bw = np.full(y.size, 1.0 / y.size) if b is None else np.asarray(b, float)
    M = cost_matrix_1d(x, y, metric)
    value, _ = lp_ot(aw, bw, M)
    res = numbaot.solve_sample(x, y, aw, bw, metric=metric)
    again = numbaot.solve_sample(x, y, aw, bw, metric=metric)
    assert float(res.value) == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert float(numbaot.emd2_1d(x, y, aw, bw, metric=metric)) == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(res.plan, again.plan)  # deterministic
    check_plan(res.plan, aw, bw, rtol=1e-14)
    check_duality(res.value, res.potential_a, res.potential_b, aw, bw, M, tol=1e-12, plan=res.plan)
    assert res.n_iter <= x.size + y.size - 1  # ends well before any cap
    assert res.plan_coo[0].size <= x.size + y.size - 1


# ------------------------------------------------------------------------------------------------- 19, 20: reg
ITEM = "item19_reg_zero"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "check_reg", lambda: V.check_reg(0), ValueError, r"reg = 0 means unregularised OT.*emd"),
    raises_case(ITEM, "check_reg_float", lambda: V.check_reg(0.0, "epsilon"), ValueError,
                r"epsilon = 0 means unregularised OT; call numbaot\.emd"),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, Y, reg=0.0), ValueError,
                r"reg = 0 .*numbaot\.emd"),
])
def test_item19_reg_zero(func, exc, pattern):
    _run_raises(func, exc, pattern)


ITEM = "item20_reg_invalid"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "negative", lambda: V.check_reg(-1.0), ValueError,
                r"reg must be a finite positive number, got -1\.0"),
    raises_case(ITEM, "nan", lambda: V.check_reg(float("nan")), ValueError, r"reg must be a finite .*got nan"),
    raises_case(ITEM, "inf", lambda: V.check_reg(np.inf), ValueError, r"reg must be a finite .*got inf"),
    raises_case(ITEM, "bool", lambda: V.check_reg(True), TypeError, r"reg must be a positive real number, got True"),
    raises_case(ITEM, "string", lambda: V.check_reg("0.1"), TypeError, r"reg must be a positive real number"),
    raises_case(ITEM, "array", lambda: V.check_reg(np.array([0.1])), TypeError, r"reg must be a positive real"),
    raises_case(ITEM, "solve_sample_negative", lambda: numbaot.solve_sample(X, Y, reg=-1), ValueError,
                r"reg must be a finite positive number, got -1"),
    raises_case(ITEM, "solve_sample_nan", lambda: numbaot.solve_sample(X, Y, reg=np.nan), ValueError,
                r"reg must be a finite positive"),
    raises_case(ITEM, "solve_sample_bool", lambda: numbaot.solve_sample(X, Y, reg=True), TypeError,
                r"reg must be a positive real number"),
])
def test_item20_reg_invalid(func, exc, pattern):
    _run_raises(func, exc, pattern)


def test_item20_reg_valid_values_pass():
    assert V.check_reg(np.float32(0.5)) == 0.5
    assert isinstance(V.check_reg(np.float64(2)), float)
    assert V.check_reg(3) == 3.0


# -------------------------------------------------------------------------------------------- 21: tiny reg
@pytest.mark.parametrize("variant", ["check_reg_accepts_tiny", "numerical_error_warns", "optimal_is_silent"],
                         ids=lambda v: f"item21_tiny_reg-{v}")
def test_item21_tiny_reg(variant):
    if variant == "check_reg_accepts_tiny":
        assert V.check_reg(1e-300) == 1e-300
        assert V.check_reg(5e-324) == 5e-324
    elif variant == "numerical_error_warns":
        with pytest.warns(ConvergenceWarning, match=r"sinkhorn: NUMERICAL_ERROR: NaN or inf appeared"):
            status = warn_status(int(Status.NUMERICAL_ERROR), "sinkhorn")
        assert status is Status.NUMERICAL_ERROR
    else:
        with no_warnings():
            assert warn_status(0, "sinkhorn") is Status.OPTIMAL


# -------------------------------------------------------------------------------------- 22: max_iter and tol
ITEM = "item22_max_iter_tol"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "max_iter_zero", lambda: V.check_max_iter(0), ValueError, r"max_iter must be >= 1, got 0"),
    raises_case(ITEM, "max_iter_negative", lambda: V.check_max_iter(-5, "numItermax"), ValueError,
                r"numItermax must be >= 1, got -5"),
    raises_case(ITEM, "max_iter_float", lambda: V.check_max_iter(10.0), TypeError,
                r"max_iter must be a positive integer, got 10\.0 of type float"),
    raises_case(ITEM, "max_iter_bool", lambda: V.check_max_iter(True), TypeError,
                r"max_iter must be a positive integer, got True"),
    raises_case(ITEM, "max_iter_str", lambda: V.check_max_iter("100"), TypeError, r"max_iter must be a positive"),
    raises_case(ITEM, "tol_negative", lambda: V.check_tol(-1e-9), ValueError,
                r"tol must be a finite number >= 0, got -1e-09"),
    raises_case(ITEM, "tol_nan", lambda: V.check_tol(float("nan"), "stopThr"), ValueError,
                r"stopThr must be a finite number >= 0, got nan"),
    raises_case(ITEM, "tol_inf", lambda: V.check_tol(np.inf), ValueError, r"tol must be a finite number"),
    raises_case(ITEM, "tol_str", lambda: V.check_tol("1e-9"), TypeError, r"tol must be a non-negative real"),
    raises_case(ITEM, "tol_bool", lambda: V.check_tol(False), TypeError, r"tol must be a non-negative real"),
])
def test_item22_max_iter_tol(func, exc, pattern):
    _run_raises(func, exc, pattern)


def test_item22_valid_values_and_cap_warning():
    assert V.check_max_iter(np.int64(7)) == 7 and type(V.check_max_iter(np.int32(7))) is int
    assert V.check_tol(0) == 0.0 and V.check_tol(np.float32(1e-3)) == pytest.approx(1e-3)
    with pytest.warns(ConvergenceWarning, match=r"emd: MAX_ITER_REACHED: stopped at max_iter.*\(marginal error "
                                                r"1\.5e-03\)"):
        status = warn_status(1, "emd", detail="marginal error 1.5e-03")
    assert status is Status.MAX_ITER_REACHED


# ---------------------------------------------------------------------------------------------- 23: float32
X32 = np.array([0.1, 1.3, 3.7, 2.2], dtype=np.float32)
Y32 = np.array([0.5, 2.0, 2.9], dtype=np.float32)
A32 = np.array([0.125, 0.25, 0.375, 0.25], dtype=np.float32)  # exact sums
B32 = np.array([0.25, 0.25, 0.5], dtype=np.float32)


@pytest.mark.parametrize("front", ["emd_1d", "emd_1d_sparse", "emd2_1d", "solve_sample", "wasserstein_1d",
                                   "wasserstein_1d_batch", "dist", "unif", "as_float_array"],
                         ids=lambda f: f"item23_float32-{f}")
def test_item23_float32(front):
    f64 = [z.astype(np.float64) for z in (X32, Y32, A32, B32)]
    if front == "emd_1d":
        got = numbaot.emd_1d(X32, Y32, A32, B32)
        assert got.dtype == np.float32
        # Computed in float64 and cast at the end: exactly the float64 answer rounded once.
        np.testing.assert_array_equal(got, numbaot.emd_1d(*f64).astype(np.float32))
    elif front == "emd_1d_sparse":
        got = numbaot.emd_1d(X32, Y32, A32, B32, dense=False)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.toarray(), numbaot.emd_1d(*f64).astype(np.float32))
    elif front == "emd2_1d":
        got = numbaot.emd2_1d(X32, Y32, A32, B32)
        assert got.dtype == np.float32
        assert got == np.float32(numbaot.emd2_1d(*f64))
    elif front == "solve_sample":
        res = numbaot.solve_sample(X32, Y32, A32, B32)
        ref = numbaot.solve_sample(*f64)
        for field in ("plan", "potential_a", "potential_b"):
            arr = getattr(res, field)
            assert arr.dtype == np.float32, field
            np.testing.assert_array_equal(arr, getattr(ref, field).astype(np.float32))
        assert res.value.dtype == np.float32 and res.value == np.float32(ref.value)
        assert res.marginal_a.dtype == np.float32
    elif front == "wasserstein_1d":
        got = numbaot.wasserstein_1d(X32, Y32, A32, B32, p=2)
        assert got.dtype == np.float32
        assert got == np.float32(numbaot.wasserstein_1d(*f64, p=2))
    elif front == "wasserstein_1d_batch":
        U = np.stack([X32, X32[::-1]], axis=1)
        Vv = np.stack([Y32, Y32 * 2], axis=1)
        got = numbaot.wasserstein_1d(U, Vv, p=1.5)
        assert got.dtype == np.float32 and got.shape == (2,)
        np.testing.assert_array_equal(got, numbaot.wasserstein_1d(U.astype(float), Vv.astype(float), p=1.5)
                                      .astype(np.float32))
    elif front == "dist":
        P = np.stack([X32, X32 ** 2], axis=1)
        got = numbaot.dist(P, metric="euclidean")
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, numbaot.dist(P.astype(float), metric="euclidean").astype(np.float32))
    elif front == "unif":
        assert numbaot.unif(3, type_as=A32).dtype == np.float32
        assert numbaot.unif(3).dtype == np.float64
    else:
        out = V.as_float_array(A32, "a")
        assert out.dtype == np.float32 and V.result_dtype(out) == np.float32


# --------------------------------------------------------------------------------------------- 24: float16
@pytest.mark.parametrize("dtype", [np.float16, np.longdouble], ids=lambda d: f"item24_low_or_extended_precision-"
                                                                              f"{np.dtype(d).name}")
@pytest.mark.parametrize("front", ["emd_1d", "emd2_1d", "solve_sample", "wasserstein_1d", "dist", "as_float_array"])
def test_item24_low_or_extended_precision(dtype, front):
    x = X.astype(dtype)
    name = {"wasserstein_1d": "u_values", "dist": "x1", "as_float_array": "w", "solve_sample": "X_a"}.get(front,
                                                                                                       "x_a")
    with pytest.warns(InputWarning, match=rf"{name} has dtype {np.dtype(dtype).name}; upcasting to float64"):
        if front == "emd_1d":
            got = numbaot.emd_1d(x, Y)
            np.testing.assert_array_equal(got, numbaot.emd_1d(x.astype(np.float64), Y))
        elif front == "emd2_1d":
            got = numbaot.emd2_1d(x, Y)
        elif front == "solve_sample":
            got = numbaot.solve_sample(x, Y).plan
        elif front == "wasserstein_1d":
            got = numbaot.wasserstein_1d(x, Y)
        elif front == "dist":
            got = numbaot.dist(x, Y)
        else:
            got = V.as_float_array(x, "w")
    assert got.dtype == np.float64


# ------------------------------------------------------------------------------------------- 25: ints and bools
@pytest.mark.parametrize("front", ["emd_1d_int_points", "emd_1d_int_weights", "emd_1d_bool_weights",
                                   "emd2_1d_int", "solve_sample_int", "wasserstein_1d_int", "dist_int",
                                   "dist_bool", "unif_numpy_int", "check_cost_matrix_int"],
                         ids=lambda f: f"item25_int_bool_upcast-{f}")
def test_item25_int_bool_upcast(front):
    xi = np.array([0, 1, 3])
    yi = np.array([1, 2], dtype=np.int32)
    if front == "emd_1d_int_points":
        got = numbaot.emd_1d(xi, yi)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, numbaot.emd_1d(xi.astype(float), yi.astype(float)))
        assert not np.array_equal(got, got.astype(int))  # never an int-cast plan: fractions survive
    elif front == "emd_1d_int_weights":
        a, b = np.array([1, 2, 1]), np.array([2, 2], dtype=np.uint8)
        got = numbaot.emd_1d(X, Y, a, b)
        assert got.dtype == np.float64
        check_plan(got, a, b, rtol=1e-15)
        assert float(np.sum(got * cost_matrix_1d(X, Y))) == pytest.approx(lp_ot(a, b, cost_matrix_1d(X, Y))[0])
    elif front == "emd_1d_bool_weights":
        a, b = np.array([True, False, True]), np.array([True, True])
        got = numbaot.emd_1d(X, Y, a, b)
        assert got.dtype == np.float64
        check_plan(got, a.astype(float), b.astype(float), rtol=1e-15)
    elif front == "emd2_1d_int":
        got = numbaot.emd2_1d(xi, yi, metric="euclidean")
        assert isinstance(got, np.floating) and got.dtype == np.float64
        assert float(got) == pytest.approx(wasserstein_1d_quantile(xi, yi, None, None, 1))
    elif front == "solve_sample_int":
        res = numbaot.solve_sample(xi, yi, np.array([1, 1, 2]), np.array([2, 2]))
        assert res.plan.dtype == np.float64 and res.potential_a.dtype == np.float64
    elif front == "wasserstein_1d_int":
        got = numbaot.wasserstein_1d(xi, yi, p=2)
        assert got.dtype == np.float64
        assert float(got) == pytest.approx(wasserstein_1d_quantile(xi, yi, None, None, 2))
    elif front == "dist_int":
        got = numbaot.dist(np.array([[0, 0], [1, 1]]), np.array([[1, 0]]))
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [[1.0], [1.0]])
    elif front == "dist_bool":
        got = numbaot.dist(np.array([[True, False], [False, False]]), metric="cityblock")
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [[0.0, 1.0], [1.0, 0.0]])
    elif front == "unif_numpy_int":
        got = numbaot.unif(np.int64(4))
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [0.25] * 4)
    else:
        M = V.check_cost_matrix(np.array([[1, 2], [3, 4]], dtype=np.int16))
        assert M.dtype == np.float64


# --------------------------------------------------------------------------------------- 26: complex and object
ITEM = "item26_non_real_dtype"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "emd_1d_complex_points", lambda: numbaot.emd_1d(X + 0j, Y), TypeError,
                r"x_a has complex dtype complex128"),
    raises_case(ITEM, "emd_1d_complex_weights", lambda: numbaot.emd_1d(X, Y, a=np.ones(3, complex) / 3),
                TypeError, r"a has complex dtype"),
    raises_case(ITEM, "emd2_1d_object", lambda: numbaot.emd2_1d(np.array([0, 1, "a"], dtype=object), Y), TypeError,
                r"x_a has dtype object, which is not numeric"),
    raises_case(ITEM, "solve_sample_strings", lambda: numbaot.solve_sample(X, np.array(["a", "b"])), TypeError,
                r"(?i)x_b has dtype <U1, which is not numeric"),
    raises_case(ITEM, "solve_sample_str", lambda: numbaot.solve_sample(X, "ab"), TypeError,
                r"(?i)x_b must be a numeric array, got a str"),
    raises_case(ITEM, "wasserstein_1d_complex", lambda: numbaot.wasserstein_1d(X, Y, v_weights=[0.5j, 0.5]),
                TypeError, r"v_weights has complex dtype"),
    raises_case(ITEM, "dist_complex", lambda: numbaot.dist(np.ones((2, 2), complex)), TypeError,
                r"x1 has complex dtype"),
    raises_case(ITEM, "dist_none", lambda: numbaot.dist(None), TypeError, r"x1 must be an array, got None"),
    raises_case(ITEM, "unif_float", lambda: numbaot.unif(3.0), TypeError, r"n must be a positive integer, got 3\.0"),
    raises_case(ITEM, "unif_bool", lambda: numbaot.unif(True), TypeError, r"n must be a positive integer"),
    raises_case(ITEM, "check_cost_matrix_complex", lambda: V.check_cost_matrix(np.ones((2, 2), np.complex64)),
                TypeError, r"M has complex dtype complex64"),
    raises_case(ITEM, "check_cost_matrix_object", lambda: V.check_cost_matrix(np.array([[1, None]])), TypeError,
                r"M has dtype object"),
    raises_case(ITEM, "ragged_list", lambda: numbaot.emd_1d([[0.0, 1.0], [1.0]], Y), TypeError,
                r"x_a must be a rectangular numeric array"),
    raises_case(ITEM, "bytes", lambda: V.as_float_array(b"12", "a"), TypeError,
                r"a must be a numeric array, got a bytes"),
])
def test_item26_non_real_dtype(func, exc, pattern):
    _run_raises(func, exc, pattern)


# -------------------------------------------------------------------------------------------- 27: lists and tuples
@pytest.mark.parametrize("front", ["emd_1d", "emd2_1d", "solve_sample", "wasserstein_1d", "wasserstein_1d_batch",
                                   "dist", "check_cost_matrix", "check_balanced_weights"],
                         ids=lambda f: f"item27_lists_and_tuples-{f}")
def test_item27_lists_and_tuples(front):
    xl, yl, al, bl = X.tolist(), tuple(Y.tolist()), tuple(A3.tolist()), B2.tolist()
    if front == "emd_1d":
        np.testing.assert_array_equal(numbaot.emd_1d(xl, yl, al, bl), numbaot.emd_1d(X, Y, A3, B2))
    elif front == "emd2_1d":
        assert numbaot.emd2_1d(xl, yl, al, bl) == numbaot.emd2_1d(X, Y, A3, B2)
    elif front == "solve_sample":
        res = numbaot.solve_sample([[v] for v in xl], yl, al, bl)
        np.testing.assert_array_equal(res.plan, numbaot.solve_sample(X, Y, A3, B2).plan)
    elif front == "wasserstein_1d":
        assert numbaot.wasserstein_1d(xl, yl, al, bl, p=2) == numbaot.wasserstein_1d(X, Y, A3, B2, p=2)
    elif front == "wasserstein_1d_batch":
        U = [[0.0, 1.0], [1.0, 2.0], [3.0, -1.0]]
        got = numbaot.wasserstein_1d(U, [[0.5, 0.0], [2.0, 0.0]])
        np.testing.assert_array_equal(got, numbaot.wasserstein_1d(np.array(U), np.array([[0.5, 0.0], [2.0, 0.0]])))
    elif front == "dist":
        got = numbaot.dist([[0.0, 0.0], (1.0, 1.0)], ([1.0, 0.0],))
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, [[1.0], [1.0]])
    elif front == "check_cost_matrix":
        M = V.check_cost_matrix([[0, 1], (2.5, 3)], [1, 1], (1, 1))
        assert isinstance(M, np.ndarray) and M.dtype == np.float64
        np.testing.assert_array_equal(M, [[0, 1], [2.5, 3]])
    else:
        a, b = V.check_balanced_weights([1, 1], (0.5, 1.5), 2, 2)
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(b, [0.5, 1.5])


# ---------------------------------------------------------------------------------------- 28: memory layouts
def _layouts(base):
    """(name, view) pairs of the same values in different memory layouts."""
    out = []
    if base.ndim == 1:
        big = np.empty(2 * base.size)
        big[::2] = base
        out.append(("strided", big[::2]))
        rev = base[::-1].copy()
        out.append(("negative_stride", rev[::-1]))
        out.append(("column_view", np.stack([base, base], axis=1)[:, :1]))
    else:
        out.append(("fortran", np.asfortranarray(base)))
        big = np.empty((base.shape[0], 2 * base.shape[1]))
        big[:, ::2] = base
        out.append(("strided", big[:, ::2]))
        rev = base[::-1].copy()
        out.append(("negative_stride", rev[::-1]))
    for _, view in out:
        assert np.array_equal(view.reshape(base.shape), base)
        assert not view.flags.c_contiguous
    return out


@pytest.mark.parametrize("layout", ["strided", "negative_stride", "column_view"],
                         ids=lambda s: f"item28_layouts-{s}")
@pytest.mark.parametrize("front", ["emd_1d", "emd2_1d", "solve_sample", "wasserstein_1d"])
def test_item28_layouts_1d(layout, front):
    from numbaot.exact import _solver_1d

    def run(x, y, a, b):
        if front == "emd_1d":
            return numbaot.emd_1d(x, y, a, b)
        if front == "emd2_1d":
            return numbaot.emd2_1d(x, y, a, b)
        if front == "solve_sample":
            res = numbaot.solve_sample(x, y, a, b)
            return np.concatenate([res.plan.ravel(), res.potential_a, res.potential_b])
        return numbaot.wasserstein_1d(x.reshape(-1), y.reshape(-1), a.reshape(-1), b.reshape(-1), p=1.5)

    x = np.array([0.3, -1.0, 2.0, 0.3, 5.0])
    y = np.array([1.0, 0.0, 4.0])
    a = np.array([0.1, 0.2, 0.3, 0.15, 0.25])
    b = np.array([0.5, 0.25, 0.25])
    expected = run(x, y, a, b)
    sig_plan = len(_solver_1d.emd_1d_sorted_core.signatures)
    sig_value = len(_solver_1d.wasserstein_1d_core.signatures)
    views = {name: dict(_layouts(z)) for name, z in (("x", x), ("y", y), ("a", a), ("b", b))}
    xv, yv = views["x"][layout], views["y"][layout]
    av, bv = (views["a"][layout], views["b"][layout]) if layout != "column_view" else (a[::1], b)
    got = call_unmutated(run, xv, yv, av, bv)
    np.testing.assert_array_equal(got, expected)
    # One contiguous copy upstream: no new specialisation of the cores.
    assert len(_solver_1d.emd_1d_sorted_core.signatures) == sig_plan
    assert len(_solver_1d.wasserstein_1d_core.signatures) == sig_value


@pytest.mark.parametrize("layout", ["fortran", "strided", "negative_stride"], ids=lambda s: f"item28_layouts-{s}")
@pytest.mark.parametrize("front", ["dist", "wasserstein_1d_batch", "check_cost_matrix"])
def test_item28_layouts_2d(layout, front):
    from numbaot import _costs
    from numbaot.exact import _solver_1d

    rng = np.random.default_rng(28)
    P = rng.random((6, 3))
    Q = rng.random((4, 3))
    if front == "dist":
        expected = numbaot.dist(P, Q, metric="cityblock")
        sigs = len(_costs.dist_core.signatures)
        got = call_unmutated(numbaot.dist, dict(_layouts(P))[layout], dict(_layouts(Q))[layout], "cityblock")
        np.testing.assert_array_equal(got, expected)
        assert len(_costs.dist_core.signatures) == sigs
    elif front == "wasserstein_1d_batch":
        W = rng.random((6, 3)) + 0.1
        W2 = rng.random((4, 3)) + 0.1
        W2 = W2 * (W.sum(axis=0) / W2.sum(axis=0))
        expected = numbaot.wasserstein_1d(P, Q, W, W2, p=2)
        sigs = len(_solver_1d.wasserstein_1d_batch_core.signatures)
        lay = {name: dict(_layouts(z))[layout] for name, z in (("P", P), ("Q", Q), ("W", W), ("W2", W2))}
        got = call_unmutated(numbaot.wasserstein_1d, lay["P"], lay["Q"], lay["W"], lay["W2"], p=2)
        np.testing.assert_allclose(got, expected, rtol=1e-13)
        assert len(_solver_1d.wasserstein_1d_batch_core.signatures) == sigs
    else:
        M = dict(_layouts(P))[layout]
        out = call_unmutated(V.check_cost_matrix, M)
        assert out.flags.c_contiguous and out.flags.writeable
        np.testing.assert_array_equal(out, P)


# -------------------------------------------------------------------------------------- 29: read-only inputs
def _readonly(x):
    x = np.array(x, dtype=float)
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("front", ["emd_1d", "emd_1d_sparse", "emd2_1d", "solve_sample", "solve_sample_lazy",
                                   "wasserstein_1d", "wasserstein_1d_batch", "dist", "unif", "check_cost_matrix",
                                   "check_balanced_weights_rescale", "check_weights_clip"],
                         ids=lambda f: f"item29_readonly_never_mutated-{f}")
def test_item29_readonly_never_mutated(front):
    x = _readonly([0.3, -1.0, 2.0, 0.3])
    y = _readonly([1.0, 0.0, 4.0])
    a = _readonly([0.1, 0.2, 0.3, 0.4])
    b = _readonly([0.5, 0.25, 0.25 * (1 + 1e-12)])  # rescaled internally (item 4), never in place
    if front == "emd_1d":
        plan = call_unmutated(numbaot.emd_1d, x, y, a, b)
        check_plan(plan, a, b * (a.sum() / b.sum()), rtol=1e-14)
    elif front == "emd_1d_sparse":
        call_unmutated(numbaot.emd_1d, x, y, a, b, dense=False)
    elif front == "emd2_1d":
        call_unmutated(numbaot.emd2_1d, x, y, a, b, metric="minkowski", p=3)
    elif front == "solve_sample":
        res = call_unmutated(numbaot.solve_sample, x, y, a, b)
        res.plan[0, 0] = 1.0  # the result is the caller's to modify
    elif front == "solve_sample_lazy":
        res = call_unmutated(numbaot.solve_sample, x, y, a, b, lazy=True)
        call_unmutated(res.plan_operator.matvec, _readonly(np.ones(3)))
        call_unmutated(res.plan_operator.rmatvec, _readonly(np.ones(4)))
    elif front == "wasserstein_1d":
        call_unmutated(numbaot.wasserstein_1d, x, y, a, b, p=2)
        call_unmutated(numbaot.wasserstein_1d, x, y, a, b, p=2, require_sort=True)
        xs, ys = _readonly(np.sort(x)), _readonly(np.sort(y))
        call_unmutated(numbaot.wasserstein_1d, xs, ys, p=2, require_sort=False)
    elif front == "wasserstein_1d_batch":
        U = _readonly(np.stack([x, x[::-1]], axis=1))
        Vv = _readonly(np.stack([y, 2 * y], axis=1))
        call_unmutated(numbaot.wasserstein_1d, U, Vv, a, b)
        call_unmutated(numbaot.wasserstein_1d, U, Vv, _readonly(np.stack([a, a], 1)), _readonly(np.stack([b, b], 1)))
    elif front == "dist":
        P = _readonly(np.stack([x, x**2], axis=1))
        for metric in ("sqeuclidean", "cosine"):
            call_unmutated(numbaot.dist, P, metric=metric)
    elif front == "unif":
        call_unmutated(numbaot.unif, 3, a)
    elif front == "check_cost_matrix":
        M = _readonly(np.outer(x, y))
        out = call_unmutated(V.check_cost_matrix, M)
        assert out.flags.writeable and not np.shares_memory(out, M)
    elif front == "check_balanced_weights_rescale":
        a2, b2 = call_unmutated(V.check_balanced_weights, a, b, 4, 3)
        assert b2.sum() == pytest.approx(a.sum(), rel=1e-15)
    else:
        w = _readonly([0.5, -1e-18, 0.5])
        with pytest.warns(InputWarning):
            out = call_unmutated(V.check_weights, w, "a", 3)
        assert out[1] == 0.0 and w[1] == -1e-18


# ------------------------------------------------------------------------------------------- 30: mixed dtypes
@pytest.mark.parametrize("front", [
    "result_dtype", "emd_1d_points", "emd_1d_weights", "solve_sample", "emd2_1d", "wasserstein_1d", "dist",
    "int_and_float32",
    "float32_softmax_with_float64_weights",
], ids=lambda f: f"item30_mixed_dtypes-{f}")
def test_item30_mixed_dtypes(front):
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
    if front == "result_dtype":
        assert V.result_dtype(X32, Y32) == f32
        assert V.result_dtype(X32, Y32, None) == f32
        assert V.result_dtype(X32, X) == f64
        assert V.result_dtype(None) == f64
    elif front == "emd_1d_points":
        got = numbaot.emd_1d(X32, Y32.astype(np.float64), A32, B32)
        assert got.dtype == f64
        np.testing.assert_array_equal(got, numbaot.emd_1d(X32.astype(float), Y32.astype(float), A32.astype(float),
                                                          B32.astype(float)))
    elif front == "emd_1d_weights":
        assert numbaot.emd_1d(X32, Y32, A32.astype(np.float64), B32).dtype == f64
    elif front == "solve_sample":
        res = numbaot.solve_sample(X32, Y32, A32, B32.astype(np.float64))
        assert res.plan.dtype == f64 and res.potential_a.dtype == f64 and res.value.dtype == f64
    elif front == "emd2_1d":
        assert numbaot.emd2_1d(X32.astype(np.float64), Y32).dtype == f64
    elif front == "wasserstein_1d":
        assert numbaot.wasserstein_1d(X32, Y32, u_weights=A32.astype(np.float64)).dtype == f64
        assert numbaot.wasserstein_1d(X32, Y32).dtype == f32
    elif front == "dist":
        assert numbaot.dist(X32, Y32.astype(np.float64)).dtype == f64
    elif front == "float32_softmax_with_float64_weights":
        a = _softmax32(3, 4)
        plan = numbaot.emd_1d(X32, Y32, a, np.array([0.25, 0.25, 0.5]))
        assert plan.dtype == f64
        check_plan(plan, a, np.array([0.25, 0.25, 0.5]) * a.sum(dtype=np.float64), rtol=1e-6)
    else:
        # int32 points are upcast to float64 (item 25), so the result is float64.
        assert numbaot.emd_1d(np.array([0, 1, 2, 3], np.int32), Y32).dtype == f64


# -------------------------------------------------------------------------------------------- 31: huge n * m
@pytest.mark.parametrize("front", ["emd_1d_dense", "solve_sample", "dist", "check_dense_size",
                                   "check_dense_size_env_limit", "lazy_plan_refused"],
                         ids=lambda f: f"item31_huge_dense-{f}")
def test_item31_huge_dense(front, monkeypatch):
    n = 200_000
    gib = r"needs 298\.0 GiB, over the 8\.0 GiB limit"
    if front == "emd_1d_dense":
        x = np.linspace(0, 1, n)
        with pytest.raises(ValueError, match=rf"dense plan of shape \(200000, 200000\) {gib}.*dense=False"):
            numbaot.emd_1d(x, x[::-1], dense=True)
    elif front == "solve_sample":
        x = np.linspace(0, 1, n)
        with pytest.raises(ValueError, match=rf"shape \(200000, 200000\) {gib}.*lazy=True"):
            numbaot.solve_sample(x, x, lazy=False)
    elif front == "dist":
        with pytest.raises(ValueError, match=rf"cost matrix of shape \(200000, 200000\) {gib}"):
            numbaot.dist(np.zeros(n), np.ones(n))
        with pytest.raises(ValueError, match=r"cost matrix of shape \(200000, 200000\)"):
            numbaot.dist(np.zeros((n, 3), np.float32))
    elif front == "check_dense_size":
        with pytest.raises(ValueError, match=r"the plan of shape \(1099511627776, 1099511627776\) needs "
                                             r"9007199254740992\.0 GiB"):
            V.check_dense_size((2**40, 2**40), 8, what="the plan")  # Python ints: no int64 overflow
        V.check_dense_size((1000, 1000), 8)  # fits: silent
    elif front == "check_dense_size_env_limit":
        monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 1000)
        with pytest.raises(ValueError, match=r"dense result of shape \(10, 20\) needs 0\.0 GiB, over the 0\.0 GiB"):
            V.check_dense_size((10, 20), 8)
        V.check_dense_size((10, 12), 8)
    else:
        monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 1000)
        x = np.linspace(0, 1, 20)
        res = numbaot.solve_sample(x, x, lazy=True)
        np.testing.assert_allclose(res.plan_operator @ np.ones(20), np.full(20, 1 / 20), rtol=1e-14)
        with pytest.raises(ValueError, match=r"the dense plan of shape \(20, 20\) needs"):
            res.plan  # noqa: B018


# ------------------------------------------------------------------------------------------- 32: n * m > 2**31
@pytest.mark.parametrize("front", ["emd_1d_sparse", "solve_sample_lazy"], ids=lambda f: f"item32_int64_indexing-{f}")
def test_item32_int64_indexing(front):
    n = m = 50_000
    assert n * m > 2**31
    rng = np.random.default_rng(32)
    x = rng.random(n)
    y = rng.random(m) + 0.25
    a = rng.random(n) + 0.5
    b = rng.random(m) + 0.5
    b *= a.sum() / b.sum()
    if front == "emd_1d_sparse":
        P = numbaot.emd_1d(x, y, a, b, dense=False)
        rows, cols, vals = P.row, P.col, P.data
    else:
        res = numbaot.solve_sample(x, y, a, b, lazy=True)
        rows, cols, vals = res.plan_coo
        np.testing.assert_allclose(res.marginal_a, a, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.marginal_b, b, rtol=1e-9, atol=1e-12)
        assert float(res.value) == pytest.approx(float(numbaot.emd2_1d(x, y, a, b)), rel=1e-12)
    assert rows.dtype == np.int64 and cols.dtype == np.int64
    assert vals.size <= n + m - 1 and vals.min() >= 0
    assert rows.max() == n - 1 or cols.max() == m - 1
    np.testing.assert_allclose(np.bincount(rows, weights=vals, minlength=n), a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.bincount(cols, weights=vals, minlength=m), b, rtol=1e-9, atol=1e-12)
    flat = rows * m + cols  # flat indices beyond 2**31 are exact in int64
    assert flat.dtype == np.int64 and flat.max() > 2**31
    value = float(np.sum(vals * (x[rows] - y[cols]) ** 2))
    assert value == pytest.approx(float(numbaot.emd2_1d(x, y, a, b)), rel=1e-10)


# -------------------------------------------------------------------------------------- 39: host/device mixing
class FakeCudaArray:
    """Something with ``__cuda_array_interface__`` (as CuPy or PyTorch tensors have); never dereferenced."""

    def __init__(self, shape=(3,), dtype=np.float64, device_id=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        if device_id is not None:
            self.device = type("Device", (), {"id": device_id})()

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (0, False), "version": 3}


ITEM = "item39_host_device_mix"


@pytest.mark.parametrize("func, exc, pattern", [
    raises_case(ITEM, "where", lambda: _device.where(a=FakeCudaArray(), b=np.ones(3), M=np.ones((3, 3))),
                ValueError, r"a on the GPU but b, M on the host.*never copies"),
    raises_case(ITEM, "where_two_gpus", lambda: _device.where(a=FakeCudaArray(device_id=0),
                                                              b=FakeCudaArray(device_id=1)),
                ValueError, r"different GPUs: a on GPU 0, b on GPU 1"),
    raises_case(ITEM, "emd_1d", lambda: numbaot.emd_1d(FakeCudaArray(), Y), ValueError,
                r"x_a on the GPU but x_b on the host"),
    raises_case(ITEM, "emd2_1d_weights", lambda: numbaot.emd2_1d(X, Y, a=FakeCudaArray()), ValueError,
                r"a on the GPU but x_a, x_b on the host"),
    raises_case(ITEM, "wasserstein_1d", lambda: numbaot.wasserstein_1d(X, FakeCudaArray((2,))), ValueError,
                r"v_values on the GPU but u_values on the host"),
    raises_case(ITEM, "solve_sample", lambda: numbaot.solve_sample(X, FakeCudaArray((2,))), ValueError,
                r"(?i)x_b on the GPU but x_a on the host"),
    raises_case(ITEM, "dist", lambda: numbaot.dist(np.ones((2, 2)), FakeCudaArray((3, 2))), ValueError,
                r"x2 on the GPU but x1 on the host"),
    raises_case(ITEM, "host_only_validator", lambda: V.check_cost_matrix(FakeCudaArray((2, 2))), ValueError,
                r"M is a GPU array but this function runs on the host only"),
    raises_case(ITEM, "cuda_int_dtype", lambda: numbaot.emd_1d(FakeCudaArray(dtype=np.int32), Y), TypeError,
                r"x_a is a GPU array of dtype int32"),
])
def test_item39_host_device_mix(func, exc, pattern):
    _run_raises(func, exc, pattern)


def test_item39_no_cuda_target_clear_error(monkeypatch):
    """A CUDA input on a machine where Numba sees no GPU: a RuntimeError that says what to check."""
    pytest.importorskip("numba.cuda")
    from numba import cuda

    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"no CUDA GPU or driver is usable.*numpy arrays"):
        _device.where(x=FakeCudaArray())


@pytest.mark.cuda
@pytest.mark.parametrize("front", [
    "emd_1d", "emd_1d_weights", "emd2_1d", "wasserstein_1d", "dist", "solve_sample",
    "solve_sample_names_X_b",
], ids=lambda f: f"item39_device_mix_cuda-{f}")
def test_item39_device_mix_cuda(front):
    from numba import cuda

    d = cuda.to_device(np.array([0.5, 2.0]))
    if front == "emd_1d":
        func, pattern = lambda: numbaot.emd_1d(X, d), r"x_b on the GPU but x_a on the host"
    elif front == "emd_1d_weights":
        func, pattern = lambda: numbaot.emd_1d(Y, Y, b=d), r"b on the GPU but x_a, x_b on the host"
    elif front == "emd2_1d":
        func, pattern = lambda: numbaot.emd2_1d(d, X), r"x_a on the GPU but x_b on the host"
    elif front == "wasserstein_1d":
        func, pattern = lambda: numbaot.wasserstein_1d(d, X), r"u_values on the GPU but v_values on the host"
    elif front == "dist":
        func, pattern = lambda: numbaot.dist(d, X), r"x1 on the GPU but x2 on the host"
    elif front == "solve_sample":
        func, pattern = lambda: numbaot.solve_sample(X, d), r"(?i)x_b on the GPU but x_a on the host"
    else:
        func, pattern = lambda: numbaot.solve_sample(X, d), r"X_b on the GPU but X_a on the host"
    with pytest.raises(ValueError, match=pattern):
        func()
    np.testing.assert_array_equal(d.copy_to_host(), [0.5, 2.0])  # no silent copy or mutation


# ------------------------------------------------------------------------------- Gromov-Wasserstein: items 33-37
GW_FRONTS = {
    "gromov_wasserstein": lambda C1, C2, **kw: numbaot.gromov_wasserstein(C1, C2, **kw),
    "gromov_wasserstein2": lambda C1, C2, **kw: numbaot.gromov_wasserstein2(C1, C2, **kw),
    "fused_gromov_wasserstein": lambda C1, C2, **kw: numbaot.fused_gromov_wasserstein(
        np.zeros((len(C1), len(C2))), C1, C2, **kw),
    "entropic_gromov_wasserstein": lambda C1, C2, **kw: numbaot.entropic_gromov_wasserstein(C1, C2, **kw),
    "entropic_fused_gromov_wasserstein2": lambda C1, C2, **kw: numbaot.entropic_fused_gromov_wasserstein2(
        np.zeros((len(C1), len(C2))), C1, C2, **kw),
    "solve_gromov": lambda C1, C2, p=None, q=None, **kw: numbaot.solve_gromov(C1, C2, a=p, b=q, **kw),
    "solve_gromov_reg": lambda C1, C2, p=None, q=None, **kw: numbaot.solve_gromov(C1, C2, a=p, b=q, reg=0.5, **kw),
    "semirelaxed_gromov_wasserstein": lambda C1, C2, p=None, **kw: numbaot.semirelaxed_gromov_wasserstein(C1, C2, p,
                                                                                                        **kw),
}
#: ``solve_gromov`` takes POT's ``ot.solve_gromov`` names (Ca, Cb, a, b, loss): its messages name those.
SOLVE_GROMOV_NAMES = {"C1": "Ca", "C2": "Cb", "p": "a", "q": "b", "loss_fun": "loss"}


def _named(front, pattern):
    """``pattern`` with the GW verbs' argument names as ``front`` calls them."""
    if not front.startswith("solve_gromov"):
        return pattern
    return re.sub(r"\b(C1|C2|p|q|loss_fun)\b", lambda m: SOLVE_GROMOV_NAMES[m.group(1)], pattern)


C3 = np.abs(np.subtract.outer(X, X))  # a 3x3 distance matrix
C2_ = np.abs(np.subtract.outer(Y, Y))


@pytest.mark.parametrize("front", list(GW_FRONTS), ids=lambda f: f"item33_gw_not_square-{f}")
@pytest.mark.parametrize("which", ["C1", "C2"])
def test_item33_gw_not_square(front, which):
    bad = np.ones((3, 4))
    args = (bad, C2_) if which == "C1" else (C3, bad)
    with pytest.raises(ValueError, match=_named(front, rf"{which} must be square.*got shape \(3, 4\)")):
        GW_FRONTS[front](*args)
    with pytest.raises(ValueError, match=_named(front, rf"{which} must be 2-D")):
        GW_FRONTS[front](*((np.ones(3), C2_) if which == "C1" else (C3, np.ones(3))))


@pytest.mark.parametrize("front", list(GW_FRONTS), ids=lambda f: f"item34_gw_weights_length-{f}")
def test_item34_gw_weights_length(front):
    with pytest.raises(ValueError, match=_named(front, r"p has 4 entries but C1 is 3x3")):
        GW_FRONTS[front](C3, C2_, p=np.full(4, 0.25))
    with pytest.raises(ValueError, match=_named(front, r"p\[1\] = -0.5.* is negative")):
        GW_FRONTS[front](C3, C2_, p=np.array([1.0, -0.5, 0.5]))
    if front.startswith("semirelaxed"):  # no second marginal: its mass is learnt
        with pytest.raises(ValueError, match=_named(front, r"the row sums of G0 differ from p")):
            GW_FRONTS[front](C3, C2_, G0=np.full((3, 2), 0.1))
        return
    with pytest.raises(ValueError, match=_named(front, r"q has 3 entries but C2 is 2x2")):
        GW_FRONTS[front](C3, C2_, q=np.full(3, 1 / 3))
    with pytest.raises(ValueError, match=_named(front, r"p and q must have the same total mass")):
        GW_FRONTS[front](C3, C2_, p=np.full(3, 0.5))
    with pytest.raises(ValueError, match=_named(front, r"p\[1\] = -0.5.* is negative")):
        GW_FRONTS[front](C3, C2_, p=np.array([1.0, -0.5, 0.5]))


@pytest.mark.parametrize("front", list(GW_FRONTS), ids=lambda f: f"item35_gw_asymmetric_flag-{f}")
def test_item35_gw_symmetric_flag(front):
    A = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 1.0], [1.0, 2.0, 0.0]])
    with pytest.raises(ValueError, match=_named(front, r"symmetric=True but C1 is not symmetric: C1\[\d, \d\]")):
        GW_FRONTS[front](A, C2_, symmetric=True)
    with pytest.raises(TypeError, match="symmetric must be True or False"):
        GW_FRONTS[front](C3, C2_, symmetric="yes")
    # auto-detection: float noise within the dtype's tolerance counts as symmetric, real asymmetry does not
    noisy = C3 + np.triu(np.full((3, 3), 1e-15), 1)
    assert V.check_symmetric(noisy, "C1", None)
    assert not V.check_symmetric(A, "C1", None)
    noisy32 = (C3 + np.triu(np.full((3, 3), 1e-7), 1)).astype(np.float32)
    assert V.check_symmetric(noisy32, "C1", None)
    assert not V.check_symmetric(noisy32.astype(np.float64), "C1", None)
    with no_warnings():  # symmetric=True on symmetric noise is accepted
        GW_FRONTS[front](noisy, C2_, symmetric=True)


@pytest.mark.parametrize("front", list(GW_FRONTS), ids=lambda f: f"item36_gw_nonfinite-{f}")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_item36_gw_nonfinite(front, value):
    bad = C3.copy()
    bad[1, 2] = value
    with pytest.raises(ValueError, match=_named(front, r"C1\[\(1, 2\)\] is .*; C1 must be finite")):
        GW_FRONTS[front](bad, C2_)
    with pytest.raises(ValueError, match=_named(front, r"C2\[\(1, 2\)\] is .*; C2 must be finite")):
        GW_FRONTS[front](C2_, bad)


@pytest.mark.parametrize("front", ["gromov_wasserstein2", "solve_gromov"], ids=lambda f: f"item37_gw_permuted-{f}")
def test_item37_gw_permuted_copy(front):
    rng = np.random.default_rng(37)
    pts = rng.random((9, 2))
    C = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    perm = rng.permutation(9)
    out = call_unmutated(GW_FRONTS[front], C, C[np.ix_(perm, perm)], n_init=2, random_state=0)
    value = out if front == "gromov_wasserstein2" else out.value
    assert abs(float(value)) < 1e-12
    with pytest.raises(ValueError, match="n_init must be >= 1"):
        GW_FRONTS[front](C, C, n_init=0)


def test_item37_gw_other_parameters():
    """The remaining GW parameters: loss, alpha, G0, epsilon, tolerances, and kl_loss's sign requirement."""
    with pytest.raises(ValueError, match="loss_fun must be one of"):
        numbaot.gromov_wasserstein(C3, C2_, loss_fun="l1")
    with pytest.raises(ValueError, match=r"C1\[0, 2\] = -3.0 is negative; kl_loss"):
        numbaot.gromov_wasserstein(-C3, C2_, loss_fun="kl_loss")
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        numbaot.fused_gromov_wasserstein(np.zeros((3, 2)), C3, C2_, alpha=1.5)
    with pytest.raises(ValueError, match=r"M has shape \(2, 3\).*must be \(3, 2\)"):
        numbaot.fused_gromov_wasserstein(np.zeros((2, 3)), C3, C2_)
    with pytest.raises(ValueError, match=r"M\[\(0, 0\)\] is nan"):
        numbaot.fused_gromov_wasserstein(np.full((3, 2), np.nan), C3, C2_)
    with pytest.raises(ValueError, match=r"the row sums of G0 differ from p"):
        numbaot.gromov_wasserstein(C3, C2_, G0=np.full((3, 2), 0.1))
    with pytest.raises(ValueError, match=r"G0 has shape \(2, 3\)"):
        numbaot.gromov_wasserstein(C3, C2_, G0=np.full((2, 3), 1 / 6))
    with pytest.raises(ValueError, match="epsilon = 0 means unregularised"):
        numbaot.entropic_gromov_wasserstein(C3, C2_, epsilon=0.0)
    with pytest.raises(ValueError, match="tol_rel must be a finite number >= 0"):
        numbaot.gromov_wasserstein(C3, C2_, tol_rel=-1.0)
    with pytest.raises(TypeError, match="max_iter must be a positive integer"):
        numbaot.gromov_wasserstein(C3, C2_, max_iter=10.5)
    with pytest.raises(ValueError, match="n_init applies to the exact solver"):
        numbaot.solve_gromov(C3, C2_, reg=0.1, n_init=3)
    # lists, ints and float32 are accepted; float32 in, float32 out (items 23, 25, 27)
    plan = numbaot.gromov_wasserstein([[0, 1], [1, 0]], np.array([[0, 2], [2, 0]]))
    assert plan.dtype == np.float64 and np.allclose(plan.sum(), 1.0)
    assert numbaot.gromov_wasserstein(C3.astype(np.float32), C3.astype(np.float32)).dtype == np.float32
