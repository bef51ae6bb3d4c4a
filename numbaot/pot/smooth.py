"""``ot.smooth`` over numbaot: smooth (quadratic or negentropy) regularised OT by the dual or semi-dual."""
from __future__ import annotations

from . import _common as C

__all__ = ["smooth_ot_dual", "smooth_ot_semi_dual"]


def _native(name):
    return C.native_in("numbaot.smooth.api", name)


def smooth_ot_dual(a, b, M, reg, reg_type="l2", method="L-BFGS-B", stopThr=1e-9, numItermax=500, verbose=False,
                   log=False, max_nz=None):
    """Smooth OT by its dual (POT's name) by numbaot's ``smooth_ot_dual``."""
    return C.adapt(_native("smooth_ot_dual"), (C.weights(a), C.weights(b), C.as_array(M), reg),
                   dict(reg_type=reg_type, method=method, tol=stopThr, max_iter=C.max_iter(numItermax), log=log,
                        max_nz=max_nz), "smooth_ot_dual")


def smooth_ot_semi_dual(a, b, M, reg, reg_type="l2", max_nz=None, method="L-BFGS-B", stopThr=1e-9, numItermax=500,
                        verbose=False, log=False):
    """Smooth OT by its semi-dual (POT's name) by numbaot's ``smooth_ot_semi_dual``."""
    return C.adapt(_native("smooth_ot_semi_dual"), (C.weights(a), C.weights(b), C.as_array(M), reg),
                   dict(reg_type=reg_type, method=method, tol=stopThr, max_iter=C.max_iter(numItermax), log=log,
                        max_nz=max_nz), "smooth_ot_semi_dual")


#: POT's ``ot.smooth`` internals (its regulariser classes and dual helpers) that numbaot does not expose: its
#: solvers are compiled, not built from these objects.
_MISSING = dict.fromkeys(("NegEntropy", "SquaredL2", "SparsityConstrained", "Regularization", "dual_obj_grad",
                          "semi_dual_obj_grad", "solve_dual", "solve_semi_dual", "get_plan_from_dual",
                          "get_plan_from_semi_dual"), "numbaot.pot.smooth.smooth_ot_dual")
_MISSING["projection_simplex"] = "numbaot.pot.utils.proj_simplex"

__getattr__ = C.missing_getattr(__name__, _MISSING)
