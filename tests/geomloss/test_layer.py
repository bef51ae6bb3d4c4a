"""numbaot.geomloss: SamplesLoss and geomloss.ot's solvers over numbaot, against GeomLoss's published formulas."""
import numpy as np
import pytest

import numbaot
from numbaot.geomloss import SamplesLoss, ot


def _clouds(n=5, m=6, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.random((m, d))


def test_energy_distance_is_geomlosss_formula():
    """GeomLoss's energy distance: 0.5 <a - b, k * (a - b)> with k(x, y) = -|x - y|."""
    x, y = _clouds()
    a, b = np.full(5, 1 / 5), np.full(6, 1 / 6)
    K = lambda u, v: -np.linalg.norm(u[:, None] - v[None], axis=-1)  # noqa: E731
    expected = 0.5 * (a @ K(x, x) @ a + b @ K(y, y) @ b) - a @ K(x, y) @ b
    assert np.isclose(SamplesLoss("energy")(x, y), expected)
    assert np.isclose(SamplesLoss("energy")(a, x, b, y), expected)


def test_gaussian_kernel_and_potentials():
    x, y = _clouds()
    blur = 0.3
    a, b = np.full(5, 1 / 5), np.full(6, 1 / 6)
    K = lambda u, v: np.exp(-np.sum((u[:, None] - v[None]) ** 2, -1) / (2 * blur ** 2))  # noqa: E731
    F, G = SamplesLoss("gaussian", blur=blur, potentials=True)(x, y)
    assert np.allclose(F, K(x, x) @ a - K(x, y) @ b)
    assert np.allclose(G, K(y, y) @ b - K(y, x) @ a)


def test_sinkhorn_conventions_cost_over_p_and_translation():
    """Cost |x - y|^2 / 2 with eps = blur^2: a translation by t costs |t|^2 / 2 at small blur; the values equal
    numbaot.samples_loss with the same arguments (p = 1 and the online backend are numbaot.losses' tests)."""
    x, _ = _clouds(4)
    t = np.array([0.3, -0.4])
    assert np.isclose(SamplesLoss("sinkhorn", p=2, blur=0.01)(x, x + t), 0.125, atol=2e-3)
    y = x[::-1] + 0.1
    assert SamplesLoss(blur=0.1, scaling=0.7)(x, y) == numbaot.samples_loss(x, y, blur=0.1, scaling=0.7)


def test_unbalanced_reach_and_potentials():
    x, y = _clouds()
    value = SamplesLoss(blur=0.1, reach=0.5)(x, y)
    assert value == numbaot.samples_loss(x, y, blur=0.1, reach=0.5)
    F, G = SamplesLoss(blur=0.1, potentials=True)(x, y)
    assert F.shape == (5,) and G.shape == (6,)


@pytest.mark.parametrize("loss", ["sinkhorn", "energy", "hausdorff"])
def test_batched_equals_a_loop(loss):
    rng = np.random.default_rng(1)
    x, y = rng.random((3, 5, 2)), rng.random((3, 4, 2))
    a = rng.random((3, 5)) + 0.1
    a /= a.sum(axis=1, keepdims=True)
    b = np.full((3, 4), 0.25)
    L = SamplesLoss(loss, blur=0.2, diameter=2.0)
    batched = L(a, x, b, y)
    assert batched.shape == (3,)
    assert np.allclose(batched, [L(a[k], x[k], b[k], y[k]) for k in range(3)])
    F, G = SamplesLoss(loss, blur=0.2, diameter=2.0, potentials=True)(a, x, b, y)
    assert F.shape == (3, 5) and G.shape == (3, 4)


def test_bad_arguments():
    with pytest.raises(NotImplementedError, match="online"):
        SamplesLoss(backend="multiscale")
    with pytest.raises(NotImplementedError):
        SamplesLoss(cost=lambda x, y: x)
    with pytest.raises(ValueError, match="multiscale"):  # numbaot's type for a bad option, beside GeomLoss's
        SamplesLoss(backend="multiscale")
    with pytest.raises(ValueError, match="loss"):
        SamplesLoss("wasserstein")
    with pytest.raises(TypeError, match="L\\(x, y\\)"):
        SamplesLoss()(np.zeros((2, 2)))


def test_solve_api_page_example_and_certificates():
    C = np.array([[0.0, 1.0, 4.0], [2.0, 1.0, 0.0]])
    a, b = np.array([2.0, 2.0]), np.array([1.0, 1.0, 2.0])
    res = ot.solve(C=C, a=a, b=b, reg=0.001, max_iter=100)
    assert np.allclose(res.plan, [[1, 1, 0], [0, 0, 2]], atol=1e-6)
    assert np.allclose(res.marginal_a, a, atol=1e-6) and np.allclose(res.marginal_b, b, atol=1e-6)
    P = res.plan
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = np.nansum(np.where(P > 0, P * np.log(P / np.outer(a, b)), 0.0))
    assert np.isclose(res.value, np.sum(P * C) + 0.001 * entropy, atol=1e-6)  # the dual value, GeomLoss's
    assert res.density.shape == (2, 3) and res.citation


def test_solve_with_tol_converges_and_matches_sinkhorn():
    rng = np.random.default_rng(2)
    C = rng.random((4, 5))
    res = ot.solve(C, reg=0.05, tol=1e-10)
    assert res.converged
    assert np.allclose(res.plan, numbaot.sinkhorn(None, None, C, 0.05, tol=1e-12, max_iter=10000), atol=1e-8)
    exact = ot.solve(C, reg=0)
    assert np.isclose(exact.value, numbaot.emd2(None, None, C))
    unb = ot.solve(C, reg=0.05, unbalanced=1.0, max_iter=200)
    assert unb.plan.shape == (4, 5)
    with pytest.raises(NotImplementedError):
        ot.solve(C, reg=0.1, method="symmetric")
    with pytest.raises(ValueError, match="method"):
        ot.solve(C, reg=0.1, method="symmetric")
    with pytest.raises(ValueError, match="reg_type"):
        ot.solve(C, reg=0.1, reg_type="L2")


def test_solve_batch_equals_a_loop_of_solve():
    rng = np.random.default_rng(3)
    C = rng.random((3, 4, 4))
    C[:, 0, 0], C[:, 0, 1] = 0.0, 1.0  # one spread for all: the batch's schedule is each problem's
    res = ot.solve_batch(C, reg=0.05, max_iter=40)
    for k in range(3):
        one = ot.solve(C[k], reg=0.05, max_iter=40)
        assert np.allclose(res.plan[k], one.plan, atol=1e-10)
        assert np.isclose(res.value[k], one.value)


def test_solve_sample_debiased_and_maps():
    x, y = _clouds(4, 4)
    res = ot.solve_sample(x, y, blur=0.2, debias=True, tol=1e-6)
    assert res.potential_aa is not None and res.potential_bb is not None
    assert res.a_to_b.shape == (4, 2)
    with pytest.raises(ValueError, match="reg"):
        ot.solve_sample(x, y)
