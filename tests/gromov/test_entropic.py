"""Entropic (fused) GW by mirror descent: POT as an oracle, the limit epsilon -> 0, certificates, fallbacks."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot import ConvergenceWarning, Status
from numbaot.gromov import _entropic
from tests.certificates import check_plan
from tests.naive import gw_objective_naive, sinkhorn_log_naive

ot = pytest.importorskip("ot")


def _spaces(seed, n, m):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 3))
    return numbaot.dist(x, x, metric="euclidean"), numbaot.dist(y, y, metric="euclidean"), numbaot.dist(x[:, :2],
                                                                                                         y[:, :2])


@pytest.mark.parametrize("symmetric", [True, False])
def test_agrees_with_pot(symmetric):
    """The same fixed point T = Sinkhorn(grad(T)) as POT's PGD solver, to the inner tolerances."""
    C1, C2, _ = _spaces(0, 12, 9)
    if not symmetric:
        rng = np.random.default_rng(1)
        C1, C2 = C1 + 0.3 * rng.random(C1.shape), C2 + 0.3 * rng.random(C2.shape)
    value, log = numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=0.1, log=True)
    value_pot = ot.gromov.entropic_gromov_wasserstein2(C1, C2, epsilon=0.1, max_iter=2000)
    assert log["status"] is Status.OPTIMAL
    assert np.isclose(value, value_pot, rtol=1e-6)
    plan = log["T"]
    check_plan(plan, np.full(12, 1 / 12), np.full(9, 1 / 9), rtol=1e-8)
    assert np.isclose(value, gw_objective_naive(C1, C2, plan), rtol=1e-10)


def test_fixed_point_certificate():
    """The returned plan is the Sinkhorn plan of its own gradient (checked by the plain numpy Sinkhorn)."""
    C1, C2, M = _spaces(3, 8, 7)
    alpha, eps = 0.4, 0.05
    res = numbaot.solve_gromov(C1, C2, M, alpha=alpha, reg=eps)
    assert res.converged
    T = res.plan
    p, q = np.full(8, 1 / 8), np.full(7, 1 / 7)
    grad = (1 - alpha) * M + alpha * 2 * (((C1**2) @ p)[:, None] + ((C2**2) @ q)[None, :] - 2 * C1 @ T @ C2.T)
    expected, _, _ = sinkhorn_log_naive(p, q, grad, eps, tol=1e-13)
    assert np.allclose(T, expected, atol=1e-7)
    assert np.isclose(res.value, gw_objective_naive(C1, C2, T, M=M, alpha=alpha), rtol=1e-10)
    assert np.isclose(res.value_linear, np.sum(M * T)) and np.isclose(res.value_quad, gw_objective_naive(C1, C2, T))


def test_fused_agrees_with_pot():
    C1, C2, M = _spaces(4, 10, 11)
    value = numbaot.entropic_fused_gromov_wasserstein2(M, C1, C2, epsilon=0.05, alpha=0.3)
    value_pot = ot.gromov.entropic_fused_gromov_wasserstein2(M, C1, C2, epsilon=0.05, alpha=0.3, max_iter=2000)
    assert np.isclose(value, value_pot, rtol=1e-6)
    plan = numbaot.entropic_fused_gromov_wasserstein(M, C1, C2, epsilon=0.05, alpha=0.3)
    check_plan(plan, np.full(10, 0.1), np.full(11, 1 / 11), rtol=1e-8)


def test_tends_to_gw_as_epsilon_decreases():
    """From a permuted copy: the entropic plan approaches the permutation and its value approaches GW = 0."""
    rng = np.random.default_rng(5)
    x = rng.random((7, 2))
    C = numbaot.dist(x, x, metric="euclidean")
    perm = rng.permutation(7)
    C2 = C[np.ix_(perm, perm)]
    exact = np.zeros((7, 7))
    exact[perm, np.arange(7)] = 1 / 7
    gaps = []
    for eps in (0.05, 0.02, 0.01, 0.005):
        res = numbaot.solve_gromov(C, C2, reg=eps, max_iter=5000, warn=False)
        gaps.append((float(res.value), float(np.abs(res.plan - exact).sum())))
    values, distances = np.array(gaps).T
    assert np.all(np.diff(values) < 0) and np.all(np.diff(distances) < 0)
    assert values[-1] < 1e-4 and distances[-1] < 1e-2


def test_kernel_solve_falls_back_to_the_log_domain():
    """Scalings leaving their safe range are reported, and the log domain then gives the same plan."""
    K = np.array([[1.0, 1e-200], [1e-200, 1e-250]])
    w = np.full(2, 0.5)
    code, _, _ = _entropic.sinkhorn_kernel_core(K, w, w, w.copy(), w.copy(), np.empty((1, 2)), 100, 1e-12)
    assert code == _entropic._LEFT_RANGE
    C1, C2, _ = _spaces(6, 6, 6)
    # costs / epsilon ~ 1e7: kernels under- and overflow, Sinkhorn cannot meet the marginals in the budget; the
    # plan stays finite and the status says that it is not trustworthy (never a silent garbage plan)
    with pytest.warns(ConvergenceWarning, match="marginal error"):
        res = numbaot.solve_gromov(C1 * 50, C2 * 50, reg=1e-3, max_iter=20)
    assert np.isfinite(res.plan).all() and res.status is Status.MAX_ITER_REACHED
    # a moderate epsilon on the same spaces converges and is feasible
    res = numbaot.solve_gromov(C1, C2, reg=0.2)
    assert res.converged
    check_plan(res.plan, np.full(6, 1 / 6), np.full(6, 1 / 6), rtol=1e-8)


def test_max_iter_warns():
    C1, C2, _ = _spaces(7, 9, 9)
    with pytest.warns(ConvergenceWarning, match="MAX_ITER_REACHED"):
        res = numbaot.solve_gromov(C1, C2, reg=0.01, max_iter=2)
    assert res.status is Status.MAX_ITER_REACHED and res.n_iter == 2


@pytest.mark.parametrize("accelerate", ["momentum", "anderson"])
@pytest.mark.parametrize("seed", [0, 2])
def test_accelerated_reaches_a_certified_fixed_point_in_fewer_iterations(seed, accelerate):
    """Accelerated mirror descent: fewer outer iterations, and the end is a fixed point of the plain map (its last
    step is a plain one whose change is within tol), here the same as the plain iteration's."""
    rng = np.random.default_rng(seed)
    x, y = rng.random((40, 2)), rng.random((35, 3))
    C1, C2 = numbaot.dist(x, x, metric="euclidean"), numbaot.dist(y, y, metric="euclidean")
    plain, log_plain = numbaot.entropic_gromov_wasserstein(C1, C2, epsilon=0.05, log=True, accelerate=None)
    fast, log_fast = numbaot.entropic_gromov_wasserstein(C1, C2, epsilon=0.05, log=True, accelerate=accelerate)
    assert log_fast["status"] is Status.OPTIMAL and log_fast["n_iter"] < log_plain["n_iter"]
    assert log_fast["loss"][-1] <= 1e-9
    assert np.allclose(fast, plain, atol=1e-7)
    assert np.isclose(log_fast["gw_dist"], log_plain["gw_dist"], rtol=1e-6)
    check_plan(fast, np.full(40, 1 / 40), np.full(35, 1 / 35), rtol=1e-8)


def _saddle_problem():
    """A problem (n = 74, m = 14, epsilon 0.048) on which the plain iteration lingers near a saddle point before it
    leaves for a lower fixed point (Anderson started there converges to the saddle; started at once, it jumps to
    yet another fixed point): the 8th draw of this stream."""
    rng = np.random.default_rng(1)
    for trial in range(8):
        n, m = int(rng.integers(10, 80)), int(rng.integers(10, 80))
        eps = float(10 ** rng.uniform(-2, -0.5))
        x = rng.random((n, int(rng.integers(1, 4))))
        y = rng.random((m, int(rng.integers(1, 4))))
        if trial % 3 == 0:
            y = rng.normal(size=(m, 2))
    C1 = numbaot.dist(x, x, metric="euclidean")
    C2 = numbaot.dist(y, y, metric="euclidean" if trial % 2 else "sqeuclidean")
    return C1 / C1.max(), C2 / C2.max(), eps


def test_momentum_does_not_stop_at_a_saddle_point():
    """Where Anderson ends at another fixed point, the heavy ball ends where the plain iteration does."""
    C1, C2, eps = _saddle_problem()
    assert (C1.shape[0], C2.shape[0]) == (74, 14)
    values = {}
    for accelerate in (None, "momentum", "anderson"):
        values[accelerate] = numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=eps, accelerate=accelerate,
                                                                  max_iter=3000)
    assert np.isclose(values["momentum"], values[None], rtol=1e-6)
    assert not np.isclose(values["anderson"], values[None], rtol=1e-2)  # why Anderson is not the default


def _symmetric_contraction(rng, eigenvalues):
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T, Q


def test_heavy_ball_accelerates_a_linear_fixed_point():
    """On x = A x + c with a real spectrum in (-0.9, 0.98), the heavy ball (on once the rate is steady) reaches the
    fixed point long before plain steps, which still lag by 0.98^k."""
    rng = np.random.default_rng(0)
    A, _ = _symmetric_contraction(rng, np.concatenate([[0.98, -0.9], rng.uniform(-0.5, 0.9, 8)]))
    c = rng.normal(size=(10, 1))
    target = np.linalg.solve(np.eye(10) - A, c)
    ball = _entropic.HeavyBall()
    x, y = np.zeros((10, 1)), np.zeros((10, 1))
    for _ in range(150):
        ball.step(x, A @ x + c)
        y = A @ y + c
    assert ball.active
    assert np.abs(x - target).max() < 1e-7 < np.abs(y - target).max()


def test_heavy_ball_keeps_an_unstable_fixed_point_unstable():
    """Near a saddle (one eigenvalue 1.05 of the Jacobian, the others below 1, started 1e-6 from it along the
    unstable direction) the heavy ball moves away from the fixed point, as the plain iteration does."""
    rng = np.random.default_rng(3)
    A, Q = _symmetric_contraction(rng, np.concatenate([[1.05], rng.uniform(0.0, 0.9, 7)]))
    c = rng.normal(size=(8, 1))
    target = np.linalg.solve(np.eye(8) - A, c)
    start = target + 1e-6 * Q[:, :1] + 1e-2 * Q[:, 1:] @ rng.normal(size=(7, 1))
    ball = _entropic.HeavyBall()
    x, z = start.copy(), start
    was_active = False
    for _ in range(200):
        ball.step(x, A @ x + c)
        was_active |= ball.active
        z = A @ z + c
    assert was_active  # the stable modes' steady decay switched the momentum on
    assert np.abs(z - target).max() > 1e-3  # the plain iteration left the saddle (1e-6 * 1.05^200)
    assert np.abs(x - target).max() > 1e-3  # and so did the heavy ball


def test_accelerate_is_validated():
    C1, C2, _ = _spaces(0, 5, 5)
    with pytest.raises(ValueError, match="accelerate must be one of"):
        numbaot.entropic_gromov_wasserstein(C1, C2, accelerate="nesterov")
    with pytest.raises(TypeError, match="accelerate must be one of"):
        numbaot.entropic_gromov_wasserstein(C1, C2, accelerate=1)


def test_anderson_solves_a_linear_fixed_point():
    """On x = A x + c (a contraction), Anderson's iterates reach the fixed point far sooner than plain steps."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    A *= 0.95 / np.abs(np.linalg.eigvals(A)).max()
    c = rng.normal(size=(6, 1))
    target = np.linalg.solve(np.eye(6) - A, c)
    acc = _entropic.Anderson(4)
    x = np.zeros((6, 1))
    for _ in range(30):
        x = acc.step(x, A @ x + c - x)
    assert np.allclose(x, target, atol=1e-8)


def test_parallel_kernels_above_the_threshold_agree(monkeypatch):
    """Above PARALLEL_MIN_ENTRIES the kernels run on Numba's threads (n_threads=None: Numba's setting) and give
    the plan of one thread."""
    C1, C2, _ = _spaces(3, 20, 16)
    monkeypatch.setattr(_entropic, "PARALLEL_MIN_ENTRIES", 1)
    results = [numbaot.entropic_gromov_wasserstein(C1, C2, epsilon=0.1, n_threads=t) for t in (None, 1, 2)]
    for plan in results[1:]:
        assert np.allclose(plan, results[0], atol=1e-12)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("tail", [3e-5, 1e-3])
def test_tracked_products_reach_the_untracked_fixed_point(monkeypatch, symmetric, tail):
    """Tensor products updated by low-rank changes (thresholds lowered to reach this size) end at a
    certified fixed point of float64 products: the stop is an anchored step whose change is within tol, and the
    value is the untracked run's."""
    from numbaot.gromov import _tensor

    C1, C2, _ = _spaces(5, 130, 120)
    if not symmetric:
        rng = np.random.default_rng(6)
        C1, C2 = C1 + 0.2 * rng.random(C1.shape), C2 + 0.2 * rng.random(C2.shape)
    made, flags = [], []

    class Recorded(_tensor.TrackedProduct):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

        def at(self, T):
            anchors = self.counts["anchor"]
            X, anchored = super().at(T)
            flags.append(self.counts["anchor"] > anchors)  # a float64 product was computed, whatever is reported
            assert anchored == flags[-1]
            return X, anchored

    monkeypatch.setattr(_tensor, "TrackedProduct", Recorded)
    monkeypatch.setattr(_tensor, "TRACK_MIN_ENTRIES", 1)
    monkeypatch.setattr(_tensor, "LOW_RANK_TAIL", tail)
    problem = _gromov_api_problem(C1, C2, None)
    runs = {track: _entropic.mirror_descent(problem.split(), problem.p, problem.q, None, 0.0, 1.0, 0.1,
                                            np.outer(problem.p, problem.q), 1000, 1e-9, 1000, 1e-9, 1,
                                            accelerate="momentum", product_start=True, track=track)
            for track in (False, True)}
    (plain, _), (tracked, marginal_error) = runs[False], runs[True]
    assert tracked.status == Status.OPTIMAL and marginal_error <= 1e-9
    assert flags[-1] and tracked.history[-1] <= 1e-9  # the last step came from float64 products
    assert np.isclose(tracked.value, plain.value, rtol=1e-7, atol=0)
    # both ends are within tol (1e-9, Frobenius) of one step of the plain map, so within about tol / (1 - rate)
    # of the fixed point: the asymmetric problem converges slowly (rate ~0.97 here)
    assert np.linalg.norm(tracked.plan - plain.plan) <= 1e-7
    counts = made[-1].counts
    assert counts["low_rank"] >= 1
    assert len(made) == (2 if symmetric else 4)  # one tracker per side and run


def _gromov_api_problem(C1, C2, M):
    from numbaot.gromov.api import _Problem

    return _Problem(C1, C2, None, None, M, "square_loss", None, alpha=None if M is None else 0.7)
