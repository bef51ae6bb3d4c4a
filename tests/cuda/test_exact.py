"""emd / emd2 / solve with CUDA inputs: solved on host copies, answers back on the device, recorded in ran_on."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot

pytestmark = pytest.mark.cuda


def _host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def test_solve_with_device_inputs_matches_the_host(small_blocks):
    from numba import cuda

    rng = np.random.default_rng(0)
    M = rng.random((7, 5))
    a = rng.random(7)
    b = rng.random(5)
    a[2] = 0.0
    b *= a.sum() / b.sum()
    host = numbaot.solve(M, a, b)
    dev = numbaot.solve(cuda.to_device(M), cuda.to_device(a), cuda.to_device(b))
    assert dev.device == "cuda" and dev.ran_on == "cpu" and host.ran_on == "cpu"
    assert float(dev.value) == float(host.value)
    np.testing.assert_array_equal(_host(dev.plan), host.plan)
    np.testing.assert_array_equal(_host(dev.potential_a), host.potential_a)
    np.testing.assert_array_equal(_host(dev.potential_b), host.potential_b)
    np.testing.assert_allclose(_host(dev.marginal_a), a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_host(dev.marginal_b), b, rtol=1e-12, atol=1e-15)
    rows, cols, values = (_host(x) for x in numbaot.emd(cuda.to_device(a), cuda.to_device(b), cuda.to_device(M),
                                                        dense=False))
    np.testing.assert_array_equal(values, host.plan_coo[2])
    assert float(numbaot.emd2(cuda.to_device(a), cuda.to_device(b), cuda.to_device(M))) == float(host.value)


def test_device_inputs_get_the_host_messages():
    from numba import cuda

    M = np.ones((2, 2))
    M[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"M\[1, 0\] is NaN"):
        numbaot.emd(None, None, cuda.to_device(M))
    with pytest.raises(ValueError, match="a on the host"):
        numbaot.emd(np.full(2, 0.5), cuda.to_device(np.full(2, 0.5)), cuda.to_device(np.ones((2, 2))))
