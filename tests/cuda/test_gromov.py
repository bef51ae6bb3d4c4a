"""The GW tensor product on CUDA arrays against the CPU path (simulator or GPU), tiny sizes."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.gromov._tensor import tensor_product
from tests.naive import gw_tensor_naive

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


@pytest.mark.parametrize("loss", ["square_loss", "kl_loss"])
@pytest.mark.parametrize("n, m", [(3, 5), (5, 2), (1, 4)])
def test_tensor_product_matches_cpu(small_blocks, loss, n, m):
    from numbaot.cuda.gromov import tensor_product_cuda

    rng = np.random.default_rng(n * 7 + m)
    C1, C2 = rng.random((n, n)), rng.random((m, m))  # asymmetric on purpose
    T = rng.random((n, m))
    got = tensor_product_cuda(dev(C1), dev(C2), dev(T), loss)
    assert tuple(got.shape) == (n, m) and got.dtype == np.float64
    ref = tensor_product(C1, C2, T, loss)
    np.testing.assert_allclose(got.copy_to_host(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref, gw_tensor_naive(C1, C2, T, loss), rtol=1e-12, atol=1e-12)


def test_tensor_product_float32_and_bad_shapes(small_blocks):
    from numbaot.cuda.gromov import tensor_product_cuda

    rng = np.random.default_rng(3)
    C1, C2, T = (rng.random(s).astype(np.float32) for s in ((4, 4), (3, 3), (4, 3)))
    got = tensor_product_cuda(dev(C1), dev(C2), dev(T))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.copy_to_host(), tensor_product(C1, C2, T), rtol=1e-5)
    with pytest.raises(ValueError, match=r"T has shape \(3, 4\)"):
        tensor_product_cuda(dev(C1), dev(C2), dev(T.T))
    with pytest.raises(ValueError, match="must be square"):
        tensor_product_cuda(dev(T), dev(C2), dev(T))
    with pytest.raises(ValueError, match="loss must be one of"):
        tensor_product_cuda(dev(C1), dev(C2), dev(T), "l1")


def _spaces():
    rng = np.random.default_rng(9)
    x, y = rng.random((5, 2)), rng.random((4, 2))
    C1 = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    C2 = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1))
    return C1, C2, ((x[:, None, 0] - y[None, :, 0]) ** 2)


def test_solvers_take_cuda_inputs_and_say_where_they_ran(small_blocks):
    import numbaot

    C1, C2, M = _spaces()
    plan = numbaot.gromov_wasserstein(dev(C1), dev(C2))
    np.testing.assert_allclose(plan.copy_to_host(), numbaot.gromov_wasserstein(C1, C2), rtol=1e-12, atol=1e-15)
    res = numbaot.solve_gromov(dev(C1), dev(C2), dev(M), alpha=0.3)
    ref = numbaot.solve_gromov(C1, C2, M, alpha=0.3)
    assert (res.device, res.ran_on) == ("cuda", "cpu")
    assert res.value == ref.value
    np.testing.assert_allclose(res.plan.copy_to_host(), ref.plan, rtol=1e-12, atol=1e-15)
    ent = numbaot.solve_gromov(dev(C1), dev(C2), reg=0.1)
    np.testing.assert_allclose(ent.plan.copy_to_host(), numbaot.solve_gromov(C1, C2, reg=0.1).plan, rtol=1e-12,
                               atol=1e-15)
    assert ent.potential_a.copy_to_host().shape == (5,)
    sr = numbaot.semirelaxed_gromov_wasserstein(dev(C1), dev(C2))
    np.testing.assert_allclose(sr.copy_to_host(), numbaot.semirelaxed_gromov_wasserstein(C1, C2), rtol=1e-12,
                               atol=1e-15)


def test_host_and_device_mixed_is_refused(small_blocks):
    import numbaot

    C1, C2, _ = _spaces()
    with pytest.raises(ValueError, match="C2 on the GPU but C1 on the host"):
        numbaot.gromov_wasserstein(C1, dev(C2))
    with pytest.raises(ValueError, match="C1, C2 on the GPU but G0 on the host"):
        numbaot.gromov_wasserstein(dev(C1), dev(C2), G0=np.full((5, 4), 0.05))
