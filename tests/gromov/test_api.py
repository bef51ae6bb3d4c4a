"""Gromov-Wasserstein front-ends: planted answers, invariances, POT as an oracle, fused limits, certificates."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot import ConvergenceWarning, Status
from tests.certificates import check_plan
from tests.naive import gw_objective_naive

ot = pytest.importorskip("ot")


def _cloud(seed, n, d=2):
    return np.random.default_rng(seed).random((n, d))


def _dist(x):
    return numbaot.dist(x, x, metric="euclidean")


def _weights(rng, n):
    w = rng.random(n) + 0.1
    return w / w.sum()


def _random_plan(p, q, seed):
    """A feasible start that is not p q^T: the exact OT plan for random costs, mixed with p q^T."""
    rng = np.random.default_rng(seed)
    vertex = numbaot.emd(p, q, rng.random((len(p), len(q))))
    return 0.5 * vertex + 0.5 * np.outer(p, q)


# ---------------------------------------------------------------------------------------------------- planted
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), symmetric=st.booleans())
def test_permuted_copy_gives_zero_and_the_permutation(seed, n, symmetric):
    rng = np.random.default_rng(seed)
    C = _dist(rng.random((n, 2))) if symmetric else rng.random((n, n))
    perm = rng.permutation(n)
    C2 = C[np.ix_(perm, perm)]
    plan, log = numbaot.gromov_wasserstein(C, C2, log=True, n_init=3, random_state=seed)
    assert log["status"] is Status.OPTIMAL
    assert abs(log["gw_dist"]) <= 1e-12
    # The plan is a permutation sigma (times 1/n) and an isometry: C2[sigma(i), sigma(k)] = C[i, k]. For generic
    # spaces sigma is the planted one (perm[j] is the point of C that point j of C2 is, so sigma = perm^-1); with
    # symmetries (n = 2) any isometry is a right answer.
    sigma = np.argmax(plan, axis=1)
    expected = np.zeros((n, n))
    expected[np.arange(n), sigma] = 1.0 / n
    assert np.allclose(plan, expected, atol=1e-12)
    assert np.allclose(C2[np.ix_(sigma, sigma)], C, atol=1e-12)
    if n >= 3:
        assert np.array_equal(perm[sigma], np.arange(n))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 10), m=st.integers(2, 10))
def test_invariance_under_rigid_motions(seed, n, m):
    """Rotating and translating either cloud leaves the structure matrices, so the plan and value, unchanged."""
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 3)), rng.random((m, 3))
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = x @ Q + rng.normal(size=3) * 10
    p, q = _weights(rng, n), _weights(rng, m)
    v1, log1 = numbaot.gromov_wasserstein2(_dist(x), _dist(y), p, q, log=True)
    v2, log2 = numbaot.gromov_wasserstein2(_dist(moved), _dist(y), p, q, log=True)
    assert np.isclose(v1, v2, rtol=1e-9, atol=1e-12)
    assert np.allclose(log1["T"], log2["T"], atol=1e-9)


# ------------------------------------------------------------------------------------------------ POT oracle
CASES = [("symmetric", "square_loss"), ("asymmetric", "square_loss"), ("symmetric", "kl_loss")]


@pytest.mark.parametrize("kind, loss", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_pot_from_the_same_start(kind, loss, seed):
    rng = np.random.default_rng(seed)
    n, m = 12 + seed, 9 + 2 * seed
    if kind == "symmetric":
        C1, C2 = _dist(rng.random((n, 2))), _dist(rng.random((m, 3)))
    else:
        C1, C2 = rng.random((n, n)), rng.random((m, m))
    p, q = _weights(rng, n), _weights(rng, m)
    G0 = _random_plan(p, q, seed)
    plan, log = numbaot.gromov_wasserstein(C1, C2, p, q, loss_fun=loss, log=True, G0=G0)
    plan_pot, log_pot = ot.gromov.gromov_wasserstein(C1, C2, p, q, loss_fun=loss, log=True, G0=G0)
    assert np.isclose(log["gw_dist"], log_pot["gw_dist"], rtol=1e-8, atol=1e-12)
    assert np.allclose(plan, plan_pot, atol=1e-8)
    check_plan(plan, p, q, rtol=1e-12)
    assert np.isclose(log["gw_dist"], gw_objective_naive(C1, C2, plan, loss), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.9])
def test_fused_agrees_with_pot(alpha):
    rng = np.random.default_rng(7)
    n, m = 11, 14
    x, y = rng.random((n, 2)), rng.random((m, 2))
    C1, C2 = _dist(x), _dist(y)
    M = numbaot.dist(x, y)
    p, q = _weights(rng, n), _weights(rng, m)
    G0 = _random_plan(p, q, 3)
    value, log = numbaot.fused_gromov_wasserstein2(M, C1, C2, p, q, alpha=alpha, G0=G0, log=True)
    value_pot = ot.gromov.fused_gromov_wasserstein2(M, C1, C2, p, q, alpha=alpha, G0=G0)
    assert np.isclose(value, value_pot, rtol=1e-8)
    plan = numbaot.fused_gromov_wasserstein(M, C1, C2, p, q, alpha=alpha, G0=G0)
    assert np.allclose(plan, log["T"])
    check_plan(plan, p, q, rtol=1e-12)
    assert np.isclose(value, gw_objective_naive(C1, C2, plan, M=M, alpha=alpha), rtol=1e-10)


# ---------------------------------------------------------------------------------------------- fused limits
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 9))
def test_fused_limits(seed, n, m):
    """alpha = 0 is exact OT on M (emd's value); alpha = 1 is GW (the same run as gromov_wasserstein)."""
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    C1, C2, M = _dist(x), _dist(y), numbaot.dist(x, y)
    p, q = _weights(rng, n), _weights(rng, m)
    w = numbaot.fused_gromov_wasserstein2(M, C1, C2, p, q, alpha=0.0)
    assert np.isclose(w, numbaot.emd2(p, q, M), rtol=1e-10, atol=1e-14)
    gw_plan, log = numbaot.gromov_wasserstein(C1, C2, p, q, log=True)
    fgw_plan, flog = numbaot.fused_gromov_wasserstein(M, C1, C2, p, q, alpha=1.0, log=True)
    assert np.isclose(flog["fgw_dist"], log["gw_dist"], rtol=1e-12, atol=1e-15)
    assert np.allclose(fgw_plan, gw_plan, atol=1e-12)


# ----------------------------------------------------------------------------------------------- behaviour
def test_float32_in_float32_out_and_symmetric_flag():
    x, y = _cloud(0, 8), _cloud(1, 6)
    C1, C2 = _dist(x), _dist(y)
    plan64 = numbaot.gromov_wasserstein(C1, C2)
    plan32 = numbaot.gromov_wasserstein(C1.astype(np.float32), C2.astype(np.float32))
    assert plan32.dtype == np.float32
    assert np.allclose(plan32, plan64, atol=1e-6)
    # the general (asymmetric) gradient gives the same run on symmetric matrices
    plan_general = numbaot.gromov_wasserstein(C1, C2, symmetric=False)
    assert np.allclose(plan_general, plan64, atol=1e-12)


def test_max_iter_reached_warns_and_says_so():
    x, y = _cloud(2, 15), _cloud(3, 15)
    C1, C2 = _dist(x), _dist(y)
    with pytest.warns(ConvergenceWarning, match="MAX_ITER_REACHED"):
        _, log = numbaot.gromov_wasserstein(C1, C2, log=True, max_iter=1, tol_rel=0.0, tol_abs=0.0)
    assert log["status"] is Status.MAX_ITER_REACHED and log["n_iter"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numbaot.gromov_wasserstein(C1, C2, max_iter=1, tol_rel=0.0, tol_abs=0.0, warn=False)


def test_more_starts_never_worse():
    rng = np.random.default_rng(5)
    C1, C2 = rng.random((10, 10)), rng.random((12, 12))
    one = numbaot.gromov_wasserstein2(C1, C2)
    several = numbaot.gromov_wasserstein2(C1, C2, n_init=4, random_state=0)
    assert several <= one + 1e-15
    assert several == numbaot.gromov_wasserstein2(C1, C2, n_init=4, random_state=0)  # seeded: reproducible


def test_zero_weights_give_zero_rows():
    x, y = _cloud(4, 6), _cloud(5, 5)
    p = np.array([0.2, 0.0, 0.3, 0.1, 0.4, 0.0])
    plan = numbaot.gromov_wasserstein(_dist(x), _dist(y), p)
    check_plan(plan, p, np.full(5, 0.2), rtol=1e-12)
    assert np.all(plan[[1, 5]] == 0)


# ------------------------------------------------------------------------------------------------ metamorphic
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 9), m=st.integers(2, 9), scale=st.floats(0.01, 100.0))
def test_swap_and_scale(seed, n, m, scale):
    """GW(C2, C1) runs the transposed iterations of GW(C1, C2); scaling both matrices by s scales the square-loss
    objective by s^2 and keeps the plan."""
    rng = np.random.default_rng(seed)
    C1, C2 = _dist(rng.random((n, 2))), _dist(rng.random((m, 2)))
    p, q = _weights(rng, n), _weights(rng, m)
    plan, log = numbaot.gromov_wasserstein(C1, C2, p, q, log=True)
    swapped, log_swapped = numbaot.gromov_wasserstein(C2, C1, q, p, log=True)
    assert np.isclose(log_swapped["gw_dist"], log["gw_dist"], rtol=1e-9, atol=1e-14)
    assert np.allclose(swapped, plan.T, atol=1e-9)
    scaled, log_scaled = numbaot.gromov_wasserstein(scale * C1, scale * C2, p, q, log=True)
    assert np.isclose(log_scaled["gw_dist"], scale**2 * log["gw_dist"], rtol=1e-9, atol=1e-14 * scale**2)
    assert np.allclose(scaled, plan, atol=1e-9)


@pytest.mark.parametrize("scale", [1e-60, 1e60])
def test_costs_beyond_the_trees_safe_range_take_the_host_oracle(scale):
    """Gradients of magnitude ~scale^2 (outside numbaot._scaling.SAFE_RANGE) leave the compiled loop for the host
    network simplex, which rescales them: the same plan, the value scaled by scale^2 (no absolute tolerance,
    which would stop the tiny problem at once)."""
    rng = np.random.default_rng(5)
    C1, C2 = _dist(rng.random((7, 2))), _dist(rng.random((6, 3)))
    plan, log = numbaot.gromov_wasserstein(C1, C2, log=True, tol_abs=0.0)
    scaled, log_scaled = numbaot.gromov_wasserstein(scale * C1, scale * C2, log=True, tol_abs=0.0)
    assert log_scaled["status"] is Status.OPTIMAL and log_scaled["n_iter"] == log["n_iter"]
    assert np.allclose(scaled, plan, atol=1e-12)
    assert np.isclose(log_scaled["gw_dist"], scale**2 * log["gw_dist"], rtol=1e-9)


# -------------------------------------------------------------------------------------------------- tensor product
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 5), loss=st.sampled_from(
    ["square_loss", "kl_loss"]))
def test_tensor_product_front_end_matches_brute_force_and_pot(seed, n, m, loss):
    """The public tensor product against the O(n^2 m^2) sum on any T (asymmetric C1, C2), and against POT's
    ``init_matrix`` + ``tensor_product`` with p, q the marginals of a plan (POT's symmetric-loss convention)."""
    from numbaot.gromov.api import tensor_product
    from tests.naive import gw_tensor_naive

    rng = np.random.default_rng(seed)
    C1, C2, T = rng.random((n, n)), rng.random((m, m)), rng.random((n, m))
    np.testing.assert_allclose(tensor_product(C1, C2, T, loss_fun=loss), gw_tensor_naive(C1, C2, T, loss),
                               rtol=1e-12, atol=1e-12)
    p, q = T.sum(axis=1), T.sum(axis=0)
    constC, hC1, hC2 = ot.gromov.init_matrix(C1, C2, p, q, loss)
    np.testing.assert_allclose(tensor_product(C1, C2, T, loss_fun=loss), ot.gromov.tensor_product(constC, hC1, hC2, T),
                               rtol=1e-10, atol=1e-12)


def test_tensor_product_front_end_dtype_and_bad_input():
    from numbaot.gromov.api import tensor_product

    # not at the top level: POT's namesake (ot.gromov.tensor_product, numbaot.pot's too) takes (constC, hC1, hC2, T),
    # so a positional POT call would bind differently (tests/test_signatures.py guards every top-level verb)
    assert not hasattr(numbaot, "tensor_product")

    rng = np.random.default_rng(2)
    C1, C2, T = rng.random((4, 4)), rng.random((3, 3)), rng.random((4, 3))
    assert tensor_product(C1.astype(np.float32), C2.astype(np.float32), T.astype(np.float32)).dtype == np.float32
    assert tensor_product(C1.astype(np.float32), C2, T.astype(np.float32)).dtype == np.float64
    with pytest.raises(ValueError, match=r"C1 must be square .* got shape \(4, 3\)"):
        tensor_product(C1[:, :3], C2, T)
    nan = C2.copy()
    nan[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"C2\[\(1, 2\)\] is nan; C2 must be finite"):
        tensor_product(C1, nan, T, loss_fun="l1")  # the matrices before the loss
    with pytest.raises(ValueError, match="loss_fun must be one of"):
        tensor_product(C1, C2, T.T, loss_fun="l1")  # the loss before T
    with pytest.raises(TypeError, match="loss_fun must be a string"):
        tensor_product(C1, C2, T, loss_fun=None)
    with pytest.raises(TypeError):
        tensor_product(C1, C2, T, "square_loss")  # keyword-only
    with pytest.raises(ValueError, match=r"T has shape \(3, 4\) but C1 is 4x4 and C2 is 3x3; T must be \(4, 3\)"):
        tensor_product(C1, C2, T.T)
    T[2, 0] = -np.inf
    with pytest.raises(ValueError, match=r"T\[\(2, 0\)\] is -inf"):
        tensor_product(C1, C2, T)
    neg = C1 - 0.5
    with pytest.raises(ValueError, match=r"C1\[\d, \d\] = -0\.\d+ is negative; kl_loss needs non-negative"):
        tensor_product(neg, C2, T, loss_fun="kl_loss")
    tensor_product(neg, C2 - 1.0, np.abs(np.nan_to_num(T, neginf=0.0)))  # signed matrices: fine for square_loss


_C3 = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])


@pytest.mark.parametrize("kwargs, named", [
    (dict(Ca=_C3[:2], Cb=_C3), "Ca"),
    (dict(Ca=_C3, Cb=np.where(_C3 == 2.0, np.nan, _C3)), "Cb"),
    (dict(Ca=_C3, Cb=_C3, loss="l1"), "loss"),
    (dict(Ca=_C3, Cb=_C3, loss=3), "loss"),
    (dict(Ca=_C3, Cb=-_C3, loss="kl_loss"), "Cb"),
    (dict(Ca=_C3, Cb=_C3, a=np.ones(2)), "a"),
    (dict(Ca=_C3, Cb=_C3, b=np.ones(2)), "b"),
    (dict(Ca=_C3, Cb=_C3, a=np.ones(3), b=2 * np.ones(3)), "a"),
    (dict(Ca=_C3, Cb=np.triu(_C3), symmetric=True), "Cb"),
    (dict(Ca=_C3, Cb=_C3, M=np.ones((2, 3))), "Ca"),
    (dict(Ca=_C3, Cb=_C3, G0=np.ones((3, 2))), "Ca"),
    (dict(Ca=_C3, Cb=_C3, G0=np.ones((3, 3))), "a"),
    (dict(Ca=_C3, Cb=_C3, G0=np.ones((3, 3)), reg=0.1), "a"),
])
def test_solve_gromov_errors_name_its_own_arguments(kwargs, named):
    """``solve_gromov`` takes POT's ``ot.solve_gromov`` names (Ca, Cb, a, b, loss): its errors name them, never the
    GW verbs' C1, C2, p, q, loss_fun; the GW verbs keep theirs."""
    import re

    with pytest.raises((ValueError, TypeError)) as err:
        numbaot.solve_gromov(**kwargs)
    message = str(err.value)
    assert re.search(rf"\b{named}\b", message), message
    assert not re.search(r"\b(C1|C2|p|q|loss_fun)\b", message), message
    gw = {"C1": kwargs["Ca"], "C2": kwargs["Cb"], "p": kwargs.get("a"), "q": kwargs.get("b"),
          "loss_fun": kwargs.get("loss", "square_loss"), "symmetric": kwargs.get("symmetric"), "G0": kwargs.get("G0")}
    verb = numbaot.gromov_wasserstein
    if "M" in kwargs:
        verb, gw["M"] = numbaot.fused_gromov_wasserstein, kwargs["M"]
    with pytest.raises(type(err.value)) as gw_err:
        verb(**gw)
    renamed = {"C1": "Ca", "C2": "Cb", "p": "a", "q": "b", "loss_fun": "loss"}
    assert re.sub(r"\b(C1|C2|p|q|loss_fun)\b", lambda m: renamed[m.group(1)], str(gw_err.value)) == message
