"""Numba's thread count around a call: the one helper every parallel core's caller uses.

It lives below every family (cores and drivers import it; it imports only ``_config``), so that no core reaches up
into the public ``utils`` for it.
"""
from __future__ import annotations

import contextlib

from . import _config


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
