"""The online log-domain Sinkhorn on CUDA arrays against the CPU path (simulator or GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_cpu(small_blocks, metric, dtype):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(11, 2)).astype(dtype), rng.normal(size=(7, 2)).astype(dtype)
    a = rng.integers(1, 4, 11).astype(float)
    b = rng.integers(1, 4, 7).astype(float)
    a[3] = 0.0
    a, b = a / a.sum(), b / b.sum()
    kw = dict(reg=0.5, metric=metric, lazy=True, tol=1e-11, max_iter=2000)
    ref = numbaot.solve_sample(X, Y, a, b, **kw)
    got = numbaot.solve_sample(dev(X), dev(Y), dev(a), dev(b), **kw)
    assert got.status is numbaot.Status.OPTIMAL and got.device == "cuda"
    assert got.n_iter == ref.n_iter
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(got.potential_a), ref.potential_a, **tol)
    np.testing.assert_allclose(host(got.potential_b), ref.potential_b, **tol)
    assert host(got.potential_a).dtype == np.dtype(dtype) and isinstance(got.value, dtype)
    assert np.isclose(float(got.value), float(ref.value), **tol)
    assert np.isclose(float(got.value_linear), float(ref.value_linear), **tol)
    np.testing.assert_allclose(host(got.plan), ref.plan, **tol)
    np.testing.assert_allclose(got.errors, ref.errors, rtol=1e-6, atol=1e-13)


def test_uniform_weights_and_max_iter(small_blocks):
    rng = np.random.default_rng(1)
    X, Y = rng.random((6, 3)), rng.random((5, 3))
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        got = numbaot.solve_sample(dev(X), dev(Y), reg=0.01, lazy=True, max_iter=3)
    ref = numbaot.solve_sample(X, Y, reg=0.01, lazy=True, max_iter=3, warn=False)
    assert got.status is numbaot.Status.MAX_ITER_REACHED and got.n_iter == 3
    np.testing.assert_allclose(host(got.potential_a), ref.potential_a, rtol=1e-10, atol=1e-12)


def test_bad_inputs(small_blocks):
    X = np.arange(6.0).reshape(3, 2)
    bad = X.copy()
    bad[1, 1] = np.nan
    same_error(lambda: numbaot.solve_sample(X, bad, reg=0.1, lazy=True),
               lambda: numbaot.solve_sample(dev(X), dev(bad), reg=0.1, lazy=True))
    same_error(lambda: numbaot.solve_sample(X, X, [0.5, 0.5, 0.5], None, reg=0.1, lazy=True),
               lambda: numbaot.solve_sample(dev(X), dev(X), dev(np.array([0.5, 0.5, 0.5])), None, reg=0.1,
                                            lazy=True))
    same_error(lambda: numbaot.solve_sample(X, X, [-0.5, 1.0, 0.5], None, reg=0.1, lazy=True),
               lambda: numbaot.solve_sample(dev(X), dev(X), dev(np.array([-0.5, 1.0, 0.5])), None, reg=0.1,
                                            lazy=True))
    with pytest.raises(ValueError, match="different devices"):
        numbaot.solve_sample(dev(X), X, reg=0.1, lazy=True)


@pytest.mark.parametrize("reg_m", [0.6, (0.4, np.inf), (np.inf, 2.0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unbalanced_matches_cpu(small_blocks, reg_m, dtype):
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(10, 2)).astype(dtype), rng.normal(size=(6, 2)).astype(dtype)
    a, b = rng.integers(1, 4, 10).astype(float), rng.integers(1, 4, 6).astype(float)
    a[1] = 0.0
    a, b = a / a.sum(), 1.5 * b / b.sum()  # masses may differ
    kw = dict(reg=0.5, reg_m=reg_m, lazy=True, tol=1e-11, max_iter=3000)
    ref = numbaot.solve_sample(X, Y, a, b, **kw)
    got = numbaot.solve_sample(dev(X), dev(Y), dev(a), dev(b), **kw)
    assert ref.status is numbaot.Status.OPTIMAL and got.status is numbaot.Status.OPTIMAL
    assert got.device == "cuda" and got.n_iter == ref.n_iter
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(got.potential_a), ref.potential_a, **tol)
    np.testing.assert_allclose(host(got.potential_b), ref.potential_b, **tol)
    assert host(got.potential_b).dtype == np.dtype(dtype) and isinstance(got.value, dtype)
    assert np.isclose(float(got.value), float(ref.value), **tol)
    assert np.isclose(float(got.value_linear), float(ref.value_linear), **tol)
    np.testing.assert_allclose(host(got.plan), ref.plan, **tol)
    np.testing.assert_allclose(got.errors, ref.errors, rtol=1e-6, atol=1e-13)


def test_unbalanced_max_iter_and_bad_weights(small_blocks):
    rng = np.random.default_rng(3)
    X, Y = rng.random((5, 2)), rng.random((4, 2))
    with pytest.warns(numbaot.ConvergenceWarning, match="change of the potentials"):
        got = numbaot.solve_sample(dev(X), dev(Y), reg=0.01, reg_m=5.0, lazy=True, max_iter=4)
    ref = numbaot.solve_sample(X, Y, reg=0.01, reg_m=5.0, lazy=True, max_iter=4, warn=False)
    assert got.status is numbaot.Status.MAX_ITER_REACHED and got.n_iter == 4
    np.testing.assert_allclose(host(got.potential_a), ref.potential_a, rtol=1e-10, atol=1e-12)
    neg = np.array([0.5, -0.5, 1.0, 0.2, 0.1])
    same_error(lambda: numbaot.solve_sample(X, Y, neg, None, reg=0.1, reg_m=1.0, lazy=True),
               lambda: numbaot.solve_sample(dev(X), dev(Y), dev(neg), None, reg=0.1, reg_m=1.0, lazy=True))


def test_device_convergence_warnings_point_at_the_caller():
    """The point-cloud CUDA answers (online Sinkhorn, divergence) are finished by one helper; their
    ConvergenceWarnings still name the caller's line."""
    rng = np.random.default_rng(3)
    X, Y = dev(rng.random((12, 2))), dev(rng.random((9, 2)))
    with pytest.warns(numbaot.ConvergenceWarning) as record:
        numbaot.solve_sample(X, Y, reg=0.01, lazy=True, max_iter=2)
        numbaot.sinkhorn_divergence(X, Y, reg=0.01, max_iter=2)
    caught = [w for w in record if issubclass(w.category, numbaot.ConvergenceWarning)]
    assert len(caught) == 2 and all(w.filename == __file__ for w in caught)


def unreachable(*args, **kwargs):
    raise AssertionError("a driver ran on unchecked input")


def clouds_cases():
    """Host and device calls ``call(X, Y, a, b, reg_m)`` of bad (or, last, feasible) clouds and weights, in the
    host's order of checks: X_a and X_b finite, their dimensions, a's length and values, b's, then the masses."""
    rng = np.random.default_rng(3)
    X, Y = rng.random((4, 2)), rng.random((3, 2))
    a, b = np.full(4, 0.25), np.full(3, 1 / 3)
    nan_x, inf_y = X.copy(), Y.copy()
    nan_x[2, 1] = np.nan
    inf_y[0, 0] = -np.inf
    return [(nan_x, inf_y, a, 2 * b, None),  # X_a first
            (X, inf_y, a[:3], b, None),  # then X_b
            (X, rng.random((3, 3)), a[:3], b, None),  # the dimensions before the weights
            (X, Y, a[:3], -b, None),  # a's length before b
            (X, Y, np.array([0.5, -0.25, 0.5, 0.25]), -b, None),
            (X, Y, a, np.array([0.5, np.nan, 0.5]), None),
            (X, Y, None, np.array([0.5, -0.5, 0.5]), 1.0),
            (X, Y, a, 2 * b, None),  # the masses
            (X, Y, None, 2 * b, None)]


def test_device_input_is_judged_before_the_driver(monkeypatch):
    """Issue 12's rule for the online solve: the device clouds and weights are checked by the front-end's dispatch
    steps (``cuda._checks``: ``online.points``, ``online.weights``) and judged there, before the driver, with the
    host's messages and in the host's order. The driver is replaced by one that fails if reached."""
    from numbaot.cuda import online as cuda_online

    monkeypatch.setattr(cuda_online, "solve_online_cuda", unreachable)
    for X, Y, a, b, reg_m in clouds_cases():
        same_error(lambda: numbaot.solve_sample(X, Y, a, b, reg=0.1, reg_m=reg_m, lazy=True),
                   lambda: numbaot.solve_sample(dev(X), dev(Y), None if a is None else dev(a),
                                                dev(b), reg=0.1, reg_m=reg_m, lazy=True))
    X, Y, a, b, _ = clouds_cases()[-2]
    with pytest.raises(AssertionError, match="unchecked"):  # unbalanced: the masses may differ, the driver runs
        numbaot.solve_sample(dev(X), dev(Y), dev(a), dev(b), reg=0.1, reg_m=1.0, lazy=True)
