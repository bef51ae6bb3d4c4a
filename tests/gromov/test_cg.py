"""Conditional gradient internals: the closed-form line search and the descent of the objective."""
from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from numbaot._status import Status
from numbaot.gromov import _cg, _tensor
from tests.certificates import check_plan
from tests.naive import gw_objective_naive

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(a=finite, b=finite)
def test_quadratic_step_is_the_minimiser_on_the_unit_interval(a, b):
    t = _cg.quadratic_step(a, b)
    assert 0.0 <= t <= 1.0
    grid = np.linspace(0.0, 1.0, 2001)
    best = np.min(a * grid**2 + b * grid)
    assert a * t * t + b * t <= best + 1e-9 * (1 + abs(a) + abs(b))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 7), m=st.integers(2, 7), symmetric=st.booleans(),
       fused=st.booleans())
def test_descent_marginals_and_values(seed, n, m, symmetric, fused):
    """Every iteration lowers the objective; the final plan is feasible; the values match the brute force."""
    rng = np.random.default_rng(seed)
    C1, C2 = rng.random((n, n)), rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    p = rng.random(n) + 0.1
    q = rng.random(m) + 0.1
    p, q = p / p.sum(), q / q.sum()
    M = rng.random((n, m)) if fused else None
    alpha = 0.3 if fused else 1.0
    s = _tensor.split(C1, C2, p, q, "square_loss", symmetric)
    w_lin, w_quad = (1 - alpha, alpha) if fused else (0.0, 1.0)
    out = _cg.conditional_gradient(s, p, q, M, w_lin, w_quad, np.outer(p, q), 300, 1e-9, 1e-12, 1)
    # Frank-Wolfe may zig-zag slowly towards an optimum inside a face: the cap is a legitimate end
    assert out.status in (Status.OPTIMAL, Status.MAX_ITER_REACHED)
    assert out.n_iter == len(out.history) - 1
    assert np.all(np.diff(out.history) <= 1e-12 * (1 + abs(out.history[0])))
    check_plan(out.plan, p, q, rtol=1e-12)
    expected = gw_objective_naive(C1, C2, out.plan, M=M, alpha=alpha)
    assert np.isclose(out.value, expected, rtol=1e-10, atol=1e-13)
    assert np.isclose(out.history[-1], expected, rtol=1e-9, atol=1e-12)
    assert np.isclose(out.value_quad, gw_objective_naive(C1, C2, out.plan), rtol=1e-10, atol=1e-13)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 9), m=st.integers(2, 9), symmetric=st.booleans(),
       fused=st.booleans())
def test_product_start_follows_the_same_path(seed, n, m, symmetric, fused):
    """``product_start``: X(p q^T) as a rank-one product and (symmetric GW) the first vertex from the monotone
    coupling instead of a cold network simplex; on continuous random data every linear problem has one solution,
    so both starts give the same iterates."""
    rng = np.random.default_rng(seed)
    C1, C2 = rng.random((n, n)), rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    p, q = rng.random(n) + 0.1, rng.random(m) + 0.1
    p, q = p / p.sum(), q / q.sum()
    M = rng.random((n, m)) if fused else None
    w_lin, w_quad = (0.4, 0.6) if fused else (0.0, 1.0)
    s = _tensor.split(C1, C2, p, q, "square_loss", symmetric)
    runs = [_cg.conditional_gradient(s, p, q, M, w_lin, w_quad, np.outer(p, q), 300, 1e-9, 1e-12, 1,
                                     product_start=flag) for flag in (False, True)]
    assert runs[0].n_iter == runs[1].n_iter
    np.testing.assert_allclose(runs[1].history, runs[0].history, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(runs[1].plan, runs[0].plan, atol=1e-9)
