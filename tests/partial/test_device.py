"""Partial and non-entropic unbalanced OT with CUDA inputs: solved on host copies, answered on the device with
``ran_on="cpu"``, but entropic partial OT, which runs on the GPU (runs under the CUDA simulator or on a GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot

pytestmark = pytest.mark.cuda


def _host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def test_device_inputs_go_through_the_host():
    from numba import cuda

    from numbaot.partial.api import solve_entropic_partial, solve_partial
    from numbaot.partial.gromov import solve_partial_gromov
    from numbaot.unbalanced.api import solve_mm

    rng = np.random.default_rng(0)
    M = rng.random((6, 5))
    a, b = rng.random(6), rng.random(5)
    dM, da, db = cuda.to_device(M), cuda.to_device(a), cuda.to_device(b)
    for solver, args, ran_on in ((solve_partial, (0.5,), "cpu"), (solve_entropic_partial, (0.5, 0.4), "cuda")):
        host = solver(M, a, b, *args)
        dev = solver(dM, da, db, *args)
        assert dev.device == "cuda" and dev.ran_on == ran_on  # entropic: the GPU path (tests/cuda/test_partial.py)
        np.testing.assert_allclose(_host(dev.plan), host.plan, rtol=1e-9, atol=1e-15)
    host = solve_mm(M, a, b, 1.0, warn=False)
    dev = solve_mm(dM, da, db, 1.0, warn=False)
    assert dev.ran_on == "cpu" and np.allclose(_host(dev.plan), host.plan)
    res = numbaot.solve(dM, da, db, unbalanced=1.0, unbalanced_type="TV")
    assert res.ran_on == "cpu" and np.isclose(res.value, numbaot.solve(M, a, b, unbalanced=1.0,
                                                                       unbalanced_type="TV").value)
    C = rng.random((4, 4))
    C = C + C.T
    dev = solve_partial_gromov(cuda.to_device(C), cuda.to_device(C), m=0.5)
    assert dev.ran_on == "cpu" and np.isclose(_host(dev.plan).sum(), 0.5)
    with pytest.raises(ValueError, match="mixed|host|device|lives"):
        numbaot.partial_wasserstein(dM, a, db, 0.5)
