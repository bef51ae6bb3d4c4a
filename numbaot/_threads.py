"""Numba's thread count around a call: the one helper every parallel core's caller uses.

It lives below every family (cores and drivers import it; it imports only ``_config``), so that no core reaches up
into the public ``utils`` for it.
"""
from __future__ import annotations

import contextlib
import os
import sys

from . import _config

_TBB_LOADED = None


def load_tbb() -> bool:
    """Make Numba's TBB threading layer loadable where the ``tbb`` wheel is installed; True if it is.

    TBB is the layer that is safe both with ``fork`` (multiprocessing's default on Linux) and with several Python
    threads calling parallel cores at once, and its idle workers do not spin against other work. Numba picks it
    first when it can load it, but pip's ``tbb`` wheel puts ``libtbb.so.12`` in ``<prefix>/lib``, where Numba's
    extension (no rpath) does not look: loading the library here first, by its full path, lets the loader find it.
    Done once, before the first parallel call, and only when the user has not chosen a layer
    (``NUMBA_THREADING_LAYER``) and the layer has not started; cheap (no compilation).
    """
    global _TBB_LOADED
    if _TBB_LOADED is not None:
        return _TBB_LOADED
    _TBB_LOADED = False
    if not sys.platform.startswith("linux"):
        return False
    from numba import config
    from numba.np.ufunc import parallel

    if parallel._is_initialized or str(config.THREADING_LAYER).lower() not in ("default", "safe", "threadsafe",
                                                                                  "forksafe", "tbb"):
        return False
    import ctypes
    import site
    import sysconfig

    roots = [sysconfig.get_paths().get("data"), sys.prefix, getattr(site, "USER_BASE", None)]
    for root in dict.fromkeys(r for r in roots if r):
        path = os.path.join(root, "lib", "libtbb.so.12")
        if os.path.isfile(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
            _TBB_LOADED = True
            break
    return _TBB_LOADED


@contextlib.contextmanager
def numba_threads(n_threads):
    """Run the block with Numba's thread count set to ``n_threads`` (None: unchanged), restored afterwards.

    Loops that call parallel cores many times (conditional gradient) set it once around the loop: each
    ``numba.set_num_threads`` costs microseconds of Python, as much as a small core."""
    import numba

    threads = _config.n_threads(n_threads)
    previous = numba.get_num_threads()
    if threads == previous:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def run_parallel(core, n_threads, *args):
    """Call a ``parallel=True`` core with the caller's thread count, restoring Numba's setting afterwards."""
    with numba_threads(n_threads):
        return core(*args)
