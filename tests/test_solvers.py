"""The unified API: solve_sample."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot


def test_solve_sample_returns_a_complete_result():
    res = numbaot.solve_sample([0.0, 1.0, 3.0], [0.5, 2.0])
    assert isinstance(res, numbaot.OTResult)
    assert res.converged and res.status is numbaot.Status.OPTIMAL
    assert float(res.value) == pytest.approx(0.625)
    assert res.value_linear == res.value and res.value_quad is None
    np.testing.assert_allclose(res.marginal_a, np.full(3, 1 / 3))
    np.testing.assert_allclose(res.marginal_b, np.full(2, 1 / 2))
    assert res.device == "cpu" and res.n_iter == 4


def test_solve_sample_accepts_column_vectors():
    x, y = np.array([[0.0], [2.0]]), np.array([[1.0], [3.0]])
    assert float(numbaot.solve_sample(x, y).value) == pytest.approx(1.0)


def test_solve_sample_refuses_what_it_cannot_solve_yet():
    with pytest.raises(ValueError, match="tol applies to entropic OT"):
        numbaot.solve_sample([0.0], [1.0], tol=1e-3)
    with pytest.raises(ValueError, match="reg = 0 means unregularised"):
        numbaot.solve_sample([0.0], [1.0], reg=0)
    with pytest.raises(TypeError, match="lazy must be True or False"):
        numbaot.solve_sample([0.0], [1.0], lazy="yes")


def test_solve_sample_entropic_is_solve_on_the_cost_matrix():
    rng = np.random.default_rng(0)
    X, Y = rng.random((30, 2)), rng.random((20, 2))
    for metric in ("sqeuclidean", "euclidean"):
        res = numbaot.solve_sample(X, Y, metric=metric, reg=0.05)
        ref = numbaot.solve(numbaot.dist(X, Y, metric=metric), reg=0.05)
        assert res.status is numbaot.Status.OPTIMAL
        np.testing.assert_array_equal(res.plan, ref.plan)
        assert float(res.value) == float(ref.value)
