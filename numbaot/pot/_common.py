"""Shared pieces of the POT layer: argument translation, POT's exception types, missing names.

Nothing here solves anything: it turns POT's calling conventions (``a=[]`` for uniform weights, ``numItermax``,
``stopThr``, ``numThreads``, ``log=True`` dicts) into numbaot's, and numbaot's errors into the types POT raises.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import sys
import warnings

import numpy as np

from .._validation import UnsupportedOption  # noqa: F401 (the POT layer raises it as C.UnsupportedOption)

#: The layer's logger ("numbaot.pot"): POT's printed lines (``verbose=True``, ``toc``) are INFO records here.
logger = logging.getLogger("numbaot.pot")


class PotNotImplementedError(NotImplementedError):
    """A POT name, or an option value, that numbaot does not implement; the message names the closest numbaot
    function."""


class MarginalsError(ValueError, AssertionError):
    """Bad input refused where POT uses ``assert`` (e.g. unequal masses in ``emd``): catchable as either type."""


class PotNameError(AttributeError, PotNotImplementedError):
    """A POT function or class that numbaot does not implement: the name does not exist in numbaot.pot (an
    ``AttributeError``, so ``hasattr`` is False), and the message names numbaot's closest function."""


class PotModuleError(ModuleNotFoundError, PotNotImplementedError):
    """A POT submodule that numbaot does not implement (``ot.coot``, ``ot.lowrank``, ...): there is no such module
    in numbaot.pot (a ``ModuleNotFoundError``, so that ``from numbaot.pot import coot`` keeps the message)."""


def _hint(closest):
    return f"closest numbaot function: {closest}" if closest else "numbaot has no equivalent yet"


def missing_name(module, name, closest, module_name=False):
    """The :class:`PotNameError` for POT's ``module.name`` (``module`` a numbaot.pot module name; ``module_name``:
    ``name`` is one of POT's submodules)."""
    pot = module.replace("numbaot.pot", "ot", 1)
    what = f"there is no {module}.{name}" if module_name else f"{module} has no {name!r}"
    return PotNameError(f"{pot}.{name} is not implemented by numbaot ({what}); {_hint(closest)}", name=name)


def missing_module(name, closest):
    """The :class:`PotModuleError` for POT's submodule ``ot.name``."""
    return PotModuleError(f"ot.{name} is not implemented by numbaot (there is no numbaot.pot.{name}); "
                          f"{_hint(closest)}", name=f"ot.{name}")


def missing_getattr(module, missing, loaders=None):
    """A module ``__getattr__`` (PEP 562): names in ``loaders`` (name -> zero-argument function) are loaded on first
    use and cached in the module; POT's names in ``missing`` (name -> closest numbaot function or None), which
    numbaot does not implement, raise :class:`PotNameError`; any other name raises a plain ``AttributeError``."""
    loaders = loaders or {}

    def __getattr__(name):
        if name in loaders:
            value = loaders[name]()
            setattr(sys.modules[module], name, value)
            return value
        if name in missing:
            raise missing_name(module, name, missing[name])
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__


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


def say(message):
    """One line POT prints (``verbose=True``, ``toc``), as an INFO record of the ``numbaot.pot`` logger.

    Where logging is configured (a handler on the logger or an ancestor, as after ``logging.basicConfig``), it
    decides: level, format, destination. Where it is not, the line is written to stdout as POT prints it, by a
    handler made for this one record and attached to no logger (a library configures no logging globally); a
    level above INFO set on ``numbaot.pot`` or ``numbaot``, ``logger.disabled`` or ``logging.disable(INFO)`` silences it.
    """
    if logger.hasHandlers():
        logger.info(message)
    elif _level_below_root() <= logging.INFO and not logger.disabled and logging.root.manager.disable < logging.INFO:
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, message, None, None)
        logging.StreamHandler(sys.stdout).handle(record)


def _level_below_root():
    """The level set on ``numbaot.pot`` or its nearest ancestor below the root (``numbaot``), NOTSET when none is:
    the root's default WARNING is logging's, not the user's, and must not silence POT's lines."""
    node = logger
    while node is not None and node is not logging.root:
        if node.level:
            return node.level
        node = node.parent
    return logging.NOTSET


def report(verbose, name, result):
    """POT's ``verbose=True``: one line when the solver is done (see :func:`say`; numbaot itself never prints)."""
    if verbose:
        say(f"{name}: {result.status.name.lower()} after {result.n_iter} iterations, value {float(result.value):.6g}")


def errors_list(result):
    """The recorded marginal errors as the list POT's ``log['err']`` holds."""
    err = result.errors
    if err is None:
        return []
    err = np.asarray(err)
    return [float(e) for e in err[np.isfinite(err)]]


def native_in(module, name):
    """numbaot's ``module.name``, imported on first call (importing numbaot.pot stays cheap)."""
    import importlib

    return getattr(importlib.import_module(module), name)


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
