"""``ot.da`` over numbaot: the domain-adaptation estimators of :mod:`numbaot.da` (which keep POT's class names
and parameters) and the regularised OT solvers POT keeps in ``ot.da`` (``sinkhorn_lpl1_mm``, ``sinkhorn_l1l2_gl``,
``emd_laplace``)."""
from __future__ import annotations

import functools

import numpy as np

from . import _common as C

#: POT's ``ot.da`` classes and functions that numbaot.da provides under the same name (loaded on first use).
_ESTIMATORS = ("EMDTransport", "SinkhornTransport", "UnbalancedSinkhornTransport", "LinearTransport",
               "LinearGWTransport", "OT_mapping_linear", "JCPOTTransport", "jcpot_barycenter", "BaseTransport",
               "BaseEstimator", "distribution_estimation_uniform", "SinkhornLpl1Transport", "SinkhornL1l2Transport",
               "EMDLaplaceTransport", "MappingTransport", "joint_OT_mapping_linear", "joint_OT_mapping_kernel")

#: POT's ``ot.da`` names that numbaot does not implement -> numbaot's closest function.
_MISSING = {"NearestBrenierPotential": "numbaot.solve_sample"}

__all__ = ["sinkhorn_lpl1_mm", "sinkhorn_l1l2_gl", "emd_laplace", *_ESTIMATORS]

__getattr__ = C.missing_getattr(__name__, _MISSING, {
    name: functools.partial(C.native_in, "numbaot.da", name) for name in _ESTIMATORS})


def _native(name):
    return C.native_in("numbaot.optim.regularized", name)


def sinkhorn_lpl1_mm(a, labels_a, b, M, reg, eta=0.1, numItermax=10, numInnerItermax=200, stopInnerThr=1e-9,
                     verbose=False, log=False):
    """Entropic OT with the class-based l_p^1 regulariser (POT's name) by numbaot's ``sinkhorn_lpl1_mm``."""
    return C.adapt(_native("sinkhorn_lpl1_mm"), (C.uniform_like(a, np.shape(M)[0]), labels_a,
                                                C.uniform_like(b, np.shape(M)[1]), C.as_array(M), reg, eta),
                   dict(max_iter=C.max_iter(numItermax), max_inner_iter=C.max_iter(numInnerItermax),
                        inner_tol=stopInnerThr, log=log), "sinkhorn_lpl1_mm")


def sinkhorn_l1l2_gl(a, labels_a, b, M, reg, eta=0.1, numItermax=10, numInnerItermax=200, stopInnerThr=1e-9, eps=1e-12,
                     verbose=False, log=False):
    """Entropic OT with the l1-l2 group lasso (POT's name) by numbaot's ``sinkhorn_l1l2_gl``."""
    return C.adapt(_native("sinkhorn_l1l2_gl"), (C.uniform_like(a, np.shape(M)[0]), labels_a,
                                                C.uniform_like(b, np.shape(M)[1]), C.as_array(M), reg, eta),
                   dict(max_iter=C.max_iter(numItermax), max_inner_iter=C.max_iter(numInnerItermax),
                        inner_tol=stopInnerThr, eps=eps, log=log), "sinkhorn_l1l2_gl")


def emd_laplace(a, b, xs, xt, M, sim="knn", sim_param=None, reg="pos", eta=1, alpha=0.5, numItermax=100,
                stopThr=1e-9, numInnerItermax=100000, stopInnerThr=1e-9, log=False, verbose=False):
    """Exact OT with a Laplacian regulariser (POT's name) by numbaot's ``emd_laplace``."""
    return C.adapt(_native("emd_laplace"), (C.uniform_like(a, np.shape(M)[0]), C.uniform_like(b, np.shape(M)[1]),
                                           xs, xt, C.as_array(M), sim, sim_param, reg, eta, alpha),
                   dict(max_iter=C.max_iter(numItermax), tol_rel=stopThr, tol_abs=stopThr, log=log), "emd_laplace")
