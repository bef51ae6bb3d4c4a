"""Joint plan and map estimation (Perrot et al. 2016): POT's losses, ridge optimality of the map, planted maps."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot.da import MappingTransport, joint_OT_mapping_kernel, joint_OT_mapping_linear
from numbaot.da.mapping import gaussian_kernel
from tests.da.data import shifted_moons

ot = pytest.importorskip("ot")
Xs, ys, Xt, yt = shifted_moons(40, 50, seed=2)


@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
@pytest.mark.parametrize("bias", [False, True])
def test_matches_pot(kernel, bias):
    """The same losses as POT (ours never worse: exact line search where POT uses Armijo's)."""
    ours = MappingTransport(kernel=kernel, bias=bias, log=True).fit(Xs=Xs, Xt=Xt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot = ot.da.MappingTransport(kernel=kernel, bias=bias, log=True).fit(Xs=Xs, Xt=Xt)
    assert ours.log_["loss"][0] == pytest.approx(float(pot.log_["loss"][0]), rel=1e-10)
    assert ours.log_["loss"][-1] <= float(pot.log_["loss"][-1]) * (1 + 1e-7)
    assert np.allclose(ours.coupling_.sum(0), 1 / 50) and np.allclose(ours.coupling_.sum(1), 1 / 40)
    new = Xs[:6] + 0.1
    features = new if kernel == "linear" else gaussian_kernel(new, Xs, 1.0)
    if bias:
        features = np.c_[features, np.ones(6)]
    assert np.allclose(ours.transform(new), features @ ours.mapping_, atol=1e-12)
    assert np.allclose(ours.transform(Xs), ours.coupling_ @ Xt * 40, atol=1e-12)
    # on this data both descents reach the same plan (unique optimum of each block), hence the same map
    assert np.allclose(ours.coupling_, pot.coupling_, atol=1e-9)
    assert np.allclose(ours.transform(new), pot.transform(new), atol=1e-6)
    assert np.allclose(ours.transform(new, batch_size=4), ours.transform(new), atol=1e-12)


def test_map_is_the_ridge_solution_for_its_plan():
    """At the end of a block step the map minimises the loss for the plan: its gradient vanishes."""
    eta = 0.01
    G, L = joint_OT_mapping_linear(Xs, Xt, eta=eta, bias=True)
    X1 = np.c_[Xs, np.ones(40)]
    I0 = np.eye(3, 2)
    residual = X1 @ L - 40 * G @ Xt
    grad = 2 * X1.T @ residual + 2 * eta * np.r_[(L - I0)[:2], np.zeros((1, 2))]
    assert np.allclose(grad, 0, atol=1e-9)
    G, L = joint_OT_mapping_kernel(Xs, Xt, eta=eta, sigma=0.7)
    K = gaussian_kernel(Xs, Xs, 0.7)
    assert np.allclose(K @ (K @ L - 40 * G @ Xt) + eta * K @ L, 0, atol=1e-8)


def test_planted_affine_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    A = np.array([[1.5, 0.3], [-0.2, 0.8]])
    G, L, log = joint_OT_mapping_linear(x, x @ A + [2.0, -1.0], eta=1e-8, bias=True, log=True)
    assert np.allclose(L[:2], A, atol=1e-5) and np.allclose(L[2], [2.0, -1.0], atol=1e-5)
    assert np.allclose(G * 50, np.eye(50))  # the identity pairing is optimal: a monotone map
    M = 50 * ((x[:, None] - (x @ A + [2.0, -1.0])[None]) ** 2).sum(-1)
    assert log["loss"][-1] == pytest.approx(np.sum(G * M), rel=1e-6)  # the fit term vanishes


def test_bad_input():
    with pytest.raises(ValueError, match="kernel must be 'linear' or 'gaussian'"):
        MappingTransport(kernel="poly").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="eta must be a positive finite number"):
        joint_OT_mapping_linear(Xs, Xt, eta=-1.0)
    with pytest.raises(ValueError, match="xs has points of dimension 2 but xt of dimension 3"):
        joint_OT_mapping_kernel(Xs, np.ones((5, 3)))
    with pytest.warns(Warning, match="joint_OT_mapping_linear: the loss still changed") as record:
        joint_OT_mapping_linear(Xs, Xt, max_iter=1, tol=0.0)
    assert record[0].filename == __file__
