"""OTResult (immutable; lazy fields, plan operator, marginals, maps, density), LinearOperator, BatchOTResult,
Status and warn_status."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import numbaot
from numbaot import _config
from numbaot._result import BatchOTResult, LinearOperator, OTResult
from numbaot._status import ConvergenceWarning, Status, warn_status

ROWS = np.array([0, 0, 1, 2, 2], dtype=np.int64)
COLS = np.array([0, 1, 1, 1, 3], dtype=np.int64)
VALS = np.array([0.1, 0.2, 0.3, 0.15, 0.25])
SHAPE = (4, 4)  # row 3 and column 2 are empty


def dense_reference(rows=ROWS, cols=COLS, vals=VALS, shape=SHAPE):
    P = np.zeros(shape, dtype=vals.dtype)
    for i, j, v in zip(rows, cols, vals):
        P[i, j] += v
    return P


def coo_result(vals=VALS, **kw):
    return OTResult(value=1.5, plan_coo=(ROWS, COLS, vals), shape=SHAPE, **kw)


# ---------------------------------------------------------------------------------------------------- dense plan
def test_plan_is_built_lazily_from_coo_and_cached():
    res = coo_result()
    assert res._plan is None
    P = res.plan
    np.testing.assert_array_equal(P, dense_reference())
    assert P.dtype == np.float64 and P.shape == SHAPE
    assert res.plan is P  # cached


def test_plan_from_coo_sums_duplicate_entries():
    rows, cols, vals = np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([0.25, 0.25, 0.5])
    res = OTResult(value=0.0, plan_coo=(rows, cols, vals), shape=(2, 2))
    np.testing.assert_array_equal(res.plan, [[0.0, 0.5], [0.5, 0.0]])


def test_plan_keeps_float32():
    res = coo_result(vals=VALS.astype(np.float32))
    assert res.plan.dtype == np.float32
    np.testing.assert_array_equal(res.plan, dense_reference(vals=VALS.astype(np.float32)))


def test_plan_uses_densify_callback_once():
    calls = []

    def densify():
        calls.append(1)
        return dense_reference()

    res = OTResult(value=0.0, plan_coo=(ROWS, COLS, VALS), shape=SHAPE, densify=densify)
    np.testing.assert_array_equal(res.plan, dense_reference())
    res.plan  # noqa: B018
    assert calls == [1]


def test_plan_refused_when_too_large(monkeypatch):
    monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 64)
    res = coo_result()
    with pytest.raises(ValueError, match=r"the dense plan of shape \(4, 4\) needs .*dense=False"):
        res.plan  # noqa: B018
    assert res._plan is None
    # Everything else still works without the dense plan.
    np.testing.assert_allclose(res.marginal_a, dense_reference().sum(axis=1), rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.plan_operator @ np.ones(4), dense_reference().sum(axis=1), rtol=0, atol=1e-15)


def test_dense_plan_given():
    P = dense_reference()
    res = OTResult(value=1.0, plan=P)
    assert res.plan is P and res.shape == SHAPE and res.plan_coo is None
    assert res.value_linear == 1.0 and res.value_quad is None


def test_no_plan():
    res = OTResult(value=2.0, shape=(3, 2))
    assert res.plan is None and res.plan_sparse is None and res.plan_operator is None
    assert res.marginal_a is None and res.marginal_b is None


# -------------------------------------------------------------------------------------------------- sparse plan
def test_plan_sparse_from_coo():
    S = coo_result().plan_sparse
    assert isinstance(S, scipy.sparse.coo_array) and S.shape == SHAPE
    np.testing.assert_array_equal(S.toarray(), dense_reference())


def test_plan_sparse_from_dense():
    S = OTResult(value=0.0, plan=dense_reference()).plan_sparse
    assert isinstance(S, scipy.sparse.coo_array)
    np.testing.assert_array_equal(S.toarray(), dense_reference())
    assert S.nnz == 5


def test_plan_sparse_refused_on_device_results():
    res = OTResult(value=0.0, plan_coo=(ROWS, COLS, VALS), shape=SHAPE, device="cuda")
    with pytest.raises(TypeError, match=r"plan_sparse builds a host scipy array; use plan_coo"):
        res.plan_sparse  # noqa: B018


# -------------------------------------------------------------------------------------------------- plan operator
@pytest.mark.parametrize("source", ["coo", "dense"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plan_operator_matches_dense_products(source, dtype):
    rng = np.random.default_rng(0)
    vals = VALS.astype(dtype)
    P = dense_reference(vals=vals)
    res = coo_result(vals=vals) if source == "coo" else OTResult(value=0.0, plan=P)
    op = res.plan_operator
    assert isinstance(op, LinearOperator)
    assert op.shape == SHAPE and op.dtype == np.dtype(dtype)
    assert res.plan_operator is op  # cached
    if source == "coo":
        assert res._plan is None  # the operator never densifies
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-15)
    v = rng.random(4)
    u = rng.random(4)
    V = rng.random((4, 3))
    U = rng.random((4, 2))
    np.testing.assert_allclose(op @ v, P @ v, **tol)
    np.testing.assert_allclose(op.matvec(v), P @ v, **tol)
    np.testing.assert_allclose(op.rmatvec(u), P.T @ u, **tol)
    np.testing.assert_allclose(op @ V, P @ V, **tol)
    np.testing.assert_allclose(op.matvec(V), P @ V, **tol)
    np.testing.assert_allclose(op.rmatvec(U), P.T @ U, **tol)
    assert (op @ V).shape == (4, 3) and op.rmatvec(U).shape == (4, 2)
    assert (op @ v).shape == (4,) and op.rmatvec(u).shape == (4,)
    if source == "coo":
        assert (op @ v).dtype == np.dtype(dtype)  # vectors keep the plan's dtype


def test_plan_operator_rectangular():
    rows, cols, vals = np.array([0, 1, 2]), np.array([4, 0, 2]), np.array([1.0, 2.0, 3.0])
    res = OTResult(value=0.0, plan_coo=(rows, cols, vals), shape=(3, 5))
    P = dense_reference(rows, cols, vals, (3, 5))
    v, u = np.arange(5.0), np.arange(3.0)
    np.testing.assert_array_equal(res.plan_operator @ v, P @ v)
    np.testing.assert_array_equal(res.plan_operator.rmatvec(u), P.T @ u)
    np.testing.assert_array_equal(res.plan_operator @ np.eye(5), P)
    np.testing.assert_array_equal(res.plan_operator.rmatvec(np.eye(3)), P.T)


def test_plan_operator_repr_and_from_dense():
    op = LinearOperator.from_dense(np.ones((2, 3), np.float32))
    assert repr(op) == "LinearOperator(shape=(2, 3), dtype=float32)"
    np.testing.assert_array_equal(op @ np.ones(3), [3.0, 3.0])
    np.testing.assert_array_equal(op.rmatvec(np.ones(2)), [2.0, 2.0, 2.0])


def test_plan_operator_not_built_from_coo_on_device():
    res = OTResult(value=0.0, plan_coo=(ROWS, COLS, VALS), shape=SHAPE, device="cuda")
    assert res.plan_operator is None


def test_given_plan_operator_is_used():
    op = LinearOperator.from_dense(dense_reference())
    res = OTResult(value=0.0, shape=SHAPE, plan_operator=op)
    assert res.plan_operator is op


def test_marginals_from_operator_only():
    P = dense_reference()
    res = OTResult(value=0.0, shape=SHAPE, plan_operator=LinearOperator.from_dense(P))
    np.testing.assert_allclose(res.marginal_a, P.sum(axis=1), rtol=1e-15)
    np.testing.assert_allclose(res.marginal_b, P.sum(axis=0), rtol=1e-15)


# ------------------------------------------------------------------------------------------------------ marginals
def test_marginals_from_coo_without_densifying():
    res = coo_result()
    P = dense_reference()
    np.testing.assert_allclose(res.marginal_a, P.sum(axis=1), rtol=1e-15, atol=0)
    np.testing.assert_allclose(res.marginal_b, P.sum(axis=0), rtol=1e-15, atol=0)
    assert res.marginal_a.shape == (4,) and res.marginal_a[3] == 0.0 and res.marginal_b[2] == 0.0
    assert res._plan is None


def test_marginals_from_coo_float32():
    res = coo_result(vals=VALS.astype(np.float32))
    assert res.marginal_a.dtype == np.float32 and res.marginal_b.dtype == np.float32


def test_marginals_from_dense():
    P = dense_reference()
    res = OTResult(value=0.0, plan=P)
    np.testing.assert_array_equal(res.marginal_a, P.sum(axis=1))
    np.testing.assert_array_equal(res.marginal_b, P.sum(axis=0))
    assert res.marginal_a is res.marginal_a  # cached


def test_marginals_after_densifying_agree_with_coo():
    lazy = coo_result()
    eager = coo_result()
    eager.plan  # noqa: B018
    np.testing.assert_allclose(lazy.marginal_a, eager.marginal_a, rtol=1e-15)
    np.testing.assert_allclose(lazy.marginal_b, eager.marginal_b, rtol=1e-15)


def test_solver_result_fields_are_consistent():
    x = np.array([0.0, 1.0, 3.0, 0.5])
    y = np.array([0.5, 2.0, -1.0])
    a = np.array([0.1, 0.2, 0.3, 0.4])
    b = np.array([0.5, 0.25, 0.25])
    lazy = numbaot.solve_sample(x, y, a, b, lazy=True)
    eager = numbaot.solve_sample(x, y, a, b)
    assert lazy._plan is None and eager._plan is not None
    np.testing.assert_allclose(lazy.marginal_a, a, rtol=1e-14)
    np.testing.assert_allclose(lazy.marginal_b, b, rtol=1e-14)
    np.testing.assert_allclose(eager.marginal_a, a, rtol=1e-14)
    np.testing.assert_allclose(lazy.plan_operator @ np.ones(3), a, rtol=1e-14)
    np.testing.assert_allclose(lazy.plan_operator.rmatvec(np.ones(4)), b, rtol=1e-14)
    np.testing.assert_array_equal(lazy.plan_sparse.toarray(), eager.plan)
    np.testing.assert_array_equal(lazy.plan, eager.plan)
    assert lazy.converged and lazy.status is Status.OPTIMAL and lazy.device == "cpu"


# ------------------------------------------------------------------------------------------------ status and repr
@pytest.mark.parametrize("status", list(Status))
def test_converged_follows_status(status):
    res = OTResult(value=0.0, status=int(status))
    assert res.status is status
    assert res.converged is (status is Status.OPTIMAL)


def test_status_rejects_unknown_code():
    with pytest.raises(ValueError):
        OTResult(value=0.0, status=99)


def test_n_iter_is_int():
    res = OTResult(value=0.0, n_iter=np.int64(7))
    assert res.n_iter == 7 and type(res.n_iter) is int


def test_repr():
    res = OTResult(value=np.float32(0.625), plan_coo=(ROWS, COLS, VALS), shape=SHAPE, n_iter=6,
                   status=Status.MAX_ITER_REACHED)
    assert repr(res) == "OTResult(value=0.625, status=MAX_ITER_REACHED, n_iter=6, shape=4x4, device=cpu)"
    assert repr(OTResult(value=1.0)) == "OTResult(value=1, status=OPTIMAL, n_iter=0, shape=?, device=cpu)"
    batch = repr(OTResult(value=np.array([1.0, 2.0])))
    assert "value=[1. 2.]" in batch


def test_status_values_and_messages():
    assert [s.name for s in Status] == ["OPTIMAL", "MAX_ITER_REACHED", "INFEASIBLE", "UNBOUNDED",
                                        "NUMERICAL_ERROR"]
    assert Status.OPTIMAL == 0 and Status(1) is Status.MAX_ITER_REACHED
    for s in Status:
        assert isinstance(s.message, str) and s.message
    assert Status.OPTIMAL.message == "solved to optimality"
    assert "max_iter" in Status.MAX_ITER_REACHED.message
    assert "no feasible transport plan" in Status.INFEASIBLE.message
    assert "unbounded" in Status.UNBOUNDED.message
    assert "NaN or inf" in Status.NUMERICAL_ERROR.message
    assert len({s.message for s in Status}) == len(Status)


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.OPTIMAL])
def test_warn_status_warns_when_not_optimal(status):
    with pytest.warns(ConvergenceWarning) as record:
        out = warn_status(int(status), "sinkhorn", detail="marginal error 1e-3")
    assert out is status
    assert len(record) == 1
    assert str(record[0].message) == f"sinkhorn: {status.name}: {status.message} (marginal error 1e-3)"
    assert issubclass(ConvergenceWarning, UserWarning)


def test_warn_status_stacklevel_points_at_caller():
    def front_end():
        return warn_status(1, "emd")  # default stacklevel=3: the caller of the front-end

    with pytest.warns(ConvergenceWarning) as record:
        front_end()
    assert record[0].filename == __file__


def test_warn_status_silent_when_optimal():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_status(0, "emd") is Status.OPTIMAL
        assert warn_status(Status.OPTIMAL, "emd", detail="x") is Status.OPTIMAL


def test_warn_status_message_without_detail():
    with pytest.warns(ConvergenceWarning, match=r"^emd: INFEASIBLE: the problem has no feasible transport plan$"):
        warn_status(Status.INFEASIBLE, "emd")


def test_public_exports():
    assert numbaot.OTResult is OTResult and numbaot.Status is Status
    assert numbaot.ConvergenceWarning is ConvergenceWarning and numbaot.LinearOperator is LinearOperator
    assert numbaot.BatchOTResult is BatchOTResult
    assert {"OTResult", "BatchOTResult", "LinearOperator"} <= set(numbaot.__all__)
    assert "PlanOperator" not in numbaot.__all__  # deprecated: `from numbaot import *` must not warn


# ---------------------------------------------------------------------------------------------------- immutability
IMMUTABLE = r"OTResult is immutable; build a changed copy with result\.replace\(field=\.\.\.\)"


@pytest.mark.parametrize("name", ["value", "value_linear", "plan", "plan_coo", "potential_a", "status", "n_iter",
                                  "device", "ran_on", "marginal_a", "plan_operator", "weights", "a_to_b", "density",
                                  "_plan", "_marginals", "anything_new"])
def test_assigning_any_attribute_raises(name):
    res = coo_result(potential_a=np.zeros(4))
    with pytest.raises(AttributeError, match=IMMUTABLE):
        setattr(res, name, 1.0)
    with pytest.raises(AttributeError, match=IMMUTABLE):
        delattr(res, name)
    assert res.value == 1.5 and res._plan is None and res.status is Status.OPTIMAL


def test_lazy_caches_still_fill_on_an_immutable_result():
    res = coo_result(weights=(np.full(4, 0.25), np.full(4, 0.25)), points=(np.arange(4.0), np.arange(4.0)))
    assert res.plan is res.plan and res.marginal_a is res.marginal_a and res.plan_operator is res.plan_operator
    assert res.density is res.density and res.a_to_b is res.a_to_b and res.density_operator is res.density_operator


def test_solver_results_are_immutable():
    res = numbaot.solve_sample(np.array([0.0, 1.0]), np.array([0.5, 2.0]))
    with pytest.raises(AttributeError, match=IMMUTABLE):
        res.value = 0.0


def test_replace_changes_the_given_fields_only():
    pa = np.arange(4.0)
    res = coo_result(potential_a=pa, n_iter=7, status=Status.MAX_ITER_REACHED, citation="Monge 1781")
    new = res.replace(value=2.5, potential_b=np.ones(4), device="cpu")
    assert type(new) is OTResult and new is not res
    assert new.value == 2.5 and new.value_linear == 2.5  # derived from the new value, as the constructor does
    assert new.potential_a is pa and new.n_iter == 7 and new.status is Status.MAX_ITER_REACHED
    assert new.citation == "Monge 1781" and new.plan_coo is res.plan_coo and new.shape == SHAPE
    np.testing.assert_array_equal(new.potential_b, np.ones(4))
    assert res.value == 1.5 and res.potential_b is None  # the original is untouched
    kept = res.replace(value_linear=1.0)
    assert kept.value == 1.5 and kept.value_linear == 1.0


def test_replace_accepts_every_constructor_keyword():
    import inspect

    keywords = [p for p in inspect.signature(OTResult.__init__).parameters if p != "self"]
    res = OTResult(value=1.0, plan=dense_reference())
    assert set(keywords) == set(res._fields)
    for key in keywords:
        res.replace(**{key: getattr(res, key, None) if key != "status" else Status.OPTIMAL})


def test_replace_does_not_carry_caches():
    res = coo_result()
    P = res.plan  # densified and cached
    m = res.marginal_a
    vals = 2 * VALS
    new = res.replace(plan_coo=(ROWS, COLS, vals))
    assert new._plan is None and new._marginals is None
    np.testing.assert_array_equal(new.plan, 2 * P)
    np.testing.assert_array_equal(new.marginal_a, 2 * m)
    dense = OTResult(value=0.0, plan=P)
    op = dense.plan_operator
    swapped = dense.replace(plan=2 * P)
    assert swapped.plan_operator is not op
    np.testing.assert_array_equal(swapped.plan_operator @ np.ones(4), 2 * P.sum(axis=1))
    assert swapped.shape == SHAPE


def test_replace_rejects_unknown_fields():
    with pytest.raises(TypeError, match=r"replace\(\) got unknown field\(s\) marginal_a, plans"):
        OTResult(value=0.0).replace(plans=1, marginal_a=2)


# ---------------------------------------------------------------------------------------------------- new fields
def test_potentials_weights_points_citation():
    pa, pb, paa, pbb = np.arange(4.0), np.arange(3.0), np.ones(4), np.ones(3)
    res = OTResult(value=0.0, potential_a=pa, potential_b=pb, potential_aa=paa, potential_bb=pbb,
                   weights=[np.ones(4), np.ones(3)], points=[np.zeros((4, 2)), np.ones((3, 2))],
                   citation="Cuturi 2013")
    assert res.potentials == (pa, pb) and res.potential_aa is paa and res.potential_bb is pbb
    assert isinstance(res.weights, tuple) and isinstance(res.points, tuple) and res.citation == "Cuturi 2013"
    bare = OTResult(value=0.0)
    assert bare.potentials == (None, None) and bare.potential_aa is None and bare.potential_bb is None
    assert bare.weights is None and bare.points is None and bare.citation is None
    assert bare.a_to_b is None and bare.b_to_a is None and bare.density is None and bare.density_operator is None


def _barycentric_reference(P, X, Y):
    """``sum_j P_ij Y_j / sum_j P_ij - X_i`` row by row, 0 for rows of zero mass (plain loops)."""
    out = np.zeros((P.shape[0],) + Y.shape[1:])
    for i in range(P.shape[0]):
        mass = P[i].sum()
        if mass > 0:
            out[i] = sum(P[i, j] * Y[j] for j in range(P.shape[1])) / mass - X[i]
    return out


@pytest.mark.parametrize("source", ["dense", "coo", "operator"])
def test_barycentric_maps_match_a_hand_computation(source):
    rng = np.random.default_rng(3)
    P = dense_reference()  # row 3 and column 2 have no mass
    X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    kw = dict(points=(X, Y))
    res = {"dense": lambda: OTResult(value=0.0, plan=P, **kw),
           "coo": lambda: coo_result(**kw),
           "operator": lambda: OTResult(value=0.0, shape=SHAPE, plan_operator=LinearOperator.from_dense(P), **kw),
           }[source]()
    np.testing.assert_allclose(res.a_to_b, _barycentric_reference(P, X, Y), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(res.b_to_a, _barycentric_reference(P.T, Y, X), rtol=1e-14, atol=1e-15)
    assert res.a_to_b.shape == (4, 2) and np.all(res.a_to_b[3] == 0) and np.all(res.b_to_a[2] == 0)
    if source == "coo":
        assert res._plan is None  # computed through the operator


def test_barycentric_map_of_a_permutation_and_of_1d_points():
    P = np.eye(3)[[2, 0, 1]] / 3
    X, Y = np.array([0.0, 1.0, 2.0]), np.array([10.0, 20.0, 30.0])
    res = OTResult(value=0.0, plan=P, points=(X, Y))
    np.testing.assert_allclose(res.a_to_b, Y[[2, 0, 1]] - X, rtol=1e-15)
    np.testing.assert_allclose(X + res.a_to_b, Y @ P.T * 3, rtol=1e-15)
    assert res.a_to_b.shape == (3,) and res.b_to_a.shape == (3,)
    f32 = OTResult(value=0.0, plan=P.astype(np.float32), points=(X.astype(np.float32), Y.astype(np.float32)))
    assert f32.a_to_b.dtype == np.float32


def test_barycentric_map_with_an_online_plan():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))
    res = numbaot.solve_sample(X, Y, reg=0.5, lazy=True)
    res = res.replace(points=(X, Y))
    moved = res.a_to_b
    assert res._plan is None  # no dense plan needed
    np.testing.assert_allclose(moved, _barycentric_reference(res.plan, X, Y), rtol=1e-10, atol=1e-12)


def test_barycentric_map_checks_point_shapes():
    res = OTResult(value=0.0, plan=dense_reference(), points=(np.zeros((3, 2)), np.zeros((4, 2))))
    with pytest.raises(ValueError, match=r"points X_a must have shape \(4,\)"):
        res.a_to_b  # noqa: B018


def test_maps_and_density_refused_on_device_results():
    res = OTResult(value=0.0, plan=dense_reference(), device="cuda", points=(np.zeros(4), np.zeros(4)),
                   weights=(np.ones(4), np.ones(4)))
    for name in ("a_to_b", "b_to_a", "density", "density_operator"):
        with pytest.raises(TypeError, match=rf"{name} is computed for host results only"):
            getattr(res, name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_density_matches_numpy(dtype):
    a = np.array([0.4, 0.35, 0.25, 0.0])  # a zero weight: its row of the density is 0
    b = np.array([0.1, 0.75, 0.0, 0.15])
    P = dense_reference(vals=VALS.astype(dtype))
    P[:, 2] = 0
    res = OTResult(value=0.0, plan=P, weights=(a, b))
    expected = np.zeros(SHAPE)
    for i in range(4):
        for j in range(4):
            if a[i] > 0 and b[j] > 0:
                expected[i, j] = P[i, j] / (a[i] * b[j])
    tol = dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-14)
    np.testing.assert_allclose(res.density, expected, **tol)
    assert res.density.dtype == np.dtype(dtype) and np.all(res.density[3] == 0) and np.all(res.density[:, 2] == 0)
    op = res.density_operator
    assert isinstance(op, LinearOperator) and op.shape == SHAPE
    v, u = np.arange(1.0, 5.0), np.arange(2.0, 6.0)
    np.testing.assert_allclose(op @ v, expected @ v, **tol)
    np.testing.assert_allclose(u @ op, expected.T @ u, **tol)
    np.testing.assert_allclose(op.to_dense(), expected, **tol)
    sparse = coo_result(vals=VALS.astype(dtype), weights=(a, b))
    np.testing.assert_allclose(sparse.density_operator @ v, dense_reference(vals=VALS) / np.where(
        np.outer(a, b) > 0, np.outer(a, b), np.inf) @ v, **tol)
    assert sparse._plan is None  # the operator needs no dense plan


def test_aliases():
    res = coo_result()
    np.testing.assert_array_equal(res.sparse_plan.toarray(), res.plan_sparse.toarray())
    assert res.lazy_plan is res.plan_operator


# ------------------------------------------------------------------------------------------------ operator algebra
def _dense_op(dtype=np.float64):
    rng = np.random.default_rng(11)
    P = rng.random((3, 5)).astype(dtype)
    return P, LinearOperator.from_dense(P)


@pytest.mark.parametrize("source", ["dense", "coo"])
def test_transpose_matmul_and_rmatmul(source):
    rng = np.random.default_rng(1)
    P = dense_reference(np.array([0, 1, 2, 2]), np.array([4, 0, 2, 3]), np.array([1.0, 2.0, 3.0, 0.5]), (3, 5))
    op = LinearOperator.from_dense(P) if source == "dense" else LinearOperator.from_coo(
        np.array([0, 1, 2, 2]), np.array([4, 0, 2, 3]), np.array([1.0, 2.0, 3.0, 0.5]), (3, 5))
    u, U, v = rng.random(3), rng.random((3, 2)), rng.random(5)
    assert op.T.shape == (5, 3) and op.transpose().shape == (5, 3) and op.ndim == 2
    np.testing.assert_allclose(op.T @ u, P.T @ u, rtol=1e-15)
    np.testing.assert_allclose(op.T @ U, P.T @ U, rtol=1e-15)
    np.testing.assert_allclose(op.T.rmatvec(v), P @ v, rtol=1e-15)
    np.testing.assert_allclose(u @ op, u @ P, rtol=1e-15)
    np.testing.assert_allclose(U.T @ op, U.T @ P, rtol=1e-15)  # rows (k, n) @ op -> (k, m)
    np.testing.assert_allclose([1.0, 1.0, 1.0] @ op, P.sum(axis=0), rtol=1e-15)  # lists too
    np.testing.assert_allclose(op.T.T @ v, P @ v, rtol=1e-15)
    np.testing.assert_array_equal(op.to_dense(), P)
    np.testing.assert_array_equal(op.T.to_dense(), P.T)


def test_from_dense_to_dense_returns_the_plan():
    P, op = _dense_op()
    assert op.to_dense() is P


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rescale(dtype):
    P, op = _dense_op(dtype)
    r, c = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, 3.0, 0.25, 2.0])
    v, u = np.arange(5.0), np.arange(3.0)
    for rs, cs in ((r, c), (r, None), (None, c), (None, None)):
        D = (np.ones(3) if rs is None else rs)[:, None] * P * (np.ones(5) if cs is None else cs)[None, :]
        scaled = op.rescale(rs, cs)
        assert scaled.shape == op.shape
        np.testing.assert_allclose(scaled @ v, D @ v, rtol=1e-6)
        np.testing.assert_allclose(scaled.rmatvec(u), D.T @ u, rtol=1e-6)
        np.testing.assert_allclose(scaled @ np.eye(5), D, rtol=1e-6)
        np.testing.assert_allclose(scaled.to_dense(), D, rtol=1e-6)
        np.testing.assert_allclose(scaled.T.to_dense(), D.T, rtol=1e-6)
    coo = LinearOperator.from_coo(np.array([0, 2]), np.array([1, 4]), np.array([0.5, 0.25]), (3, 5)).rescale(r, c)
    np.testing.assert_allclose(coo.to_dense(), [[0, 0.5, 0, 0, 0], [0] * 5, [0, 0, 0, 0, 0.25]] * r[:, None] * c)
    with pytest.raises(ValueError, match=r"row_scale must have shape \(3,\)"):
        op.rescale(np.ones(5), None)


def test_shape_errors():
    _, op = _dense_op()
    with pytest.raises(ValueError, match=r"plan operator takes a vector or matrix with 5 rows, got shape \(3,\)"):
        op @ np.ones(3)
    with pytest.raises(ValueError, match=r"with 3 rows, got shape \(5,\)"):
        op.rmatvec(np.ones(5))
    with pytest.raises(ValueError, match=r"u @ op takes u of 1 or 2 dimensions"):
        np.ones((2, 2, 3)) @ op
    with pytest.raises(ValueError, match=r"shape \(n, m\) or \(B, n, m\)"):
        LinearOperator.from_dense(np.ones(3))


def test_batched_operator():
    rng = np.random.default_rng(2)
    P = rng.random((4, 3, 5))
    op = LinearOperator.from_dense(P)
    assert op.shape == (4, 3, 5) and op.ndim == 3
    v, V, u, U = rng.random((4, 5)), rng.random((4, 5, 2)), rng.random((4, 3)), rng.random((4, 3, 2))
    np.testing.assert_allclose(op @ v, np.einsum("bij,bj->bi", P, v), rtol=1e-14)
    np.testing.assert_allclose(op @ V, P @ V, rtol=1e-14)
    np.testing.assert_allclose(op.rmatvec(u), np.einsum("bij,bi->bj", P, u), rtol=1e-14)
    np.testing.assert_allclose(op.rmatvec(U), np.swapaxes(P, 1, 2) @ U, rtol=1e-14)
    np.testing.assert_allclose(u @ op, np.einsum("bi,bij->bj", u, P), rtol=1e-14)
    np.testing.assert_allclose(np.swapaxes(U, 1, 2) @ op, np.swapaxes(U, 1, 2) @ P, rtol=1e-14)
    assert op.T.shape == (4, 5, 3)
    np.testing.assert_allclose(op.T @ u, np.einsum("bij,bi->bj", P, u), rtol=1e-14)
    r, c = rng.random((4, 3)), rng.random((4, 5))
    D = r[:, :, None] * P * c[:, None, :]
    np.testing.assert_allclose(op.rescale(r, c) @ v, np.einsum("bij,bj->bi", D, v), rtol=1e-14)
    np.testing.assert_allclose(op.rescale(r, c).to_dense(), D, rtol=1e-14)
    lazy = LinearOperator(op.shape, op.dtype, op._matvec, op._rmatvec)  # no dense plan: to_dense applies identity
    np.testing.assert_allclose(lazy.to_dense(), P, rtol=1e-15)
    np.testing.assert_allclose(lazy.T.to_dense(), np.swapaxes(P, 1, 2), rtol=1e-15)
    with pytest.raises(ValueError, match=r"an array of shape \(4, 5\) or \(4, 5, k\)"):
        op @ np.ones(5)


# --------------------------------------------------------------------------------------------------- old name
def test_plan_operator_is_a_deprecated_alias():
    import numbaot._result as result_module

    with pytest.warns(DeprecationWarning, match="numbaot.PlanOperator is deprecated; use numbaot.LinearOperator"):
        assert numbaot.PlanOperator is LinearOperator
    with pytest.warns(DeprecationWarning, match="PlanOperator is deprecated"):
        assert result_module.PlanOperator is LinearOperator
    with pytest.warns(DeprecationWarning, match="PlanOperator is deprecated"):
        from numbaot._result import PlanOperator  # noqa: F401
    with pytest.raises(AttributeError):
        result_module.NoSuchThing  # noqa: B018


# ---------------------------------------------------------------------------------------------------- batch result
def _batch_result(**kw):
    P = np.random.default_rng(0).random((3, 2, 4))
    return P, BatchOTResult(value=np.zeros(3), plan=P, status=Status.MAX_ITER_REACHED, n_iter=9,
                            statuses=kw.pop("statuses", [Status.OPTIMAL, Status.MAX_ITER_REACHED, 0]),
                            n_iters=[2, 9, 3], **kw)


def test_batch_result_fields():
    P, res = _batch_result()
    assert isinstance(res, OTResult)
    assert res.statuses.dtype == np.int64 and res.statuses.tolist() == [0, 1, 0]
    assert [Status(int(s)) for s in res.statuses] == [Status.OPTIMAL, Status.MAX_ITER_REACHED, Status.OPTIMAL]
    assert res.n_iters.dtype == np.int64 and res.n_iters.tolist() == [2, 9, 3]
    assert repr(res) == "BatchOTResult(batch=3, shape=2x4, status=MAX_ITER_REACHED, n_iter=9, device=cpu)"
    op = res.plan_operator
    assert isinstance(op, LinearOperator) and op.shape == (3, 2, 4)
    np.testing.assert_allclose(op @ np.ones((3, 4)), P.sum(axis=2), rtol=1e-15)
    np.testing.assert_allclose(res.marginal_a, P.sum(axis=2), rtol=1e-15)
    np.testing.assert_allclose(res.marginal_b, P.sum(axis=1), rtol=1e-15)
    _, codes = _batch_result(statuses=np.array([0, 1, 4], dtype=np.int64))
    assert codes.statuses.tolist() == [0, 1, 4]
    with pytest.raises(ValueError):
        _batch_result(statuses=[0, 1, 99])


def test_batch_result_is_immutable_and_replaceable():
    P, res = _batch_result(weights=(np.full((3, 2), 0.5), np.full((3, 4), 0.25)))
    with pytest.raises(AttributeError, match=r"BatchOTResult is immutable; build a changed copy"):
        res.statuses = np.zeros(3)
    new = res.replace(statuses=[0, 0, 0], status=Status.OPTIMAL)
    assert type(new) is BatchOTResult and new.converged and new.statuses.tolist() == [0, 0, 0]
    assert new.n_iters.tolist() == [2, 9, 3] and new.plan is P and res.statuses.tolist() == [0, 1, 0]
    np.testing.assert_allclose(res.density, P / (0.5 * 0.25), rtol=1e-15)


def test_batch_result_from_the_solver():
    from numbaot.entropic.batch import BatchOTResult as Reexported

    assert Reexported is BatchOTResult
    M = np.random.default_rng(4).random((2, 3, 4))
    res = numbaot.solve_batch(M, 0.5, tol=1e-9)
    assert isinstance(res, BatchOTResult) and res.statuses.dtype == np.int64 and res.n_iters.dtype == np.int64
    np.testing.assert_allclose(res.plan_operator @ np.ones((2, 4)), res.marginal_a, rtol=1e-14)


# ------------------------------------------------------------------------------------- device plans (simulator/GPU)
def _dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_from_dense_numba_device_plan(small_blocks, dtype):
    from numbaot import _device

    rng = np.random.default_rng(6)
    P = rng.random((11, 7)).astype(dtype)
    op = LinearOperator.from_dense(_dev(P))
    assert op.shape == (11, 7) and op.dtype == np.dtype(dtype)
    v, V, u, U = rng.random(7), rng.random((7, 3)), rng.random(11), rng.random((11, 2))
    tol = dict(rtol=1e-5) if dtype == np.float32 else dict(rtol=1e-13)
    out = op @ _dev(v)
    assert _device.array_kind(out) == "numba"  # Numba in, Numba out
    np.testing.assert_allclose(out.copy_to_host(), P @ v, **tol)
    np.testing.assert_allclose((op @ _dev(V)).copy_to_host(), P @ V, **tol)
    np.testing.assert_allclose(op.rmatvec(_dev(u)).copy_to_host(), P.T @ u, **tol)
    np.testing.assert_allclose((op.T @ _dev(U)).copy_to_host(), P.T @ U, **tol)
    np.testing.assert_allclose((_dev(u) @ op).copy_to_host(), u @ P, **tol)
    np.testing.assert_allclose((_dev(U.T) @ op).copy_to_host(), U.T @ P, **tol)
    np.testing.assert_array_equal(op.to_dense().copy_to_host(), P)
    with pytest.raises(TypeError, match="a plan on the GPU applies to CUDA arrays"):
        op @ v
    with pytest.raises(ValueError, match="plan operator takes a vector or matrix with 7 rows"):
        op @ _dev(u)


@pytest.mark.cuda
def test_from_dense_numba_device_batch(small_blocks):
    rng = np.random.default_rng(7)
    P = rng.random((3, 5, 4))
    op = LinearOperator.from_dense(_dev(P))
    v, V, u = rng.random((3, 4)), rng.random((3, 4, 2)), rng.random((3, 5))
    np.testing.assert_allclose((op @ _dev(v)).copy_to_host(), np.einsum("bij,bj->bi", P, v), rtol=1e-13)
    np.testing.assert_allclose((op @ _dev(V)).copy_to_host(), P @ V, rtol=1e-13)
    np.testing.assert_allclose((_dev(u) @ op).copy_to_host(), np.einsum("bi,bij->bj", u, P), rtol=1e-13)
    np.testing.assert_allclose(op.T.rmatvec(_dev(v)).copy_to_host(), np.einsum("bij,bj->bi", P, v), rtol=1e-13)


@pytest.mark.cuda
def test_device_results_have_a_plan_operator(small_blocks):
    rng = np.random.default_rng(8)
    P = rng.random((4, 3))
    res = OTResult(value=0.0, plan=_dev(P), device="cuda", points=(np.zeros(4), np.zeros(3)))
    op = res.plan_operator
    assert isinstance(op, LinearOperator) and res.lazy_plan is op
    np.testing.assert_allclose((op @ _dev(np.ones(3))).copy_to_host(), P.sum(axis=1), rtol=1e-14)
    with pytest.raises(TypeError, match="a_to_b is computed for host results only"):
        res.a_to_b  # noqa: B018
    batch = BatchOTResult(value=np.zeros(2), plan=_dev(rng.random((2, 4, 3))), device="cuda", statuses=[0, 0],
                          n_iters=[1, 1])
    assert batch.plan_operator.shape == (2, 4, 3)
    M = rng.random((2, 4, 3))
    solved = numbaot.solve_batch(_dev(M), 0.5, tol=1e-9)
    assert solved.statuses.dtype == np.int64 and solved.plan_operator.shape == (2, 4, 3)
    np.testing.assert_allclose((solved.plan_operator @ _dev(np.ones((2, 3)))).copy_to_host(),
                               solved.marginal_a.copy_to_host(), rtol=1e-12)
