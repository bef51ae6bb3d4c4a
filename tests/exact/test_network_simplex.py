"""The network simplex (emd, emd2, solve with reg=None) against an LP solver, the assignment solver, optimality
certificates, planted answers, degenerate families and metamorphic properties."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linear_sum_assignment

import numbaot
from tests.certificates import check_duality, check_plan
from tests.naive import lp_ot


@st.composite
def problems(draw, max_n=8, integer_costs=None):
    """``(a, b, M)`` with integer weights of exactly equal mass (zeros allowed) and costs of any sign."""
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_n))
    a = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.float64)
    b = np.array(draw(st.lists(st.integers(0, 4), min_size=m, max_size=m)), dtype=np.float64)
    if a.sum() == 0:
        a[0] = 1.0
    if b.sum() == 0:
        b[-1] = 1.0
    a, b = a * b.sum(), b * a.sum()
    integer = draw(st.booleans()) if integer_costs is None else integer_costs
    elements = st.integers(0, 3).map(float) if integer else st.floats(-10, 10, allow_nan=False)
    M = draw(hnp.arrays(np.float64, (n, m), elements=elements))
    return a, b, M


#: HiGHS solves to its primal/dual feasibility tolerances (1e-7, relative to the data), so the LP is a coarse
#: oracle; exactness is proven by the duality certificates, and we must never be worse than HiGHS.
LP_TOL = 1e-7


def _close_to_lp(value, lp_value, a, M):
    slack = LP_TOL * max(1.0, float(np.abs(M[np.isfinite(M)]).max(initial=0.0))) * float(np.sum(a))
    assert float(value) <= lp_value + 1e-12 * max(1.0, abs(lp_value)), (value, lp_value)
    assert abs(float(value) - lp_value) <= slack, (value, lp_value)


def _rel(x, y):
    return abs(float(x) - float(y)) / max(1.0, abs(float(y)))


@given(problems())
def test_equals_lp_optimum_with_certificates(problem):
    a, b, M = problem
    expected, _ = lp_ot(a, b, M)
    res = numbaot.solve(M, a, b)
    assert res.status is numbaot.Status.OPTIMAL
    _close_to_lp(res.value, expected, a, M)
    check_plan(res.plan, a, b, rtol=1e-12)
    # primal = dual to 1e-12 relative, reduced costs >= -1e-12 (scaled by max|M|), and 0 on the plan's support
    check_duality(res.value, res.potential_a, res.potential_b, a, b, M, tol=1e-12, plan=res.plan)
    assert abs(a @ res.potential_a - b @ res.potential_b) <= 1e-12 * max(1.0, np.abs(M).max()) * a.sum()
    assert np.count_nonzero(res.plan) <= len(a) + len(b) - 1
    assert _rel(numbaot.emd2(a, b, M), float(res.value)) < 1e-12


@given(problems())
def test_transpose_symmetry(problem):
    a, b, M = problem
    forward = numbaot.solve(M, a, b)
    backward = numbaot.solve(M.T.copy(), b, a)
    assert _rel(forward.value, backward.value) < 1e-10


@given(problems(integer_costs=False), st.data())
def test_adding_potentials_to_costs_shifts_the_value_only(problem, data):
    a, b, M = problem
    u = data.draw(hnp.arrays(np.float64, len(a), elements=st.floats(-5, 5)))
    v = data.draw(hnp.arrays(np.float64, len(b), elements=st.floats(-5, 5)))
    base = numbaot.solve(M, a, b)
    shifted = numbaot.solve(M + u[:, None] + v[None, :], a, b)
    assert _rel(shifted.value, base.value + a @ u + b @ v) < 1e-9
    # the shifted problem's optimum stays optimal for the original costs
    assert _rel(np.sum(shifted.plan * M), base.value) < 1e-9


@given(problems(), st.randoms(use_true_random=False))
def test_permuting_points_permutes_the_plan_value(problem, rnd):
    a, b, M = problem
    p = np.array(rnd.sample(range(len(a)), len(a)))
    q = np.array(rnd.sample(range(len(b)), len(b)))
    assert _rel(numbaot.emd2(a[p], b[q], M[np.ix_(p, q)]), numbaot.emd2(a, b, M)) < 1e-10


@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_planted_permutation_is_recovered(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    perm = rng.permutation(n)
    M = numbaot.dist(x, x[perm])
    plan = numbaot.emd(None, None, M)
    np.testing.assert_allclose(plan[np.arange(n), np.argsort(perm)], 1.0 / n, rtol=1e-12)
    assert abs(float(np.sum(plan * M))) < 1e-12


def test_matches_linear_sum_assignment():
    rng = np.random.default_rng(0)
    for n in (5, 50, 200):
        M = rng.random((n, n))
        rows, cols = linear_sum_assignment(M)
        assert _rel(numbaot.emd2(None, None, M) * n, M[rows, cols].sum()) < 1e-12


def test_emd_on_1d_costs_equals_emd_1d():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=40), rng.normal(size=30)
    a, b = rng.random(40), rng.random(30)
    b *= a.sum() / b.sum()
    M = (x[:, None] - y[None, :]) ** 2
    assert _rel(numbaot.emd2(a, b, M), numbaot.emd2_1d(x, y, a, b)) < 1e-12


# ----------------------------------------------------------------------------------------- degenerate families
@pytest.mark.parametrize("family", ["all_equal", "integer_0_3", "duplicated_points", "uniform_1000"])
def test_degenerate_families(family):
    rng = np.random.default_rng(2)
    if family == "all_equal":
        n = m = 60
        M = np.full((n, m), 2.5)
    elif family == "integer_0_3":
        n, m = 80, 70
        M = rng.integers(0, 4, (n, m)).astype(float)
    elif family == "duplicated_points":
        x = rng.normal(size=(20, 2))
        pts = np.repeat(x, 3, axis=0)
        M = numbaot.dist(pts, pts[::-1])
        n = m = len(pts)
    else:
        n = m = 1000
        x, y = rng.random((n, 2)), rng.random((n, 2))
        M = numbaot.dist(x, y)
    res = numbaot.solve(M)
    assert res.status is numbaot.Status.OPTIMAL
    check_plan(res.plan, np.full(n, 1 / n), np.full(m, 1 / m), rtol=1e-10)
    check_duality(res.value, res.potential_a, res.potential_b, np.full(n, 1 / n), np.full(m, 1 / m), M,
                  tol=1e-10 * max(1.0, M.max()))
    if n <= 80:
        expected, _ = lp_ot(np.full(n, 1 / n), np.full(m, 1 / m), M)
        _close_to_lp(res.value, expected, np.full(n, 1 / n), M)
    assert res.n_iter < 50 * n * m  # ends well before any cap


def test_deterministic():
    rng = np.random.default_rng(3)
    M = rng.integers(0, 3, (50, 40)).astype(float)
    first = numbaot.emd(None, None, M)
    for _ in range(3):
        np.testing.assert_array_equal(numbaot.emd(None, None, M), first)


# -------------------------------------------------------------------------------------------- special inputs
def test_forbidden_arcs_feasible_and_infeasible():
    M = np.array([[0.0, np.inf], [np.inf, 0.0]])
    np.testing.assert_allclose(numbaot.emd(None, None, M), np.eye(2) / 2)
    M = np.array([[1.0, np.inf, np.inf], [2.0, 3.0, np.inf], [np.inf, 1.0, 5.0]])
    res = numbaot.solve(M)
    expected, _ = lp_ot(np.full(3, 1 / 3), np.full(3, 1 / 3), M)
    _close_to_lp(res.value, expected, np.full(3, 1 / 3), M)
    # every row has a finite cost, but rows 0 and 1 both only reach column 0: Hall's condition fails
    M = np.array([[0.0, np.inf], [0.0, np.inf]])
    with pytest.raises(ValueError, match="forbidden"):
        numbaot.emd(None, None, M)


def test_all_negative_costs_and_huge_costs():
    rng = np.random.default_rng(4)
    M = rng.random((10, 12))
    base = numbaot.emd2(None, None, M)
    assert _rel(numbaot.emd2(None, None, M - 5), base - 5) < 1e-12
    assert _rel(numbaot.emd2(None, None, M * 1e300), base * 1e300) < 1e-12
    assert _rel(numbaot.emd2(None, None, M * 1e-300), base * 1e-300) < 1e-12


def test_single_row_single_column():
    b = np.array([0.2, 0.3, 0.5])
    res = numbaot.solve(np.array([[1.0, 2.0, 3.0]]), [1.0], b)
    np.testing.assert_allclose(res.plan, b[None, :])
    assert float(res.value) == pytest.approx(2.3)
    res = numbaot.solve(np.array([[4.0]]), [2.0], [2.0])
    assert float(res.value) == 8.0 and res.plan[0, 0] == 2.0


def test_several_targets_at_once():
    rng = np.random.default_rng(5)
    M = rng.random((6, 5))
    B = rng.random((5, 3))
    B /= B.sum(axis=0)
    values = numbaot.emd2(None, B, M)
    assert values.shape == (3,)
    for t in range(3):
        assert _rel(values[t], numbaot.emd2(None, B[:, t], M)) < 1e-12


def test_max_iter_reports_and_warns():
    rng = np.random.default_rng(6)
    M = rng.random((30, 30))
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve(M, max_iter=3)
    assert res.status is numbaot.Status.MAX_ITER_REACHED and not res.converged and res.n_iter == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert numbaot.solve(M, max_iter=3, warn=False).status is numbaot.Status.MAX_ITER_REACHED


def test_float32_in_float32_out_and_sparse_output():
    rng = np.random.default_rng(7)
    M = rng.random((20, 15)).astype(np.float32)
    plan = numbaot.emd(None, None, M)
    assert plan.dtype == np.float32
    sparse = numbaot.emd(None, None, M, dense=False)
    assert sparse.nnz <= 34
    np.testing.assert_allclose(sparse.toarray(), plan)
    assert _rel(numbaot.emd2(None, None, M), numbaot.emd2(None, None, M.astype(np.float64))) < 1e-6


def test_parallel_pricing_gives_the_same_optimum(monkeypatch):
    from numbaot import _config

    rng = np.random.default_rng(8)
    M = numbaot.dist(rng.random((300, 2)), rng.random((300, 2)))
    serial = numbaot.solve(M, n_threads=1)
    monkeypatch.setattr(_config, "NS_PARALLEL_MIN_BLOCK", 16)
    parallel = numbaot.solve(M, n_threads=2)
    assert _rel(parallel.value, serial.value) < 1e-12


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"M has shape \(3, 3\) but a has 3 and b has 4 entries"):
        numbaot.emd(np.ones(3) / 3, np.ones(4) / 4, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"M\[1, 0\] is NaN"):
        numbaot.emd(None, None, np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="-inf"):
        numbaot.emd(None, None, np.array([[0.0, -np.inf], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="row 1 of M has no finite cost"):
        numbaot.emd(None, None, np.array([[0.0, 1.0], [np.inf, np.inf]]))
    with pytest.raises(ValueError, match="same total mass"):
        numbaot.emd([0.5, 0.5], [0.5, 0.6], np.ones((2, 2)))
    with pytest.raises(TypeError, match="max_iter must be a positive integer"):
        numbaot.emd(None, None, np.ones((2, 2)), max_iter=1.5)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        numbaot.emd(None, None, np.ones((2, 2)), max_iter=0)
    with pytest.raises(ValueError, match="M must be 2-D"):
        numbaot.emd(None, None, np.ones(3))


# ------------------------------------------------------------------------------------------------ warm starts
@given(problems(integer_costs=False), st.data())
def test_warm_start_from_any_duals_or_plan_reaches_the_same_optimum(problem, data):
    a, b, M = problem
    cold = numbaot.solve(M, a, b)
    f = data.draw(hnp.arrays(np.float64, len(a), elements=st.floats(-20, 20)))
    g = data.draw(hnp.arrays(np.float64, len(b), elements=st.floats(-20, 20)))
    for warm in (numbaot.solve(M, a, b, potentials_init=(f, g)),
                 numbaot.solve(M, a, b, potentials_init=(cold.potential_a, cold.potential_b)),
                 numbaot.solve(M, a, b, plan_init=cold.plan),
                 numbaot.solve(M, a, b, plan_init=cold.plan_sparse)):
        assert warm.status is numbaot.Status.OPTIMAL
        assert _rel(warm.value, cold.value) < 1e-12
        check_plan(warm.plan, a, b, rtol=1e-12)
        check_duality(warm.value, warm.potential_a, warm.potential_b, a, b, M,
                      tol=1e-10 * max(1.0, np.abs(M).max()))


def test_warm_start_from_a_nearby_problem_saves_pivots():
    """The outer loops of Gromov-Wasserstein and barycenters solve a sequence of nearby problems."""
    rng = np.random.default_rng(9)
    n = 300
    x, y = rng.random((n, 2)), rng.random((n, 2))
    a, b = rng.random(n), rng.random(n)
    b *= a.sum() / b.sum()
    first = numbaot.solve(numbaot.dist(x, y), a, b)
    M = numbaot.dist(x, y) + 0.01 * numbaot.dist(x, y + 0.05)
    cold = numbaot.solve(M, a, b)
    from_duals = numbaot.solve(M, a, b, potentials_init=(first.potential_a, first.potential_b))
    from_plan = numbaot.solve(M, a, b, plan_init=first.plan_sparse)
    assert from_duals.n_iter < 0.8 * cold.n_iter and from_plan.n_iter < 0.8 * cold.n_iter
    assert _rel(from_duals.value, cold.value) < 1e-12 and _rel(from_plan.value, cold.value) < 1e-12


def test_warm_start_inputs_are_validated():
    M = np.ones((2, 3))
    with pytest.raises(ValueError, match="not both"):
        numbaot.solve(M, potentials_init=(np.zeros(2), np.zeros(3)), plan_init=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"must be \(2,\) and \(3,\)"):
        numbaot.solve(M, potentials_init=(np.zeros(3), np.zeros(3)))
    with pytest.raises(TypeError, match="pair"):
        numbaot.solve(M, potentials_init=np.zeros(2))
    with pytest.raises(ValueError, match=r"potentials_init\[1\]\[0\] is nan"):
        numbaot.solve(M, potentials_init=(np.zeros(2), np.array([np.nan, 0.0, 0.0])))
    with pytest.raises(ValueError, match=r"plan_init has shape \(3, 2\)"):
        numbaot.solve(M, plan_init=np.ones((3, 2)))
    with pytest.raises(ValueError, match="negative"):
        numbaot.solve(M, plan_init=-np.ones((2, 3)))


# ------------------------------------------------------------------------------- numerics found in review
def test_float32_weights_rescaled_in_float64():
    """A float32-normalised pair of weights differs in mass by ~1e-8: b is rescaled in float64, no false error."""
    rng = np.random.default_rng(10)
    for n in (3, 50, 400):
        a = rng.random(n).astype(np.float32)
        b = rng.random(n).astype(np.float32)
        a, b = a / a.sum(), b / b.sum()
        M = rng.random((n, n))
        res = numbaot.solve(M, a, b)
        assert res.status is numbaot.Status.OPTIMAL
        ref = numbaot.solve(M, a.astype(np.float64), b.astype(np.float64) * (a.sum(dtype=np.float64)
                                                                           / b.sum(dtype=np.float64)))
        assert _rel(res.value, ref.value) < 1e-12


@pytest.mark.parametrize("scale", [1e-13, 1e-20, 1e-50, 1e-99, 1e-101, 1e-250, 1e50, 1e250])
def test_any_cost_scale_gives_the_optimum(scale):
    rng = np.random.default_rng(11)
    M = rng.random((30, 30))
    base = float(numbaot.emd2(None, None, M))
    assert _rel(float(numbaot.emd2(None, None, M * scale)) / scale, base) < 1e-12


def test_outlier_cost_warns_that_precision_is_lost():
    rng = np.random.default_rng(12)
    M = rng.random((30, 30))
    M[0, 0] = 1e15
    with pytest.warns(numbaot.InputWarning, match="float64 resolves only"):
        numbaot.emd2(None, None, M)


def test_points_far_from_the_origin_or_tiny():
    rng = np.random.default_rng(13)
    X, Y = rng.random((20, 2)), rng.random((15, 2))
    base = numbaot.solve_sample(X, Y)
    for s, power in ((1e154, 2), (1e-150, 2)):  # costs ~1e308 and ~1e-300: both still normal floats
        for lazy in (False, True):
            res = numbaot.solve_sample(X * s, Y * s, lazy=lazy)
            assert res.status is numbaot.Status.OPTIMAL
            assert _rel(float(res.value) / s**power, float(base.value)) < 1e-12
    res = numbaot.solve_sample(X * 1e160, Y * 1e160, metric="euclidean")
    assert _rel(float(res.value) / 1e160, float(numbaot.solve_sample(X, Y, metric="euclidean").value)) < 1e-12


def test_huge_warm_potentials_and_plans_touching_forbidden_arcs():
    rng = np.random.default_rng(14)
    M = rng.random((40, 40))
    cold = numbaot.solve(M)
    for scale in (1e13, 1e15, 1e200, 1e307):
        f, g = rng.normal(size=40) * scale, rng.normal(size=40) * scale
        warm = numbaot.solve(M, potentials_init=(f, g))
        assert _rel(warm.value, cold.value) < 1e-12
    M = np.array([[1.0, np.inf, 2.0], [np.inf, 1.0, 3.0], [2.0, 2.0, 1.0]])
    cold = numbaot.solve(M)
    warm = numbaot.solve(M, plan_init=np.full((3, 3), 1 / 9))
    assert _rel(warm.value, cold.value) < 1e-12


def test_cosine_zero_point_is_named():
    with pytest.raises(ValueError, match="row 0 of X_a is zero"):
        numbaot.solve_sample(np.zeros((2, 2)), np.ones((2, 2)), metric="cosine", lazy=True)


# ---------------------------------------------------------------------------- bad inputs through emd and solve
@pytest.mark.parametrize("item, call, exc, match", [
    ("01_negative_weight", lambda: numbaot.emd([0.5, 0.7, -0.2], None, np.ones((3, 2))), ValueError,
     r"a\[2\] = -0.2.* is negative"),
    ("05_nan_weight", lambda: numbaot.emd([0.5, np.nan], None, np.ones((2, 2))), ValueError, r"a\[1\]"),
    ("15_empty", lambda: numbaot.emd(None, None, np.ones((0, 3))), ValueError, "empty"),
    ("16_zero_mass", lambda: numbaot.emd(np.zeros(2), np.zeros(2), np.ones((2, 2))), ValueError, "zero total mass"),
    ("26_complex", lambda: numbaot.emd(None, None, np.ones((2, 2), complex)), TypeError, "complex"),
    ("26_object", lambda: numbaot.emd(None, None, np.array([[1, "a"], [2, 3]], object)), TypeError,
     "not numeric"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_inputs_through_emd(item, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_accepted_repairs_through_emd():
    M = np.array([[0.0, 1.0], [1.0, 0.0]])
    expected = numbaot.emd([0.5, 0.5], [0.5, 0.5], M)
    M3 = np.vstack([M, [1.0, 1.0]])
    with pytest.warns(numbaot.InputWarning, match="float noise"):  # item 2: noise negatives are clipped
        noisy = numbaot.emd([1.0, 1e-17, -1e-17], [0.5, 0.5], M3)
    np.testing.assert_allclose(noisy, numbaot.emd([1.0, 0.0, 0.0], [0.5, 0.5], M3), atol=1e-16)
    np.testing.assert_array_equal(numbaot.emd([1, 1], [1, 1], M.astype(int)), 2 * expected)  # item 25
    np.testing.assert_array_equal(numbaot.emd([0.5, 0.5], [0.5, 0.5], M.tolist()), expected)  # item 27
    F = np.asfortranarray(np.random.default_rng(0).random((5, 4)))
    np.testing.assert_array_equal(numbaot.emd(None, None, F), numbaot.emd(None, None, np.ascontiguousarray(F)))
    R = F.copy()
    R.setflags(write=False)  # item 29: read-only, and never mutated
    before = R.tobytes()
    numbaot.emd(None, None, R)
    assert R.tobytes() == before


def test_several_targets_each_checked_against_forbidden_arcs():
    M = np.array([[0.0, np.inf], [1.0, np.inf]])
    B = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert float(numbaot.emd2(None, B[:, 0], M)) == 0.5
    with pytest.raises(ValueError, match="column 1 of M has no finite cost but b"):
        numbaot.emd2(None, B, M)


# ------------------------------------------------------------------------ starting from a given spanning tree
def _solve_from_basis(C, a, b, basis, root_sink):
    from numbaot import _config
    from numbaot.exact import _network_simplex as NS
    from numbaot.exact._driver import _artificial_costs

    n, m = C.shape
    state = NS.new_state(n, m)
    built = NS.init_tree_from_arcs(*basis, n, m, root_sink, state)
    art = _artificial_costs(float(np.abs(C).max()), n, m, None)
    status, pivots, (rows, cols, vals), _ = NS.solve(NS.readonly(C), a, b, art, state, built,
                                                     (10**6, 8, _config.NS_TOL, 4096), 1)
    plan = np.zeros((n, m))
    plan[rows, cols] = vals
    return built, status, pivots, plan


@st.composite
def positive_problems(draw, max_n=8):
    """``(a, b, C, order_a, order_b)``: positive integer weights of equal mass, costs, and two orders."""
    a, b, C = draw(problems(max_n=max_n))
    a, b = a + a.sum() * (a == 0), b + b.sum() * (b == 0)  # positive weights: the tree has every node
    a, b = a * b.sum(), b * a.sum()
    order_a = np.array(draw(st.permutations(range(len(a)))), dtype=np.int64)
    order_b = np.array(draw(st.permutations(range(len(b)))), dtype=np.int64)
    return a, b, C, order_a, order_b


@given(positive_problems())
def test_staircase_basis_is_a_feasible_spanning_tree_that_starts_the_simplex(problem):
    """North-west corner rule: n + m - 1 arcs carrying the marginals; as a starting tree it leads to the LP optimum
    for any costs, whatever the orders."""
    from numbaot.exact import _network_simplex as NS

    a, b, C, order_a, order_b = problem
    rows, cols, flows = NS.staircase_basis(a, b, order_a, order_b)
    n, m = C.shape
    assert len(rows) == n + m - 1 and np.all(flows >= 0)
    start = np.zeros((n, m))
    np.add.at(start, (rows, cols), flows)
    np.testing.assert_allclose(start.sum(axis=1), a, atol=1e-12 * a.sum())
    np.testing.assert_allclose(start.sum(axis=0), b, atol=1e-12 * a.sum())
    built, status, _, plan = _solve_from_basis(C, a, b, (rows, cols, flows), order_b[0])
    assert built and status == 0
    check_plan(plan, a, b, 1e-12 * a.sum())
    _close_to_lp(float(np.vdot(plan, C)), lp_ot(a, b, C)[0], a, C)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_staircase_on_a_submodular_cost_is_already_optimal(n, m, seed):
    """For c_ij = -x_i y_j with both orders ascending (the monotone coupling) no pivot is needed."""
    from numbaot.exact import _network_simplex as NS

    rng = np.random.default_rng(seed)
    x, y = rng.random(n), rng.random(m)
    a, b = rng.integers(1, 5, n).astype(float), rng.integers(1, 5, m).astype(float)
    a, b = a * b.sum(), b * a.sum()
    C = -np.outer(x, y)
    order_a, order_b = np.argsort(x), np.argsort(y)
    basis = NS.staircase_basis(a, b, order_a, order_b)
    built, status, pivots, plan = _solve_from_basis(C, a, b, basis, order_b[0])
    assert built and status == 0 and pivots == 0
    _close_to_lp(float(np.vdot(plan, C)), lp_ot(a, b, C)[0], a, C)


def test_init_tree_from_arcs_refuses_what_is_not_a_strongly_feasible_spanning_tree():
    from numbaot.exact import _network_simplex as NS

    state = NS.new_state(2, 2)
    # a cycle (0-0, 0-1, 1-1 would be a tree; 0-0, 0-1 and 0-0 again repeat an arc): not spanning
    assert not NS.init_tree_from_arcs(np.array([0, 0, 0]), np.array([0, 1, 0]), np.array([0.5, 0.0, 0.5]), 2, 2,
                                      0, state)
    # too few arcs
    assert not NS.init_tree_from_arcs(np.array([0, 1]), np.array([0, 1]), np.array([0.5, 0.5]), 2, 2, 0, state)
    # a spanning tree whose zero-flow arc (1, 0) hangs source 1 below sink 0: it points towards the root
    assert not NS.init_tree_from_arcs(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([0.5, 0.0, 0.5]), 2, 2,
                                      0, state)
    # the staircase of the same problem is accepted
    assert NS.init_tree_from_arcs(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([0.5, 0.0, 0.5]), 2, 2, 0,
                                  state)


def test_serial_pricing_switch_compiles_out_the_parallel_kernel_with_the_same_pivots():
    """``n_threads=None`` (serial pricing, chosen by type) and ``n_threads=1`` take the same pivots to the same
    tree; ``pricing_threads`` picks None for one thread or for blocks below the parallel threshold."""
    from numbaot.exact import _network_simplex as NS

    assert NS.pricing_threads(1, 10**6, 8192) is None
    assert NS.pricing_threads(4, 8191, 8192) is None
    assert NS.pricing_threads(4, 8192, 8192) == 4
    rng = np.random.default_rng(3)
    n, m = 40, 30
    M = numbaot.dist(rng.random((n, 2)), rng.random((m, 2)))
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    out = []
    for threads in (None, 1):
        state = NS.new_state(n, m)
        art = np.zeros(n + m)
        art[n:] = 2.0 * M.max() * (n + m)
        status, pivots, plan, _ = NS.solve(NS.readonly(M), a, b, art, state, False, (10**6, 35, 1e-14, 8192),
                                           threads)
        out.append((status, pivots, plan))
    assert out[0][:2] == out[1][:2]
    for x, y in zip(out[0][2], out[1][2]):
        np.testing.assert_array_equal(x, y)


def test_warm_start_cut_short_keeps_its_feasible_plan():
    """A warm start from a feasible tree that runs out of pivots returns that tree's plan (marginals exact, status
    MAX_ITER_REACHED), not a cold restart cut short by the same budget (which left mass on artificial arcs); with
    the budget to finish, it reaches the cold start's optimum."""
    from numbaot import _config
    from numbaot.exact import _network_simplex as NS
    from numbaot.exact._driver import _artificial_costs

    rng = np.random.default_rng(5)
    n, m = 6, 5
    C, a, b = rng.random((n, m)), np.full(n, 1 / n), np.full(m, 1 / m)
    oa, ob = np.argsort(rng.random(n)), np.argsort(rng.random(m))  # a random staircase: far from optimal
    rows, cols, flows = NS.staircase_basis(a, b, oa, ob)
    art = _artificial_costs(float(C.max()), n, m, None)

    def solve(budget, warm=True):
        state = NS.new_state(n, m)
        built = NS.init_tree_from_arcs(rows, cols, flows, n, m, ob[0], state) if warm else False
        status, _, (r, c, v), value = NS.solve(NS.readonly(C), a, b, art, state, built,
                                               (budget, 8, _config.NS_TOL, 4096), None)
        P = np.zeros((n, m))
        P[r, c] = v
        return status, P, value

    for budget in (1, 3):
        status, P, _ = solve(budget)
        assert status == numbaot.Status.MAX_ITER_REACHED
        np.testing.assert_allclose(P.sum(1), a, atol=1e-15)
        np.testing.assert_allclose(P.sum(0), b, atol=1e-15)
    status, _, value = solve(10**6)
    cold_status, _, cold_value = solve(10**6, warm=False)
    assert status == cold_status == numbaot.Status.OPTIMAL and value == pytest.approx(cold_value, rel=1e-14)


@st.composite
def pricing_windows(draw):
    """``(C, pi, n, m, start, count, tol)``: a window of the block pricing over rows longer than its segments, with
    integer data (ties between arcs, reduced costs exactly representable) or floats, and forbidden arcs."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 300))
    integer = draw(st.booleans())
    value = st.integers(-3, 3).map(float) if integer else st.floats(-10, 10, allow_nan=False)
    C = draw(hnp.arrays(np.float64, (n, m), elements=value))
    if draw(st.booleans()):
        C[draw(hnp.arrays(np.bool_, (n, m)))] = np.inf
    pi = draw(hnp.arrays(np.float64, n + m + 1, elements=value))
    start = draw(st.integers(0, n * m - 1))
    count = draw(st.integers(1, n * m))
    # integer reduced costs below 0 are at most -1, far past any tolerance: the tolerance changes nothing there
    tol = draw(st.sampled_from([0.0, 64 * 2.0**-52])) if integer else 0.0
    return C, pi, n, m, start, count, tol


@given(pricing_windows())
def test_block_pricing_finds_the_least_reduced_cost_of_its_window(window):
    """``_block_min`` (segments of at most ``_PRICING_CHUNK`` arcs, each counted before its argmin, the bound
    lowered by each arc found) against numpy on every arc of the window: the least reduced cost below zero and an
    arc that has it, or ``(0, -1)`` when none is negative."""
    from numbaot.exact import _network_simplex as NS

    C, pi, n, m, start, count, tol = window
    arcs = (start + np.arange(count)) % (n * m)
    rows, cols = arcs // m, arcs % m
    reduced = (C[rows, cols] - pi[n + cols]) + pi[rows]  # the pricing's own order of operations
    best, arc = NS._block_min(NS.readonly(C), pi, n, m, start, count, tol)
    if not np.any(reduced < 0):
        assert (best, arc) == (0.0, -1)
    else:
        assert best == reduced.min()
        assert arc in arcs and (C[arc // m, arc % m] - pi[n + arc % m]) + pi[arc // m] == best


@given(st.integers(1, 4), st.integers(60, 260), st.integers(0, 2**32 - 1), st.booleans())
def test_long_rows_with_ties_equal_lp_optimum_with_certificates(n, m, seed, integer):
    """Rows of many pricing segments, with tied costs (degenerate pivots) or not, solved to the LP optimum with
    primal-dual certificates."""
    rng = np.random.default_rng(seed)
    M = rng.integers(0, 4, (n, m)).astype(float) if integer else rng.random((n, m))
    a, b = rng.integers(1, 5, n).astype(float), rng.integers(1, 5, m).astype(float)
    a, b = a * b.sum(), b * a.sum()
    res = numbaot.solve(M, a, b)
    assert res.status is numbaot.Status.OPTIMAL
    expected, _ = lp_ot(a, b, M)
    _close_to_lp(res.value, expected, a, M)
    check_plan(res.plan, a, b, rtol=1e-12)
    check_duality(res.value, res.potential_a, res.potential_b, a, b, M, tol=1e-12, plan=res.plan)


@pytest.mark.parametrize("m", [1, 2, 63, 64, 65, 129, 200])
def test_block_pricing_sees_every_arc_of_its_window_and_no_other(m):
    """A planted entering arc at each position of a window (wrapping around the last arc or not, starting and
    ending inside rows and segments) is the one found, while more negative arcs outside the window are not."""
    from numbaot.exact import _network_simplex as NS

    n = 3
    pi = np.zeros(n + m + 1)
    for start, count in [(0, n * m), (m - 1, m + 2), (n * m - 1, 2), (min(70, n * m - 1), n * m - 3), (m // 2, m)]:
        count = max(1, min(count, n * m))
        window = (start + np.arange(count)) % (n * m)
        for arc in window:
            C = np.full((n, m), -5.0)
            C.ravel()[window] = 0.0
            C.ravel()[arc] = -1.0
            best, found = NS._block_min(NS.readonly(C), pi, n, m, start, count, 0.0)
            assert (best, found) == (-1.0, arc), (start, count, arc)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.one_of(st.floats(-1e300, 1e300), st.just(np.inf))))
def test_cost_magnitude_is_the_largest_finite_one(C):
    """The driver's scale of the costs (numpy's min and max when all are finite, the compiled loop otherwise)
    against numpy on the finite entries (0 when there are none)."""
    from numbaot.exact._driver import _max_abs_finite

    finite = np.abs(C[np.isfinite(C)])
    assert _max_abs_finite(C) == (finite.max() if finite.size else 0.0)


def _check_tree(state, n_nodes):
    """The thread is a preorder of the tree ``parent`` from the root, ``rev_thread`` its exact inverse, and
    ``succ_num``, ``last_succ`` each subtree's size and last node in it: what the pivots' updates (the potentials'
    two-ended walk over the moved subtree included) rely on."""
    root = n_nodes
    thread, rev = state.thread[:n_nodes + 1], state.rev_thread[:n_nodes + 1]
    order = [root]
    for _ in range(n_nodes):
        order.append(int(thread[order[-1]]))
    assert sorted(order) == list(range(n_nodes + 1)) and thread[order[-1]] == root
    np.testing.assert_array_equal(rev[thread], np.arange(n_nodes + 1))
    position = np.empty(n_nodes + 1, dtype=np.int64)
    position[order] = np.arange(n_nodes + 1)
    size = np.ones(n_nodes + 1, dtype=np.int64)
    for u in order[:0:-1]:  # children after their parents in a preorder
        assert position[state.parent[u]] < position[u]
        size[state.parent[u]] += size[u]
    np.testing.assert_array_equal(state.succ_num[:n_nodes + 1], size)
    np.testing.assert_array_equal(state.last_succ[:n_nodes + 1], np.array(order)[position + size - 1])


@given(st.integers(1, 7), st.integers(1, 7), st.integers(0, 2**32 - 1), st.booleans(), st.integers(1, 40))
def test_tree_stays_exact_after_every_number_of_pivots(n, m, seed, integer, budget):
    """After any number of pivots (degenerate ones included: tied integer costs and weights) the thread, its
    reverse, the subtree sizes and last successors describe the tree exactly: from a cold start, from the tree of
    a previous solve and from one built from given arcs."""
    from numbaot import _config
    from numbaot.exact import _network_simplex as NS
    from numbaot.exact._driver import _artificial_costs

    rng = np.random.default_rng(seed)
    C = rng.integers(0, 3, (n, m)).astype(float) if integer else rng.random((n, m))
    a, b = rng.integers(1, 4, n).astype(float), rng.integers(1, 4, m).astype(float)
    a, b = a * b.sum(), b * a.sum()
    state = NS.new_state(n, m)
    limits = (budget, 3, _config.NS_TOL, 4096)
    art = _artificial_costs(1.0, n, m, None)
    NS.solve(NS.readonly(C), a, b, art, state, False, limits, None)
    _check_tree(state, n + m)
    # and from that tree for other costs (the conditional gradient's warm starts)
    NS.solve(NS.readonly(C[:, ::-1].copy()), a, b, art, state, True, limits, None)
    _check_tree(state, n + m)
    # and from a tree built from given arcs (a random staircase)
    oa, ob = rng.permutation(n), rng.permutation(m)
    fresh = NS.new_state(n, m)
    assert NS.init_tree_from_arcs(*NS.staircase_basis(a, b, oa, ob), n, m, ob[0], fresh)
    _check_tree(fresh, n + m)
    NS.solve(NS.readonly(C), a, b, art, fresh, True, limits, None)
    _check_tree(fresh, n + m)
