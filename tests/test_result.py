"""OTResult (lazy fields, plan operator, marginals), Status and warn_status."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import numbaot
from numbaot import _config
from numbaot._result import OTResult, PlanOperator
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
    assert isinstance(op, PlanOperator)
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
    op = PlanOperator.from_dense(np.ones((2, 3), np.float32))
    assert repr(op) == "PlanOperator(shape=(2, 3), dtype=float32)"
    np.testing.assert_array_equal(op @ np.ones(3), [3.0, 3.0])
    np.testing.assert_array_equal(op.rmatvec(np.ones(2)), [2.0, 2.0, 2.0])


def test_plan_operator_not_built_from_coo_on_device():
    res = OTResult(value=0.0, plan_coo=(ROWS, COLS, VALS), shape=SHAPE, device="cuda")
    assert res.plan_operator is None


def test_given_plan_operator_is_used():
    op = PlanOperator.from_dense(dense_reference())
    res = OTResult(value=0.0, shape=SHAPE, plan_operator=op)
    assert res.plan_operator is op


def test_marginals_from_operator_only():
    P = dense_reference()
    res = OTResult(value=0.0, shape=SHAPE, plan_operator=PlanOperator.from_dense(P))
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
    assert numbaot.ConvergenceWarning is ConvergenceWarning and numbaot.PlanOperator is PlanOperator
