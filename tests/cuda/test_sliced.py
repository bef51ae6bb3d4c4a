"""The CUDA sliced Wasserstein path against the CPU path on the same inputs (simulator or GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def clouds(dtype=np.float64, weighted=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(11, 3)).astype(dtype)
    Y = (rng.normal(size=(9, 3)) * 2 + 1).astype(dtype)
    if not weighted:
        return X, Y, None, None
    a = rng.integers(1, 5, 11).astype(dtype)
    b = rng.integers(1, 5, 9).astype(dtype)
    return X, Y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("dtype, weighted, p", [(np.float64, False, 2.0), (np.float64, True, 1.5),
                                               (np.float32, True, 1.0), (np.float32, False, 2.0)])
def test_sliced_matches_cpu(small_blocks, dtype, weighted, p):
    X, Y, a, b = clouds(dtype, weighted)
    P = numbaot.get_random_projections(3, 5, seed=1)
    cpu = numbaot.sliced_wasserstein_distance(X, Y, a, b, projections=P, p=p)
    gpu = numbaot.sliced_wasserstein_distance(dev(X), dev(Y), dev(a), dev(b), projections=P, p=p)
    gpu_dev_p = numbaot.sliced_wasserstein_distance(dev(X), dev(Y), dev(a), dev(b), projections=dev(P), p=p)
    assert isinstance(gpu, np.generic) and gpu.dtype == cpu.dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(gpu, cpu, rtol=rtol)
    np.testing.assert_allclose(gpu_dev_p, cpu, rtol=rtol)


def test_max_sliced_sampled_matches_cpu(small_blocks):
    X, Y, a, b = clouds(weighted=True)
    cpu, d_cpu = numbaot.max_sliced_wasserstein_distance(X, Y, a, b, n_projections=6, seed=2, return_direction=True)
    gpu, d_gpu = numbaot.max_sliced_wasserstein_distance(dev(X), dev(Y), dev(a), dev(b), n_projections=6, seed=2,
                                                         return_direction=True)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-10)
    np.testing.assert_array_equal(d_gpu, d_cpu)


def test_gradient_ascent_matches_cpu(small_blocks):
    X, _, a, _ = clouds()
    Y = X + np.array([1.0, -2.0, 0.5])  # a translation: the maximum is |t| along t
    b = a
    kw = dict(n_projections=4, seed=3, method="gradient", p=2.0, tol=1e-3, return_direction=True)
    cpu, d_cpu = numbaot.max_sliced_wasserstein_distance(X, Y, a, b, **kw)
    gpu, d_gpu = numbaot.max_sliced_wasserstein_distance(dev(X), dev(Y), dev(a), dev(b), **kw)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9)
    np.testing.assert_allclose(d_gpu, d_cpu, atol=1e-6)
    np.testing.assert_allclose(gpu, np.sqrt(1.0 + 4.0 + 0.25), rtol=1e-5)


def test_gradient_value_and_gradient_match_cpu(small_blocks):
    from numbaot.cuda.sliced import DirectionEvaluator
    from numbaot.sliced._projections import direction_value_grad

    X, Y, a, b = clouds(weighted=True, seed=4)
    theta = np.array([0.6, -0.8, 0.0])
    u, v = X @ theta, Y @ theta
    value, grad = direction_value_grad(X, Y, np.argsort(u), np.argsort(v), u, v, a, b, 1.5)
    g_value, g_grad = DirectionEvaluator(dev(X), dev(Y), dev(a), dev(b), 1.5)(theta)
    np.testing.assert_allclose(g_value, value, rtol=1e-11)
    np.testing.assert_allclose(g_grad, grad, rtol=1e-10, atol=1e-12)


def test_same_errors_as_cpu(small_blocks):
    X, Y, a, b = clouds(weighted=True)
    bad = a.copy()
    bad[3] = -0.5
    P = numbaot.get_random_projections(3, 4, seed=0)
    same_error(lambda: numbaot.sliced_wasserstein_distance(X, Y, bad, b, projections=P),
               lambda: numbaot.sliced_wasserstein_distance(dev(X), dev(Y), dev(bad), dev(b), projections=P))
    ones_a, ones_b = np.ones(11), np.ones(9)  # masses 11 and 9: exact sums on both devices
    same_error(lambda: numbaot.sliced_wasserstein_distance(X, Y, ones_a, ones_b, projections=P),
               lambda: numbaot.sliced_wasserstein_distance(dev(X), dev(Y), dev(ones_a), dev(ones_b), projections=P))


def test_host_and_device_mixed_is_refused():
    X, Y, _, _ = clouds()
    with pytest.raises(ValueError):
        numbaot.sliced_wasserstein_distance(dev(X), Y, n_projections=3)


def test_mass_judged_with_the_host_rule(small_blocks):
    """The front-end judges the device masses as the host path does (``check_balanced_weights``: float32
    tolerance when either weight vector is float32): a 1e-7 mass gap between float32 a and float64 b passes on
    both devices, with the same value; 1e-5 is refused on both (the sums' last digits may differ: summed in
    another order)."""
    X, Y, a, b = clouds(weighted=True)
    P = numbaot.get_random_projections(3, 4, seed=0)
    a32 = a.astype(np.float32)
    for gap, ok in ((1e-7, True), (1e-5, False)):
        b_gap = b * (float(a32.sum(dtype=np.float64)) + gap)
        cpu = lambda: numbaot.sliced_wasserstein_distance(X, Y, a32, b_gap, projections=P)  # noqa: E731
        gpu = lambda: numbaot.sliced_wasserstein_distance(dev(X), dev(Y), dev(a32), dev(b_gap),  # noqa: E731
                                                          projections=P)
        if ok:
            np.testing.assert_allclose(gpu(), cpu(), rtol=1e-10)
        else:
            for call in (cpu, gpu):
                with pytest.raises(ValueError, match="a and b must have the same total mass"):
                    call()
