"""Domain adaptation with optimal transport (POT's ``ot.da`` names): scikit-learn-style estimators that fit a
plan or a map between a source and a target sample, transport samples and labels with it, and Wasserstein
discriminant analysis.

* plan-based estimators: :class:`EMDTransport`, :class:`SinkhornTransport`, :class:`UnbalancedSinkhornTransport`,
  :class:`JCPOTTransport` (multi-source, target shift), :class:`SinkhornLpl1Transport`,
  :class:`SinkhornL1l2Transport` (class-sparse plans) and :class:`EMDLaplaceTransport` (Laplacian-regularised);
* maps: :class:`LinearTransport` (Gaussian Monge map), :class:`LinearGWTransport` (Gaussian GW map),
  :func:`OT_mapping_linear`, :class:`MappingTransport` with :func:`joint_OT_mapping_linear` and
  :func:`joint_OT_mapping_kernel` (plan and map estimated jointly);
* plan operations: :func:`barycentric_mapping`, :func:`propagate_labels`, :func:`jcpot_barycenter`;
* dimensionality reduction: :func:`wda` (Wasserstein discriminant analysis) and :func:`fda` (in ``numbaot.da.dr``,
  POT's ``ot.dr``).

The estimators take host or device arrays (CuPy, Numba): on device arrays the entropic solves run on the GPU and
the rest on host copies, ``ran_on_`` saying where the solve ran, and the answers come back in the caller's kind of
array (see :class:`BaseTransport`); the functions run on host arrays. Imports are lazy: ``import numbaot.da``
compiles nothing.
"""
from __future__ import annotations

import importlib

from ._base import NotFittedError, BaseEstimator, BaseTransport, distribution_estimation_uniform, \
    barycentric_mapping, propagate_labels

_LAZY = {
    "EMDTransport": "numbaot.da.transport",
    "SinkhornTransport": "numbaot.da.transport",
    "UnbalancedSinkhornTransport": "numbaot.da.transport",
    "LinearTransport": "numbaot.da.linear",
    "LinearGWTransport": "numbaot.da.linear",
    "OT_mapping_linear": "numbaot.da.linear",
    "MappingTransport": "numbaot.da.mapping",
    "joint_OT_mapping_linear": "numbaot.da.mapping",
    "joint_OT_mapping_kernel": "numbaot.da.mapping",
    "SinkhornLpl1Transport": "numbaot.da.regularized",
    "SinkhornL1l2Transport": "numbaot.da.regularized",
    "EMDLaplaceTransport": "numbaot.da.regularized",
    "JCPOTTransport": "numbaot.da.jcpot",
    "jcpot_barycenter": "numbaot.da.jcpot",
    "wda": "numbaot.da.dr",
    "fda": "numbaot.da.dr",
}

__all__ = sorted([*_LAZY, "NotFittedError", "BaseEstimator", "BaseTransport", "distribution_estimation_uniform",
                  "barycentric_mapping", "propagate_labels"])


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'numbaot.da' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
