"""Conditional gradients (cg, gcg, semirelaxed_cg): planted limits (f = 0 is exact OT, an entropic f is Sinkhorn),
quadratic programs solved by scipy, Frank-Wolfe gap certificates, POT as an oracle, bad callbacks."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot import ConvergenceWarning, Status
from tests.certificates import check_plan
from tests.optim.reference import l2_ot_qp

ot = pytest.importorskip("ot")


def _problem(seed, n, m=None):
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


def l2(G):
    return 0.5 * float(np.sum(G * G))


def dl2(G):
    return G


def zero(G):
    return 0.0


def entropy(G):
    return float(np.sum(G * np.log(G)))


def dentropy(G):
    return 1.0 + np.log(G)


# ----------------------------------------------------------------------------------------------------- planted
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), m=st.integers(1, 8))
def test_zero_regulariser_gives_exact_ot(seed, n, m):
    a, b, M = _problem(seed, n, m)
    G, log = numbaot.cg(a, b, M, 1.0, zero, np.zeros_like, line_search="quadratic", log=True)
    check_plan(G, a, b)
    assert np.isclose(log["cost"], numbaot.emd2(a, b, M), rtol=1e-12, atol=1e-14)
    assert log["status"] == Status.OPTIMAL and log["n_iter"] <= 2
    u, v = log["u"], log["v"]  # the duals of the last LP are the exact duals here
    assert np.isclose(a @ u + b @ v, log["cost"], rtol=1e-10, atol=1e-13)
    assert np.all(M - u[:, None] - v[None, :] >= -1e-12)


def test_zero_regulariser_with_armijo_tends_to_exact_ot():
    a, b, M = _problem(3, 12)
    G = numbaot.cg(a, b, M, 0.0, zero, np.zeros_like)
    assert np.isclose(np.sum(M * G), numbaot.emd2(a, b, M), rtol=1e-9)


def test_gcg_without_f_is_sinkhorn():
    a, b, M = _problem(4, 10, 7)
    G, log = numbaot.gcg(a, b, M, 0.05, 0.0, zero, np.zeros_like, log=True)
    assert np.allclose(G, numbaot.sinkhorn(a, b, M, 0.05), rtol=1e-8, atol=1e-12)
    assert log["n_iter"] <= 2


def test_gcg_from_a_sparse_start_reaches_sinkhorn():
    """A G0 with zeros (an exact OT vertex): the entropy's slope is infinite there, the step still moves."""
    a, b, M = _problem(19, 7, 6)
    G0 = numbaot.emd(a, b, M)
    G = numbaot.gcg(a, b, M, 0.05, 0.0, zero, np.zeros_like, G0=G0, max_iter=20)
    assert np.allclose(G, numbaot.sinkhorn(a, b, M, 0.05), rtol=1e-7, atol=1e-12)


def test_gcg_with_entropic_f_is_sinkhorn_at_the_summed_reg():
    """reg1 H + reg2 H = (reg1 + reg2) H: the generalised conditional gradient converges to Sinkhorn's plan."""
    a, b, M = _problem(5, 8, 6)
    G, log = numbaot.gcg(a, b, M, 0.04, 0.06, entropy, dentropy, max_iter=300, tol_rel=1e-13, tol_abs=0.0,
                         log=True, warn=False)
    P = numbaot.sinkhorn(a, b, M, 0.1)
    assert np.abs(G - P).max() < 1e-6
    check_plan(G, a, b, rtol=1e-8)


def test_cg_with_entropic_f_approaches_sinkhorn():
    """Frank-Wolfe on the entropic objective: sublinear, but the objective and plan approach Sinkhorn's."""
    a, b, M = _problem(6, 6)
    reg = 0.1
    G, log = numbaot.cg(a, b, M, reg, entropy, dentropy, max_iter=2000, tol_rel=0.0, tol_abs=1e-14, log=True,
                        warn=False)
    P = numbaot.sinkhorn(a, b, M, reg)
    best = float(np.sum(M * P) + reg * entropy(P))
    assert 0 <= log["total_cost"] - best <= max(log["gap"], 0) + 1e-12
    assert log["total_cost"] - best < 1e-4
    assert np.abs(G - P).max() < 2e-2


# ------------------------------------------------------------------------------------ quadratic programs (scipy)
@pytest.mark.parametrize("reg", [0.5, 20.0])
@pytest.mark.parametrize("line_search", ["quadratic", "armijo"])
def test_l2_plan_against_a_qp(reg, line_search):
    a, b, M = _problem(1, 3, 4)
    G_qp, v_qp = l2_ot_qp(a, b, M, reg)
    G, log = numbaot.cg(a, b, M, reg, l2, dl2, line_search=line_search, max_iter=5000, tol_rel=0.0, tol_abs=1e-15,
                        log=True, warn=False)
    check_plan(G, a, b)
    # Frank-Wolfe is sublinear on an interior optimum: certified by its gap, exact at a vertex optimum
    assert -1e-12 <= log["total_cost"] - v_qp <= max(log["gap"], 0.0) + 1e-12
    if reg < 1 and line_search == "quadratic":
        assert abs(log["total_cost"] - v_qp) < 1e-11 and np.abs(G - G_qp).max() < 1e-8
    elif reg < 1:  # Armijo's rule stops once no trial step decreases enough (POT's behaviour)
        assert abs(log["total_cost"] - v_qp) < 1e-6 and np.abs(G - G_qp).max() < 1e-4
    else:
        assert log["total_cost"] - v_qp < 1e-4 and np.abs(G - G_qp).max() < 1e-2


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5), reg=st.floats(0.1, 50.0))
def test_frank_wolfe_gap_bounds_the_distance_to_the_optimum(seed, n, reg):
    a, b, M = _problem(seed, n)
    _, v_qp = l2_ot_qp(a, b, M, reg)
    G, log = numbaot.cg(a, b, M, reg, l2, dl2, line_search="quadratic", max_iter=50, log=True, warn=False)
    check_plan(G, a, b)
    # the reported value is that of the plan returned; the gap was measured one step before it
    assert -1e-10 <= log["total_cost"] - v_qp <= max(log["gap"], 0.0) + 1e-10


def test_semirelaxed_l2_against_a_qp():
    a, b, M = _problem(2, 3, 4)
    reg = 5.0
    G_qp, v_qp = l2_ot_qp(a, b, M, reg, semirelaxed=True)
    G, log = numbaot.semirelaxed_cg(a, b, M, reg, l2, dl2, line_search="quadratic", max_iter=5000, tol_rel=0.0,
                                    tol_abs=1e-15, log=True, warn=False)
    assert np.allclose(G.sum(axis=1), a, rtol=1e-12) and G.min() >= 0
    assert -1e-12 <= log["total_cost"] - v_qp <= max(log["gap"], 0.0) + 1e-12
    assert log["total_cost"] - v_qp < 1e-4


# ------------------------------------------------------------------------------------------------------- vs POT
def test_cg_matches_pot_step_for_step():
    """Same algorithm (Armijo from 0.99, POT's stopping rule): the same iterates."""
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 2)), rng.random((25, 2))
    M = ot.dist(x, y)
    a, b = ot.unif(30), ot.unif(25)
    G, log = numbaot.cg(a, b, M, 0.1, l2, dl2, max_iter=1000, log=True)
    G_pot, log_pot = ot.optim.cg(a, b, M, 0.1, l2, dl2, numItermax=1000, log=True)
    assert np.abs(G - G_pot).max() < 1e-9
    assert np.isclose(log["total_cost"], log_pot["loss"][-1], rtol=1e-10)


def test_semirelaxed_cg_matches_pot():
    a, b, M = _problem(9, 12, 9)
    G, log = numbaot.semirelaxed_cg(a, b, M, 0.5, l2, dl2, max_iter=500, log=True, warn=False)
    G_pot, log_pot = ot.optim.semirelaxed_cg(a, b, M, 0.5, l2, dl2, numItermax=500, log=True)
    assert np.abs(G - G_pot).max() < 1e-9
    assert np.isclose(log["total_cost"], log_pot["loss"][-1], rtol=1e-10)


def test_gcg_reaches_at_most_pots_objective():
    """POT's line search leaves the entropy out; ours keeps it: our objective is never worse."""
    a, b, M = _problem(10, 15)
    reg1, reg2 = 0.05, 0.5

    def objective(G):
        return float(np.sum(M * G) + reg1 * entropy(G) + reg2 * l2(G))

    G = numbaot.gcg(a, b, M, reg1, reg2, l2, dl2, max_iter=50, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G_pot = ot.optim.gcg(a, b, M, reg1, reg2, l2, dl2, numItermax=50)
    check_plan(G, a, b, rtol=1e-8)
    assert objective(G) <= objective(G_pot) + 1e-10


# ------------------------------------------------------------------------------------ results, status, dtypes
def test_max_iter_reached_warns_and_reports():
    a, b, M = _problem(11, 10)
    with pytest.warns(ConvergenceWarning, match="cg: MAX_ITER_REACHED"):
        _, log = numbaot.cg(a, b, M, 10.0, l2, dl2, max_iter=3, log=True)
    assert log["status"] == Status.MAX_ITER_REACHED and log["n_iter"] == 3 and len(log["loss"]) == 4
    assert all(x >= y - 1e-15 for x, y in zip(log["loss"], log["loss"][1:]))  # descent


def test_float32_costs_give_a_float32_plan_and_g0_is_used():
    a, b, M = _problem(12, 5)
    G0 = numbaot.emd(a, b, np.random.default_rng(0).random((5, 5)))
    G = numbaot.cg(a, b, M.astype(np.float32), 1.0, l2, dl2, G0=G0, line_search="quadratic", max_iter=100,
                   warn=False)
    assert G.dtype == np.float32
    ref = numbaot.cg(a, b, M.astype(np.float32).astype(np.float64), 1.0, l2, dl2, G0=G0, line_search="quadratic",
                     max_iter=100, warn=False)
    assert np.abs(G - ref).max() < 1e-5


def test_inputs_are_not_modified():
    a, b, M = _problem(13, 6)
    G0 = np.outer(a, b)
    copies = [x.copy() for x in (a, b, M, G0)]
    numbaot.cg(a, b, M, 1.0, l2, dl2, G0=G0, max_iter=5, warn=False)
    numbaot.gcg(a, b, M, 0.1, 1.0, l2, dl2, G0=G0, max_iter=3, warn=False)
    for x, y in zip((a, b, M, G0), copies):
        assert np.array_equal(x, y)


def test_pot_style_callable_line_search():
    a, b, M = _problem(14, 6)

    def line_search(cost, G, deltaG, Mi, cost_G, df_G):
        return ot.optim.line_search_armijo(cost, G, deltaG, Mi, cost_G)

    G = numbaot.cg(a, b, M, 0.1, l2, dl2, line_search=line_search, max_iter=1000)
    ref = numbaot.cg(a, b, M, 0.1, l2, dl2, max_iter=1000)
    assert np.abs(G - ref).max() < 1e-9


# -------------------------------------------------------------------------------------------------- bad input
def _raise(G):
    raise RuntimeError("boom")


BAD_CALLBACKS = [
    (_raise, dl2, ValueError, "regulariser f raised RuntimeError"),
    (l2, _raise, ValueError, "gradient df raised RuntimeError"),
    (lambda G: G, dl2, TypeError, "f returned ndarray"),
    (lambda G: "x", dl2, TypeError, "must return a real number"),
    (l2, lambda G: G[:, :-1], ValueError, r"df returned shape \(4, 3\)"),
    (l2, lambda G: G + 1j, TypeError, "complex"),
    (l2, lambda G: None, ValueError, r"df returned shape \(\)"),
    (lambda G: np.nan, dl2, ValueError, "nan at the starting plan"),
    ("l2", dl2, TypeError, "f must be a callable"),
]


@pytest.mark.parametrize("f, df, exc, match", BAD_CALLBACKS)
def test_bad_callbacks_are_named(f, df, exc, match):
    a, b, M = _problem(15, 4)
    with pytest.raises(exc, match=match):
        numbaot.cg(a, b, M, 1.0, f, df)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg=float("nan")), ValueError, "reg must be a finite"),
    (dict(reg="1"), TypeError, "reg must be"),
    (dict(line_search="wolfe"), ValueError, "line_search"),
    (dict(max_iter=0), ValueError, "max_iter"),
    (dict(tol_rel=-1.0), ValueError, "tol_rel"),
    (dict(G0=np.full((4, 4), 0.5)), ValueError, "G0"),
])
def test_bad_parameters(kwargs, exc, match):
    a, b, M = _problem(16, 4)
    args = dict(reg=1.0)
    args.update(kwargs)
    reg = args.pop("reg")
    with pytest.raises(exc, match=match):
        numbaot.cg(a, b, M, reg, l2, dl2, **args)


def test_infinite_costs_are_refused():
    a, b, M = _problem(17, 3)
    M[0, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        numbaot.cg(a, b, M, 1.0, l2, dl2)


def test_gcg_needs_a_positive_entropic_reg():
    a, b, M = _problem(18, 3)
    with pytest.raises(ValueError, match="reg1"):
        numbaot.gcg(a, b, M, 0.0, 1.0, l2, dl2)


# ------------------------------------------------------------------------------------------- default stopping rule
@pytest.mark.parametrize("n", [5, 40, 200])
@pytest.mark.parametrize("reg", [1e-3, 0.1, 1.0])
def test_defaults_converge_on_ordinary_l2_problems(n, reg):
    """Random 2-D clouds, squared Euclidean costs: the defaults end certified (Frank-Wolfe gap <= 1e-3 of the
    objective), without a warning; at n = 5 the objective is within that of the QP's optimum."""
    rng = np.random.default_rng(n)
    a, b = np.full(n, 1.0 / n), np.full(n, 1.0 / n)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    for line_search in (None, "quadratic"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            G, log = numbaot.cg(a, b, M, reg, l2, dl2, line_search=line_search, log=True)
        assert log["status"] == Status.OPTIMAL and log["gap"] <= 1e-3 * log["total_cost"] + 1e-15
        check_plan(G, a, b, rtol=1e-8)
        if n == 5:
            _, best = l2_ot_qp(a, b, M, reg)
            assert best - 1e-9 <= log["total_cost"] <= best + 1e-3 * abs(best) + 1e-9


def test_stalled_objective_is_not_convergence():
    """reg = 1 on unit costs: the optimum is interior and Frank-Wolfe's steps shrink as 1/k. POT's change rule
    alone would stop early; asking for a certificate Frank-Wolfe cannot reach in the budget warns with the gap."""
    a, b, M = _problem(3, 30)
    with pytest.warns(ConvergenceWarning, match="Frank-Wolfe gap"):
        _, log = numbaot.cg(a, b, M, 1.0, l2, dl2, tol_gap=1e-6, max_iter=300, log=True)
    assert log["status"] == Status.MAX_ITER_REACHED and log["gap"] > 1e-6 * log["total_cost"]
    _, log = numbaot.cg(a, b, M, 1.0, l2, dl2, tol_rel=1e-3, tol_gap=1e-3, log=True)  # both rules must hold
    assert log["status"] == Status.OPTIMAL and log["gap"] <= 1e-3 * log["total_cost"]
    # tol_gap=inf: POT's rule alone, which stops on the stalled objective long before the certificate
    _, pot_rule = numbaot.cg(a, b, M, 1.0, l2, dl2, tol_rel=1e-3, tol_gap=np.inf, log=True)
    assert pot_rule["status"] == Status.OPTIMAL and len(pot_rule["loss"]) < len(log["loss"])
    assert pot_rule["gap"] > 1e-3 * pot_rule["total_cost"]


@pytest.mark.parametrize("semirelaxed", [False, True])
def test_a_zero_optimum_is_certified(semirelaxed):
    """Costs shifted so that the optimum is 0 (a shift of M leaves the plans unchanged): the certificate is judged
    against the objective with the costs shifted to >= 0, so the run is the unshifted one (same iterations, same
    plan), certified, without a warning. Relative to |F| alone it could never be certified."""
    rng = np.random.default_rng(4)
    n = 30
    a = b = np.full(n, 1.0 / n)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    solve = numbaot.semirelaxed_cg if semirelaxed else numbaot.cg
    G, log = solve(a, b, M, 0.1, l2, dl2, log=True)
    assert log["status"] == Status.OPTIMAL
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        G0, log0 = solve(a, b, M - log["total_cost"], 0.1, l2, dl2, log=True)
    assert abs(log0["total_cost"]) < 1e-12 and log0["status"] == Status.OPTIMAL
    assert len(log0["loss"]) == len(log["loss"])
    np.testing.assert_allclose(G0, G, atol=1e-12)


def test_bad_tol_gap():
    a, b, M = _problem(1, 4)
    with pytest.raises(ValueError, match="tol_gap"):
        numbaot.cg(a, b, M, 1.0, l2, dl2, tol_gap=-1.0)


def test_g0_errors_name_a_and_b():
    """A wrong G0 is judged against a and b, the verbs' names (the GW family's check once said p, q, C1, C2)."""
    a, b, M = _problem(8, 3, 4)
    with pytest.raises(ValueError, match=r"^G0 has shape \(4, 3\); it must be \(3, 4\) \(the sizes of a and b\)$"):
        numbaot.cg(a, b, M, 1.0, l2, dl2, G0=np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"^the row sums of G0 differ from a by up to .*between a and b$"):
        numbaot.cg(a, b, M, 1.0, l2, dl2, G0=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"^the column sums of G0 differ from b by up to .*between a and b$"):
        numbaot.gcg(a, b, M, 0.1, 1.0, l2, dl2, G0=np.outer(a, b[::-1]))
    with pytest.raises(ValueError, match=r"^the row sums of G0 differ from a "):
        numbaot.semirelaxed_cg(a, b, M, 1.0, l2, dl2, G0=np.ones((3, 4)))
