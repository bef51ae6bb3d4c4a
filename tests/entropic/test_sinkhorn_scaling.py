"""The fused pass of the scaling-domain cores (``sinkhorn_pass`` + ``reduce_partial``): one read of K gives
``u = w / K v`` (or ``w (K v)^-tau``) and ``K^T u``, equal to numpy's two products for any chunk count and any
row count (blocks of four rows and the remainder), with failed rows counted and left untouched."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbaot.entropic._sinkhorn_scaling import reduce_partial, sinkhorn_pass


def _pass(K, w, tau, v, n_chunks, lo=1e-300, hi=1e300, u=None):
    n, m = K.shape
    u = np.full(n, -7.0) if u is None else u
    partial = np.full((n_chunks, m), np.nan)  # the pass must overwrite it: stale sums would leak through
    n_bad = sinkhorn_pass(K, w, tau, v, lo, hi, u, partial)
    KTu = np.empty(m)
    reduce_partial(partial, KTu)
    return n_bad, u, KTu


@given(n=st.integers(1, 13), m=st.integers(1, 9), n_chunks=st.integers(1, 6), tau=st.sampled_from([1.0, 0.3, 0.9]),
       seed=st.integers(0, 2**31))
def test_pass_equals_two_products(n, m, n_chunks, tau, seed):
    rng = np.random.default_rng(seed)
    K = rng.random((n, m)) + 0.01
    w, v = rng.random(n) + 0.1, rng.random(m) + 0.1
    n_bad, u, KTu = _pass(K, w, tau, v, n_chunks)
    assert n_bad == 0
    u_ref = w * (K @ v) ** -tau
    np.testing.assert_allclose(u, u_ref, rtol=1e-13)
    np.testing.assert_allclose(KTu, K.T @ u_ref, rtol=1e-12)


def test_chunking_alone_fixes_the_sums():
    """Same chunk count, same bits: the result does not depend on which thread ran which chunk."""
    rng = np.random.default_rng(1)
    K, w, v = rng.random((103, 37)), rng.random(103), rng.random(37)
    first = _pass(K, w, 1.0, v, 3)
    for _ in range(3):
        again = _pass(K, w, 1.0, v, 3)
        np.testing.assert_array_equal(again[1], first[1])
        np.testing.assert_array_equal(again[2], first[2])


@pytest.mark.parametrize("bad_rows", [[0], [5], [4, 9, 10], list(range(11))])
def test_rows_out_of_range_are_counted_and_left_alone(bad_rows):
    rng = np.random.default_rng(2)
    K, w, v = rng.random((11, 6)) + 0.1, rng.random(11) + 0.1, rng.random(6) + 0.1
    K[bad_rows[0]] = 0.0  # underflowed row: K v = 0
    for i in bad_rows[1:]:
        K[i] = np.nan if i % 2 else 1e300  # NaN, and an overflowing product
    u0 = np.full(11, 3.0)
    n_bad, u, _ = _pass(K, w, 1.0, v, 2, lo=1e-200, hi=1e200, u=u0)
    assert n_bad == len(bad_rows)
    good = np.setdiff1d(np.arange(11), bad_rows)
    np.testing.assert_array_equal(u[bad_rows], 3.0)
    np.testing.assert_allclose(u[good], w[good] / (K[good] @ v), rtol=1e-13)


def test_empty_chunks_add_zeros():
    """More chunks than rows (the cores cap the count at n, but the pass itself allows it): empty ones add 0."""
    K = np.array([[1.0, 2.0]])
    n_bad, u, KTu = _pass(K, np.array([3.0]), 1.0, np.array([1.0, 1.0]), 4)
    assert n_bad == 0
    np.testing.assert_allclose(u, [1.0])
    np.testing.assert_allclose(KTu, [1.0, 2.0])


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (33, 17)])
def test_gibbs_kernel_serial_and_parallel(shape):
    """The plain loop (one chunk) and the parallel one give the same bits, equal to numpy's exp; an entry far below
    the exponent range is 0 and +inf costs give 0."""
    from numbaot.entropic._sinkhorn_scaling import gibbs_kernel

    rng = np.random.default_rng(shape[0])
    C = rng.random(shape) * 5
    C[0, 0] = np.inf
    if C.size > 1:
        C.flat[-1] = 1e6  # exp(-1e7): underflows to 0
    alpha, beta = rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    outs = []
    for n_chunks in (1, 2):
        out = np.full(shape, np.nan)
        gibbs_kernel(C, alpha, beta, 0.1, out, n_chunks)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    with np.errstate(under="ignore"):
        # (x / eps against x * (1 / eps): the arguments, up to ~80 here, differ by an ulp or two)
        np.testing.assert_allclose(outs[0], np.exp((alpha[:, None] + beta[None, :] - C) / 0.1), rtol=2e-13)
