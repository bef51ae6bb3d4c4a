"""The one place where numbaot compiles code: ``cpu_jit`` for CPU cores and ``twin`` for bodies shared with CUDA.

Policy
------
* ``cache=True``, in numbaot's own cache folder (``_config.cache_dir``: ``NUMBAOT_CACHE_DIR``, else the per-user
  cache folder; never inside the installed package), off when ``NUMBAOT_CACHE=0`` or when no folder is writable
  (said once with a warning); under a subfolder named by a fingerprint of the sources the function may inline
  (``_config.source_stamp``: the core, plus its own family's folder), because Numba's cache tracks a function's own
  file only, not the helpers it inlines from other files.
* Lazy typing: no signatures, nothing compiles at import.
* A safe fastmath set: never ``nnan``/``ninf``, which would let LLVM drop the ``-inf`` and NaN handling that
  log-domain code and our NaN checks depend on.
* ``nogil=True`` so host threads can overlap cores.
* No C-callable wrapper (``no_cfunc_wrapper``): Numba builds one per compiled function only for use as a
  first-class function value, which numbaot never makes; it cost 10-20 ms of each function's cold compile (0.3 s of
  a first Gromov-Wasserstein call). Calls between cores and from Python do not use it.
* ``refcount=False`` for small helpers called in a hot loop with array arguments (the network simplex's pivot
  steps): a function compiled with Numba's runtime increfs and decrefs each array argument on every call, an
  atomic instruction (~20 cycles) each; that was a fifth of the simplex's time at n = 100. Such a helper must not
  allocate (no ``np.empty``, no array-returning numpy calls); slicing and indexing are fine.
"""
from __future__ import annotations

import os
import threading

import numba

from . import _config, _threads

_threads.load_tbb()  # before any parallel core runs: Numba can then pick its fork- and thread-safe TBB layer

#: fastmath flags that keep IEEE infinities and NaN semantics intact.
SAFE_FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


_CACHE_DIR_LOCK = threading.Lock()


def _jit(func, options):
    where = _config.cache_dir()
    if where is not None:
        # Numba's cache locator reads its folder when the function is decorated: point it at ours for that moment
        # (under a lock: two threads may import two numbaot modules at once), and leave the user's setting as it was
        with _CACHE_DIR_LOCK:
            previous = numba.config.CACHE_DIR
            numba.config.CACHE_DIR = os.path.join(where, _config.source_stamp(func.__module__))
            try:
                return numba.njit(cache=True, **options)(func)
            except RuntimeError as exc:  # no writable cache locator after all: run uncached, do not fail at import
                if "locator" not in str(exc):
                    raise
            finally:
                numba.config.CACHE_DIR = previous
    return numba.njit(cache=False, **options)(func)


def cpu_jit(func=None, *, parallel: bool = False, fastmath=SAFE_FASTMATH, refcount: bool = True, **options):
    """Compile a CPU core with numbaot's policy. Use as ``@cpu_jit`` or ``@cpu_jit(parallel=True)``.

    ``parallel=True`` only where the body has a ``prange``; pass the thread count in as an argument and call
    ``numba.set_num_threads`` on the host, never inside the core (that would disable caching).
    ``refcount=False``: compiled without Numba's runtime (see the module docstring; the body must not allocate).
    """
    opts = dict(nogil=True, fastmath=set(fastmath) if fastmath else False, parallel=parallel,
                no_cfunc_wrapper=True, **options)
    if not refcount:
        opts["_nrt"] = False  # Numba's (private) switch for the runtime: no reference counting, no allocation

    def decorate(f):
        return _jit(f, opts)

    return decorate if func is None else decorate(func)


class Twin:
    """One pure-Python body compiled as a CPU function (``.cpu``) and as a CUDA device function (``.cuda``).

    The body uses scalar arithmetic, ``math`` and array indexing, and allocates no arrays, so that both targets
    accept it. It may call other twins through module globals named in ``deps`` (global name -> Twin): the CPU
    build sees the module's globals as they are (bound to the ``.cpu`` functions), the CUDA build a copy of the
    body whose globals bind those names to the ``.cuda`` functions. ``.cuda`` compiles lazily, on first use by a
    kernel module, so that importing numbaot never imports ``numba.cuda``.
    """

    def __init__(self, body, fastmath=SAFE_FASTMATH, deps=None, inline="always"):
        self.py = body
        self.deps = dict(deps or {})
        self.cpu = cpu_jit(inline=inline, fastmath=fastmath)(body)
        self._cuda = None
        self.__doc__ = body.__doc__
        self.__name__ = body.__name__

    @property
    def cuda(self):
        if self._cuda is None:
            import types

            from numba import cuda

            body = self.py
            if self.deps:
                scope = dict(body.__globals__)
                scope.update({name: dep.cuda for name, dep in self.deps.items()})
                body = types.FunctionType(body.__code__, scope, body.__name__, body.__defaults__, body.__closure__)
            self._cuda = cuda.jit(device=True)(body)
        return self._cuda


def twin(body=None, *, fastmath=SAFE_FASTMATH, deps=None, inline="always"):
    """Decorator: ``@twin`` on a scalar body gives ``body.cpu`` (njit) and ``body.cuda`` (CUDA device function).

    ``@twin(fastmath=False)`` compiles the CPU side with strict IEEE arithmetic: needed where one value must come
    out bit-identical wherever it is inlined. (Numba's cache key ignores the fastmath flags, so one body must not
    be compiled twice with different flags.)
    """
    if body is None:
        return lambda f: Twin(f, fastmath=fastmath, deps=deps, inline=inline)
    return Twin(body, fastmath=fastmath, deps=deps, inline=inline)
