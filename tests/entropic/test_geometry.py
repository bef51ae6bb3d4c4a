"""The ragged batches of ``entropic._geometry`` (the Sinkhorn divergence's softmins, problems of different sizes in
one parallel region): every request against scipy's logsumexp on its own matrix or clouds."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.entropic import _geometry as G


def _softmin_reference(C, log_w, other, eps):
    from scipy.special import logsumexp

    return -eps * logsumexp((other[None, :] - C) / eps + log_w[None, :], axis=1)


def _padded(vectors, L):
    out = np.zeros((len(vectors), L))
    for k, v in enumerate(vectors):
        out[k, :len(v)] = v
    return out


def _ragged_requests(rng, n, m):
    """(rows, cols, log_w, other, prev) per request: the four pairs of clouds of sizes n and m, in a mixed order;
    one hint far off (its rows take the exact two-pass softmin), one request a zero weight."""
    sizes = (n, m)
    requests = []
    for rows, cols in ((1, 0), (0, 1), (1, 1), (0, 0)):
        log_w = np.log(rng.random(sizes[cols]) + 0.1)
        other = rng.normal(size=sizes[cols])
        requests.append((rows, cols, log_w, other, rng.normal(size=sizes[rows]) * 0.1))
    requests[1][2][3] = -np.inf
    requests[2][4][:] = 1e4
    return requests


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ragged_dense_runs_every_request_on_its_matrix(dtype):
    from numbaot._costs import cost_matrix

    rng = np.random.default_rng(1)
    n, m, eps = 37, 21, 0.3
    X, Y = rng.random((n, 2)), rng.random((m, 2))
    clouds = (X, Y)
    mats = {(r, c): cost_matrix(clouds[r], clouds[c], "sqeuclidean", 2.0, None, dtype) for r in (0, 1)
            for c in (0, 1)}
    order = [(0, 1), (1, 0), (0, 0), (1, 1)]
    requests = _ragged_requests(rng, n, m)
    L = max(n, m)
    out = np.full((4, L), np.nan)
    starts = np.cumsum([0] + [(n, m)[r[0]] for r in requests], dtype=np.int64)
    G.ragged_dense(tuple(mats[key] for key in order), np.array([order.index(r[:2]) for r in requests], np.int64),
                   starts, _padded([r[3] for r in requests], L), _padded([r[2] for r in requests], L),
                   _padded([r[4] for r in requests], L), eps, False, out)
    for k, (rows, cols, log_w, other, _) in enumerate(requests):
        want = _softmin_reference(mats[rows, cols].astype(np.float64), log_w, other, eps)
        np.testing.assert_allclose(out[k, :len(want)], want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock", "cosine"])
def test_ragged_clouds_runs_every_request_on_its_clouds(metric):
    from numbaot._costs import cost_matrix
    from numbaot.entropic._online import PointGeometry

    rng = np.random.default_rng(2)
    n, m, eps = 300, 41, 0.3  # 300 points: more than one chunk of costs per row
    X, Y = rng.random((n, 3)), rng.random((m, 3))
    clouds = (X, Y)
    requests = _ragged_requests(rng, n, m)
    L = max(n, m)
    out = np.full((4, L), np.nan)
    starts = np.cumsum([0] + [(n, m)[r[0]] for r in requests], dtype=np.int64)
    G.ragged_clouds(PointGeometry(X, Y, metric, None).clouds(), np.array([r[:2] for r in requests], np.int64),
                    starts, _padded([r[3] for r in requests], L),
                    _padded([r[2] for r in requests], L), _padded([r[4] for r in requests], L), eps, False, out)
    for k, (rows, cols, log_w, other, _) in enumerate(requests):
        want = _softmin_reference(cost_matrix(clouds[rows], clouds[cols], metric, None, None), log_w, other, eps)
        np.testing.assert_allclose(out[k, :len(want)], want, rtol=1e-11, atol=1e-11)
