"""Conditional gradient internals: the closed-form line search and the descent of the objective."""
from __future__ import annotations

import numpy as np
import pytest
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


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 9), symmetric=st.booleans(),
       fused=st.booleans(), t=st.sampled_from([0.0, 0.3, 1.0]), n_chunks=st.integers(2, 5))
def test_step_and_dots_match_numpy_for_any_chunking(seed, n, m, symmetric, fused, t, n_chunks):
    """The step, the gradient, its maximum and the line search's dot products against plain numpy, and the row
    chunks of the parallel path give bit-identical results to one chunk (more chunks than rows included)."""
    rng = np.random.default_rng(seed)
    G, S, XG, XS, YG, YS, M = (rng.standard_normal((n, m)) for _ in range(7))
    u, v, ut, vt = rng.standard_normal(n), rng.standard_normal(m), rng.standard_normal(n), rng.standard_normal(m)
    if symmetric:
        YG, YS = XG, XS
    Mc = M if fused else np.zeros((1, 1))
    w_lin, w_quad = (0.4, 0.6) if fused else (0.0, 1.0)

    D = S - G
    want_dots = [np.vdot(XS - XG, D), np.vdot(XG, D), np.vdot(YG, D), np.vdot(M, D) if fused else 0.0]
    G_new, XG_new, YG_new = G + t * D, XG + t * (XS - XG), YG + t * (YS - YG)
    quad = (2 * (u[:, None] + v[None, :] - XG_new) if symmetric
            else u[:, None] + v[None, :] + ut[:, None] + vt[None, :] - XG_new - YG_new)
    want_grad = w_lin * (M if fused else 0.0) + w_quad * quad

    results = []
    for chunks in (1, n_chunks):
        arrays = [a.copy() for a in (G, XG)] + ([None] if symmetric else [YG.copy()])
        G1, XG1 = arrays[0], arrays[1]
        YG1 = XG1 if symmetric else arrays[2]
        YS1 = XS if symmetric else YS
        dots, grad = np.empty(4), np.empty((n, m))
        _cg._direction_dots(G1, S, XG1, XS, YG1, Mc, symmetric, fused, dots, chunks)
        top = _cg._step_and_gradient(G1, S, XG1, XS, YG1, YS1, t, Mc, w_lin, w_quad, u, v, ut, vt, symmetric,
                                     fused, grad, chunks)
        np.testing.assert_allclose(dots, want_dots, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(G1, G_new, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(XG1, XG_new, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(YG1, YG_new, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-12)
        assert top == np.abs(grad).max()
        results.append((dots, top, grad, G1, XG1))
    for first, second in zip(*results):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("where", [(0, 0), (2, 3), (3, 4)])
def test_gradient_maximum_propagates_nan(symmetric, where):
    """A NaN anywhere in the gradient (first, middle or last entry; from X, Y or M) makes its reported maximum NaN,
    with larger finite entries after it (the oracle then refuses the costs)."""
    n, m = 4, 5
    for source in ("X", "Y", "M"):
        XG, YG, M = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
        XG[n - 1, m - 1] = -1e6  # a large finite entry late in the scan
        {"X": XG, "Y": YG, "M": M}[source][where] = np.nan
        if symmetric and source == "Y":
            continue
        grad = np.empty((n, m))
        for chunks in (1, 3):
            top = _cg.gradient(XG, XG if symmetric else YG, M, 0.5, 1.0, np.ones(n), np.ones(m), np.zeros(n),
                               np.zeros(m), symmetric, True, grad, chunks)
            assert np.isnan(top), (source, chunks)


@pytest.mark.parametrize("symmetric", [True, False])
def test_vertex_products_updates_change_nothing_but_time(monkeypatch, symmetric):
    """Conditional gradient with every vertex product computed afresh (a negative INCREMENTAL_SHARE) and with the
    default updates (this problem has 10 or more): same iterations, same path."""
    rng = np.random.default_rng(5)
    n, m = 40, 30
    C1, C2 = rng.random((n, n)), rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    p, q = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    s = _tensor.split(C1, C2, p, q, "square_loss", symmetric)
    runs = []
    for share in (_tensor.INCREMENTAL_SHARE, -1.0):
        monkeypatch.setattr(_tensor, "INCREMENTAL_SHARE", share)
        runs.append(_cg.conditional_gradient(s, p, q, None, 0.0, 1.0, np.outer(p, q), 300, 1e-9, 1e-12, 1))
    assert runs[0].n_iter == runs[1].n_iter
    np.testing.assert_allclose(runs[0].history, runs[1].history, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(runs[0].plan, runs[1].plan, atol=1e-11)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_small_plans_compiled_step_matches_the_blas_path(monkeypatch, symmetric, fused):
    """Small plans take the vertex products in plain compiled loops and the step in the same call
    (``_vertex_step``); with that path off (SMALL_ENTRIES 0) the products come from BLAS: the same iterations,
    the same objective path and plan up to rounding."""
    rng = np.random.default_rng(11)
    n, m = 12, 9
    C1, C2 = rng.random((n, n)), rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    p, q = rng.random(n) + 0.1, rng.random(m) + 0.1
    p, q = p / p.sum(), q / q.sum()
    M = rng.random((n, m)) if fused else None
    w_lin, w_quad = (0.5, 0.5) if fused else (0.0, 1.0)
    s = _tensor.split(C1, C2, p, q, "square_loss", symmetric)
    runs = []
    for small in (_cg.SMALL_ENTRIES, 0):
        monkeypatch.setattr(_cg, "SMALL_ENTRIES", small)
        runs.append(_cg.conditional_gradient(s, p, q, M, w_lin, w_quad, np.outer(p, q), 300, 1e-9, 1e-12, 1))
    assert runs[0].n_iter == runs[1].n_iter > 1
    assert runs[0].status == runs[1].status
    np.testing.assert_allclose(runs[0].history, runs[1].history, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(runs[0].plan, runs[1].plan, atol=1e-12)
    check_plan(runs[0].plan, p, q)


def test_vertex_products_compiled_equal_the_blas_ones():
    """``_tensor.vertex_products`` (plain loops, in place) against ``VertexProducts.at`` (BLAS) over a sequence of
    random sparse vertices, both orientations (n <= m and n > m) and both symmetries."""
    rng = np.random.default_rng(2)
    for n, m, symmetric in ((7, 11, True), (11, 7, False), (9, 9, False)):
        h1, h2 = rng.standard_normal((n, n)), rng.standard_normal((m, m))
        if symmetric:
            h1, h2 = h1 + h1.T, h2 + h2.T
        h1t, h2t = np.ascontiguousarray(h1.T), np.ascontiguousarray(h2.T)
        ref = _tensor.VertexProducts(h1, h2, h1t, h2t, symmetric)
        S = np.zeros((n, m))
        XS = np.empty((n, m))
        YS = XS if symmetric else np.empty((n, m))
        last = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0), False)
        for step in range(6):
            k = n + m - 1
            cells = rng.choice(n * m, size=k, replace=False) if step != 3 else np.sort(last[0] * m + last[1])
            rows, cols = (cells // m).astype(np.int64), (cells % m).astype(np.int64)
            vals = rng.random(k) if step != 3 else last[2][np.argsort(last[0] * m + last[1])]
            X, Y = ref.at(rows, cols, vals, S)
            _tensor.vertex_products(h1, h2, h1t, h2t, symmetric, *last, rows, cols, vals, S, XS, YS,
                                    _tensor.INCREMENTAL_SHARE)
            last = (rows, cols, vals, True)
            dense = np.zeros((n, m))
            dense[rows, cols] = vals
            np.testing.assert_allclose(XS, h1 @ dense @ h2.T, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(XS, X, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(YS, Y, rtol=1e-12, atol=1e-12)
            assert not S.any()
