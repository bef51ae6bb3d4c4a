"""The GW tensor product on CUDA arrays against the CPU path (simulator or GPU), tiny sizes."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.gromov import api as gw_api
from numbaot.gromov._tensor import tensor_product
from tests.cuda.common import same_error
from tests.naive import gw_tensor_naive

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


@pytest.mark.parametrize("loss", ["square_loss", "kl_loss"])
@pytest.mark.parametrize("n, m", [(3, 5), (5, 2), (1, 4)])
def test_tensor_product_matches_cpu(small_blocks, loss, n, m):
    rng = np.random.default_rng(n * 7 + m)
    C1, C2 = rng.random((n, n)), rng.random((m, m))  # asymmetric on purpose
    T = rng.random((n, m))
    got = gw_api.tensor_product(dev(C1), dev(C2), dev(T), loss_fun=loss)
    assert tuple(got.shape) == (n, m) and got.dtype == np.float64
    ref = tensor_product(C1, C2, T, loss)
    np.testing.assert_allclose(got.copy_to_host(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref, gw_tensor_naive(C1, C2, T, loss), rtol=1e-12, atol=1e-12)


def test_tensor_product_float32_and_strided(small_blocks):
    rng = np.random.default_rng(3)
    C1, C2, T = (rng.random(s).astype(np.float32) for s in ((4, 4), (3, 3), (4, 3)))
    got = gw_api.tensor_product(dev(C1), dev(C2), dev(T))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.copy_to_host(), tensor_product(C1, C2, T), rtol=1e-5)
    host = gw_api.tensor_product(C1, C2, T)
    assert host.dtype == np.float32
    np.testing.assert_array_equal(got.copy_to_host(), host)
    big = rng.random((8, 6))  # a strided device view, float64: the checked copy is C-contiguous
    view = dev(big)[::2, ::2]
    np.testing.assert_allclose(gw_api.tensor_product(dev(C1), dev(C2), view, loss_fun="kl_loss").copy_to_host(),
                               tensor_product(C1, C2, big[::2, ::2], "kl_loss"), rtol=1e-12, atol=1e-12)


def test_tensor_product_device_errors_are_the_hosts_before_the_driver(small_blocks, monkeypatch):
    """Issue 12's rule for the GW tensor product: the device matrices are checked by the front-end's dispatch
    steps (``cuda._checks``: ``gromov.matrix``, ``gromov.minimum``) with the host's messages, word for word, and in
    the host's order (C1's shape and values, then C2's, the loss, kl_loss's negative entries, T's shape and values).
    The driver is replaced by one that fails if reached."""
    from numbaot.cuda import gromov as cuda_gromov

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    monkeypatch.setattr(cuda_gromov, "tensor_product_cuda", unreachable)
    rng = np.random.default_rng(5)
    C1, C2, T = rng.random((4, 4)), rng.random((3, 3)), rng.random((4, 3))

    def same(C1, C2, T, loss="square_loss"):
        same_error(lambda: gw_api.tensor_product(C1, C2, T, loss_fun=loss),
                   lambda: gw_api.tensor_product(dev(C1), dev(C2), dev(T), loss_fun=loss))

    nan1, nan2, inf_t = C1.copy(), C2.copy(), T.copy()
    nan1[2, 1], nan1[3, 0] = np.nan, np.inf
    nan2[0, 2] = -np.inf
    inf_t[1, 2] = np.inf
    same(nan1, nan2, inf_t)  # C1's first non-finite entry
    same(C1, nan2, inf_t, "l1")  # C2's, before the loss
    same(C1[:, :3], nan2, T)  # C1 not square, before C2's values
    same(C1, C2[:2], T)
    same(C1, C2, inf_t, "l1")  # the loss before T
    same(C1, C2, T.T)  # T's shape
    same(C1, C2, T[:, :2])
    same(C1, C2, inf_t)  # T's values
    neg1, neg2 = C1 - 0.5, C2.copy()
    neg2[1, 2] = -3.0
    same(neg1, neg2, inf_t, "kl_loss")  # C1's smallest entry, before C2's and T
    same(C1, neg2, T, "kl_loss")
    tie = C2.copy()
    tie[2, 0] = tie[0, 1] = -1.0  # equal minima: the first in C order, as numpy's argmin
    same(C1, tie, T, "kl_loss")
    same(C1, C2.astype(np.float32) - 0.25, T.astype(np.float32), "kl_loss")  # float32 values as the caller sees them
    gw_api.tensor_product(C1, C2 - 1.0, T)  # signed matrices are fine under square_loss
    with pytest.raises(AssertionError, match="unchecked"):
        gw_api.tensor_product(dev(C1), dev(C2 - 1.0), dev(T))
    for loss in (None, 2):
        with pytest.raises(TypeError) as host_err:
            gw_api.tensor_product(C1, C2, T, loss_fun=loss)
        with pytest.raises(TypeError) as device_err:
            gw_api.tensor_product(dev(C1), dev(C2), dev(T), loss_fun=loss)
        assert str(device_err.value) == str(host_err.value)
    with pytest.raises(ValueError, match="T on the GPU but C1, C2 on the host"):
        gw_api.tensor_product(C1, C2, dev(T))


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


def test_solve_gromov_mixed_placement_names_its_arguments(small_blocks):
    """solve_gromov's placement error names its own arguments (Ca, Cb, a, b), not the GW verbs'."""
    import numbaot

    C1, C2, _ = _spaces()
    with pytest.raises(ValueError, match="Cb on the GPU but Ca on the host"):
        numbaot.solve_gromov(C1, dev(C2))
    with pytest.raises(ValueError, match="Ca, Cb on the GPU but b on the host"):
        numbaot.solve_gromov(dev(C1), dev(C2), b=np.full(4, 0.25))
