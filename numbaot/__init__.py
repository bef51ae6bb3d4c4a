"""numbaot: optimal transport in pure Python, compiled by Numba, on the CPU and on NVIDIA GPUs.

Importing numbaot is cheap: it loads numpy only. Solvers, and Numba with them, are imported on first use, and
nothing is compiled until a solver is called (compiled code is cached on disk).

Two faces of one API:

* the unified ``solve``, ``solve_sample``, ``solve_batch`` and ``solve_gromov``, returning an :class:`OTResult`;
* POT's verbs with snake_case parameters: ``emd``, ``emd2``, ``sinkhorn``, ``sinkhorn2``, ``sinkhorn_unbalanced``,
  ``sinkhorn_unbalanced2``, ``emd_1d``, ``emd2_1d``, ``wasserstein_1d``, ``gromov_wasserstein(2)``,
  ``fused_gromov_wasserstein(2)``, ``entropic_gromov_wasserstein(2)``, ``entropic_fused_gromov_wasserstein(2)``,
  ``semirelaxed_gromov_wasserstein(2)``, ``dist``, ``unif``;
* barycenters: ``barycenter``, ``barycenter_debiased``, ``barycenter_unbalanced``, ``convolutional_barycenter2d``
  (``_debiased``), ``convolutional_barycenter3d``, ``lp_barycenter``, ``free_support_barycenter``,
  ``free_support_sinkhorn_barycenter``, ``barycenter_1d``, ``solve_barycenter``, ``solve_bary_sample`` (a
  ``BarycenterResult``);
* sliced and Gaussian OT: ``sliced_wasserstein_distance``, ``max_sliced_wasserstein_distance``,
  ``sliced_wasserstein_sphere(_unif)``, ``wasserstein_circle`` (and kin), ``bures_wasserstein_distance``,
  ``bures_wasserstein_mapping``, ``bures_wasserstein_barycenter``, their empirical and ``_hd`` versions, Gaussian GW,
  ``gmm_ot_loss``, ``gmm_ot_plan``, ``gmm_ot_apply_map``, ``gmm_ot_plan_density``.
* domain adaptation in the subpackage ``numbaot.da`` (POT's ``ot.da`` estimators and ``wda``), imported on first
  access.
* other regularisers: ``cg``, ``gcg``, ``semirelaxed_cg`` (conditional gradients with a user's regulariser),
  ``sinkhorn_lpl1_mm``, ``sinkhorn_l1l2_gl``, ``emd_laplace``, ``smooth_ot_dual``, ``smooth_ot_semi_dual``,
  ``screenkhorn``.
* partial and unbalanced OT without Sinkhorn: ``partial_wasserstein(2)``, ``partial_wasserstein_lagrange``,
  ``entropic_partial_wasserstein``, ``(entropic_)partial_gromov_wasserstein(2)``, ``mm_unbalanced(2)``,
  ``lbfgsb_unbalanced(2)``.
* differentiable losses: the subpackages ``numbaot.torch`` and ``numbaot.jax`` (optional extras, imported only when
  named), over the numpy values and pullbacks of ``numbaot.autodiff``.
* drop-in layers: ``import numbaot.pot as ot`` (POT's names, signatures and log dicts), ``from numbaot.geomloss
  import SamplesLoss, ot`` (GeomLoss's), and pictures in ``numbaot.plot`` (the ``[plot]`` extra).
"""
from __future__ import annotations

import importlib
import warnings

__version__ = "0.1.0"

from ._result import BarycenterResult, BatchOTResult, LinearOperator, OTResult
from ._status import ConvergenceWarning, Status
from ._validation import InputWarning

# Public name -> module that defines it; loaded on first access (PEP 562) so that `import numbaot` stays fast.
_LAZY = {
    "emd": "numbaot.exact.api",
    "emd2": "numbaot.exact.api",
    "solve": "numbaot.solvers",
    "sinkhorn": "numbaot.entropic.api",
    "sinkhorn2": "numbaot.entropic.api",
    "emd_1d": "numbaot.exact.api",
    "emd2_1d": "numbaot.exact.api",
    "wasserstein_1d": "numbaot.exact.api",
    "solve_sample": "numbaot.solvers",
    "dist": "numbaot.utils",
    "unif": "numbaot.utils",
    "gromov_wasserstein": "numbaot.gromov.api",
    "gromov_wasserstein2": "numbaot.gromov.api",
    "fused_gromov_wasserstein": "numbaot.gromov.api",
    "fused_gromov_wasserstein2": "numbaot.gromov.api",
    "entropic_gromov_wasserstein": "numbaot.gromov.api",
    "entropic_gromov_wasserstein2": "numbaot.gromov.api",
    "entropic_fused_gromov_wasserstein": "numbaot.gromov.api",
    "entropic_fused_gromov_wasserstein2": "numbaot.gromov.api",
    "semirelaxed_gromov_wasserstein": "numbaot.gromov.api",
    "semirelaxed_gromov_wasserstein2": "numbaot.gromov.api",
    "solve_gromov": "numbaot.solvers",
    "barycenter": "numbaot.barycenters.api",
    "barycenter_debiased": "numbaot.barycenters.api",
    "barycenter_unbalanced": "numbaot.barycenters.api",
    "convolutional_barycenter2d": "numbaot.barycenters.api",
    "convolutional_barycenter2d_debiased": "numbaot.barycenters.api",
    "convolutional_barycenter3d": "numbaot.barycenters.api",
    "lp_barycenter": "numbaot.barycenters.api",
    "free_support_barycenter": "numbaot.barycenters.api",
    "free_support_sinkhorn_barycenter": "numbaot.barycenters.api",
    "solve_barycenter": "numbaot.barycenters.api",
    "solve_bary_sample": "numbaot.barycenters.api",
    "barycenter_1d": "numbaot.barycenters.api",
    "gromov_barycenters": "numbaot.barycenters.gromov",
    "entropic_gromov_barycenters": "numbaot.barycenters.gromov",
    "fgw_barycenters": "numbaot.barycenters.gromov",
    "entropic_fused_gromov_barycenters": "numbaot.barycenters.gromov",
    "sinkhorn_unbalanced": "numbaot.entropic.unbalanced",
    "sinkhorn_unbalanced2": "numbaot.entropic.unbalanced",
    "solve_batch": "numbaot.solvers",
    "sinkhorn_divergence": "numbaot.entropic.divergence",
    "samples_loss": "numbaot.losses",
    "sliced_wasserstein_distance": "numbaot.sliced.api",
    "max_sliced_wasserstein_distance": "numbaot.sliced.api",
    "get_random_projections": "numbaot.sliced.api",
    "bures_wasserstein_distance": "numbaot.gaussian.api",
    "bures_wasserstein_mapping": "numbaot.gaussian.api",
    "empirical_bures_wasserstein_distance": "numbaot.gaussian.api",
    "empirical_bures_wasserstein_mapping": "numbaot.gaussian.api",
    "bures_wasserstein_barycenter": "numbaot.gaussian.api",
    "gmm_ot_loss": "numbaot.gaussian.gmm",
    "gmm_ot_plan": "numbaot.gaussian.gmm",
    "gmm_ot_apply_map": "numbaot.gaussian.gmm",
    "gmm_ot_plan_density": "numbaot.gaussian.gmm",
    "gaussian_gromov_wasserstein_distance": "numbaot.gaussian.api",
    "gaussian_gromov_wasserstein_mapping": "numbaot.gaussian.api",
    "empirical_gaussian_gromov_wasserstein_distance": "numbaot.gaussian.api",
    "empirical_gaussian_gromov_wasserstein_mapping": "numbaot.gaussian.api",
    "bures_wasserstein_distance_hd": "numbaot.gaussian.hd",
    "bures_wasserstein_mapping_hd": "numbaot.gaussian.hd",
    "empirical_bures_wasserstein_distance_hd": "numbaot.gaussian.hd",
    "empirical_bures_wasserstein_mapping_hd": "numbaot.gaussian.hd",
    "wasserstein_circle": "numbaot.sliced.circle",
    "binary_search_circle": "numbaot.sliced.circle",
    "wasserstein1_circle": "numbaot.sliced.circle",
    "semidiscrete_wasserstein2_unif_circle": "numbaot.sliced.circle",
    "get_projections_sphere": "numbaot.sliced.circle",
    "sliced_wasserstein_sphere": "numbaot.sliced.circle",
    "sliced_wasserstein_sphere_unif": "numbaot.sliced.circle",
    # partial and (non-entropic) unbalanced OT
    "partial_wasserstein": "numbaot.partial.api",
    "partial_wasserstein2": "numbaot.partial.api",
    "partial_wasserstein_lagrange": "numbaot.partial.api",
    "entropic_partial_wasserstein": "numbaot.partial.api",
    "mm_unbalanced": "numbaot.unbalanced.api",
    "mm_unbalanced2": "numbaot.unbalanced.api",
    "lbfgsb_unbalanced": "numbaot.unbalanced.api",
    "lbfgsb_unbalanced2": "numbaot.unbalanced.api",
    "partial_gromov_wasserstein": "numbaot.partial.gromov",
    "partial_gromov_wasserstein2": "numbaot.partial.gromov",
    "entropic_partial_gromov_wasserstein": "numbaot.partial.gromov",
    "entropic_partial_gromov_wasserstein2": "numbaot.partial.gromov",
    # regularised OT: generic conditional gradients, group lasso / Laplacian, smooth and sparse OT
    "cg": "numbaot.optim.api",
    "gcg": "numbaot.optim.api",
    "semirelaxed_cg": "numbaot.optim.api",
    "sinkhorn_lpl1_mm": "numbaot.optim.regularized",
    "sinkhorn_l1l2_gl": "numbaot.optim.regularized",
    "emd_laplace": "numbaot.optim.regularized",
    "smooth_ot_dual": "numbaot.smooth.api",
    "smooth_ot_semi_dual": "numbaot.smooth.api",
    "screenkhorn": "numbaot.smooth.screening",
}

__all__ = sorted([*_LAZY, "OTResult", "BatchOTResult", "BarycenterResult", "LinearOperator", "Status",
                  "ConvergenceWarning", "InputWarning", "__version__"])


#: Subpackages reached as attributes (``numbaot.da``), imported on first access.
_SUBPACKAGES = ("da",)


def __getattr__(name):
    if name == "PlanOperator":  # deprecated alias, kept out of __all__ so that `import *` does not warn
        warnings.warn("numbaot.PlanOperator is deprecated; use numbaot.LinearOperator", DeprecationWarning,
                      stacklevel=2)
        return LinearOperator
    if name in _SUBPACKAGES:  # lazily imported subpackages (numbaot.da)
        return importlib.import_module(f"numbaot.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'numbaot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
