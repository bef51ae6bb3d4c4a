"""numbaot.solve with reg_type='L2' (smooth OT by its dual) and reg_type=(f, df) (conditional gradient)."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot import Status
from tests.optim.reference import l2_ot_qp

ot = pytest.importorskip("ot")


def _problem(seed, n, m):
    rng = np.random.default_rng(seed)
    return ot.unif(n), ot.unif(m), rng.random((n, m))


def l2(G):
    return 0.5 * float(np.sum(G * G))


def test_solve_l2_is_smooth_ot_dual_and_matches_pot_and_a_qp():
    a, b, M = _problem(0, 4, 5)
    res = numbaot.solve(M, a, b, reg=2.0, reg_type="L2", tol=1e-14, max_iter=5000)
    G_qp, v_qp = l2_ot_qp(a, b, M, 2.0)
    assert res.status == Status.OPTIMAL
    assert np.abs(res.plan - G_qp).max() < 1e-7
    assert abs(float(res.value) - v_qp) < 1e-7  # <P, M> + reg/2 |P|^2: the objective solved
    pot = ot.solve(M, a, b, reg=2.0, reg_type="L2", tol=1e-14, max_iter=5000)
    assert np.abs(res.plan - pot.plan).max() < 1e-7
    assert np.isclose(float(res.value_linear), float(pot.value_linear), rtol=1e-7)


def test_solve_with_a_callable_regulariser_is_cg_and_matches_pot():
    a, b, M = _problem(1, 8, 6)
    res = numbaot.solve(M, a, b, reg=0.3, reg_type=(l2, lambda G: G))
    pot = ot.solve(M, a, b, reg=0.3, reg_type=(l2, lambda G: G))
    assert np.abs(res.plan - pot.plan).max() < 1e-9
    assert np.isclose(float(res.value), float(pot.value), rtol=1e-10)
    exact = numbaot.solve(M, a, b, reg=0.3, reg_type=(l2, lambda G: G), method="quadratic",
                          plan_init=np.outer(a, b))
    assert float(exact.value) <= float(res.value) + 1e-12
    assert exact.potential_a.shape == (8,) and exact.potential_b.shape == (6,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(reg_type="L2", potentials_init=(np.zeros(3), np.zeros(3))), "potentials_init"),
    (dict(reg_type="L2", plan_init=np.full((3, 3), 1 / 9)), "plan_init"),
    (dict(reg_type=(l2,)), "reg_type=\\(f, df\\)"),
    (dict(reg_type=(l2, lambda G: G), method="newton"), "line_search"),
])
def test_solve_bad_input(kwargs, match):
    a, b, M = _problem(2, 3, 3)
    with pytest.raises(ValueError, match=match):
        numbaot.solve(M, a, b, reg=1.0, **kwargs)
