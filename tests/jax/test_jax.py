"""numbaot.jax: gradients against finite differences (check_grads, float64) under jit, the closed forms, vmap,
bad input."""
from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import numbaot  # noqa: E402
import numbaot.jax as nj  # noqa: E402

TIGHT = dict(tol=1e-13, max_iter=100000)


@pytest.fixture(autouse=True)
def x64():
    previous = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def clouds():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(5, 2)), rng.normal(size=(4, 2)) + 0.5, rng.random(5) + 0.5, rng.random(4) + 0.5)


def _simplex(w):
    return w / w.sum()


def _check(fn, *args):
    check_grads(jax.jit(fn), tuple(jnp.asarray(a) for a in args), order=1, modes=["rev"], eps=1e-6, atol=1e-6,
                rtol=1e-4)


def test_cost_matrix_values_check_grads(clouds):
    X, Y, wa, wb = clouds
    M = numbaot.dist(X, Y)
    _check(lambda M, wa, wb: nj.emd2(_simplex(wa), _simplex(wb), M), M, wa, wb)
    _check(lambda M, wa, wb: nj.sinkhorn2(_simplex(wa), _simplex(wb), M, 0.5, **TIGHT), M, wa, wb)
    _check(lambda M, wa, wb: nj.solve(M, _simplex(wa), _simplex(wb), 0.5, **TIGHT), M, wa, wb)
    _check(lambda M, a, b: nj.solve(M, a, b, 0.5, unbalanced=1.0, **TIGHT), M, wa, wb)
    _check(lambda M: nj.solve_batch(M, 0.5, **TIGHT).sum(), np.random.default_rng(1).random((2, 3, 4)))


@pytest.mark.parametrize("kw", [dict(), pytest.param(dict(reg=0.5, lazy=True, **TIGHT), marks=pytest.mark.slow),
                                dict(reg=0.5, debias=True, **TIGHT)],
                         ids=["exact", "lazy", "divergence"])
def test_solve_sample_check_grads(clouds, kw):
    X, Y, wa, wb = clouds
    _check(lambda X, Y, wa, wb: nj.solve_sample(X, Y, _simplex(wa), _simplex(wb), **kw), X, Y, wa, wb)


def test_structured_values_check_grads(clouds):
    X, Y, wa, wb = clouds
    _check(lambda u, v: nj.wasserstein_1d(u, v, p=2), X[:, 0], Y[:, 0])
    _check(lambda X, Y: nj.sliced_wasserstein_distance(X, Y, n_projections=4, seed=0), X, Y)
    _check(lambda C1, C2: nj.gromov_wasserstein2(C1, C2, _simplex(wa), _simplex(wb)), numbaot.dist(X, X),
           numbaot.dist(Y, Y))
    _check(lambda X, Y: nj.soft_dtw(X, Y, 0.5), X, Y)


def test_closed_forms_and_same_values_as_numbaot(clouds):
    X, Y, wa, wb = clouds
    x, y = jnp.array([[0.5, -1.0]]), jnp.array([[1.5, 1.0]])
    assert np.allclose(jax.grad(lambda x: nj.solve_sample(x, y))(x), 2 * (x - y))
    assert np.isclose(float(nj.samples_loss(X, Y, blur=0.1)), float(numbaot.samples_loss(X, Y, blur=0.1)))
    g = jax.grad(lambda X: nj.samples_loss(X, Y, blur=0.1))(jnp.asarray(X))
    assert g.shape == X.shape and g.dtype == jnp.float64


def test_vmap_and_float32(clouds):
    X, Y, _, _ = clouds
    batch = jnp.stack([jnp.asarray(X), jnp.asarray(X) + 1.0])
    values = jax.vmap(lambda X: nj.solve_sample(X, Y))(batch)
    assert np.allclose(values, [float(numbaot.solve_sample(X, Y).value), float(numbaot.solve_sample(X + 1, Y).value)])
    X32 = jnp.asarray(X, jnp.float32)
    value, grad = jax.value_and_grad(lambda X: nj.solve_sample(X, jnp.asarray(Y, jnp.float32), reg=0.5, tol=1e-5))(X32)
    assert value.dtype == jnp.float32 and grad.dtype == jnp.float32


def test_bad_input(clouds):
    X, Y, _, _ = clouds
    with pytest.raises(TypeError, match=r"X_b has dtype int.*float"):
        nj.solve_sample(X, jnp.ones((3, 2), jnp.int32))
    with pytest.raises(TypeError, match="reg must be a concrete number"):
        jax.grad(lambda r: nj.solve_sample(X, Y, reg=r))(0.5)


def test_kernel_losses_check_grads_and_batches(clouds):
    X, Y, wa, wb = clouds
    for loss in ("energy", "gaussian", "laplacian"):
        _check(lambda X, Y, a, b: nj.samples_loss(X, Y, a, b, loss=loss, blur=0.8), X, Y, wa, wb)
    batch = jnp.stack([jnp.asarray(X), jnp.asarray(X) + 1.0])
    values = nj.samples_loss(batch, jnp.stack([jnp.asarray(Y)] * 2), loss="energy")
    assert values.shape == (2,)
    assert np.allclose(values, [float(numbaot.samples_loss(X + s, Y, loss="energy")) for s in (0.0, 1.0)])


def test_hausdorff_gradients_are_the_autodiff_pullback(clouds):
    from numbaot import autodiff

    X, Y, wa, wb = clouds
    a, b = _simplex(wa), _simplex(wb)
    g = jax.grad(lambda X: nj.samples_loss(X, Y, a, b, loss="hausdorff", blur=0.7))(jnp.asarray(X))
    _, pullback = autodiff.hausdorff_loss(X, Y, a, b, blur=0.7)
    assert np.allclose(g, pullback(["X_a"])["X_a"], atol=1e-14)
    # unbalanced (reach): the weights' gradients too, unequal masses
    g = jax.grad(lambda X, a: nj.samples_loss(X, Y, a, wb, loss="hausdorff", blur=0.7, reach=1.0),
                 argnums=(0, 1))(jnp.asarray(X), jnp.asarray(wa))
    pulled = autodiff.hausdorff_loss(X, Y, wa, wb, blur=0.7, reach=1.0)[1](["X_a", "a"])
    assert np.allclose(g[0], pulled["X_a"], atol=1e-14) and np.allclose(g[1], pulled["a"], atol=1e-14)


def test_barycenter_check_grads():
    rng = np.random.default_rng(2)
    s = np.linspace(0.0, 1.0, 4)
    M = (s[:, None] - s[None, :]) ** 2
    x_bar = jnp.asarray(rng.normal(size=4))
    _check(lambda theta, M: nj.barycenter(theta / theta.sum(axis=0), M, 0.1, tol=1e-13, max_iter=100000) @ x_bar,
           rng.random((4, 2)) + 0.2, M)


def test_barycenter_check_grads_in_the_weights():
    rng = np.random.default_rng(6)
    s = np.linspace(0.0, 1.0, 4)
    M = jnp.asarray((s[:, None] - s[None, :]) ** 2)
    A = rng.random((4, 3)) + 0.2
    A = jnp.asarray(A / A.sum(axis=0))
    x_bar = jnp.asarray(rng.normal(size=4))
    _check(lambda phi: nj.barycenter(A, M, 0.1, weights=jax.nn.softmax(phi), tol=1e-13, max_iter=100000) @ x_bar,
           np.array([0.2, -0.1, 0.4]))
    # the same gradient as numbaot.torch's (autodiff's vjp), orthogonal to the weights
    w = jnp.asarray([0.2, 0.5, 0.3])
    g = jax.grad(lambda w: nj.barycenter(A, M, 0.1, weights=w, tol=1e-13, max_iter=100000) @ x_bar)(w)
    assert abs(float(g @ w)) < 1e-12


def test_barycenter_1d_check_grads_under_jit():
    rng = np.random.default_rng(4)
    u, v = rng.normal(size=4), rng.normal(size=6) + 2.0
    w = [0.3, 0.7]
    L = nj.barycenter_1d([u, v], weights=w)[0].shape[0]
    _check(lambda u, v: nj.barycenter_1d([u, v], weights=w)[0] @ jnp.arange(1.0, L + 1.0), u, v)
    support, masses = jax.jit(lambda u, v: nj.barycenter_1d([u, v], weights=w))(u, v)
    ref = numbaot.barycenter_1d([u, v], weights=w)
    assert np.allclose(support, ref.support.ravel()) and np.allclose(masses, ref.barycenter)


def test_non_convergence_warns_through_jax_under_jit():
    """A solve stopped by max_iter emits numbaot's ConvergenceWarning from the host callback (as numbaot.torch
    does), eagerly, under jit and under grad; warn=False silences it."""
    import warnings

    rng = np.random.default_rng(4)
    M, a, b = jnp.asarray(rng.random((4, 5))), jnp.full(4, 0.25), jnp.full(5, 0.2)
    with pytest.warns(numbaot.ConvergenceWarning):
        nj.sinkhorn2(a, b, M, 0.01, max_iter=3).block_until_ready()
    with pytest.warns(numbaot.ConvergenceWarning):
        jax.jit(jax.grad(lambda M: nj.sinkhorn2(a, b, M, 0.01, max_iter=3)))(M).block_until_ready()
    with pytest.warns(numbaot.ConvergenceWarning):
        jax.jit(lambda M: nj.solve(M, a, b, reg=0.01, max_iter=3))(M).block_until_ready()
    A = jnp.asarray(rng.random((4, 2)))
    with pytest.warns(numbaot.ConvergenceWarning):
        jax.jit(lambda A: nj.barycenter(A / A.sum(0), M[:, :4], 0.01, max_iter=3))(A).block_until_ready()
    with warnings.catch_warnings():
        warnings.simplefilter("error", numbaot.ConvergenceWarning)
        jax.jit(lambda M: nj.sinkhorn2(a, b, M, 0.01, max_iter=3, warn=False))(M).block_until_ready()


@pytest.mark.parametrize("opts", [dict(debias=True), dict(reg_m=0.5)], ids=["debiased", "unbalanced"])
def test_debiased_and_unbalanced_barycenter_check_grads(opts):
    """check_grads under jit in the histograms, the cost and the weights (through a softmax), float64; the same
    vector-Jacobian product as numbaot.autodiff's."""
    from numbaot import autodiff

    rng = np.random.default_rng(8)
    s = np.linspace(0.0, 1.0, 4)
    M = (s[:, None] - s[None, :]) ** 2
    x_bar = jnp.asarray(rng.normal(size=4))
    balanced = "debias" in opts

    def fn(theta, M, phi):
        A = theta / theta.sum(axis=0) if balanced else theta
        return nj.barycenter(A, M, 0.1, weights=jax.nn.softmax(phi), **opts, **TIGHT) @ x_bar

    theta = rng.random((4, 2)) + 0.2
    _check(fn, theta, M, np.array([0.3, -0.2]))
    A = theta / theta.sum(axis=0) if balanced else theta
    g = jax.grad(lambda A: nj.barycenter_debiased(A, M, 0.1, **TIGHT) @ x_bar if balanced else
                 nj.barycenter_unbalanced(A, M, 0.1, 0.5, **TIGHT) @ x_bar)(jnp.asarray(A))
    _, vjp = autodiff.barycenter(A, M, 0.1, **opts, **TIGHT)
    assert np.allclose(g, vjp(["A"], np.asarray(x_bar))["A"], rtol=1e-10, atol=1e-13)


def test_arrays_on_an_accelerator_are_refused():
    """No GPU here: an object that reports a GPU placement, as a jax array on a GPU does, is refused before any
    copy, with UnsupportedOption (a ValueError naming it, also a NotImplementedError)."""
    from types import SimpleNamespace

    from numbaot._validation import UnsupportedOption

    class OnGpu:
        shape, dtype = (4, 2), np.float64

        def devices(self):
            return [SimpleNamespace(platform="gpu")]

    s = jnp.linspace(0.0, 1.0, 4)
    M = (s[:, None] - s[None, :]) ** 2
    with pytest.raises(UnsupportedOption, match=r"A is a jax array on gpu.*jax\.device_put\(A, jax\.devices\('cpu'\)"):
        nj.barycenter(OnGpu(), M, 0.1)
    with pytest.raises(UnsupportedOption, match="M is a jax array on gpu") as err:
        nj.emd2(None, None, OnGpu())
    assert isinstance(err.value, ValueError) and isinstance(err.value, NotImplementedError)
    assert nj.emd2(None, None, jnp.ones((2, 2))) == 1.0  # CPU arrays pass
