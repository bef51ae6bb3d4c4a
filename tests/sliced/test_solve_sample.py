"""``solve_sample(method=...)``: the sliced and Gaussian values through the unified front-end."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot


def clouds():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1


def test_methods_call_the_verbs():
    X, Y = clouds()
    res = numbaot.solve_sample(X, Y, method="sliced", n_projections=20, random_state=3)
    assert res.value == numbaot.sliced_wasserstein_distance(X, Y, n_projections=20, seed=3) == res.value_linear
    res = numbaot.solve_sample(X, Y, metric="euclidean", method="max_sliced", random_state=1)
    assert res.value == numbaot.max_sliced_wasserstein_distance(X, Y, p=1, seed=1)
    res = numbaot.solve_sample(X, Y, method="1d")
    assert np.allclose(res.value, [numbaot.wasserstein_1d(X[:, k], Y[:, k], p=2) for k in range(3)], rtol=1e-12)
    res = numbaot.solve_sample(X, Y, method="Gaussian", reg=1e-3)
    assert np.isclose(res.value, numbaot.empirical_bures_wasserstein_distance(X, Y, 1e-3) ** 2, rtol=1e-12)


def test_pot_agrees():
    ot = pytest.importorskip("ot")
    X, Y = clouds()
    for method in ("1d", "sliced", "max_sliced", "gaussian"):
        ours = numbaot.solve_sample(X, Y, method=method, random_state=0).value
        assert np.allclose(ours, ot.solve_sample(X, Y, method=method, random_state=0).value, rtol=1e-10)


def test_bad_method_arguments():
    X, Y = clouds()
    with pytest.raises(ValueError, match="method must be one of"):
        numbaot.solve_sample(X, Y, method="lowrank")
    with pytest.raises(ValueError, match="sqeuclidean"):
        numbaot.solve_sample(X, Y, metric="cosine", method="sliced")
    with pytest.raises(ValueError, match="sqeuclidean"):
        numbaot.solve_sample(X, Y, metric="euclidean", method="gaussian")
    with pytest.raises(ValueError, match="reg does not apply"):
        numbaot.solve_sample(X, Y, method="sliced", reg=0.1)
    with pytest.raises(ValueError, match="do not apply"):
        numbaot.solve_sample(X, Y, method="gaussian", lazy=True)
