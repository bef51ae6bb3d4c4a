"""Shared pieces of the POT layer: argument translation, POT's exception types, missing names.

Nothing here solves anything: it turns POT's calling conventions (``a=[]`` for uniform weights, ``numItermax``,
``stopThr``, ``numThreads``, ``log=True`` dicts) into numbaot's, and numbaot's errors into the types POT raises.
"""
from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np

from .._validation import UnsupportedOption  # noqa: F401 (the POT layer raises it as C.UnsupportedOption)


class PotNotImplementedError(NotImplementedError):
    """A POT name that numbaot does not implement (yet); the message names the closest numbaot function."""


class MarginalsError(ValueError, AssertionError):
    """Bad input refused where POT uses ``assert`` (e.g. unequal masses in ``emd``): catchable as either type."""


#: Names that tools (pytest, doctest, unittest, IPython) probe on modules and objects: never stand-ins.
_TOOLING = {"pytest_plugins", "setup_module", "teardown_module", "setUpModule", "tearDownModule", "setup",
            "teardown", "setUp", "tearDown", "pytestmark", "getdoc", "trait_names", "compute"}


class _Missing:
    """Stands for a POT name numbaot lacks: importing it works, calling (or instantiating) it raises
    :class:`PotNotImplementedError` naming the closest numbaot function."""

    def __init__(self, module, name, closest=None):
        self.__module__ = module
        self.__name__ = self.__qualname__ = name
        self._closest = closest
        self.__doc__ = f"Not implemented by numbaot: calling it raises NotImplementedError ({self._hint()})."

    def _hint(self):
        return f"closest numbaot function: {self._closest}" if self._closest else "numbaot has no equivalent yet"

    def __call__(self, *args, **kwargs):
        raise PotNotImplementedError(
            f"{self.__module__.replace('numbaot.pot', 'ot')}.{self.__name__} is not implemented by numbaot.pot; "
            f"{self._hint()}")

    def __getattr__(self, name):  # class-like use (ot.da.SinkhornTransport.fit) fails the same way
        if name.startswith("_") or name in _TOOLING:
            raise AttributeError(name)
        self()

    def __repr__(self):
        return f"<not implemented: {self.__module__}.{self.__name__} ({self._hint()})>"


def missing_names(module, table):
    """``{name: _Missing}`` for the POT names listed in ``table`` (name -> closest numbaot function or None)."""
    return {name: _Missing(module, name, closest) for name, closest in table.items()}


def is_empty(x):
    """POT's ``a=[]`` (or None): uniform weights."""
    if x is None:
        return True
    if isinstance(x, (list, tuple)):
        return len(x) == 0
    shape = getattr(x, "shape", None)
    return shape is not None and len(shape) == 1 and shape[0] == 0


def weights(x):
    """None for POT's empty weights, else the array (lists as float64 numpy arrays)."""
    if is_empty(x):
        return None
    if isinstance(x, (list, tuple)):
        return np.asarray(x, dtype=np.float64)
    return x


def uniform_like(x, n):
    """``x`` as an array, or uniform weights of length ``n`` when POT's empty weights were passed."""
    x = weights(x)
    return np.full(int(n), 1.0 / n) if x is None else np.asarray(x, dtype=np.float64)


def as_array(x):
    if isinstance(x, (list, tuple)):
        return np.asarray(x, dtype=np.float64)
    return x


def threads(numThreads, *, warn=False, stacklevel=3):  # noqa: N803 - POT's name
    """POT's ``numThreads`` (int >= 1 or "max") as numbaot's ``n_threads``; 1 (POT's default) and "max" leave
    numbaot's default (all of Numba's threads)."""
    if numThreads is None or (isinstance(numThreads, str) and numThreads.lower() == "max"):
        return None
    if isinstance(numThreads, bool) or not isinstance(numThreads, (int, np.integer)) or numThreads < 1:
        raise ValueError(f'numThreads should either be "max" or a strictly positive integer, got {numThreads!r}')
    if numThreads == 1:
        return None
    if warn:
        warnings.warn("The 'numThreads' parameter is deprecated in POT; numbaot.pot honours it as numbaot's "
                      "n_threads (pass n_threads to the numbaot verbs directly)", DeprecationWarning,
                      stacklevel=stacklevel)
    return int(numThreads)


def max_iter(numItermax, name="numItermax"):  # noqa: N803 - POT's name
    """POT's iteration caps are sometimes floats (``1e4``): accept integral floats."""
    if numItermax is None:
        return None
    if isinstance(numItermax, float) and numItermax.is_integer():
        return int(numItermax)
    if isinstance(numItermax, bool) or not isinstance(numItermax, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {numItermax!r}")
    return int(numItermax)


@contextlib.contextmanager
def asserting():
    """Re-raise numbaot's ValueError as :class:`MarginalsError` (also an AssertionError, as POT's checks are)."""
    try:
        yield
    except MarginalsError:
        raise
    except ValueError as exc:
        raise MarginalsError(str(exc)) from exc


def asserts(func):
    """Decorator form of :func:`asserting`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with asserting():
            return func(*args, **kwargs)
    return wrapper


def report(verbose, name, result):
    """POT's ``verbose=True``: one line when the solver is done (numbaot itself never prints)."""
    if verbose:
        print(f"{name}: {result.status.name.lower()} after {result.n_iter} iterations, value {float(result.value):.6g}")


def errors_list(result):
    """The recorded marginal errors as the list POT's ``log['err']`` holds."""
    err = result.errors
    if err is None:
        return []
    err = np.asarray(err)
    return [float(e) for e in err[np.isfinite(err)]]


def lazy_module_getattr(module_name, missing):
    """A module ``__getattr__`` that answers the POT names numbaot lacks with their :class:`_Missing` stand-in."""
    def __getattr__(name):
        if name in missing:
            return missing[name]
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    return __getattr__


def missing_module(module_name, closest):
    """``__getattr__`` of a POT submodule numbaot does not implement: every public name is a stand-in that raises
    :class:`PotNotImplementedError` naming ``closest`` when called."""
    cache = {}

    def __getattr__(name):
        if name.startswith("__") or name in _TOOLING:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        if name not in cache:
            cache[name] = _Missing(module_name, name, closest)
        return cache[name]
    return __getattr__


def native(name, closest=None):
    """numbaot's own function ``name`` (a top-level name), or :class:`PotNotImplementedError` naming the closest
    function while the family that provides it has not landed."""
    import numbaot

    try:
        return getattr(numbaot, name)
    except AttributeError:
        raise PotNotImplementedError(f"{name} is not implemented by numbaot yet"
                                     + (f"; closest numbaot function: {closest}" if closest else "")) from None


def native_in(module, name, closest=None):
    """``module.name`` from a numbaot family that may not have landed yet, or :class:`PotNotImplementedError`."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise PotNotImplementedError(f"{name} is not implemented by numbaot yet"
                                     + (f"; closest numbaot function: {closest}" if closest else "")) from None


def adapt(func, args, kwargs, pot_name):
    """Call numbaot's ``func`` with the keyword arguments it has; a POT option it lacks is dropped when left at
    an inert value (None or False) and refused with :class:`PotNotImplementedError` otherwise."""
    import inspect

    params = inspect.signature(func).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return func(*args, **{k: v for k, v in kwargs.items() if v is not None})
    keep = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if key in params:
            keep[key] = value
        elif value is not None and value is not False:
            raise PotNotImplementedError(f"{pot_name}({key}={value!r}) is not implemented by numbaot.pot: "
                                         f"{func.__module__}.{func.__name__} has no parameter {key!r}")
    return func(*args, **keep)
