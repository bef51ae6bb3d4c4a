"""numbaot.autodiff: the debiased and unbalanced barycenters' vector-Jacobian products (implicit differentiation of
the solver's fixed point) against central differences of the numpy value, the plain barycenter's closed
elimination, and the one-sided derivatives at empty entries (where the unbalanced fixed point is not
differentiable)."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot import autodiff
from numbaot.autodiff import _bregman_vjp
from numbaot.barycenters.api import solve_barycenter

TIGHT = dict(tol=1e-13, max_iter=100000)
EPS = 0.1


def _problem(K=3, n=5, seed=1):
    rng = np.random.default_rng(seed)
    s = np.linspace(0.0, 1.0, n)
    A = rng.random((n, K)) + 0.2
    return A / A.sum(axis=0), (s[:, None] - s[None, :]) ** 2, rng


def _value(A, M, w, x_bar, **opts):
    return autodiff.barycenter(A, M, EPS, w, **opts, **TIGHT)[0] @ x_bar


@pytest.mark.parametrize("opts", [dict(debias=True), dict(reg_m=0.5), dict(reg_m=5.0)], ids=str)
def test_vjp_matches_central_differences(opts):
    """A (masses kept equal when balanced; free when unbalanced), M (any direction, symmetric for the debiased:
    its self-transport term reads M's columns) and the weights (directions of zero sum)."""
    A, M, rng = _problem()
    if "reg_m" in opts:
        A = A * np.array([1.0, 2.0, 0.7])  # unbalanced inputs of different masses
    w, x_bar, h = np.array([0.2, 0.5, 0.3]), rng.normal(size=5), 1e-6
    bar, vjp = autodiff.barycenter(A, M, EPS, w, **opts, **TIGHT)
    assert np.allclose(bar, solve_barycenter(A, M, EPS, w, **opts, **TIGHT).barycenter)
    grads = vjp(["A", "M", "weights"], x_bar)
    assert grads["A"].shape == A.shape and grads["M"].shape == M.shape and grads["weights"].shape == (3,)
    D = rng.normal(size=A.shape)
    if "debias" in opts:
        D -= D.mean(axis=0)
    E = rng.normal(size=M.shape)
    if "debias" in opts:
        E += E.T
    dw = np.array([1.0, -2.0, 1.0])
    for direction, key, args in ((D, "A", lambda t: (A + t * D, M, w)), (E, "M", lambda t: (A, M + t * E, w)),
                                 (dw, "weights", lambda t: (A, M, w + t * dw))):
        fd = (_value(*args(h), x_bar, **opts) - _value(*args(-h), x_bar, **opts)) / (2 * h)
        assert np.isclose((grads[key] * direction).sum(), fd, rtol=1e-6, atol=1e-8), key
    assert abs(grads["weights"] @ w) < 1e-12  # the derivative of x(w / sum(w))


def test_general_system_reduces_to_the_plain_barycenters_elimination():
    """With neither debiasing nor penalties the general fixed-point system is the plain barycenter's, which
    barycenter_vjp solves by eliminating the potentials (normalised Laplacians): the two agree."""
    A, M, rng = _problem(n=6)
    w, x_bar = np.array([0.2, 0.5, 0.3]), rng.normal(size=6)
    _, vjp = autodiff.barycenter(A, M, EPS, w, **TIGHT)
    closed = vjp(["A", "M", "weights"], x_bar)
    general = _bregman_vjp(A, M, vjp.potential_b, EPS, w, 1.0, False, ["A", "M", "weights"], x_bar)
    for key in closed:
        assert np.allclose(closed[key], general[key], rtol=0, atol=1e-12), key


def test_debiased_copies_keep_the_input_and_its_mass():
    """K copies of one smooth histogram: the debiased barycenter is that histogram, and the barycenter's mass is
    the inputs' (d sum(x) / d A = 1/K per entry, the centring leaves it)."""
    s = np.linspace(0.0, 1.0, 8)
    a = np.exp(-(s - 0.5) ** 2 / 0.2)
    A = np.stack([a / a.sum()] * 2, axis=1)
    bar, vjp = autodiff.barycenter(A, (s[:, None] - s[None, :]) ** 2, 0.05, debias=True, **TIGHT)
    assert np.allclose(bar, A[:, 0], atol=1e-6)
    assert np.allclose(vjp(["A"], np.ones(8))["A"], 0.5)


def test_empty_entries_one_sided_derivatives():
    """A[i, k] = 0: debiased (balanced inputs) the row's mass is linear in A[i, k] and the returned gradient is
    the derivative from above; unbalanced the row grows like A[i, k] ** tau (tau = reg_m / (reg_m + reg) < 1):
    the fixed point is not differentiable there, the one-sided derivative is infinite and so is the returned
    entry, with the sign the finite differences take as they grow."""
    A, M, rng = _problem(K=2, n=6, seed=2)
    A[1, 0] = 0.0
    A[:, 0] /= A[:, 0].sum()
    x_bar = rng.normal(size=6)
    e = np.zeros_like(A)
    e[1, 0], e[3, 0] = 1.0, -1.0  # mass moved into the empty entry
    value = lambda A_, **o: autodiff.barycenter(A_, M, EPS, **o, **TIGHT)[0] @ x_bar  # noqa: E731
    g = autodiff.barycenter(A, M, EPS, debias=True, **TIGHT)[1](["A"], x_bar)["A"]
    fd = (value(A + 1e-7 * e, debias=True) - value(A, debias=True)) / 1e-7
    assert np.isfinite(g).all() and np.isclose((g * e).sum(), fd, rtol=1e-5)
    g = autodiff.barycenter(A, M, EPS, reg_m=0.5, **TIGHT)[1](["A"], x_bar)["A"]
    assert np.isinf(g[1, 0]) and np.isfinite(np.delete(g.ravel(), 2)).all()
    e[3, 0] = 0.0
    slopes = [(value(A + h * e, reg_m=0.5) - value(A, reg_m=0.5)) / h for h in (1e-4, 1e-6, 1e-8)]
    assert np.sign(slopes[-1]) == np.sign(g[1, 0]) and abs(slopes[0]) < abs(slopes[1]) < abs(slopes[2])


def test_unbalanced_scaling_method_and_zero_weight():
    """The scaling-domain method runs the same fixed point (same gradient); a zero weight keeps its input out of
    the barycenter, and its weight's gradient is still the derivative (central differences, one-sided)."""
    A, M, rng = _problem(K=2, n=5, seed=3)
    A = A * np.array([1.0, 1.5])
    x_bar = rng.normal(size=5)
    w = np.array([1.0, 0.0])
    g_log = autodiff.barycenter(A, M, EPS, w, reg_m=1.0, **TIGHT)[1](["A", "M", "weights"], x_bar)
    g_scl = autodiff.barycenter(A, M, EPS, w, reg_m=1.0, method="sinkhorn", **TIGHT)[1](["A", "M", "weights"],
                                                                                          x_bar)
    for key in g_log:
        assert np.allclose(g_log[key], g_scl[key], rtol=1e-6, atol=1e-9), key
    assert np.allclose(g_log["A"][:, 1], 0.0)
    h, dw = 1e-6, np.array([-1.0, 1.0])
    fd = (_value(A, M, w + h * dw, x_bar, reg_m=1.0) - _value(A, M, w, x_bar, reg_m=1.0)) / h
    assert np.isclose(g_log["weights"] @ dw, fd, rtol=1e-4)


def test_a_singular_fixed_point_warns():
    """A cost whose debiasing (self-transport) coupling is a 2-cycle (each cell's cheapest partner is the other):
    the debiased system is singular beyond the potentials' gauge, the fixed point is not locally unique and the
    least-squares gradient comes with a ConvergenceWarning (no solve: the state is given)."""
    from numbaot import ConvergenceWarning

    M = np.array([[100.0, 0.0], [0.0, 100.0]])
    A = np.array([[0.5, 0.4], [0.5, 0.6]])
    with pytest.warns(ConvergenceWarning, match="debiased barycenter's fixed point is .nearly. singular"):
        out = _bregman_vjp(A, M, np.zeros((2, 2)), EPS, np.array([0.5, 0.5]), 1.0, True, ["A", "M"],
                           np.array([1.0, -1.0]))
    assert np.isfinite(out["A"]).all() and np.isfinite(out["M"]).all()


def test_debiased_and_unbalanced_together_are_refused():
    """The solver adds the debiasing potential after the damped power mean, which the implicit system does not
    model (a finite-difference check found the gradient 8x off): the pair is refused, before any solve."""
    from numbaot._validation import UnsupportedOption

    A = np.array([[0.5, 0.2], [0.3, 0.3], [0.2, 0.5]])
    M = (np.arange(3.0)[:, None] - np.arange(3.0)[None]) ** 2
    with pytest.raises(UnsupportedOption, match="reg_m"):
        autodiff.barycenter(A, M, 0.5, debias=True, reg_m=1.0)
    with pytest.raises(UnsupportedOption, match="reg_m"):
        autodiff.barycenter_vjp(A, M, np.zeros((2, 3)), 0.5, None, ("A",), np.ones(3), debias=True, reg_m=1.0)
    bar, _ = autodiff.barycenter(A, M, 0.5, debias=True, reg_m=np.inf, tol=1e-10)  # infinite reg_m: balanced
    assert np.isclose(bar.sum(), 1.0)


def test_a_system_too_large_is_refused_before_allocating(monkeypatch):
    """The debiased/unbalanced gradient solves one dense system of (K + 1 or 2) m unknowns: over the memory bound
    it is a MemoryError stating the size, raised before the system is allocated (bad input 31)."""
    A = np.array([[0.5, 0.2], [0.3, 0.3], [0.2, 0.5]])
    M = (np.arange(3.0)[:, None] - np.arange(3.0)[None]) ** 2
    _, vjp = autodiff.barycenter(A, M, 0.5, reg_m=1.0, tol=1e-12)
    monkeypatch.setattr(autodiff, "_BREGMAN_VJP_BYTES", 4 * 8 * 81 - 1)  # (2 + 1) x 3 = 9 unknowns
    with pytest.raises(MemoryError, match="9 unknowns"):
        vjp(("A",), np.ones(3))
