"""Drivers return plain tuples and validate nothing (issue 12, item 1): the front-ends check the input before
dispatch and build the result through ``numbaot._finish``.

Read from the source with ``ast``, so the rule holds for the CUDA modules on a machine without a GPU.
"""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "numbaot"
RESULT_TYPES = {"OTResult", "BatchOTResult", "BarycenterResult"}

#: Solve drivers that take checked inputs: no ``_validation`` (``V``) or ``_checks`` call, no raise (None: every
#: function of the module, which then imports neither).
CHECKED_DRIVERS = {
    "cuda/solver_1d.py": ("solve_1d_cuda", "wasserstein_1d_cuda"),
    "cuda/barycenter.py": ("barycenter_cuda",),
    "cuda/cost.py": None,
    "cuda/gromov.py": None,
    "cuda/online.py": None,
    "cuda/partial.py": None,
    "cuda/sinkhorn.py": None,
    "cuda/sliced.py": None,
    "cuda/sta.py": None,
    "cuda/sta_clouds.py": None,
    "cuda/timeseries.py": None,
}
#: ``raise ValueError`` left in ``cuda/``: a configuration error (the block size setting). The list only shrinks.
RAISES_ALLOWED = {"cuda/_launch.py": 1}
#: CUDA modules that still build a result themselves instead of returning a tuple to ``_finish`` (session 12).
RESULTS_ALLOWED = {}


def _tree(rel):
    return ast.parse((ROOT / rel).read_text())


def _function(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"no function {name}")


def _counts(predicate):
    out = {}
    for path in sorted((ROOT / "cuda").glob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        count = sum(1 for node in ast.walk(ast.parse(path.read_text())) if predicate(node))
        if count:
            out[rel] = count
    return out


def _raises_value_error(node):
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "ValueError"


def _builds_result(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RESULT_TYPES


def _validation_imports(tree):
    """The names a module binds to ``_validation`` or ``_checks`` (``from .. import _validation as V``...)."""
    return sorted(alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                  for alias in node.names if alias.name in ("_validation", "_checks")
                  or (node.module or "").endswith(("_validation", "_checks")))


def test_checked_drivers_validate_nothing():
    for rel, names in CHECKED_DRIVERS.items():
        tree = _tree(rel)
        if names is None:
            assert not _validation_imports(tree), f"{rel} imports {_validation_imports(tree)}: its drivers take " \
                                                  "checked inputs (check before dispatch, in the front-end)"
            names = sorted({n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)})
        for name in names:
            fn = _function(tree, name)
            checks = sorted({f"{n.value.id}.{n.attr}" for n in ast.walk(fn) if isinstance(n, ast.Attribute)
                             and isinstance(n.value, ast.Name) and n.value.id in ("V", "_checks")})
            raises = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Raise)]
            assert not checks and not raises, f"{rel}:{name} validates ({checks}, raises at {raises}): check " \
                                              "before dispatch, in the front-end"


def test_no_new_value_error_in_cuda():
    found = _counts(_raises_value_error)
    assert found == RAISES_ALLOWED, (f"raise ValueError in numbaot/cuda: {found}, allowed {RAISES_ALLOWED}; bad input "
                                     "is refused before dispatch (numbaot._validation), and the list only shrinks")


def test_cuda_drivers_return_tuples():
    found = _counts(_builds_result)
    assert found == RESULTS_ALLOWED, (f"results built in numbaot/cuda: {found}, allowed {RESULTS_ALLOWED}; return a "
                                      "tuple (numbaot._finish) and let the front-end finish it")
