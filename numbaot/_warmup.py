"""Compile ahead of time: ``numbaot warmup`` (container images, cluster nodes, CI caches) runs each solver family
once on a tiny problem, so that its compiled cores land in the cache folder (``numbaot._config.cache_dir``) and
later processes only load them.

The problems use float64 arrays in the layouts the front-ends normalise to, the specialisations ordinary calls
use; a float32 call compiles its own specialisation on first use.
"""
from __future__ import annotations

import time
import warnings


def _points(n, d, seed):
    import numpy as np

    return np.random.default_rng(seed).random((n, d))


def _dist():
    import numbaot

    numbaot.dist(_points(5, 2, 0), _points(4, 2, 1))


def _exact():
    import numbaot

    numbaot.emd2(None, None, numbaot.dist(_points(5, 2, 0), _points(4, 2, 1)))


def _one_d():
    import numbaot

    x, y = _points(5, 1, 0)[:, 0], _points(4, 1, 1)[:, 0]
    numbaot.emd2_1d(x, y)
    numbaot.wasserstein_1d(x, y)


def _sinkhorn():
    import numbaot

    numbaot.sinkhorn2(None, None, numbaot.dist(_points(5, 2, 0), _points(4, 2, 1)), 0.5)


def _unbalanced():
    import numbaot

    M = numbaot.dist(_points(5, 2, 0), _points(4, 2, 1))
    numbaot.sinkhorn_unbalanced2(None, None, M, 0.5, 1.0)
    numbaot.solve_batch(M[None], 0.5)


def _online():
    import numbaot

    numbaot.solve_sample(_points(5, 2, 0), _points(4, 2, 1), reg=0.5, lazy=True)


def _divergence():
    import numbaot

    numbaot.sinkhorn_divergence(_points(5, 2, 0), _points(4, 2, 1), reg=0.5)


def _gromov():
    import numbaot

    C1 = numbaot.dist(_points(5, 2, 0), _points(5, 2, 0))
    C2 = numbaot.dist(_points(4, 3, 1), _points(4, 3, 1))
    numbaot.gromov_wasserstein2(C1, C2)
    numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=0.5)


def _barycenter():
    import numpy as np

    import numbaot

    x = np.linspace(0.0, 1.0, 6)
    A = np.stack([np.exp(-(x - 0.3) ** 2), np.exp(-(x - 0.7) ** 2)], axis=1)
    A /= A.sum(axis=0)
    M = (x[:, None] - x[None, :]) ** 2
    numbaot.barycenter(A, M, 0.1)
    numbaot.barycenter(A, M, 0.1, method="sinkhorn")
    numbaot.convolutional_barycenter2d(A.T.reshape(2, 2, 3), 0.1)


def _sliced():
    import numbaot

    numbaot.sliced_wasserstein_distance(_points(5, 2, 0), _points(4, 2, 1), n_projections=3, seed=0)


def _gaussian():
    import numbaot

    numbaot.empirical_bures_wasserstein_distance(_points(6, 2, 0), _points(5, 2, 1))


def _timeseries():
    from numbaot import timeseries

    X, Y = _points(5, 1, 0), _points(4, 1, 1)
    timeseries.dtw(X, Y)
    timeseries.soft_dtw_grad(X, Y, 1.0)


def _partial():
    import numbaot

    M = numbaot.dist(_points(5, 2, 0), _points(4, 2, 1))
    numbaot.partial_wasserstein2(None, None, M, m=0.5)
    numbaot.entropic_partial_wasserstein(None, None, M, 0.5, m=0.5)
    numbaot.mm_unbalanced2(None, None, M, 1.0)


def _regularized():
    import numbaot

    M = numbaot.dist(_points(5, 2, 0), _points(4, 2, 1))
    numbaot.smooth_ot_dual(None, None, M, 0.5)
    numbaot.cg(None, None, M, 0.5, lambda G: 0.5 * float((G**2).sum()), lambda G: G)


#: family -> what it compiles (the names ``numbaot warmup --family`` takes).
FAMILIES = {
    "dist": _dist,
    "exact": _exact,
    "1d": _one_d,
    "sinkhorn": _sinkhorn,
    "unbalanced": _unbalanced,
    "online": _online,
    "divergence": _divergence,
    "gromov": _gromov,
    "barycenter": _barycenter,
    "sliced": _sliced,
    "gaussian": _gaussian,
    "timeseries": _timeseries,
    "partial": _partial,
    "regularized": _regularized,
}


def warmup(families=None, report=None):
    """Run ``families`` (default: all of :data:`FAMILIES`) once each; ``report(index, total, name, seconds)``
    after each. Returns ``{family: seconds}``. Convergence warnings of the tiny problems are silenced."""
    names = list(FAMILIES) if families is None else list(families)
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; choose from {list(FAMILIES)}")
    seconds = {}
    for index, name in enumerate(names, 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            FAMILIES[name]()
        seconds[name] = time.perf_counter() - start
        if report is not None:
            report(index, len(names), name, seconds[name])
    return seconds
