"""The row bodies of ``entropic._softmin`` against scipy's log-sum-exp, at row lengths around the block size."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from numbaot.entropic._softmin import BLOCK, softmin_row_shifted


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [1, 5, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7])
def test_shifted_row_matches_logsumexp(dtype, m):
    # the blocks, a short last block and rows shorter than one block all sum every entry once; a float32 row is
    # summed in float32 by blocks, so its error stays near the float32 exponential's (a few 1e-7)
    rng = np.random.default_rng(m)
    C = rng.random((3, m)).astype(dtype)
    h = (rng.standard_normal(m) * 0.5).astype(dtype)
    inv_eps = dtype(20.0)
    for i in range(3):
        terms = h.astype(np.float64) - C[i].astype(np.float64) * float(inv_eps)
        exact = logsumexp(terms)
        shift = dtype(exact + 1.5)  # a guess off by 1.5: the sum is e^-1.5, well inside the accepted range
        got = softmin_row_shifted.cpu(C, i, h, inv_eps, shift)
        tol = 1e-6 if dtype == np.float32 else 1e-13
        assert abs(got - exact) <= tol * max(1.0, abs(exact)), (i, got, exact)
        # the pure-Python body (what the CUDA simulator runs) agrees
        assert abs(softmin_row_shifted.py(C, i, h, inv_eps, shift) - exact) <= tol * max(1.0, abs(exact))


def test_shifted_row_refuses_a_far_guess_and_infinite_shifts():
    C = np.zeros((1, 2 * BLOCK + 3), np.float32)
    h = np.zeros(C.shape[1], np.float32)
    for shift in (np.float32(200.0), np.float32(-200.0), np.float32(np.inf), np.float32(-np.inf)):
        assert np.isnan(softmin_row_shifted.cpu(C, 0, h, np.float32(1.0), shift))
