"""Sinkhorn divergences (``sinkhorn_divergence``, ``solve_sample(..., debias=True)``): the converged value against
three separate entropic solves, GeomLoss's numpy loop, planted translations, the divergence's axioms, unbalanced
limits, and bad inputs."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import numbaot
from numbaot.entropic._schedules import epsilon_schedule
from numbaot.entropic.divergence import solve_divergence
from tests.naive import geomloss_sinkhorn_naive


def _clouds(n=20, m=15, d=2, seed=0, shift=0.3):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.random((m, d)) + shift


def _weights(n, m, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(1, 6, n).astype(float), rng.integers(1, 6, m).astype(float)
    a, b = a * b.sum(), b * a.sum()
    return a / a.sum(), b / a.sum()


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
def test_converged_value_is_the_difference_of_three_entropic_costs(lazy, metric):
    X, Y = _clouds()
    a, b = _weights(20, 15)
    reg = 0.05
    res = numbaot.solve_sample(X, Y, a, b, reg=reg, metric=metric, debias=True, lazy=lazy, tol=1e-12,
                               max_iter=5000)
    assert res.status is numbaot.Status.OPTIMAL and res.errors[-1] <= 1e-12

    def ot(U, V, u, v):
        return float(numbaot.solve_sample(U, V, u, v, reg=reg, metric=metric, tol=1e-12, max_iter=200000).value)

    expected = ot(X, Y, a, b) - 0.5 * (ot(X, X, a, a) + ot(Y, Y, b, b))
    assert abs(float(res.value) - expected) < 1e-10
    # the plan operator is the a-b problem's: its marginals are a and b
    np.testing.assert_allclose(res.marginal_a, a, atol=1e-10)
    np.testing.assert_allclose(res.marginal_b, b, atol=1e-10)
    ab = numbaot.solve_sample(X, Y, a, b, reg=reg, metric=metric, tol=1e-13, max_iter=20000)
    assert abs(float(res.value_linear) - float(ab.value_linear)) < 1e-9


def test_dense_and_online_paths_agree_step_by_step():
    X, Y = _clouds(seed=1)
    kw = dict(reg=0.01, tol=None)
    dense = solve_divergence(X, Y, lazy=False, **kw)
    online = solve_divergence(X, Y, lazy=True, **kw)
    assert dense.n_iter == online.n_iter == len(dense.errors) + 1
    assert abs(float(dense.value) - float(online.value)) < 1e-12
    np.testing.assert_allclose(dense.potential_a, online.potential_a, atol=1e-12)
    np.testing.assert_allclose(dense.errors, online.errors, rtol=1e-8)


@pytest.mark.parametrize("reach", [None, 0.5])
@pytest.mark.parametrize("p", [1, 2])
def test_fixed_schedule_matches_geomloss_loop(p, reach):
    """With GeomLoss's temperatures (scaled by p: our cost has no 1/p) and no tolerance, the value and
    potentials are p times those of GeomLoss's loop."""
    X, Y = _clouds(n=12, m=9, d=3, seed=2)
    a, b = _weights(12, 9, seed=2)
    if reach is not None:
        b = 1.3 * b  # unbalanced: masses may differ
    blur, scaling = 0.1, 0.6
    diameter = float(np.linalg.norm(np.maximum(X.max(0), Y.max(0)) - np.minimum(X.min(0), Y.min(0))))
    eps_list = [p * e for e in epsilon_schedule(p, diameter, blur, scaling)]
    metric = "sqeuclidean" if p == 2 else "euclidean"
    res = solve_divergence(X, Y, a, b, reg=p * blur**p, reg_m=None if reach is None else p * reach**p,
                           metric=metric, tol=None, eps_list=eps_list)
    value, f, g = geomloss_sinkhorn_naive(a, X, b, Y, p=p, blur=blur, reach=reach, scaling=scaling)
    assert np.isclose(float(res.value) / p, value, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.potential_a / p, f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.potential_b / p, g, rtol=1e-9, atol=1e-12)


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.floats(0.1, 2.0), st.integers(0, 2**31))
# CI's bounds-checked pass drew this one: marginals a = (0.375, 0.5, 0.125), b = (0.5, 0.5) split exactly (a
# degenerate problem), costs up to ~160 reg; Sinkhorn stops at max_iter with a marginal error of 2e-5, reported
@example(n=3, m=2, d=3, reg=0.125, seed=178)
def test_axioms(n, m, d, reg, seed):
    """S >= 0, S(a, b) = S(b, a), S(a, a) = 0: to 1e-8 when every solve converged, to 1e-4 when one stopped at
    max_iter (it says so with a ConvergenceWarning; the axioms hold at the solution, not at an iterate)."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = _weights(n, m, seed)
    kw = dict(reg=reg, tol=1e-10, max_iter=20000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s_ab = numbaot.sinkhorn_divergence(X, Y, a, b, **kw)
        s_ba = numbaot.sinkhorn_divergence(Y, X, b, a, **kw)
        s_aa = numbaot.sinkhorn_divergence(X, X, a, a, **kw)
    converged = not any(issubclass(w.category, numbaot.ConvergenceWarning) for w in caught)
    tol = 1e-8 if converged else 1e-4
    assert s_ab >= -tol  # S >= 0
    assert abs(s_ab - s_ba) <= tol * max(1.0, abs(s_ab))  # symmetric
    assert abs(s_aa) <= tol  # S(a, a) = 0


def test_translation_is_planted():
    """Translating a cloud by t: for the squared Euclidean cost S_eps = |t|^2 exactly at every eps (the cross term
    of |x - y - t|^2 is absorbed by the potentials); for the Euclidean cost S_eps increases to |t| as eps -> 0."""
    X, _ = _clouds(n=15, seed=3)
    t = np.array([0.3, -0.4])  # |t| = 0.5
    kw = dict(tol=1e-8, max_iter=20000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reg in (1.0, 0.1, 0.03):
            assert abs(float(numbaot.sinkhorn_divergence(X, X + t, reg=reg, **kw)) - 0.25) < 1e-7
        values = [float(numbaot.sinkhorn_divergence(X, X + t, reg=reg, metric="euclidean", **kw))
                  for reg in (0.1, 0.03, 0.01)]
    assert values == sorted(values) and 0.49 < values[-1] <= 0.5


def test_unbalanced_tends_to_balanced_and_accepts_unequal_masses():
    X, Y = _clouds(n=10, m=8, seed=4)
    a, b = _weights(10, 8, seed=4)
    kw = dict(reg=0.2, tol=1e-9, max_iter=20000)
    balanced = float(numbaot.sinkhorn_divergence(X, Y, a, b, **kw))
    # the gap to the balanced divergence shrinks like 1 / rho (rho = 0.5, 5, 50)
    gaps = [abs(float(numbaot.sinkhorn_divergence(X, Y, a, b, reg_m=rho, **kw)) - balanced) / balanced
            for rho in (0.5, 5.0, 50.0)]
    assert gaps[2] < 0.02 and 5 < gaps[0] / gaps[1] < 20 and 5 < gaps[1] / gaps[2] < 20
    assert float(numbaot.sinkhorn_divergence(X, Y, a, b, reg_m=np.inf, **kw)) == pytest.approx(balanced, rel=1e-12)
    assert float(numbaot.sinkhorn_divergence(X, Y, a, 2 * b, reg_m=1.0, **kw)) > 0  # masses may differ
    assert abs(float(numbaot.sinkhorn_divergence(X, X, a, a, reg_m=1.0, **kw))) < 1e-8  # up to tol


def test_zero_weights_float32_and_status():
    X, Y = _clouds(n=8, m=6, seed=5)
    a, b = _weights(8, 6, seed=5)
    a[2] = 0.0
    a /= a.sum()
    res = numbaot.solve_sample(X.astype(np.float32), Y.astype(np.float32), a, b, reg=0.1, debias=True)
    assert res.status is numbaot.Status.OPTIMAL and isinstance(res.value, np.float32)
    assert res.potential_a.dtype == np.float32 and np.isfinite(res.potential_a).all()
    full = numbaot.solve_sample(X, Y, a, b, reg=0.1, debias=True)
    drop = numbaot.solve_sample(np.delete(X, 2, 0), Y, np.delete(a, 2), b, reg=0.1, debias=True)
    assert abs(float(full.value) - float(drop.value)) < 1e-12  # a zero weight is a point that is not there
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        short = numbaot.solve_sample(X, Y, reg=1e-3, debias=True, max_iter=12)
    assert short.status is numbaot.Status.MAX_ITER_REACHED


def test_schedule():
    eps = epsilon_schedule(2, 4.0, 0.1, 0.5)
    assert eps[0] == 16.0 and eps[-1] == pytest.approx(0.01)
    ratios = np.array(eps[1:-1])[1:] / np.array(eps[1:-1])[:-1]
    np.testing.assert_allclose(ratios, 0.25)
    assert epsilon_schedule(2, 0.0, 0.1, 0.5) == [pytest.approx(0.01), pytest.approx(0.01)]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(reg=0.1, scaling=1.0), ValueError, "scaling must lie strictly between 0 and 1"),
    (dict(reg=0.1, scaling="half"), TypeError, "scaling must be a real number"),
    (dict(reg=0.1, reg_m=-1.0), ValueError, r"reg_m \(first marginal\) must be > 0"),
    (dict(reg=0.1, reg_m="big"), TypeError, "reg_m must be a positive number"),
    (dict(reg=-0.1), ValueError, "finite positive"),
    (dict(reg=0.1, b=[0.5, 0.6]), ValueError, "same total mass"),
])
def test_bad_parameters(kwargs, exc, match):
    X = np.arange(4.0).reshape(2, 2)
    with pytest.raises(exc, match=match):
        numbaot.sinkhorn_divergence(X, X + 1, **kwargs)


def test_solve_sample_argument_checks():
    X = np.arange(4.0).reshape(2, 2)
    with pytest.raises(ValueError, match="debias and reg_m apply to entropic OT"):
        numbaot.solve_sample(X, X, debias=True)
    with pytest.raises(ValueError, match="reg_m .* runs online: pass lazy=True"):
        numbaot.solve_sample(X, X, reg=0.1, reg_m=1.0)
    with pytest.raises(TypeError, match="debias must be True or False"):
        numbaot.solve_sample(X, X, reg=0.1, debias=1)
    with pytest.raises(ValueError, match="dimension"):
        numbaot.solve_sample(X, np.ones((2, 3)), reg=0.1, debias=True)


def test_debiased_result_keeps_the_self_potentials():
    """``potential_aa`` / ``potential_bb`` are the symmetric problems' potentials: certificate, each is a fixed point
    of its own softmin, ``f_i = -eps log sum_j a_j exp((f_j - C_ij) / eps)`` (checked with numpy); the reported
    potentials are the debiased differences ``f_ba - f_aa``, ``g_ab - g_bb``."""
    rng = np.random.default_rng(12)
    X, Y = rng.random((25, 2)), rng.random((15, 2))
    eps = 0.1
    res = numbaot.solve_sample(X, Y, reg=eps, debias=True, tol=1e-12, max_iter=5000)
    for Z, f in ((X, res.potential_aa), (Y, res.potential_bb)):
        C = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        w = np.full(len(Z), 1 / len(Z))
        t = np.log(w)[None, :] + (f[None, :] - C) / eps
        top = t.max(axis=1, keepdims=True)
        softmin = -eps * (top[:, 0] + np.log(np.exp(t - top).sum(axis=1)))
        np.testing.assert_allclose(softmin, f, atol=1e-8)
    assert res.points is not None and res.weights is not None
    plain = numbaot.solve_sample(X, Y, reg=eps, debias=False, tol=1e-12, max_iter=5000)
    assert plain.potential_aa is None and plain.potential_bb is None


@pytest.mark.parametrize("reg_m", [None, 1.0])
def test_overrelaxation_reaches_the_plain_fixed_point_in_fewer_steps(monkeypatch, reg_m):
    """At a small temperature the a-b updates are over-relaxed (``_symmetric._Overrelaxation``): the same fixed
    point (value, potentials) as plain alternate updates, in fewer steps; issue 13's example converges by default."""
    from numbaot.entropic import _symmetric

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(90, 2)) + 1.0
    fast = solve_divergence(X, Y, reg=0.01, reg_m=reg_m, tol=1e-10, max_iter=20000)
    assert fast.status == numbaot.Status.OPTIMAL
    monkeypatch.setattr(_symmetric._Overrelaxation, "MAX_OMEGA", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbaot.ConvergenceWarning)
        plain = solve_divergence(X, Y, reg=0.01, reg_m=reg_m, tol=1e-10, max_iter=3 * fast.n_iter)
    assert plain.status == numbaot.Status.MAX_ITER_REACHED or plain.n_iter > 1.6 * fast.n_iter, plain
    np.testing.assert_allclose(fast.value, plain.value, rtol=1e-6)
    if reg_m is None:  # certificate: the a-b plan's marginals (plain updates are still off by ~1e-7 here)
        plan = np.asarray(fast.plan)
        np.testing.assert_allclose(plan.sum(1), 1 / 120, atol=1e-10)
        np.testing.assert_allclose(plan.sum(0), 1 / 90, atol=1e-10)


def test_overrelaxation_backs_off_when_the_error_grows():
    relax = _symmetric_overrelaxation()
    for k in range(3 * relax.WINDOW + 1):  # plain steps shrinking by 0.99: omega rises above 1
        relax.observe(0.99**k)
    assert 1.5 < relax.omega <= relax.MAX_OMEGA
    for k in range(relax.WINDOW + 1):  # then the error explodes: plain updates for good
        relax.observe(100.0 * 2.0**k)
    assert relax.omega == 1.0 and not relax.enabled


def _symmetric_overrelaxation():
    from numbaot.entropic._symmetric import _Overrelaxation

    return _Overrelaxation()


# ---- the divergence's <P, C>: the solvers' own sums, against numpy on the same potentials
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", [False, True])
def test_plan_linear_is_the_explicit_plans_sum(dtype, kernel, monkeypatch):
    """``_sinkhorn_log.plan_linear`` (no plan kept) equals sum(P * C) over the explicit plan, forbidden arcs
    (C = +inf) and zero weights counting 0: by numpy, and (``kernel``) by the dense solver's parallel read-out over
    blocks of rows (a last block shorter than the others)."""
    from numbaot.entropic import _sinkhorn_log

    if kernel:
        monkeypatch.setattr(_sinkhorn_log, "NUMPY_PLAN_MAX", 0)
        monkeypatch.setattr(_sinkhorn_log, "PLAN_BLOCK", 7 * 23)
    rng = np.random.default_rng(5)
    n, m, eps = 40, 23, 0.2
    C = rng.random((n, m)).astype(dtype)
    C[3, 7] = np.inf
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a[11] = 0.0
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    f, g = rng.normal(size=n) * 0.1, rng.normal(size=m) * 0.1
    C64 = C.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        P = a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - C64) / eps)
        want = float(np.where(P > 0, P * C64, 0.0).sum())
    assert P[3, 7] == 0.0 and want > 0
    got = _sinkhorn_log.plan_linear(C, log_a, log_b, f, g, eps)
    assert isinstance(got, float)
    assert got == pytest.approx(want, rel=1e-12)  # float64 entries, whatever C's dtype


@pytest.mark.parametrize("lazy", [False, True])
def test_divergence_linear_value_is_its_plans(lazy):
    """The divergence's ``value_linear`` is sum(P * C) of its explicit plan (float32 clouds under a fixed schedule:
    float32 costs in the dense case)."""
    rng = np.random.default_rng(6)
    X, Y = rng.random((30, 2)).astype(np.float32), rng.random((25, 2)).astype(np.float32)
    res = solve_divergence(X, Y, reg=0.05, tol=None, lazy=lazy, warn=False)
    P = np.asarray(res.plan, np.float64)
    C = numbaot.dist(X, Y).astype(np.float64)
    assert float(res.value_linear) == pytest.approx(float((P * C).sum()), rel=1e-5)  # float32 result and plan


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
@pytest.mark.parametrize("kernel", [False, True])
def test_plan_sums_match_numpy(metric, kernel, monkeypatch):
    """``_online.plan_sums``: the plan's row (and, swapped, column) masses and costs from the points, by numpy
    for small clouds and (``kernel``) by the parallel kernel."""
    from numbaot import _costs
    from numbaot.entropic import _online
    from numbaot.entropic._online import PointGeometry

    if kernel:
        monkeypatch.setattr(_costs, "NUMPY_COSTS_MAX", 0)
    rng = np.random.default_rng(4)
    X, Y = rng.random((300, 2)), rng.random((9, 2))  # 300 points: more than one chunk of costs per row
    a, b = _weights(300, 9, seed=4)
    log_a, log_b = np.log(a), np.log(b)
    f, g = rng.normal(size=300) * 0.05, rng.normal(size=9) * 0.05
    eps = 0.2
    geom = PointGeometry(X, Y, metric, None)
    C = numbaot.dist(X, Y, metric=metric)
    P = a[:, None] * b[None, :] * np.exp((f[:, None] + g[None, :] - C) / eps)
    mass, cost = _online.plan_sums(geom, log_a, log_b, f, g, eps, None)
    np.testing.assert_allclose(mass, P.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(cost, (P * C).sum(axis=1), rtol=1e-10)
    mass, cost = _online.plan_sums(geom, log_b, log_a, g, f, eps, None, swapped=True)
    np.testing.assert_allclose(mass, P.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cost, (P * C).sum(axis=0), rtol=1e-10)

