"""utils.dist against scipy's cdist, and utils.unif."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance as sd
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaot

CASES = [("sqeuclidean", {}), ("euclidean", {}), ("cityblock", {}), ("minkowski", {"p": 1.5}),
         ("minkowski", {"p": 3.0}), ("cosine", {})]


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 7), st.integers(1, 4)),
                  elements=st.floats(-50, 50, allow_nan=False).filter(lambda v: abs(v) > 1e-3)),
       st.data(), st.sampled_from(CASES))
def test_dist_matches_cdist(X, data, case):
    metric, kw = case
    Y = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(1, 6)), X.shape[1]),
                             elements=st.floats(-50, 50, allow_nan=False).filter(lambda v: abs(v) > 1e-3)))
    got = numbaot.dist(X, Y, metric=metric, **kw)
    np.testing.assert_allclose(got, sd.cdist(X, Y, metric, **kw), rtol=1e-12, atol=1e-12)


def test_dist_defaults_and_shapes():
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(numbaot.dist(X), sd.cdist(X, X, "sqeuclidean"))
    np.testing.assert_allclose(numbaot.dist(np.arange(3.0), np.arange(2.0)), (np.arange(3.0)[:, None] - np.arange(2.0)) ** 2)
    assert numbaot.dist(X.astype(np.float32)).dtype == np.float32
    assert numbaot.dist(X.astype(np.float32), X).dtype == np.float64


def test_dist_same_result_for_any_thread_count():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(30, 3))
    np.testing.assert_array_equal(numbaot.dist(X, Y, n_threads=1), numbaot.dist(X, Y, n_threads=2))


@pytest.mark.parametrize("bad, match", [
    (dict(metric="hamming"), "metric must be one of"),
    (dict(metric="minkowski", p=0.5), "p must be a finite number >= 1"),
    (dict(metric=3), "metric must be a string"),
])
def test_dist_rejects_bad_parameters(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        numbaot.dist(np.ones((2, 2)), np.ones((2, 2)), **bad)


def test_dist_rejects_dimension_mismatch_and_zero_rows_for_cosine():
    with pytest.raises(ValueError, match="dimension 2 but x2 of dimension 3"):
        numbaot.dist(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="row 1 of x1 is zero"):
        numbaot.dist(np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones((2, 2)), metric="cosine")


def test_unif():
    np.testing.assert_array_equal(numbaot.unif(4), np.full(4, 0.25))
    assert numbaot.unif(3, type_as=np.ones(2, np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="n must be >= 1"):
        numbaot.unif(0)
    with pytest.raises(TypeError, match="n must be a positive integer"):
        numbaot.unif(2.5)
