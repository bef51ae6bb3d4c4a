"""Barycenters (numbaot.barycenters.api): POT's values, plain-numpy references, certificates and planted answers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import numbaot
from numbaot import BarycenterResult, ConvergenceWarning, Status

ot = pytest.importorskip("ot")


def _hists(rng, n, K, zeros=False):
    A = rng.random((n, K)) + (0.0 if zeros else 0.05)
    if zeros:
        A[rng.random((n, K)) < 0.3] = 0.0
        A[0] += 0.1  # never an all-zero histogram
    return A / A.sum(axis=0)


def _line_cost(n):
    x = np.linspace(0.0, 1.0, n)
    return (x[:, None] - x[None, :]) ** 2


def _grid_cost(*shape):
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, s) for s in shape], indexing="ij")
    P = np.stack(axes, -1).reshape(-1, len(shape))
    return ((P[:, None, :] - P[None, :, :]) ** 2).sum(-1)


def naive_bregman(A, M, reg, weights, n_iter=20000):
    """Iterative Bregman projections in plain numpy, scaling domain (moderate reg only): the reference."""
    K = np.exp(-M / reg)
    v = np.ones_like(A)
    for _ in range(n_iter):
        u = A / (K @ v)
        Ktu = K.T @ u
        bar = np.exp(np.log(Ktu) @ weights)
        v = bar[:, None] / Ktu
    return bar


# ------------------------------------------------------------------------------------------------ fixed support
@pytest.mark.parametrize("K, reg", [(3, 0.05), (4, 0.01), (5, 2e-3)])
def test_barycenter_matches_pot_log(K, reg):
    rng = np.random.default_rng(K)
    A, M = _hists(rng, 40, K), _line_cost(40)
    w = rng.random(K)
    w /= w.sum()
    ours = numbaot.barycenter(A, M, reg, w, tol=1e-13, max_iter=50000)
    theirs = ot.barycenter(A, M, reg, w, method="sinkhorn_log", stopThr=1e-15, numItermax=50000, warn=False)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-7)
    assert np.isclose(ours.sum(), 1.0, atol=1e-9)


@pytest.mark.parametrize("method", ["sinkhorn", "sinkhorn_log"])
def test_barycenter_matches_pot_scaling(method):
    rng = np.random.default_rng(21)
    A, M = _hists(rng, 50, 3), _line_cost(50)
    ours = numbaot.barycenter(A, M, 0.01, method=method, tol=1e-13, max_iter=50000)
    theirs = ot.barycenter(A, M, 0.01, method="sinkhorn", stopThr=1e-15, numItermax=50000, warn=False)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-7)


@pytest.mark.parametrize("n, m", [(7, 7), (9, 6), (5, 11), (70, 70)])
def test_toeplitz_kernel_products_equal_the_dense_ones(n, m):
    from numbaot.barycenters import _scaling

    rng = np.random.default_rng(n + m)
    t = rng.random(n + m - 1)  # diagonals: C[i, j] = t[i - j + m - 1]
    t[: (n + m) // 5] += 300.0  # the first diagonals' kernel entries underflow to 0.0 (skipped by the products)
    C = np.array([[t[i - j + m - 1] for j in range(m)] for i in range(n)])
    assert np.array_equal(_scaling.toeplitz_diagonals(C), t)
    K = np.exp(-C / 0.3)
    for B in (1, 2, 3, 4, 7):
        V, U = rng.random((B, m)), rng.random((B, n))
        for threshold in (0, 10**9):  # the Toeplitz operators, then the dense ones
            _scaling.TOEPLITZ_MIN_ENTRIES, old = threshold, _scaling.TOEPLITZ_MIN_ENTRIES
            try:
                apply, apply_T = _scaling.dense_operators(C, 0.3, 2)[:2]
            finally:
                _scaling.TOEPLITZ_MIN_ENTRIES = old
            np.testing.assert_allclose(apply(V), V @ K.T, rtol=1e-13)
            np.testing.assert_allclose(apply_T(U), U @ K, rtol=1e-13)
    C[3, 2] += 1e-12  # one entry off its diagonal's value (beyond rounding): dense
    assert _scaling.toeplitz_diagonals(C) is None
    assert _scaling.is_symmetric(_line_cost(5)) and not _scaling.is_symmetric(C)
    # a linspace grid's cost is constant along its diagonals up to rounding (a few ulps): Toeplitz
    assert _scaling.toeplitz_diagonals(_line_cost(60)) is not None


@pytest.mark.parametrize("grid", [np.arange(80.0), np.linspace(0.0, 1.0, 80)])
def test_scaling_on_a_regular_grid_matches_pot(grid):
    # (x_i - x_j)^2 is constant along diagonals (exactly for x = arange(n), up to rounding for linspace), so the
    # scaling domain runs the Toeplitz kernel (bench_barycenter.py's 1D case)
    rng = np.random.default_rng(22)
    M = (grid[:, None] - grid[None, :]) ** 2
    M /= M.max()
    A = _hists(rng, 80, 3)
    ours = numbaot.barycenter(A, M, 0.005, method="sinkhorn", tol=1e-13, max_iter=50000)
    theirs = ot.barycenter(A, M, 0.005, method="sinkhorn", stopThr=1e-15, numItermax=50000, warn=False)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-7)
    res = numbaot.solve_barycenter(A, M, 0.005, method="sinkhorn", tol=1e-4)
    pot, log = ot.barycenter(A, M, 0.005, method="sinkhorn", stopThr=1e-4, log=True)
    assert abs(res.n_iter - (log["niter"] + 1)) <= 10 and np.allclose(res.barycenter, pot, atol=1e-6)


@pytest.mark.parametrize("n, m, K", [(70, 70, 3), (67, 75, 1), (81, 66, 5)])
def test_compiled_toeplitz_loop_equals_the_numpy_iteration(n, m, K):
    # the balanced scaling domain on a Toeplitz kernel runs compiled whole (_scaling.toeplitz_bregman_core): the
    # same iterates, checks and stop as the numpy loop around the products; reg small enough that the far diagonals
    # underflow to 0.0 (the products skip them), blocks of 3 and of 1 input, rows and columns not multiples of 4
    from numbaot.barycenters import _scaling

    rng = np.random.default_rng(n + m + K)
    x, y = np.arange(n, dtype=float), np.arange(m, dtype=float)
    C = (x[:, None] - y[None, :]) ** 2 / 4000.0  # constant along diagonals, bitwise
    A = rng.random((K, n)) + 0.05
    A /= A.sum(axis=1, keepdims=True)
    weights = rng.random(K) + 0.1 if K != 3 else np.ones(3)  # equal weights: one log of the product per column
    weights /= weights.sum()
    reg = 1.6e-3
    ops = _scaling.dense_operators(C, reg, 2)
    assert ops.windows is not None and np.any(ops.windows[0] == 0.0) and ops.windows[0][n - 1] > 0
    for max_iter, tol in ((10000, 1e-11), (25, 0.0)):
        fused = _scaling.solve_scaling(ops, A, weights, reg, np.inf, False, max_iter, tol, 10)
        plain = _scaling.solve_scaling(ops._replace(windows=None), A, weights, reg, np.inf, False, max_iter, tol,
                                       10)
        assert (fused.status, fused.n_iter) == (plain.status, plain.n_iter)
        assert fused.status == (Status.OPTIMAL if tol or K == 1 else Status.MAX_ITER_REACHED)  # K = 1: spread 0
        np.testing.assert_allclose(fused.errors, plain.errors, rtol=1e-9, atol=1e-13)  # spreads: cancellation
        np.testing.assert_allclose(np.exp(fused.log_bar), np.exp(plain.log_bar), rtol=1e-11, atol=1e-16)
        np.testing.assert_allclose(fused.f, plain.f, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fused.g, plain.g, rtol=0, atol=1e-12)
    # the certificate: every plan's row marginal is its input, the column marginals agree with the barycenter
    fused = _scaling.solve_scaling(ops, A, weights, reg, np.inf, False, 10000, 1e-12, 10)
    from numbaot.barycenters._bregman import plans

    P = plans(C, fused, reg)
    assert np.allclose(P.sum(axis=2), A, atol=1e-14)
    assert np.allclose(P.sum(axis=1), np.exp(fused.log_bar), atol=1e-11)


def test_compiled_toeplitz_loop_reports_underflow():
    # C / reg far beyond 700: the Toeplitz kernel is mostly zeros and scalings overflow; status, not garbage
    A = np.zeros((80, 2))
    A[:5, 0] = 0.2
    A[-5:, 1] = 0.2
    with pytest.warns(ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve_barycenter(A, _line_cost(80), reg=1e-6, method="sinkhorn")
    assert res.status is Status.NUMERICAL_ERROR


def test_scaling_domain_reports_underflow():
    A = np.zeros((30, 2))
    A[:5, 0] = 0.2
    A[-5:, 1] = 0.2
    M = _line_cost(30)
    with pytest.warns(ConvergenceWarning, match="NUMERICAL_ERROR"):
        res = numbaot.solve_barycenter(A, M, reg=1e-7, method="sinkhorn")
    assert res.status is Status.NUMERICAL_ERROR
    res = numbaot.solve_barycenter(A, M, reg=1e-3)  # the log domain has no such limit
    assert res.converged and np.isclose(res.barycenter.sum(), 1.0)


def test_barycenter_matches_plain_numpy_and_methods_agree():
    rng = np.random.default_rng(1)
    A, M = _hists(rng, 25, 3), _line_cost(25)
    w = np.array([0.2, 0.3, 0.5])
    ref = naive_bregman(A, M, 0.05, w, 3000)
    for method in ("sinkhorn_log", "sinkhorn", "sinkhorn_stabilized"):
        assert np.allclose(numbaot.barycenter(A, M, 0.05, w, method, tol=1e-13), ref, atol=1e-9)


def test_barycenter_2d_histograms_against_pot():
    rng = np.random.default_rng(2)
    A, M = _hists(rng, 6 * 7, 3), _grid_cost(6, 7)
    ours = numbaot.barycenter(A, M, 0.01, tol=1e-13, max_iter=50000)
    theirs = ot.barycenter(A, M, 0.01, method="sinkhorn_log", stopThr=1e-15, numItermax=50000, warn=False)
    assert np.allclose(ours, theirs, atol=1e-7)


def test_result_certificates_zero_entries_and_dtype():
    rng = np.random.default_rng(3)
    A, M = _hists(rng, 30, 4, zeros=True), _line_cost(30)
    res = numbaot.solve_barycenter(A, M, reg=0.01, tol=1e-12)
    assert isinstance(res, BarycenterResult) and res.status is Status.OPTIMAL and res.converged
    for k, P in enumerate(res.plans):  # rows: input k exactly; columns: the barycenter, to the tolerance
        assert np.allclose(P.sum(axis=1), A[:, k], atol=1e-12)
        assert np.allclose(P.sum(axis=0), res.barycenter, atol=1e-10)
        assert np.all(P[A[:, k] == 0] == 0)
    expected = sum(w * np.sum(P * M) for w, P in zip(np.full(4, 0.25), res.plans))
    assert np.isclose(res.value, expected, rtol=1e-12)
    assert res.potential_a.shape == (4, 30) and res.potential_b.shape == (4, 30)
    res32 = numbaot.solve_barycenter(A.astype(np.float32), M.astype(np.float32), reg=0.01)
    assert res32.barycenter.dtype == np.float32
    assert np.allclose(res32.barycenter, res.barycenter, atol=1e-6)


def test_stable_at_small_reg():
    rng = np.random.default_rng(4)
    A, M = _hists(rng, 60, 3), _line_cost(60)
    bar = numbaot.barycenter(A, M * 10.0, reg=1e-3 * 10.0)  # reg = 1e-3 max(M)
    assert np.all(np.isfinite(bar)) and np.isclose(bar.sum(), 1.0, atol=1e-8)


def test_identical_inputs_and_one_input():
    rng = np.random.default_rng(5)
    a = _hists(rng, 20, 1)[:, 0]
    M = _line_cost(20)
    one = numbaot.barycenter(a[:, None], M, 0.02, tol=1e-12)
    three = numbaot.barycenter(np.stack([a, a, a], 1), M, 0.02, tol=1e-12)
    assert np.allclose(one, three, atol=1e-12)
    # the entropic barycenter of one input is its plan's column marginal: a blurred a
    res = numbaot.solve_barycenter(a[:, None], M, 0.02, tol=1e-12)
    assert np.allclose(res.plans[0].sum(axis=0), one, atol=1e-10)


def test_debiased_identical_inputs_give_the_input():
    x = np.linspace(0, 1, 30)
    a = np.exp(-(x - 0.4) ** 2 / 0.01) + 0.5 * np.exp(-(x - 0.75) ** 2 / 0.01)
    a /= a.sum()
    M = _line_cost(30)
    # a must be smooth at the kernel's scale sqrt(reg) (a = c K c for some c > 0, Janati et al. 2020)
    bar = numbaot.barycenter_debiased(np.stack([a, a, a], 1), M, 0.003)
    assert np.abs(bar - a).max() < 1e-6
    assert np.abs(numbaot.barycenter_debiased(np.stack([a, a, a], 1), M, 0.003, method="sinkhorn") - a).max() < 1e-6
    blurred = numbaot.barycenter(np.stack([a, a, a], 1), M, 0.003)
    assert np.abs(blurred - a).max() > 1e-3  # the bias the debiased barycenter removes


def test_debiased_close_to_pot():
    x = np.linspace(0, 1, 30)
    A = np.stack([np.exp(-(x - c) ** 2 / 0.01) for c in (0.2, 0.5, 0.7)], 1)
    A /= A.sum(axis=0)
    M = _line_cost(30)
    ours = numbaot.barycenter_debiased(A, M, 0.003, tol=1e-10, max_iter=50000)
    # POT's log version stops early on its own criterion; its scaling version runs to the same fixed point
    theirs = ot.bregman.barycenter_debiased(A, M, 0.003, method="sinkhorn", stopThr=1e-15, numItermax=20000,
                                             warn=False)
    assert np.abs(ours - theirs).max() < 1e-8


@pytest.mark.parametrize("reg_m", [0.5, 5.0])
def test_unbalanced_matches_pot(reg_m):
    rng = np.random.default_rng(7)
    A = rng.random((30, 3)) * np.array([1.0, 2.0, 0.5])  # different masses
    M = _line_cost(30)
    w = np.array([0.5, 0.25, 0.25])
    theirs = ot.barycenter_unbalanced(A, M, 0.05, reg_m, weights=w, stopThr=1e-15, numItermax=50000)
    for method in ("sinkhorn_log", "sinkhorn"):
        ours = numbaot.barycenter_unbalanced(A, M, 0.05, reg_m, method, w, tol=1e-13, max_iter=50000)
        assert np.allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_unbalanced_tends_to_balanced():
    rng = np.random.default_rng(8)
    A, M = _hists(rng, 20, 3), _line_cost(20)
    balanced = numbaot.barycenter(A, M, 0.05, tol=1e-12)
    # the penalty's slack shrinks like reg / reg_m (the iterations slow down in proportion to reg_m)
    gaps = [np.abs(numbaot.barycenter_unbalanced(A, M, 0.05, rho, tol=1e-10, max_iter=50000) - balanced).max()
            for rho in (10.0, 100.0)]
    assert gaps[1] < gaps[0] / 3 and gaps[1] < 1e-3
    assert np.allclose(numbaot.barycenter_unbalanced(A, M, 0.05, np.inf, tol=1e-12), balanced, atol=1e-12)


# ------------------------------------------------------------------------------------------------------- grids
def test_convolutional_matches_pot_and_dense():
    rng = np.random.default_rng(9)
    imgs = rng.random((3, 9, 11))
    imgs /= imgs.sum(axis=(1, 2), keepdims=True)
    ours = numbaot.convolutional_barycenter2d(imgs, 0.01, tol=1e-13, max_iter=50000)
    theirs = ot.bregman.convolutional_barycenter2d(imgs, 0.01, method="sinkhorn_log", stopThr=1e-15,
                                                   numItermax=50000, warn=False)
    assert ours.shape == (9, 11) and np.allclose(ours, theirs, atol=1e-7)
    scaling = numbaot.convolutional_barycenter2d(imgs, 0.01, method="sinkhorn", tol=1e-13, max_iter=50000)
    assert np.allclose(scaling, ours, atol=1e-10)
    dense = numbaot.barycenter(imgs.reshape(3, -1).T, _grid_cost(9, 11), 0.01, tol=1e-13, max_iter=50000)
    assert np.allclose(dense.reshape(9, 11), ours, atol=1e-10)


def test_convolutional_3d_equals_dense():
    rng = np.random.default_rng(10)
    vols = rng.random((2, 4, 5, 3))
    vols /= vols.sum(axis=(1, 2, 3), keepdims=True)
    ours = numbaot.convolutional_barycenter3d(vols, 0.02, tol=1e-12)
    dense = numbaot.barycenter(vols.reshape(2, -1).T, _grid_cost(4, 5, 3), 0.02, tol=1e-12)
    assert np.allclose(dense.reshape(4, 5, 3), ours, atol=1e-10)
    for debiased in (False, True):  # the scaling domain's separable products agree with the log domain's
        log = numbaot.convolutional_barycenter3d(vols, 0.02, debiased=debiased, tol=1e-12, max_iter=50000)
        scaling = numbaot.convolutional_barycenter3d(vols, 0.02, None, "sinkhorn", debiased=debiased, tol=1e-12,
                                                     max_iter=50000)
        assert np.allclose(scaling, log, atol=1e-9)


def test_convolutional_debiased_identical_images():
    img = np.zeros((12, 12))
    img[3:6, 4:9] = 1.0
    img[8, 2] = 2.0
    img /= img.sum()
    bar = numbaot.convolutional_barycenter2d_debiased(np.stack([img, img]), 0.003)
    assert np.abs(bar - img).max() < 1e-4
    res = numbaot.solve_barycenter(np.stack([img, img]), reg=0.003, debias=True)
    assert res.plans is None and np.isnan(res.value) and res.converged


# ------------------------------------------------------------------------------------------------------ exact
def test_lp_barycenter_planted_quantile_average():
    # translates of one histogram by 0 and 2s cells: the W2 barycenter is the translate by s (quantile average)
    base = np.array([0.1, 0.4, 0.2, 0.3])
    n, s = 14, 3
    A = np.zeros((n, 2))
    A[0:4, 0] = base
    A[2 * s:2 * s + 4, 1] = base
    x = np.arange(n, dtype=float)
    bar = numbaot.lp_barycenter(A, (x[:, None] - x[None, :]) ** 2)
    expected = np.zeros(n)
    expected[s:s + 4] = base
    assert np.allclose(bar, expected, atol=1e-9)


def test_lp_barycenter_matches_pot_value_and_certificates():
    rng = np.random.default_rng(11)
    A, M = _hists(rng, 12, 3), _line_cost(12)
    w = np.array([0.2, 0.5, 0.3])
    res = numbaot.solve_barycenter(A, M, weights=w)
    theirs = ot.lp.barycenter(A, M, w)
    value = lambda bar: sum(wk * ot.emd2(A[:, k].copy(), bar.copy(), M) for k, wk in enumerate(w))  # noqa: E731
    assert np.isclose(value(res.barycenter), value(theirs), rtol=1e-7)
    assert np.isclose(res.value, value(res.barycenter), rtol=1e-7)
    for k, P in enumerate(res.plans):
        assert np.allclose(P.sum(axis=1), A[:, k], atol=1e-9)
        assert np.allclose(P.sum(axis=0), res.barycenter, atol=1e-9)


def test_entropic_tends_to_exact_value():
    rng = np.random.default_rng(12)
    A, M = _hists(rng, 15, 2), _line_cost(15)
    exact = numbaot.solve_barycenter(A, M).value
    entropic = numbaot.solve_barycenter(A, M, reg=1e-3).value
    assert abs(entropic - exact) < 2e-3


# ----------------------------------------------------------------------------------------------- free support
def test_free_support_translates_average():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(12, 2))
    shifts = np.array([[0.0, 0.0], [3.0, -1.0], [-1.0, 5.0]])
    w = np.array([0.5, 0.2, 0.3])
    Y = numbaot.free_support_barycenter([X + t for t in shifts], None, X + [0.1, 0.2], weights=w)
    assert np.allclose(Y, X + w @ shifts, atol=1e-9)


def test_free_support_matches_pot():
    rng = np.random.default_rng(14)
    locs = [rng.normal(size=(n, 2)) + i for i, n in enumerate((20, 25, 30))]
    wts = [np.full(len(x), 1.0 / len(x)) for x in locs]
    X0 = rng.normal(size=(10, 2))
    ours = numbaot.solve_bary_sample(locs, a_list=wts, X_b_init=X0)
    theirs = ot.lp.free_support_barycenter(locs, wts, X0)
    cost = lambda Y: sum(ot.emd2(np.full(10, 0.1), w, ot.dist(Y, x)) for x, w in zip(locs, wts))  # noqa: E731
    assert np.isclose(cost(ours.support), cost(theirs), rtol=1e-6)
    assert ours.converged and len(ours.plans) == 3 and ours.plans[0].shape == (20, 10)
    assert np.isclose(ours.value, cost(ours.support) / 3, rtol=1e-9)


def test_free_support_sinkhorn_and_default_init():
    X = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    Y = numbaot.free_support_sinkhorn_barycenter([X, X + 2.0], None, X, reg=0.05)
    assert np.allclose(Y, X + 1.0, atol=1e-6)
    res = numbaot.solve_bary_sample([X, X + 2.0], 3, random_state=1)
    assert res.support.shape == (3, 2) and res.converged


# ------------------------------------------------------------------------------------------------- convergence
def test_max_iter_is_reported():
    rng = np.random.default_rng(15)
    A, M = _hists(rng, 20, 3), _line_cost(20)
    with pytest.warns(ConvergenceWarning, match="barycenter: MAX_ITER_REACHED") as record:
        res = numbaot.solve_barycenter(A, M, reg=1e-3, max_iter=20)
    assert record[0].filename == __file__
    assert res.status is Status.MAX_ITER_REACHED and res.n_iter == 20 and res.errors.size == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numbaot.barycenter(A, M, 1e-3, max_iter=20, warn=False)


@given(st.integers(0, 2**32 - 1), st.integers(2, 4), st.sampled_from([0.02, 0.1]))
def test_property_marginals_and_symmetry(seed, K, reg):
    """The barycenter carries the inputs' mass, does not depend on the inputs' order, and equal weights on a
    swapped pair give the same answer."""
    rng = np.random.default_rng(seed)
    A, M = _hists(rng, 10, K, zeros=bool(seed % 2)), _line_cost(10)
    w = rng.random(K) + 0.1
    w /= w.sum()
    perm = rng.permutation(K)
    bar = numbaot.barycenter(A, M, reg, w, tol=1e-12)
    assert np.isclose(bar.sum(), 1.0, atol=1e-9)
    assert np.allclose(numbaot.barycenter(A[:, perm], M, reg, w[perm], tol=1e-12), bar, atol=1e-9)


# -------------------------------------------------------------------------------------------------- bad input
A0 = np.array([[0.5, 0.25], [0.5, 0.75]])
M0 = np.array([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("call, match", [
    (lambda: numbaot.barycenter(np.array([[0.5, 0.5], [0.5, 1.0]]), M0, 0.1), "same total mass"),
    (lambda: numbaot.barycenter(A0, M0, 0.1, [-0.5, 1.5]), "weights.*negative"),
    (lambda: numbaot.barycenter(A0, M0, 0.1, [0.5, 0.6]), "sum to 1"),
    (lambda: numbaot.barycenter(A0, M0, 0.1, [1.0]), "weights has 1 entries"),
    (lambda: numbaot.barycenter(A0, np.zeros((3, 3)), 0.1), "M has shape"),
    (lambda: numbaot.barycenter(A0, M0, 0.0), "reg = 0"),
    (lambda: numbaot.barycenter(A0, M0, -1.0), "reg must be"),
    (lambda: numbaot.barycenter(np.array([[np.nan, 0.5], [1.0, 0.5]]), M0, 0.1), "finite"),
    (lambda: numbaot.barycenter(np.array([[-0.5, 0.5], [1.5, 0.5]]), M0, 0.1), "negative"),
    (lambda: numbaot.barycenter(A0, np.array([[0.0, np.nan], [1.0, 0.0]]), 0.1), r"M\[0, 1\] is NaN"),
    (lambda: numbaot.barycenter(A0, M0, 0.1, method="bogus"), "unknown method"),
    (lambda: numbaot.barycenter(np.zeros((0, 2)), M0, 0.1), "empty"),
    (lambda: numbaot.barycenter_debiased(A0, np.zeros((2, 3)), 0.1), "square"),
    (lambda: numbaot.barycenter_unbalanced(A0, M0, 0.1, -1.0), "reg_m"),
    (lambda: numbaot.convolutional_barycenter2d(np.ones((2, 3)), 0.1), "3-D"),
    (lambda: numbaot.convolutional_barycenter2d(np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))]), 0.1),
     "same total mass"),
    (lambda: numbaot.lp_barycenter(A0, M0, [0.2, 0.2]), "sum to 1"),
    (lambda: numbaot.free_support_barycenter([np.zeros((2, 3))], None, np.zeros((2, 2))), "dimension"),
    (lambda: numbaot.free_support_barycenter(np.zeros((2, 2)), None, np.zeros((2, 2))), "list"),
    (lambda: numbaot.solve_barycenter(np.ones((2, 3, 3)) / 9), "reg must be given"),
    (lambda: numbaot.solve_bary_sample([np.zeros((2, 2))], 5), "exceeds"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_inputs_are_not_mutated():
    rng = np.random.default_rng(16)
    A, M = _hists(rng, 8, 3), _line_cost(8)
    A.flags.writeable = M.flags.writeable = False
    before = (A.copy(), M.copy())
    numbaot.barycenter(A, M, 0.1)
    numbaot.lp_barycenter(A, M)
    assert np.array_equal(A, before[0]) and np.array_equal(M, before[1])


# ------------------------------------------------------------------------------------------------------------ 1D
def test_barycenter_1d_is_the_quantile_average():
    rng = np.random.default_rng(30)
    xs = [rng.normal(size=n) * s + c for n, s, c in ((7, 1.0, 0.0), (5, 2.0, 3.0), (9, 0.5, -2.0))]
    ws = [rng.random(len(x)) + 0.1 for x in xs]
    lam = np.array([0.2, 0.3, 0.5])
    res = numbaot.barycenter_1d(xs, ws, lam)
    support, mass = res.support[:, 0], res.barycenter
    assert np.isclose(mass.sum(), 1.0) and np.all(np.diff(support) >= 0)
    # the quantile functions on a fine grid of levels (plain numpy): Q_bar = sum_k lam_k Q_k
    t = (np.arange(20000) + 0.5) / 20000
    quantile = lambda x, w, t: np.sort(x)[np.searchsorted(np.cumsum(w[np.argsort(x)]) / w.sum(), t)]  # noqa: E731
    expected = sum(lk * quantile(x, w, t) for lk, x, w in zip(lam, xs, ws))
    assert np.allclose(quantile(support, mass, t), expected, atol=1e-12)
    # the value is the objective, and no other measure tried does better
    value = sum(lk * numbaot.wasserstein_1d(support, x, mass, w / w.sum(), p=2) for lk, x, w in zip(lam, xs, ws))
    assert np.isclose(res.value, value, rtol=1e-10)
    shifted = sum(lk * numbaot.wasserstein_1d(support + 0.1, x, mass, w / w.sum(), p=2)
                  for lk, x, w in zip(lam, xs, ws))
    assert shifted > value


def test_barycenter_1d_matches_free_support_and_lp():
    x = np.arange(5.0)
    res = numbaot.barycenter_1d([x, x + 4.0])
    assert np.allclose(res.support[:, 0], x + 2.0)
    A = np.zeros((9, 2))
    A[:5, 0] = 0.2
    A[4:, 1] = 0.2
    grid = np.arange(9.0)
    assert np.allclose(numbaot.lp_barycenter(A, (grid[:, None] - grid[None, :]) ** 2)[2:7], 0.2, atol=1e-9)
    free = numbaot.free_support_barycenter([x[:, None], x[:, None] + 4.0], None, res.support, res.barycenter)
    assert np.allclose(free, res.support, atol=1e-12)
    with pytest.raises(ValueError, match="sum to 1"):
        numbaot.barycenter_1d([x, x], weights=[0.5, 0.6])
    with pytest.raises(TypeError, match="list"):
        numbaot.barycenter_1d(x)


def test_float32_weights_judged_at_their_precision():
    """A float32 softmax misses 1 by a few 1e-8: accepted (renormalised), the same barycenter as float64 weights;
    a float32 vector that is really off still refused."""
    w32 = np.exp(np.array([0.1, -0.3], np.float32))
    w32 = w32 / w32.sum()
    assert abs(float(np.sum(w32, dtype=np.float64)) - 1.0) > 0  # the float32 rounding the check must tolerate
    got = numbaot.barycenter(A0, M0, 0.1, w32)
    want = numbaot.barycenter(A0, M0, 0.1, w32.astype(np.float64) / np.sum(w32, dtype=np.float64))
    assert np.allclose(got, want, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="sum to 1"):
        numbaot.barycenter(A0, M0, 0.1, np.array([0.5, 0.5001], np.float32))
