"""numbaot: optimal transport in pure Python, compiled by Numba, on the CPU and on NVIDIA GPUs.

Importing numbaot is cheap: it loads numpy only. Solvers, and Numba with them, are imported on first use, and
nothing is compiled until a solver is called (compiled code is cached on disk).

Two faces of one API:

* the unified ``solve``, ``solve_sample``, ``solve_batch`` and ``solve_gromov``, returning an :class:`OTResult`;
* POT's verbs with snake_case parameters: ``emd``, ``emd2``, ``sinkhorn``, ``sinkhorn2``, ``sinkhorn_unbalanced``,
  ``sinkhorn_unbalanced2``, ``emd_1d``, ``emd2_1d``, ``wasserstein_1d``, ``gromov_wasserstein(2)``,
  ``fused_gromov_wasserstein(2)``, ``entropic_gromov_wasserstein(2)``, ``entropic_fused_gromov_wasserstein(2)``,
  ``semirelaxed_gromov_wasserstein(2)``, ``dist``, ``unif``.
"""
from __future__ import annotations

import importlib
import warnings

__version__ = "0.1.0"

from ._result import BatchOTResult, LinearOperator, OTResult
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
    "sinkhorn_unbalanced": "numbaot.entropic.unbalanced",
    "sinkhorn_unbalanced2": "numbaot.entropic.unbalanced",
    "solve_batch": "numbaot.solvers",
    "sinkhorn_divergence": "numbaot.entropic.divergence",
    "samples_loss": "numbaot.losses",
}

__all__ = sorted([*_LAZY, "OTResult", "BatchOTResult", "LinearOperator", "Status", "ConvergenceWarning",
                  "InputWarning", "__version__"])


def __getattr__(name):
    if name == "PlanOperator":  # deprecated alias, kept out of __all__ so that `import *` does not warn
        warnings.warn("numbaot.PlanOperator is deprecated; use numbaot.LinearOperator", DeprecationWarning,
                      stacklevel=2)
        return LinearOperator
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'numbaot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
