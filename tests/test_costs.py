"""``numbaot._costs``: the gradient of a plan's cost in the points (``plan_cost_grad``) against a dense numpy
reference, for every metric, both plan forms, zero weights and coincident points."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numbaot._costs import POINT_GRAD_METRICS, plan_cost_grad


def _reference(X, Y, f, g, log_a, log_b, eps, metric, normalise):
    diff = X[:, None, :] - Y[None, :, :]
    if metric == "sqeuclidean":
        C, dC = (diff**2).sum(-1), 2.0 * diff
    elif metric == "euclidean":
        C = np.sqrt((diff**2).sum(-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            dC = np.where(C[..., None] > 0, diff / C[..., None], 0.0)
    else:
        C, dC = np.abs(diff).sum(-1), np.sign(diff)
    with np.errstate(invalid="ignore"):
        Z = log_b[None, :] + (g[None, :] - C) / eps
    if normalise:
        top = Z.max(axis=1, keepdims=True)
        W = np.exp(Z - np.where(np.isfinite(top), top, 0.0))
        total = W.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            P = np.where(total > 0, np.exp(log_a)[:, None] * W / total, 0.0)
    else:
        P = np.exp(Z + f[:, None] / eps + log_a[:, None])
    return (P[..., None] * dC).sum(axis=1)


@given(n=st.integers(1, 40), m=st.integers(1, 70), d=st.integers(1, 4), seed=st.integers(0, 2**31 - 1),
       metric=st.sampled_from(sorted(POINT_GRAD_METRICS)), normalise=st.booleans(),
       eps=st.sampled_from([0.05, 0.5, 3.0]))
def test_plan_cost_grad_matches_dense_reference(n, m, d, seed, metric, normalise, eps):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    X[0] = Y[0]  # a coincident pair: the euclidean gradient is 0 there, not NaN
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    if n > 2:
        a[1] = 0.0  # zero weights: no gradient on that row, no mass from that column
    if m > 2:
        b[2] = 0.0
    a, b = a / a.sum(), b / b.sum()
    f, g = rng.normal(size=n) * 0.1, rng.normal(size=m) * 0.1
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a), np.log(b)
    out = np.full((n, d), np.nan)
    plan_cost_grad(X, np.ascontiguousarray(Y.T), f, g, log_a, log_b, eps, POINT_GRAD_METRICS[metric], normalise, out)
    ref = _reference(X, Y, f, g, log_a, log_b, eps, metric, normalise)
    np.testing.assert_allclose(out, ref, rtol=1e-11, atol=1e-13 * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("normalise", [True, False])
def test_plan_cost_grad_float32_points(normalise):
    rng = np.random.default_rng(3)
    X, Y = rng.random((30, 3)).astype(np.float32), rng.random((20, 3))
    f, g = np.zeros(30), np.zeros(20)
    log_a, log_b = np.full(30, -np.log(30)), np.full(20, -np.log(20))
    out = np.empty((30, 3))
    plan_cost_grad(X, np.ascontiguousarray(Y.T), f, g, log_a, log_b, 0.1, 0, normalise, out)
    ref = _reference(X.astype(np.float64), Y, f, g, log_a, log_b, 0.1, "sqeuclidean", normalise)
    np.testing.assert_allclose(out, ref, rtol=1e-11, atol=1e-14)
