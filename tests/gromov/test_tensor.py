"""The tensor product of Peyre et al. 2016 against the brute-force O(n^2 m^2) sum, for both losses."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numbaot.gromov import _tensor
from tests.naive import gw_objective_naive, gw_tensor_naive


def _problem(seed, n, m, symmetric):
    rng = np.random.default_rng(seed)
    C1 = rng.random((n, n))
    C2 = rng.random((m, m))
    if symmetric:
        C1, C2 = C1 + C1.T, C2 + C2.T
    T = rng.random((n, m))
    return C1, C2, T


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), m=st.integers(1, 6), symmetric=st.booleans(),
       loss=st.sampled_from(_tensor.LOSSES))
def test_tensor_product_matches_brute_force(seed, n, m, symmetric, loss):
    C1, C2, T = _problem(seed, n, m, symmetric)
    expected = gw_tensor_naive(C1, C2, T, loss)
    assert np.allclose(_tensor.tensor_product(C1, C2, T, loss), expected, rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), m=st.integers(1, 6), symmetric=st.booleans(),
       loss=st.sampled_from(_tensor.LOSSES))
def test_objective_and_transposed_split(seed, n, m, symmetric, loss):
    """E(T) = <L (x) T, T> from the split, and the transposed pieces are those of C1^T, C2^T."""
    C1, C2, T = _problem(seed, n, m, symmetric)
    s = _tensor.split(C1, C2, T.sum(axis=1), T.sum(axis=0), loss, symmetric=False)
    assert np.isclose(_tensor.objective(s, T), gw_objective_naive(C1, C2, T, loss), rtol=1e-12, atol=1e-12)
    st_ = _tensor.split(C1.T, C2.T, T.sum(axis=1), T.sum(axis=0), loss, symmetric=True)
    assert np.allclose(s.h1t, st_.h1) and np.allclose(s.h2t, st_.h2)
    assert np.allclose(s.ut, st_.u) and np.allclose(s.vt, st_.v)


@pytest.mark.parametrize("n, m", [(5, 9), (9, 5), (1, 4), (4, 1), (6, 6)])
@pytest.mark.parametrize("nnz", [1, 3, 20])
def test_quad_sparse_matches_dense(n, m, nnz):
    """Both associations of h1 S h2^T (chosen by the larger side) agree with the dense product; repeats add; a
    few entries use only some rows (columns), all of them with many."""
    rng = np.random.default_rng(n * 10 + m)
    h1, h2 = rng.normal(size=(n, n)), rng.normal(size=(m, m))
    rows = rng.integers(0, n, nnz).astype(np.int64)
    cols = rng.integers(0, m, nnz).astype(np.int64)
    vals = rng.random(nnz)
    S = np.zeros((n, m))
    np.add.at(S, (rows, cols), vals)
    got = _tensor.quad_sparse(h1, np.ascontiguousarray(h2.T), rows, cols, vals)
    assert np.allclose(got, h1 @ S @ h2.T, rtol=1e-12, atol=1e-12)


def _random_vertex(rng, n, m, nnz):
    """COO triples of a random sparse plan with distinct positions."""
    flat = rng.choice(n * m, size=min(nnz, n * m), replace=False)
    return (flat // m).astype(np.int64), (flat % m).astype(np.int64), rng.random(flat.shape[0])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), m=st.integers(1, 8))
def test_sparse_change_is_the_difference(seed, n, m):
    """The change between two sparse plans, densified, is their difference; no zero entries; scratch left zero."""
    rng = np.random.default_rng(seed)
    first, second = _random_vertex(rng, n, m, rng.integers(0, n * m + 1)), _random_vertex(rng, n, m, n + m)
    if rng.random() < 0.5:  # shared positions with equal values cancel
        second = (first[0][: n], first[1][: n], first[2][: n].copy())
    scratch = np.zeros((n, m))
    rows, cols, vals = _tensor.sparse_change(*first, *second, scratch)
    dense = np.zeros((n, m))
    np.add.at(dense, (rows, cols), vals)
    want = np.zeros((n, m))
    want[second[0], second[1]] += second[2]
    want[first[0], first[1]] -= first[2]
    np.testing.assert_array_equal(dense, want)
    assert np.all(vals != 0) and len(set(zip(rows, cols))) == len(vals)
    assert not scratch.any()


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), m=st.integers(1, 9), symmetric=st.booleans(),
       steps=st.integers(1, 6))
def test_vertex_products_follow_the_vertices(seed, n, m, symmetric, steps):
    """Along a sequence of vertices, each differing from the last in a few entries or in all (the updated and
    the fresh paths), the products equal h1 S h2^T and h1^T S h2 computed densely."""
    rng = np.random.default_rng(seed)
    h1, h2 = rng.normal(size=(n, n)), rng.normal(size=(m, m))
    if symmetric:
        h1, h2 = h1 + h1.T, h2 + h2.T
    h1t, h2t = np.ascontiguousarray(h1.T), np.ascontiguousarray(h2.T)
    products = _tensor.VertexProducts(h1, h2, h1t, h2t, symmetric)
    scratch = np.zeros((n, m))
    S = np.zeros((n, m))
    S[rng.integers(0, n, n + m), rng.integers(0, m, n + m)] = rng.random(n + m)
    for _ in range(steps):
        if rng.random() < 0.6:  # move a little: one entry changed, one added or removed
            S[rng.integers(n), rng.integers(m)] = rng.random() if rng.random() < 0.7 else 0.0
        else:
            S = np.where(rng.random((n, m)) < 0.3, rng.random((n, m)), 0.0)
        rows, cols = np.nonzero(S)
        X, Y = products.at(rows.astype(np.int64), cols.astype(np.int64), S[rows, cols], scratch)
        np.testing.assert_allclose(X, h1 @ S @ h2.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(Y, h1.T @ S @ h2, rtol=1e-12, atol=1e-12)
        assert not scratch.any()
    assert sum(products.counts.values()) == steps


@pytest.mark.parametrize("n, m", [(6, 6), (6, 9), (9, 6)])
def test_vertex_products_update_a_swap_and_recompute_a_new_vertex(n, m):
    """Two entries of a vertex swapped (2 of its rows and 2 of its columns): an update, whichever side the product
    runs over (rows when n <= m, columns when n > m); a vertex moved everywhere: afresh."""
    k = min(n, m)
    h1 = np.arange(n * n, dtype=float).reshape(n, n) % 7
    h2 = np.arange(m * m, dtype=float).reshape(m, m) % 5 - 2
    products = _tensor.VertexProducts(h1, h2, h1.T.copy(), h2.T.copy(), False)
    scratch = np.zeros((n, m))
    vals = np.full(k, 1.0 / k)
    base = np.arange(k)
    swapped = base.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    for rows, cols in ((base, base), (base, swapped), (base[::-1].copy(), (base + 1) % k)):
        S = np.zeros((n, m))
        S[rows, cols] = vals
        X, Y = products.at(rows.astype(np.int64), cols.astype(np.int64), vals, scratch)
        np.testing.assert_allclose(X, h1 @ S @ h2.T, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(Y, h1.T @ S @ h2, rtol=1e-13, atol=1e-13)
    assert products.counts == {"fresh": 2, "updated": 1}


def test_kl_loss_zero_entries_stay_finite():
    """A distance matrix's zero diagonal: the kl split stays finite, as the brute force with the same floor."""
    x = np.array([0.0, 1.0, 3.0])
    C = np.abs(x[:, None] - x[None, :])
    T = np.full((3, 3), 1 / 9)
    got = _tensor.tensor_product(C, C, T, "kl_loss")
    assert np.isfinite(got).all()
    assert np.allclose(got, gw_tensor_naive(C, C, T, "kl_loss"), rtol=1e-12, atol=1e-12)


def test_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of"):
        _tensor.loss_functions(np.eye(2), np.eye(2), "l1")


def _smooth_plans(n, m, steps, seed):
    """A sequence of smooth plans (Gibbs kernels of slowly moving potentials): changes close to low rank."""
    rng = np.random.default_rng(seed)
    x, y = np.linspace(0, 1, n), np.linspace(0, 1, m)
    for k in range(steps):
        shift = 0.2 + 0.05 * np.sin(k + rng.random())
        T = np.exp(-((x[:, None] - y[None, :] - shift) ** 2) / 0.1)
        yield T / T.sum()


def test_tracked_product_follows_the_dense_product(monkeypatch):
    """Updated by low-rank changes, X stays within a small multiple of ``sum |h1| |D| |h2|^T`` over the changes D
    of the float64 product; an anchor gives it exactly."""
    monkeypatch.setattr(_tensor, "TRACK_MIN_ENTRIES", 1)
    rng = np.random.default_rng(0)
    n, m = 120, 100
    h1, h2 = rng.random((n, n)), rng.random((m, m))
    tracker = _tensor.TrackedProduct(h1, h2)
    plans = list(_smooth_plans(n, m, 12, 1))
    X, anchored = tracker.at(plans[0])
    assert anchored and np.array_equal(X, _tensor.quad_dense(h1, plans[0], h2))
    change_products = 0.0
    for prev, T in zip(plans, plans[1:]):
        change_products += _tensor.quad_dense(h1, np.abs(T - prev), h2).max()  # h1, h2 >= 0: |h1| |D| |h2|^T
        X, anchored = tracker.at(T)
        assert not anchored
        error = np.abs(X - _tensor.quad_dense(h1, T, h2)).max()
        assert error <= 1e-4 * change_products
    assert tracker.counts["low_rank"] == len(plans) - 1
    tracker.exact_next = True
    X, anchored = tracker.at(plans[-1])
    assert anchored and np.array_equal(X, _tensor.quad_dense(h1, plans[-1], h2))


def test_tracked_product_keeps_a_basis_while_it_holds_the_changes(monkeypatch):
    """Changes of rank 3: in the same directions, one basis serves them all (sampled once); in new directions
    a new basis is sampled; the products stay exact to rounding (the changes lie in the bases)."""
    monkeypatch.setattr(_tensor, "TRACK_MIN_ENTRIES", 1)
    rng = np.random.default_rng(4)
    n, m = 120, 100
    h1, h2 = rng.random((n, n)), rng.random((m, m))
    tracker = _tensor.TrackedProduct(h1, h2)
    T = rng.random((n, m))
    tracker.at(T)
    U = rng.random((n, 3))
    for step in range(8):
        if step == 4:
            U = rng.random((n, 3))  # new directions
        T = T + 1e-3 * U @ rng.random((3, m))
        X, _ = tracker.at(T)
        assert np.allclose(X, _tensor.quad_dense(h1, T, h2), rtol=1e-10, atol=0)
    assert tracker.counts == {"anchor": 1, "low_rank": 8, "new_basis": 2}


def test_tracked_product_backs_off_from_full_rank_changes(monkeypatch):
    """Random changes are not close to low rank: the measured tail rejects them, each gets the float64 product
    (an anchor, reported as such), and the attempts back off: 0, 1, 3 changes skipped after 1, 2, 3 failures."""
    monkeypatch.setattr(_tensor, "TRACK_MIN_ENTRIES", 1)
    rng = np.random.default_rng(2)
    n = m = 110
    h1, h2 = rng.random((n, n)), rng.random((m, m))
    tracker = _tensor.TrackedProduct(h1, h2)
    T = rng.random((n, m))
    tracker.at(T)
    attempts = []
    for _ in range(8):
        T = T + 1e-3 * rng.random((n, m))
        tried = tracker.wait == 0
        X, anchored = tracker.at(T)
        attempts.append(tried)
        assert anchored and np.array_equal(X, _tensor.quad_dense(h1, T, h2))
    assert attempts == [True, True, False, True, False, False, False, True]
    assert tracker.counts == {"anchor": 9, "low_rank": 0, "new_basis": 0}


def test_tracked_product_start_and_untracked_cases(monkeypatch):
    """The product start's rank-one X; small problems and non-finite h1 always anchor."""
    rng = np.random.default_rng(3)
    h1, h2 = rng.random((30, 30)), rng.random((20, 20))
    p, q = rng.random(30), rng.random(20)
    small = _tensor.TrackedProduct(h1, h2)
    assert not small.track
    assert np.allclose(small.start_product(p, q), _tensor.quad_dense(h1, np.outer(p, q), h2), rtol=1e-12)
    assert small.at(np.outer(p, q))[1]
    monkeypatch.setattr(_tensor, "TRACK_MIN_ENTRIES", 1)
    monkeypatch.setattr(_tensor, "LOW_RANK", 4)
    assert _tensor.TrackedProduct(h1, h2).track
    h1[0, 0] = np.inf
    assert not _tensor.TrackedProduct(h1, h2).track
