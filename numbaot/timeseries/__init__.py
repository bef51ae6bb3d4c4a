"""Time series: dynamic time warping, soft-DTW and its divergence, pairwise matrices, barycenters, and the
spatio-temporal alignment of series of measures.

``import numbaot.timeseries as ts`` loads numpy only; each verb compiles its core on first use. The verbs and
their conventions (values are summed frame costs, no root taken) are documented in :mod:`numbaot.timeseries.api`.
"""
from __future__ import annotations

import importlib

_VERBS = ("dtw", "dtw_path", "cdist_dtw", "soft_dtw", "soft_dtw_alignment", "soft_dtw_grad",
          "soft_dtw_divergence", "cdist_soft_dtw", "soft_dtw_barycenter", "dtw_barycenter_averaging", "sta",
          "sta_divergence", "sta_barycenter")

__all__ = list(_VERBS)


def __getattr__(name):
    if name not in _VERBS:
        raise AttributeError(f"module 'numbaot.timeseries' has no attribute {name!r}")
    value = getattr(importlib.import_module("numbaot.timeseries.api"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_VERBS))
