"""Partial OT: exact (network simplex on the extended problem) and entropic (log-domain projections).

Oracles: scipy's HiGHS on the partial LP, LP certificates (the duals of the partial problem), the balanced answer
at full mass, POT's plans and values, and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

import numbaot
from numbaot.partial.api import solve_entropic_partial, solve_partial, solve_partial_lagrange


def problem(n=12, m=9, seed=0, scale_b=1.3):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 0.5
    M = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    a = rng.uniform(0.1, 1.0, n)
    b = rng.uniform(0.1, 1.0, m)
    return M, a / a.sum(), b / (b.sum() * scale_b)


def highs_partial(M, a, b, mass, lagrange=None):
    """The partial LP (or its Lagrangian form with price ``lagrange``) by HiGHS: the optimal value."""
    n, m = M.shape
    A_ub = np.vstack([np.kron(np.eye(n), np.ones(m)), np.kron(np.ones(n), np.eye(m))])
    b_ub = np.concatenate([a, b])
    if lagrange is None:
        res = linprog(M.ravel(), A_ub=A_ub, b_ub=b_ub, A_eq=np.ones((1, n * m)), b_eq=[mass], method="highs")
    else:
        res = linprog((M - lagrange).ravel(), A_ub=A_ub, b_ub=b_ub, method="highs")
    assert res.status == 0
    return res.fun


def check_partial_certificate(res, M, a, b, mass, atol=1e-10):
    """Primal feasibility and the dual certificate of the partial LP."""
    P = res.plan
    assert P.min() >= 0
    assert np.isclose(P.sum(), mass, rtol=1e-12, atol=1e-14)
    assert np.all(P.sum(axis=1) <= a + 1e-13) and np.all(P.sum(axis=0) <= b + 1e-13)
    f, g = res.potential_a, res.potential_b
    assert f.max() <= 0 and g.max() <= 0
    rows, cols, _ = res.plan_coo
    lam = float(np.mean(M[rows, cols] - f[rows] - g[cols]))
    assert np.all(M - f[:, None] - g[None, :] - lam >= -atol)  # dual feasible
    dual = a @ f + b @ g + mass * lam
    assert np.isclose(dual, res.value, rtol=1e-9, atol=atol)  # no duality gap


@pytest.mark.parametrize("mass", [0.05, 0.3, 0.6])
def test_exact_matches_highs_and_certificate(mass):
    M, a, b = problem()
    res = solve_partial(M, a, b, mass)
    assert res.status.name == "OPTIMAL"
    assert np.isclose(res.value, highs_partial(M, a, b, mass), rtol=1e-9, atol=1e-12)
    check_partial_certificate(res, M, a, b, mass)
    assert np.isclose(numbaot.partial_wasserstein2(a, b, M, mass), res.value)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 2**31), frac=st.floats(0.05, 1.0),
       k=st.integers(1, 3))
def test_exact_random_against_highs(n, m, seed, frac, k):
    rng = np.random.default_rng(seed)
    M = rng.integers(-3, 6, size=(n, m)).astype(float)  # ties and negative costs included
    a = rng.integers(0, 4, size=n).astype(float)
    b = rng.integers(0, 4, size=m).astype(float)
    a[0] += 1
    b[-1] += 1
    mass = frac * min(a.sum(), b.sum())
    res = solve_partial(M, a, b, mass, nb_dummies=k)
    assert np.isclose(res.value, highs_partial(M, a, b, mass), rtol=1e-9, atol=1e-9)
    check_partial_certificate(res, M, a, b, mass, atol=1e-9)


def test_full_mass_is_balanced_ot():
    M, a, _ = problem(n=10, m=10)
    _, b, _ = problem(n=10, m=10, seed=1)
    assert np.isclose(a.sum(), b.sum())
    value = numbaot.partial_wasserstein2(a, b, M)  # m = None: everything
    assert np.isclose(value, numbaot.emd2(a, b, M), rtol=1e-12)
    assert np.isclose(numbaot.partial_wasserstein2(a, b, M, m=1.0), value)


def test_against_pot():
    ot = pytest.importorskip("ot")
    M, a, b = problem(n=20, m=15, seed=3)
    for mass in (0.2, 0.5):
        ours = numbaot.partial_wasserstein(a, b, M, mass)
        theirs = ot.partial.partial_wasserstein(a, b, M, m=mass)
        assert np.isclose((ours * M).sum(), (theirs * M).sum(), rtol=1e-10)
        assert np.allclose(ours, theirs, atol=1e-7)  # unique optimum on random costs
    ours = numbaot.partial_wasserstein_lagrange(a, b, M, reg_m=1.5)
    theirs = ot.partial.partial_wasserstein_lagrange(a, b, M, reg_m=1.5)
    assert np.allclose(ours, theirs, atol=1e-7)


def test_pot_doc_examples():
    a, b, M = [0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]]
    # a tie: [[0.1, 0], [0, 0.1]] (POT's plan) and [[0, 0.1], [0.1, 0]] both cost 0.3
    P = numbaot.partial_wasserstein(a, b, M)
    assert np.isclose((P * np.array(M)).sum(), 0.3) and np.isclose(P.sum(), 0.2)
    P = numbaot.partial_wasserstein_lagrange(a, b, M)
    assert np.isclose((P * np.array(M)).sum(), 0.3) and np.isclose(P.sum(), 0.2)
    assert np.isclose(numbaot.partial_wasserstein2(a, b, M), 0.3)


@pytest.mark.parametrize("price", [0.5, 1.0, 2.5])
def test_lagrange_matches_highs(price):
    M, a, b = problem(seed=4)
    res = solve_partial_lagrange(M, a, b, price)
    P = res.plan
    assert np.isclose((P * (M - price)).sum(), highs_partial(M, a, b, None, lagrange=price), rtol=1e-9, atol=1e-12)
    assert np.all(P.sum(axis=1) <= a + 1e-13) and np.all(P.sum(axis=0) <= b + 1e-13)
    f, g = res.potential_a, res.potential_b
    assert f.max() <= 0 and g.max() <= 0
    assert np.all(M - price - f[:, None] - g[None, :] >= -1e-10)
    assert np.isclose(a @ f + b @ g, (P * (M - price)).sum(), rtol=1e-9, atol=1e-12)


def test_forbidden_arcs_and_zero_weights():
    M, a, b = problem(n=6, m=5, seed=5)
    M[0, :] = np.inf  # row 0 cannot move: fine for partial OT
    a[3] = 0.0
    res = solve_partial(M, a, b, 0.2)
    assert res.plan[0].sum() == 0 and res.plan[3].sum() == 0
    Mf = np.where(np.isinf(M), 1e6, M)
    assert np.isclose(res.value, highs_partial(Mf, a, b, 0.2), rtol=1e-9)


def test_float32_and_lists():
    M, a, b = problem(n=5, m=4)
    p32 = numbaot.partial_wasserstein(a.astype(np.float32), b.astype(np.float32), M.astype(np.float32), 0.3)
    assert p32.dtype == np.float32
    p = numbaot.partial_wasserstein(a.tolist(), b.tolist(), M.tolist(), 0.3)
    assert np.allclose(p, p32, atol=1e-6)
    sparse = numbaot.partial_wasserstein(a, b, M, 0.3, dense=False)
    assert np.allclose(sparse.toarray(), p)


@pytest.mark.parametrize("m, match", [(0.0, "must be > 0"), (-1.0, "must be > 0"), (2.0, "exceeds min"),
                                      (float("nan"), "must be > 0")])
def test_bad_mass(m, match):
    M, a, b = problem(n=3, m=3)
    with pytest.raises(ValueError, match=match):
        numbaot.partial_wasserstein(a, b, M, m)
    with pytest.raises(ValueError, match=match):
        numbaot.entropic_partial_wasserstein(a, b, M, 0.1, m)


def test_bad_inputs():
    M, a, b = problem(n=3, m=3)
    with pytest.raises(TypeError, match="m \\(the mass"):
        numbaot.partial_wasserstein(a, b, M, "all")
    with pytest.raises(ValueError, match="nb_dummies"):
        numbaot.partial_wasserstein(a, b, M, 0.1, 0)
    with pytest.raises(ValueError, match="negative"):
        numbaot.partial_wasserstein(-a, b, M, 0.1)
    M2 = M.copy()
    M2[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        numbaot.partial_wasserstein(a, b, M2, 0.1)
    with pytest.raises(ValueError, match="reg"):
        numbaot.entropic_partial_wasserstein(a, b, M, -1.0)
    with pytest.raises(ValueError, match="method"):
        numbaot.entropic_partial_wasserstein(a, b, M, 0.1, method="greenkhorn")
    with pytest.raises(ValueError, match="reg_m must be finite"):
        numbaot.partial_wasserstein_lagrange(a, b, M, float("inf"))
    with pytest.raises(TypeError, match="positional"):
        numbaot.partial_wasserstein(a, b, M, 0.1, 1, False)  # POT's log


# ------------------------------------------------------------------------------------------------------- entropic
@pytest.mark.parametrize("method", ["sinkhorn", "sinkhorn_log"])
def test_entropic_against_pot_and_kkt(method):
    ot = pytest.importorskip("ot")
    M, a, b = problem(n=15, m=12, seed=6)
    reg, mass = 0.1, 0.4
    res = solve_entropic_partial(M, a, b, reg, mass, method, max_iter=5000, tol=1e-13)
    assert res.status.name == "OPTIMAL"
    theirs = ot.partial.entropic_partial_wasserstein(a, b, M, reg, mass, numItermax=5000)
    assert np.allclose(res.plan, theirs, atol=1e-8)
    P = res.plan
    # KKT: mass m, marginals <= a, b; P = exp((f + g - M) / reg) with f, g <= h and equality off the bound
    assert np.isclose(P.sum(), mass, rtol=1e-12)
    assert np.all(P.sum(axis=1) <= a * (1 + 1e-9)) and np.all(P.sum(axis=0) <= b * (1 + 1e-9))
    assert np.allclose(P, np.exp((res.potential_a[:, None] + res.potential_b[None, :] - M) / reg), rtol=1e-10)
    g = res.potential_b
    tight = g < g.max() - 1e-9  # columns whose potential is below the cap have a full marginal
    assert np.allclose(P.sum(axis=0)[tight], b[tight], rtol=1e-8)
    assert np.isclose(res.value_linear, (P * M).sum())


def test_entropic_small_reg_is_stable_and_tends_to_exact():
    M, a, b = problem(n=10, m=8, seed=7)
    exact = numbaot.partial_wasserstein2(a, b, M, 0.3)
    res = solve_entropic_partial(M, a, b, 1e-3, 0.3, max_iter=20000, tol=1e-9)  # 'auto' takes the log domain
    assert np.all(np.isfinite(res.plan)) and res.status.name == "OPTIMAL"
    with pytest.warns(numbaot.ConvergenceWarning, match="NUMERICAL_ERROR"):
        bad = solve_entropic_partial(M, a, b, 1e-3, 0.3, "sinkhorn", max_iter=200)  # the kernel underflows
    assert bad.status.name == "NUMERICAL_ERROR"
    assert abs(res.value_linear - exact) < 0.01 * exact + 1e-3


@pytest.mark.parametrize("method", ["sinkhorn", "sinkhorn_log"])
def test_entropic_max_iter_warns(method):
    M, a, b = problem(n=6, m=5)
    with pytest.warns(numbaot.ConvergenceWarning, match="entropic_partial_wasserstein"):
        res = solve_entropic_partial(M, a, b, 0.05, 0.3, method, max_iter=3, tol=0.0, check_every=1)
    assert res.status.name == "MAX_ITER_REACHED"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_entropic_partial(M, a, b, 0.01, 0.3, max_iter=3, warn=False)


def test_entropic_doc_example_and_zero_weights():
    P = numbaot.entropic_partial_wasserstein([0.1, 0.2], [0.1, 0.1], [[0.0, 1.0], [2.0, 3.0]], 1, 0.1)
    assert np.allclose(P, [[0.06, 0.02], [0.01, 0.0]], atol=5e-3)
    M, a, b = problem(n=5, m=4)
    a[2] = 0.0
    for method in ("sinkhorn", "sinkhorn_log"):
        P = numbaot.entropic_partial_wasserstein(a, b, M, 0.5, 0.2, method=method)
        assert np.all(P[2] == 0) and np.isclose(P.sum(), 0.2)


# ------------------------------------------------------------------------------------------------- partial GW
def gw_problem(n=12, m=10, seed=8):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    C1 = ((X[:, None] - X[None]) ** 2).sum(-1)
    C2 = ((Y[:, None] - Y[None]) ** 2).sum(-1)
    return C1, C2, np.full(n, 1.0 / n), np.full(m, 1.0 / m)


def naive_partial_gw(C1, C2, G):
    """``sum_ijkl (C1_ik - C2_jl)^2 G_ij G_kl`` by brute force."""
    L = (C1[:, None, :, None] - C2[None, :, None, :]) ** 2
    return float(np.einsum("ijkl,ij,kl->", L, G, G))


@pytest.mark.parametrize("mass", [0.3, 0.7])
def test_partial_gw_against_pot_and_brute_force(mass):
    ot = pytest.importorskip("ot")
    from numbaot.partial.gromov import solve_partial_gromov

    C1, C2, p, q = gw_problem()
    res = solve_partial_gromov(C1, C2, p, q, mass)
    assert res.status.name == "OPTIMAL"
    G = res.plan
    assert np.isclose(G.sum(), mass) and np.all(G.sum(1) <= p + 1e-12) and np.all(G.sum(0) <= q + 1e-12)
    assert np.isclose(res.value, naive_partial_gw(C1, C2, G), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, log = ot.gromov.partial_gromov_wasserstein(C1, C2, p, q, mass, log=True)
    assert np.isclose(res.value, log["partial_gw_dist"], rtol=1e-8)
    assert np.allclose(G, theirs, atol=1e-8)
    assert np.isclose(numbaot.partial_gromov_wasserstein2(C1, C2, p, q, mass), res.value)


def test_partial_gw_planted_and_asymmetric():
    C1, _, p, _ = gw_problem(n=7, m=7, seed=9)
    perm = np.random.default_rng(0).permutation(7)
    value = numbaot.partial_gromov_wasserstein2(C1, C1[np.ix_(perm, perm)], p, p, 0.5)
    assert abs(value) < 1e-12  # a sub-isometry exists: any part of C1 matches itself
    A = C1 + np.triu(np.ones((7, 7)))  # asymmetric
    from numbaot.partial.gromov import solve_partial_gromov

    res = solve_partial_gromov(A, A, p, p, 0.5, symmetric=False)
    assert abs(res.value) < 1e-10 and np.isclose(res.plan.sum(), 0.5)


def test_entropic_partial_gw_against_pot():
    ot = pytest.importorskip("ot")
    from numbaot.partial.gromov import solve_entropic_partial_gromov

    C1, C2, p, q = gw_problem(n=8, m=6)
    res = solve_entropic_partial_gromov(C1, C2, p, q, reg=1.0, m=0.5, tol=1e-10)
    theirs, log = ot.gromov.entropic_partial_gromov_wasserstein(C1, C2, p, q, reg=1.0, m=0.5, log=True, tol=1e-10)
    assert np.allclose(res.plan, theirs, atol=1e-6)
    assert np.isclose(res.value, log["partial_gw_dist"], rtol=1e-5)
    assert np.isclose(res.plan.sum(), 0.5)
    assert np.isclose(numbaot.entropic_partial_gromov_wasserstein2(C1, C2, p, q, reg=1.0, m=0.5, tol=1e-10),
                      res.value)


def test_partial_gw_bad_inputs():
    C1, C2, p, q = gw_problem(n=4, m=3)
    with pytest.raises(ValueError, match="exceeds"):
        numbaot.partial_gromov_wasserstein(C1, C2, p, q, 2.0)
    with pytest.raises(ValueError, match="square"):
        numbaot.partial_gromov_wasserstein(C1[:, :3], C2, p, q, 0.5)
    with pytest.raises(ValueError, match="G0 carries mass"):
        numbaot.partial_gromov_wasserstein(C1, C2, p, q, 0.5, G0=np.outer(p, q))
    with pytest.raises(TypeError, match="positional"):
        numbaot.partial_gromov_wasserstein(C1, C2, p, q, 0.5, "square_loss", 1, None, 1)  # POT's thres


def test_entropic_forbidden_arcs_and_lagrange_limits():
    M, a, b = problem(n=6, m=5, seed=10)
    M[0, 0] = np.inf  # 'auto' takes the log domain: the plan is 0 there
    res = solve_entropic_partial(M, a, b, 0.5, 0.3, max_iter=5000)
    assert res.plan[0, 0] == 0 and np.isclose(res.plan.sum(), 0.3) and res.status.name == "OPTIMAL"
    M, a, b = problem(n=6, m=5, seed=10)
    assert numbaot.partial_wasserstein_lagrange(a, b, M, reg_m=-1.0).sum() == 0  # every arc costs more than it pays
    assert numbaot.partial_wasserstein_lagrange(a, b, M, reg_m=M.min() * 0.5).sum() == 0
    full = numbaot.partial_wasserstein_lagrange(a, b, M, reg_m=10 * M.max())
    assert np.isclose(full.sum(), min(a.sum(), b.sum()))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 7), m=st.integers(2, 7))
def test_metamorphic(seed, n, m):
    """The partial cost is non-decreasing and convex in m (costs >= 0: the LP's value function); transposing the
    problem transposes the entropic plan."""
    rng = np.random.default_rng(seed)
    M = rng.random((n, m))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    top = min(a.sum(), b.sum())
    masses = np.linspace(0.1, 1.0, 5) * top
    values = np.array([numbaot.partial_wasserstein2(a, b, M, mass) for mass in masses])
    assert np.all(np.diff(values) >= -1e-12)
    assert np.all(values[:-2] + values[2:] - 2 * values[1:-1] >= -1e-12)  # equally spaced masses
    P = numbaot.entropic_partial_wasserstein(a, b, M, 0.2, 0.5 * top, tol=1e-12, max_iter=20000)
    Q = numbaot.entropic_partial_wasserstein(b, a, M.T, 0.2, 0.5 * top, tol=1e-12, max_iter=20000)
    assert np.allclose(P, Q.T, atol=1e-9)
