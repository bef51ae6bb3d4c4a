"""conftest.py for POT's own test suite run against ``numbaot.pot`` (copied next to POT's tests by
``run_pot_suite.py``; never collected in numbaot's own test run).

* ``import ot`` resolves to :mod:`numbaot.pot` and its submodules (POT's private module paths that tests import
  from, such as ``ot.lp._network_simplex``, resolve to the public numbaot.pot module of the same family);
* ``ot.backend`` is POT's own backend module loaded from the sdist (test infrastructure: ``nx.from_numpy``), with
  every framework but numpy disabled; the ``nx`` fixture is its NumpyBackend;
* each test's outcome is recorded, with whether it failed on a name numbaot does not implement
  (:class:`numbaot.pot.PotNotImplementedError`, which the missing-name errors ``PotNameError`` and
  ``PotModuleError`` are, or an ImportError of a name or submodule of ``ot``: numbaot.pot lacks it),
  in the JSON file named by ``NUMBAOT_POT_SUITE_REPORT``.
"""
import importlib
import importlib.util
import json
import os
import pathlib
import re
import sys
import types

import pytest

from numbaot.pot import PotNotImplementedError

_backend = None


def _install():
    """Make ``import ot`` resolve to numbaot.pot (only inside the POT-suite run: numbaot's own doctest collection
    imports this file too, and then nothing happens)."""
    global _backend
    for _key in ("PYTORCH", "JAX", "CUPY", "TENSORFLOW"):
        os.environ[f"POT_BACKEND_DISABLE_{_key}"] = "1"

    _SDIST = pathlib.Path(os.environ["NUMBAOT_POT_SUITE_SDIST"])

    for _name in [k for k in sys.modules if k == "ot" or k.startswith("ot.")]:
        del sys.modules[_name]

    import numbaot.pot as _shim  # noqa: E402
    from numbaot.pot import _common  # noqa: E402

    _spec = importlib.util.spec_from_file_location("ot.backend", _SDIST / "ot" / "backend.py")
    _backend = importlib.util.module_from_spec(_spec)
    sys.modules["ot"] = _shim
    sys.modules["ot.backend"] = _backend
    _spec.loader.exec_module(_backend)
    _shim.backend = _backend

    for _sub in _shim._SUBMODULES:
        sys.modules[f"ot.{_sub}"] = importlib.import_module(f"numbaot.pot.{_sub}")
    _PRIVATE = {"ot.lp._network_simplex": "lp", "ot.lp.emd_wrap": "lp", "ot.solvers._linear": "solvers",
                "ot.gromov._unbalanced": "gromov", "ot.gromov._gw": "gromov", "ot.bregman._sinkhorn": "bregman",
                "ot.bregman._empirical": "bregman", "ot.unbalanced._sinkhorn": "unbalanced"}
    #: POT-internal attributes that tests read, answered here (infrastructure, not solvers).
    _EXTRA = {"ot.lp._barycenter_solvers": {"cvxopt": False},
              }
    _PRIVATE.update({"ot.lp._barycenter_solvers": "lp", "ot.lp.solver_1d": "lp", "ot.lp.solver_circle": "lp"})

    def _proxy(path, target):
        """A module standing for POT's private module ``path``: its extra attributes, then ``target``'s names;
        other names raise numbaot.pot's PotNameError (numbaot does not implement them)."""
        module = types.ModuleType(path)
        module.__dict__.update(_EXTRA.get(path, {}))

        def __getattr__(name):
            try:
                return getattr(target, name)
            except AttributeError:
                if name.startswith("__"):
                    raise
                raise _common.missing_name(path, name, f"{target.__name__} (POT-internal name)") from None
        module.__getattr__ = __getattr__
        return module

    for _path, _sub in _PRIVATE.items():
        _parent, _, _leaf = _path.rpartition(".")
        _mod = _proxy(_path, importlib.import_module(f"numbaot.pot.{_sub}"))
        sys.modules[_path] = _mod
        if not hasattr(sys.modules[_parent], _leaf):  # numbaot.pot's own private helpers keep their names
            setattr(sys.modules[_parent], _leaf, _mod)


if os.environ.get("NUMBAOT_POT_SUITE_SDIST"):
    _install()


def skip_backend(name, reason=None):
    """POT's ``pytest.skip_backend``: skip the test for that backend (only numpy runs here)."""
    return pytest.mark.skip_backend(name)


def skip_arg(*args, **kwargs):
    return pytest.mark.skip_arg(args)


pytest.skip_backend = skip_backend
pytest.skip_arg = skip_arg


def pytest_configure(config):
    config.addinivalue_line("markers", "skip_backend(name): skip for that backend")
    config.addinivalue_line("markers", "skip_arg(args): skip for those parameters")


@pytest.fixture
def nx(request):
    for mark in request.node.iter_markers("skip_backend"):
        if mark.args and mark.args[0] == "numpy":
            pytest.skip("skipped by POT for the numpy backend")
    return _backend.NumpyBackend()


_RESULTS = {}


#: What Python's ImportError says when a test imports a name or submodule numbaot.pot lacks (``from ot.coot import
#: ...``, ``from ot.lp import name``): it does not carry numbaot's message (the AttributeError is swallowed).
_MISSING_IMPORT = re.compile(r"PotNotImplementedError|PotNameError|PotModuleError|No module named 'ot\.|"
                             r"cannot import name '\w+' from '(ot|numbaot\.pot)[.']")


def _not_implemented(excinfo):
    exc = excinfo.value if excinfo is not None else None
    while exc is not None:
        if isinstance(exc, PotNotImplementedError):
            return True
        if isinstance(exc, ImportError) and _MISSING_IMPORT.search(str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    entry = _RESULTS.setdefault(item.nodeid, {"outcome": "passed", "not_implemented": False, "message": ""})
    if report.skipped:
        entry["outcome"] = "skipped"
    elif report.failed:
        entry["outcome"] = "failed"
        if call.excinfo is not None:
            entry["not_implemented"] = entry["not_implemented"] or _not_implemented(call.excinfo)
            entry["message"] = f"{call.excinfo.typename}: {str(call.excinfo.value)[:300]}"


def pytest_collectreport(report):
    if report.failed:
        text = str(report.longrepr)
        _RESULTS[report.nodeid] = {"outcome": "collection_error", "not_implemented": bool(_MISSING_IMPORT.search(text)),
                                   "message": text.strip().splitlines()[-1][:300] if text.strip() else ""}


def pytest_sessionfinish(session):
    path = os.environ.get("NUMBAOT_POT_SUITE_REPORT")
    if path:
        pathlib.Path(path).write_text(json.dumps(_RESULTS, indent=1))
