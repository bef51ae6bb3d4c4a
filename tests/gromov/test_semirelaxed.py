"""Semi-relaxed GW: POT as an oracle from the same start, brute-force values, row marginals, planted sub-spaces."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot import Status
from numbaot.gromov import _semirelaxed
from tests.naive import gw_objective_naive

ot = pytest.importorskip("ot")


def _space(rng, n, d=2):
    x = rng.random((n, d))
    return numbaot.dist(x, x, metric="euclidean")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agrees_with_pot_from_the_same_start(seed):
    rng = np.random.default_rng(seed)
    n, m = 8 + seed, 12 - seed
    C1, C2 = _space(rng, n), _space(rng, m, 3)
    p = rng.random(n) + 0.1
    p /= p.sum()
    G0 = np.outer(p, rng.dirichlet(np.ones(m)))
    plan, log = numbaot.semirelaxed_gromov_wasserstein(C1, C2, p, log=True, G0=G0)
    plan_pot, log_pot = ot.gromov.semirelaxed_gromov_wasserstein(C1, C2, p, log=True, G0=G0)
    assert np.isclose(log["srgw_dist"], log_pot["srgw_dist"], rtol=1e-8)
    assert np.allclose(plan, plan_pot, atol=1e-8)
    assert np.allclose(plan.sum(axis=1), p, rtol=1e-12) and plan.min() >= 0
    assert np.isclose(log["srgw_dist"], gw_objective_naive(C1, C2, plan), rtol=1e-10)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), m=st.integers(1, 7), symmetric=st.booleans(),
       fused=st.booleans())
def test_descent_and_values(seed, n, m, symmetric, fused):
    """Each step lowers the objective (exact line search, asymmetric and fused included); values match brute force."""
    rng = np.random.default_rng(seed)
    C1, C2 = rng.random((n, n)), rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    p = rng.dirichlet(np.ones(n))
    M = rng.random((n, m)) if fused else None
    alpha = 0.6 if fused else 1.0
    w_lin, w_quad = (1 - alpha, alpha) if fused else (0.0, 1.0)
    G0 = np.outer(p, rng.dirichlet(np.ones(m)))
    out = _semirelaxed.semirelaxed_conditional_gradient(C1, C2, p, "square_loss", symmetric, M, w_lin, w_quad, G0,
                                                        200, 1e-9, 1e-12, 1)
    assert out.status in (Status.OPTIMAL, Status.MAX_ITER_REACHED)
    assert np.all(np.diff(out.history) <= 1e-12 * (1 + abs(out.history[0])))
    assert np.allclose(out.plan.sum(axis=1), p, rtol=1e-12) and out.plan.min() >= 0
    expected = gw_objective_naive(C1, C2, out.plan, M=M, alpha=alpha)
    assert np.isclose(out.value, expected, rtol=1e-10, atol=1e-13)
    assert np.isclose(out.history[-1], expected, rtol=1e-9, atol=1e-12)


def test_planted_subspace_gets_the_mass():
    """C1 embedded in a larger C2 (plus far points): the plan finds the copy, GW = 0, far points get no mass."""
    rng = np.random.default_rng(11)
    y = rng.random((9, 2))
    y[6:] += 20.0  # three far points
    C2 = numbaot.dist(y, y, metric="euclidean")
    idx = np.array([4, 0, 5, 2, 1, 3])
    C1 = C2[np.ix_(idx, idx)]
    value, log = numbaot.semirelaxed_gromov_wasserstein2(C1, C2, log=True, G0=_near(idx, 9))
    assert abs(value) < 1e-12
    assert np.allclose(log["T"].sum(axis=0)[6:], 0.0)


def _near(idx, m):
    """A start near the planted matching, 30% of the mass spread over the near points (the problem is not convex:
    the test is about the answer, not the search)."""
    n = len(idx)
    G = np.zeros((n, m))
    G[:, :n] = 0.3 / (n * n)
    G[np.arange(n), idx] += 0.7 / n
    return G
