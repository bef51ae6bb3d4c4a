"""``ot.da`` over numbaot: the domain-adaptation estimators of :mod:`numbaot.da` (which keep POT's class names
and parameters) and the regularised OT solvers POT keeps in ``ot.da`` (``sinkhorn_lpl1_mm``, ``sinkhorn_l1l2_gl``,
``emd_laplace``)."""
from __future__ import annotations

import importlib

import numpy as np

from . import _common as C

#: POT's ``ot.da`` classes and functions that numbaot.da provides under the same name (once it has landed).
_ESTIMATORS = {
    "EMDTransport": "numbaot.solve", "SinkhornTransport": "numbaot.sinkhorn",
    "UnbalancedSinkhornTransport": "numbaot.sinkhorn_unbalanced", "LinearTransport": "numbaot.bures_wasserstein_mapping",
    "LinearGWTransport": "numbaot.gaussian_gromov_wasserstein_mapping", "OT_mapping_linear": "numbaot.bures_wasserstein_mapping",
    "JCPOTTransport": "numbaot.barycenter", "jcpot_barycenter": "numbaot.barycenter",
    "BaseTransport": None, "BaseEstimator": None, "distribution_estimation_uniform": "numbaot.unif",
    "SinkhornLpl1Transport": "numbaot.pot.da.sinkhorn_lpl1_mm", "SinkhornL1l2Transport": "numbaot.pot.da.sinkhorn_l1l2_gl",
    "EMDLaplaceTransport": "numbaot.pot.da.emd_laplace", "MappingTransport": "numbaot.solve_sample",
    "NearestBrenierPotential": "numbaot.solve_sample", "joint_OT_mapping_linear": "numbaot.bures_wasserstein_mapping",
    "joint_OT_mapping_kernel": "numbaot.solve_sample",
}

__all__ = ["sinkhorn_lpl1_mm", "sinkhorn_l1l2_gl", "emd_laplace", *_ESTIMATORS]


def __getattr__(name):
    if name not in _ESTIMATORS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module("numbaot.da"), name)
    except (ImportError, AttributeError):
        value = C._Missing(__name__, name, _ESTIMATORS[name])
    globals()[name] = value
    return value


def _native(name):
    return C.native_in("numbaot.optim.regularized", name, "numbaot.sinkhorn")


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
