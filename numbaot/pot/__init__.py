"""POT's API over numbaot: ``import numbaot.pot as ot`` runs POT scripts on numbaot's solvers.

A thin layer, no solver of its own: POT's names, submodule paths (``numbaot.pot.lp``, ``.bregman``, ``.gromov``,
``.unbalanced``, ``.partial``, ``.sliced``, ``.gaussian``, ``.gmm``, ``.utils``, ...), signatures, positional order,
defaults (``a=[]`` means uniform weights), ``log=True`` dicts with POT's keys, and POT's exception types where a
script may catch them (unequal masses in ``emd`` raise :class:`MarginalsError`, an ``AssertionError`` as in POT and
a ``ValueError`` as in numbaot). A POT name that numbaot does not implement does not exist here: reaching it
(``ot.weak_optimal_transport``, ``ot.bregman.jcpot_barycenter``) raises :class:`PotNameError` (an
``AttributeError``, so ``hasattr`` is False), and so does a POT submodule numbaot lacks reached as an attribute
(``ot.coot``); importing one (``import numbaot.pot.coot``, ``from numbaot.pot import lowrank``) raises
:class:`PotModuleError` (a ``ModuleNotFoundError``). Both messages name the closest numbaot function, and both are
:class:`PotNotImplementedError` (a ``NotImplementedError``), the type an unsupported option value raises. A
``from``-import of a missing *name* (``from numbaot.pot.bregman import jcpot_barycenter``) gives Python's own
``ImportError`` ("cannot import name"): Python replaces the module's message there.

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
import importlib.abc
import sys

from . import _common
from ._common import MarginalsError, PotModuleError, PotNameError, PotNotImplementedError, UnsupportedOption

__version__ = "0.9.7"

#: POT's submodules that numbaot.pot implements (loaded on first use).
_SUBMODULES = ("lp", "bregman", "utils", "gromov", "unbalanced", "partial", "sliced", "gaussian", "gmm", "smooth",
               "optim", "da", "datasets", "solvers", "dr", "plot")

#: POT's submodules that numbaot does not implement -> numbaot's closest function (None: no equivalent).
_MISSING_SUBMODULES = {
    "batch": "numbaot.solve_batch", "bsp": "numbaot.emd", "coot": "numbaot.gromov_wasserstein",
    "factored": "numbaot.emd", "gnn": None, "lowrank": "numbaot.sinkhorn (full rank)",
    "mapping": "numbaot.solve_sample", "regpath": "numbaot.sinkhorn_unbalanced",
    "semidiscrete": "numbaot.solve_sample", "sgot": "numbaot.gaussian (Bures-Wasserstein)",
    "stochastic": "numbaot.sinkhorn", "weak": "numbaot.emd",
}

#: POT's top-level names -> the submodule of this package that defines them.
_TOP = {
    "emd": "lp", "emd2": "lp", "emd_1d": "lp", "emd2_1d": "lp", "wasserstein_1d": "lp", "binary_search_circle": "lp",
    "wasserstein_circle": "lp", "semidiscrete_wasserstein2_unif_circle": "lp",
    "sinkhorn": "bregman", "sinkhorn2": "bregman", "barycenter": "bregman",
    "sinkhorn_unbalanced": "unbalanced", "sinkhorn_unbalanced2": "unbalanced", "barycenter_unbalanced": "unbalanced",
    "dist": "utils", "unif": "utils", "tic": "utils", "toc": "utils", "toq": "utils",
    "gromov_wasserstein": "gromov", "gromov_wasserstein2": "gromov", "fused_gromov_wasserstein": "gromov",
    "fused_gromov_wasserstein2": "gromov", "gromov_barycenters": "gromov",
    "sliced_wasserstein_distance": "sliced", "max_sliced_wasserstein_distance": "sliced",
    "sliced_wasserstein_sphere": "sliced", "sliced_wasserstein_sphere_unif": "sliced",
    "sinkhorn_lpl1_mm": "da",
    "solve": "solvers", "solve_gromov": "solvers", "solve_sample": "solvers", "solve_bary_sample": "solvers",
}

#: POT's top-level names that numbaot does not implement -> POT's submodule of the name (whose hint table, or
#: entry in _MISSING_SUBMODULES, names the closest numbaot function).
_TOP_MISSING = {
    "emd2_lazy": "lp", "emd_1d_dual": "lp", "emd_1d_dual_backprop": "lp", "linear_circular_ot": "lp",
    "uot_1d": "unbalanced", "unbalanced_sliced_ot": "unbalanced", "sliced_unbalanced_ot": "unbalanced",
    "lowrank_gromov_wasserstein_samples": "gromov", "linear_sliced_wasserstein_sphere": "sliced",
    "min_sliced_transport_plan": "sliced", "expected_sliced_plan": "sliced",
    "solve_batch": "batch", "solve_gromov_batch": "batch", "solve_sample_batch": "batch", "dist_batch": "batch",
    "weak_optimal_transport": "weak", "factored_optimal_transport": "factored", "lowrank_sinkhorn": "lowrank",
    "compute_bspot_bijection": "bsp", "merge_bijections": "bsp",
}

__all__ = sorted([*_SUBMODULES, *_TOP, "MarginalsError", "PotModuleError", "PotNameError", "PotNotImplementedError",
                  "UnsupportedOption"])


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    sub = _TOP.get(name)
    if sub is not None:
        value = getattr(importlib.import_module(f"{__name__}.{sub}"), name)
        globals()[name] = value
        return value
    if name in _MISSING_SUBMODULES:  # an AttributeError (hasattr probes stay False); importing it: _MissingModules
        raise _common.missing_name(__name__, name, _MISSING_SUBMODULES[name], module_name=True)
    sub = _TOP_MISSING.get(name)
    if sub is not None:
        closest = (_MISSING_SUBMODULES[sub] if sub in _MISSING_SUBMODULES
                   else importlib.import_module(f"{__name__}.{sub}")._MISSING[name])
        raise _common.missing_name(__name__, name, closest)
    raise AttributeError(f"module 'numbaot.pot' has no attribute {name!r} (POT has no top-level name of that "
                         "name either; see numbaot.pot's submodules)")


class _MissingModules(importlib.abc.MetaPathFinder):
    """Refuses ``import numbaot.pot.<POT submodule numbaot lacks>`` with :class:`PotModuleError` and its hint
    (asked after the path finder, which found no file). Its ``name`` is POT's module, not ours, so that
    ``from numbaot.pot import coot`` keeps the message (Python swallows the error naming the module it tried)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix == __name__ and name in _MISSING_SUBMODULES:
            raise _common.missing_module(name, _MISSING_SUBMODULES[name])
        return None


if not any(isinstance(finder, _MissingModules) for finder in sys.meta_path):
    sys.meta_path.append(_MissingModules())


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_TOP))
