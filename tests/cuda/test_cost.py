"""``dist`` and ``unif`` on CUDA arrays against the CPU path (simulator or GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot import utils
from tests.conftest import TOL
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda

METRICS = ("sqeuclidean", "euclidean", "cityblock", "minkowski", "cosine")


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", METRICS)
def test_dist_matches_cpu(small_blocks, metric, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3)).astype(dtype)
    Y = rng.normal(size=(5, 3)).astype(dtype)
    ref = utils.dist(X, Y, metric=metric, p=3.0)
    got = utils.dist(dev(X), dev(Y), metric=metric, p=3.0)
    assert got.dtype == np.dtype(dtype) and tuple(got.shape) == (9, 5)
    np.testing.assert_allclose(got.copy_to_host(), ref, **TOL[np.dtype(dtype)])


def test_dist_shapes_and_mixed_dtypes(small_blocks):
    rng = np.random.default_rng(1)
    x = rng.normal(size=10)
    y = rng.normal(size=(3, 1)).astype(np.float32)
    got = utils.dist(dev(x), dev(y))  # (n,) is n points in one dimension; float64 wins
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.copy_to_host(), utils.dist(x, y), rtol=1e-12)
    same = utils.dist(dev(y), metric="cityblock")  # x2 defaults to x1
    assert same.dtype == np.float32
    np.testing.assert_allclose(same.copy_to_host(), utils.dist(y, metric="cityblock"), rtol=1e-6)
    strided = dev(rng.normal(size=(12, 4)))[::3, 1:3]  # a non-contiguous device view
    np.testing.assert_allclose(utils.dist(strided, metric="euclidean").copy_to_host(),
                               utils.dist(strided.copy_to_host(), metric="euclidean"), rtol=1e-12, atol=1e-14)


def test_dist_bad_inputs(small_blocks):
    X = np.arange(12.0).reshape(6, 2)
    Y = np.ones((3, 3))
    same_error(lambda: utils.dist(X, Y), lambda: utils.dist(dev(X), dev(Y)))
    bad = X.copy()
    bad[4, 1] = np.nan
    same_error(lambda: utils.dist(X, bad), lambda: utils.dist(dev(X), dev(bad)))
    flat = np.array([0.0, 1.0, -np.inf])
    same_error(lambda: utils.dist(flat), lambda: utils.dist(dev(flat)))
    zero = X.copy()
    zero[5] = 0.0
    same_error(lambda: utils.dist(X, zero, metric="cosine"), lambda: utils.dist(dev(X), dev(zero), metric="cosine"))
    with pytest.raises(ValueError, match="different devices"):
        utils.dist(dev(X), X)


@pytest.mark.parametrize("dtype,expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)])
def test_unif_on_device(dtype, expected):
    like = dev(np.zeros(3, dtype=dtype))
    w = numbaot.unif(7, type_as=like)
    assert w.dtype == expected and tuple(w.shape) == (7,)
    np.testing.assert_array_equal(w.copy_to_host(), numbaot.unif(7, type_as=np.zeros(3, dtype=dtype)))


def test_dist_device_input_is_judged_before_the_driver(monkeypatch):
    """Issue 12's rule for ``dist``: the device clouds are checked by the front-end's dispatch steps
    (``cuda._checks``: ``dist.points``, ``dist.norms``), before the driver, with the host's messages and in the
    host's order: a NaN in x1 before x2's dimension, a zero row under 'cosine', a cost matrix over the size bound.
    The drivers are replaced by ones that fail if reached."""
    from numbaot import _config
    from numbaot.cuda import cost

    def unreachable(*args, **kwargs):
        raise AssertionError("a driver ran on unchecked input")

    monkeypatch.setattr(cost, "dist_cuda", unreachable)
    X = np.arange(12.0).reshape(6, 2) + 1.0
    nan = X.copy()
    nan[2, 1] = np.nan
    same_error(lambda: utils.dist(nan, np.ones((3, 3))), lambda: utils.dist(dev(nan), dev(np.ones((3, 3)))))
    same_error(lambda: utils.dist(X, nan), lambda: utils.dist(dev(X), dev(nan)))
    zero = X.copy()
    zero[3] = 0.0
    for args in ((zero,), (X, zero), (zero, zero[::-1])):
        same_error(lambda: utils.dist(*args, metric="cosine"),
                   lambda: utils.dist(*(dev(a) for a in args), metric="cosine"))
    monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 6 * 5 * 8 - 1)
    same_error(lambda: utils.dist(X, X[:5]), lambda: utils.dist(dev(X), dev(X[:5])))
    monkeypatch.setattr(_config, "MAX_DENSE_BYTES", 6 * 5 * 4)  # float32 fits, float64 not
    same_error(lambda: utils.dist(X, X[:5]), lambda: utils.dist(dev(X), dev(X[:5].astype(np.float32))))
    utils.dist(X.astype(np.float32), X[:5].astype(np.float32))
    with pytest.raises(AssertionError, match="unchecked"):  # the replacement is reached on good input
        utils.dist(dev(X.astype(np.float32)), dev(X[:5].astype(np.float32)))
