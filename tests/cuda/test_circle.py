"""The CUDA circle and spherical sliced paths against the CPU paths on the same inputs (simulator or GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else x


def circle_data(seed=0, k=None):
    rng = np.random.default_rng(seed)
    shape_u = (7,) if k is None else (7, k)
    shape_v = (5,) if k is None else (5, k)
    u = rng.uniform(-1.0, 2.0, shape_u)  # taken modulo 1
    v = rng.uniform(0.0, 1.0, shape_v)
    a = rng.integers(1, 5, 7).astype(float)
    b = rng.integers(1, 5, 5).astype(float)
    return u, v, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("p, weighted", [(1.0, False), (2.0, True), (1.5, True)])
def test_wasserstein_circle_matches_cpu(small_blocks, p, weighted):
    u, v, a, b = circle_data()
    a, b = (a, b) if weighted else (None, None)
    cpu = numbaot.wasserstein_circle(u, v, a, b, p=p)
    gpu = numbaot.wasserstein_circle(dev(u), dev(v), dev(a), dev(b), p=p)
    assert isinstance(gpu, np.generic)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(numbaot.wasserstein1_circle(dev(u), dev(v), dev(a), dev(b)),
                               numbaot.wasserstein1_circle(u, v, a, b), rtol=1e-10)


def test_batched_circle_and_theta_match_cpu(small_blocks):
    u, v, a, b = circle_data(seed=1, k=3)
    value, theta = numbaot.binary_search_circle(u, v, a, b, p=2, return_theta=True)
    gvalue, gtheta = numbaot.binary_search_circle(dev(u), dev(v), dev(a), dev(b), p=2, return_theta=True)
    np.testing.assert_allclose(host(gvalue), value, rtol=1e-10)
    np.testing.assert_allclose(host(gtheta), theta, atol=1e-12)
    np.testing.assert_allclose(numbaot.semidiscrete_wasserstein2_unif_circle(u, a)[0],
                               host(numbaot.semidiscrete_wasserstein2_unif_circle(dev(u), dev(a)))[0], rtol=1e-10)


def sphere_points(n, d=3, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_sphere_matches_cpu(small_blocks):
    X, Y = sphere_points(6), sphere_points(5, seed=1)
    a = np.full(6, 1 / 6)
    U = numbaot.get_projections_sphere(3, 4, seed=0)
    cpu = numbaot.sliced_wasserstein_sphere(X, Y, a, None, projections=U, p=2)
    gpu = numbaot.sliced_wasserstein_sphere(dev(X), dev(Y), dev(a), None, projections=U, p=2)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10)
    np.testing.assert_allclose(numbaot.sliced_wasserstein_sphere_unif(dev(X), projections=U),
                               numbaot.sliced_wasserstein_sphere_unif(X, projections=U), rtol=1e-10)


def test_same_errors_as_cpu():
    u, v, a, b = circle_data(seed=2)
    bad = a.copy()
    bad[2] = -0.5
    same_error(lambda: numbaot.wasserstein_circle(u, v, bad, b), lambda: numbaot.wasserstein_circle(dev(u), dev(v),
                                                                                                   dev(bad), dev(b)))
    same_error(lambda: numbaot.wasserstein_circle(u, v, np.ones(7), np.ones(5)),
               lambda: numbaot.wasserstein_circle(dev(u), dev(v), dev(np.ones(7)), dev(np.ones(5))))
    X = sphere_points(4)
    off = X * 1.1
    same_error(lambda: numbaot.sliced_wasserstein_sphere_unif(off, n_projections=2, seed=0),
               lambda: numbaot.sliced_wasserstein_sphere_unif(dev(off), n_projections=2, seed=0))
    nan = u.copy()
    nan[3] = np.nan
    same_error(lambda: numbaot.wasserstein_circle(nan, v), lambda: numbaot.wasserstein_circle(dev(nan), dev(v)))
    with pytest.raises(ValueError, match="different devices"):
        numbaot.wasserstein_circle(dev(u), v)
