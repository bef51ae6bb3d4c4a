"""POT's API over numbaot: ``import numbaot.pot as ot`` runs POT scripts on numbaot's solvers.

A thin layer, no solver of its own: POT's names, submodule paths (``numbaot.pot.lp``, ``.bregman``, ``.gromov``,
``.unbalanced``, ``.partial``, ``.sliced``, ``.gaussian``, ``.gmm``, ``.utils``, ...), signatures, positional order,
defaults (``a=[]`` means uniform weights), ``log=True`` dicts with POT's keys, and POT's exception types where a
script may catch them (unequal masses in ``emd`` raise :class:`MarginalsError`, an ``AssertionError`` as in POT and
a ``ValueError`` as in numbaot). A POT name that numbaot does not implement can be imported, and raises
:class:`PotNotImplementedError` (a ``NotImplementedError``) naming the closest numbaot function when called.

Differences worth knowing: ``numItermax`` left at ``emd``'s default uses numbaot's own cap (a stall guard scaled
with the problem); ``stopThr`` bounds numbaot's L1 marginal error; ``numThreads`` is honoured (POT ignores it);
there is no ``ot.backend``: numbaot takes numpy (and CUDA) arrays.

Importing this package is cheap: submodules load on first use.

Examples
--------
>>> import numbaot.pot as ot
>>> M = ot.dist([[0.0], [1.0]], [[0.0], [1.0]])
>>> ot.emd([], [], M)
array([[0.5, 0. ],
       [0. , 0.5]])
>>> float(ot.emd2([0.5, 0.5], [0.5, 0.5], M))
0.0
"""
from __future__ import annotations

import importlib

from ._common import MarginalsError, PotNotImplementedError, UnsupportedOption

__version__ = "0.9.7"

#: POT's submodules (those numbaot lacks are there too: their names raise NotImplementedError when called).
_SUBMODULES = ("lp", "bregman", "utils", "gromov", "unbalanced", "partial", "sliced", "gaussian", "gmm", "smooth",
               "optim", "da", "datasets", "solvers", "lowrank", "weak", "factored", "batch", "bsp", "coot", "dr",
               "mapping", "regpath", "semidiscrete", "sgot", "stochastic", "gnn", "plot")

#: POT's top-level names -> the submodule of this package that defines them.
_TOP = {
    "emd": "lp", "emd2": "lp", "emd_1d": "lp", "emd2_1d": "lp", "wasserstein_1d": "lp", "binary_search_circle": "lp",
    "wasserstein_circle": "lp", "semidiscrete_wasserstein2_unif_circle": "lp", "emd2_lazy": "lp",
    "emd_1d_dual": "lp", "emd_1d_dual_backprop": "lp", "linear_circular_ot": "lp",
    "sinkhorn": "bregman", "sinkhorn2": "bregman", "barycenter": "bregman",
    "sinkhorn_unbalanced": "unbalanced", "sinkhorn_unbalanced2": "unbalanced", "barycenter_unbalanced": "unbalanced",
    "uot_1d": "unbalanced", "unbalanced_sliced_ot": "unbalanced", "sliced_unbalanced_ot": "unbalanced",
    "dist": "utils", "unif": "utils", "tic": "utils", "toc": "utils", "toq": "utils",
    "gromov_wasserstein": "gromov", "gromov_wasserstein2": "gromov", "fused_gromov_wasserstein": "gromov",
    "fused_gromov_wasserstein2": "gromov", "gromov_barycenters": "gromov",
    "lowrank_gromov_wasserstein_samples": "gromov",
    "sliced_wasserstein_distance": "sliced", "max_sliced_wasserstein_distance": "sliced",
    "sliced_wasserstein_sphere": "sliced", "sliced_wasserstein_sphere_unif": "sliced",
    "linear_sliced_wasserstein_sphere": "sliced", "min_sliced_transport_plan": "sliced",
    "expected_sliced_plan": "sliced",
    "sinkhorn_lpl1_mm": "da",
    "solve": "solvers", "solve_gromov": "solvers", "solve_sample": "solvers", "solve_bary_sample": "solvers",
    "solve_batch": "batch", "solve_gromov_batch": "batch", "solve_sample_batch": "batch", "dist_batch": "batch",
    "weak_optimal_transport": "weak", "factored_optimal_transport": "factored", "lowrank_sinkhorn": "lowrank",
    "compute_bspot_bijection": "bsp", "merge_bijections": "bsp",
}

__all__ = sorted([*_SUBMODULES, *_TOP, "MarginalsError", "PotNotImplementedError", "UnsupportedOption"])


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    sub = _TOP.get(name)
    if sub is None:
        raise AttributeError(f"module 'numbaot.pot' has no attribute {name!r} (POT has no top-level name of that "
                             "name either; see numbaot.pot's submodules)")
    value = getattr(importlib.import_module(f"{__name__}.{sub}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_TOP))
