"""CUDA inputs to the host-only regularised solvers: solved on host copies, the plan back on the device
(``ran_on="cpu"`` where a result is returned), or refused with a clear error (emd_laplace)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot

pytestmark = pytest.mark.cuda


def _host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def l2(G):
    return 0.5 * float(np.sum(G * G))


def dl2(G):
    assert isinstance(G, np.ndarray)  # the user's callbacks always see numpy arrays
    return G


def _problem():
    rng = np.random.default_rng(0)
    a, b = rng.random(6) + 0.1, rng.random(5) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((6, 5))


CALLS = {
    "cg": lambda a, b, M: numbaot.cg(a, b, M, 0.5, l2, dl2, warn=False),
    "semirelaxed_cg": lambda a, b, M: numbaot.semirelaxed_cg(a, b, M, 0.5, l2, dl2, warn=False),
    "gcg": lambda a, b, M: numbaot.gcg(a, b, M, 0.1, 0.5, l2, dl2, warn=False),
    "sinkhorn_lpl1_mm": lambda a, b, M: numbaot.sinkhorn_lpl1_mm(a, [0, 1, 0, 1, 2, 2], b, M, 0.1, warn=False),
    "sinkhorn_l1l2_gl": lambda a, b, M: numbaot.sinkhorn_l1l2_gl(a, [0, 1, 0, 1, 2, 2], b, M, 0.1, warn=False),
    "smooth_ot_dual": lambda a, b, M: numbaot.smooth_ot_dual(a, b, M, 0.5, log=True)[0],
    "smooth_ot_semi_dual": lambda a, b, M: numbaot.smooth_ot_semi_dual(a, b, M, 0.5),
    "screenkhorn": lambda a, b, M: numbaot.screenkhorn(a, b, M, 0.5, 3, 3),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_device_inputs_give_the_host_plan_on_the_device(name):
    from numba import cuda

    a, b, M = _problem()
    host = CALLS[name](a, b, M)
    dev = CALLS[name](cuda.to_device(a), cuda.to_device(b), cuda.to_device(M))
    assert cuda.is_cuda_array(dev) if hasattr(cuda, "is_cuda_array") else hasattr(dev, "copy_to_host")
    np.testing.assert_array_equal(_host(dev), host)


def test_solve_routes_say_where_they_ran():
    from numba import cuda

    a, b, M = _problem()
    for reg_type in ("L2", (l2, dl2)):
        res = numbaot.solve(cuda.to_device(M), cuda.to_device(a), cuda.to_device(b), reg=0.5, reg_type=reg_type)
        ref = numbaot.solve(M, a, b, reg=0.5, reg_type=reg_type)
        assert (res.device, res.ran_on) == ("cuda", "cpu")
        np.testing.assert_array_equal(_host(res.plan), ref.plan)


def test_emd_laplace_refuses_device_arrays():
    from numba import cuda

    a, b, M = _problem()
    x = np.random.default_rng(1).random((6, 2))
    with pytest.raises(ValueError, match="emd_laplace runs on the host only"):
        numbaot.emd_laplace(cuda.to_device(a), cuda.to_device(b), cuda.to_device(x), cuda.to_device(x[:5]),
                            cuda.to_device(M))
