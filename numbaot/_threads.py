"""Numba's thread count around a call: the one helper every parallel core's caller uses.

It lives below every family (cores and drivers import it; it imports only ``_config``), so that no core reaches up
into the public ``utils`` for it.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

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


#: The calling thread's scheduler statistics (Linux): nanoseconds run, nanoseconds spent runnable but waiting for a
#: CPU, time slices. A module attribute so that tests can point it at a file of their own.
SCHEDSTAT = "/proc/thread-self/schedstat"
#: Looks closer together than this (ns, run + wait) keep the last answer: too short a span to tell.
WAIT_SPAN_NS = 20_000_000

_seen = threading.local()
#: The wall clock of :func:`cpu_wait_fraction`'s gate (ns; a module attribute so that tests can drive it).
_clock = time.monotonic_ns


def cpu_wait_fraction() -> float:
    """The fraction of its time the calling thread has lately spent waiting for a CPU (runnable, not running): 0 on
    a quiet machine, ``1 - 1 / k`` when k runnable threads share each core. "Lately": since this thread last asked,
    once that span reaches ``WAIT_SPAN_NS`` (a shorter one keeps the last answer); at the first question, since the
    thread started. One read of ``/proc/thread-self/schedstat`` (~10 us); 0.0 where it cannot be read (not Linux).

    On the 2-core reference machine with bench_busy's hogs (one spinning process per core) it was 0.6-0.7, on 1
    and on 2 threads; quiet, 0.00-0.04.
    """
    last = getattr(_seen, "last", None)  # (run, wait, answer, wall clock) of the last judged look
    now = _clock()
    # a thread's run + wait time grows no faster than the wall clock: under WAIT_SPAN_NS of wall time since the last
    # judged look, the file would give a shorter span, hence the last answer; skip the read (and its open: the
    # divergence to tol, thousands of steps, ran 5-8% slower with one per step)
    if last is not None and now - last[3] < WAIT_SPAN_NS:
        return last[2]
    try:
        with open(SCHEDSTAT, "rb") as f:
            fields = f.read().split()
        run, wait = int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    last_run, last_wait, answer, _ = last or (0, 0, 0.0, 0)
    span = (run - last_run) + (wait - last_wait)
    if span < 0:  # another file (tests): start over from this reading
        _seen.last = (run, wait, answer, now)
    elif last is None or span >= WAIT_SPAN_NS:
        answer = (wait - last_wait) / span if span > 0 else 0.0
        _seen.last = (run, wait, answer, now)
    return answer


def short_region_threads(threads: int) -> int:
    """Numba's thread count for a core that starts one short parallel region per iteration (~0.1-1 ms each):
    ``threads`` on a quiet machine, fewer while other work holds the cores: ``threads (1 - w)`` rounded, at
    least 1, with ``w`` the calling thread's :func:`cpu_wait_fraction` (each thread's share of a core).

    When other processes hold every core, each region ends waiting for whichever of its threads the scheduler has
    set aside for a time slice (milliseconds, against a region's fraction of one): on 2 cores with both busy, two
    threads were up to 1.5x slower than one (issue 13, bench/bench_busy.py), and here w ~ 0.67 gives 1 thread.
    More chunks than threads (``numba.set_parallel_chunksize``) did not help: the region still waits for the chunk
    in progress on the preempted thread. The caller keeps its chunk count (hence its summation order) at
    ``threads``: only the number of threads running the chunks changes, so the results do not depend on the load.
    """
    if threads <= 1:
        return threads
    return max(1, min(threads, round(threads * (1.0 - cpu_wait_fraction()))))


def run_parallel(core, n_threads, *args):
    """Call a ``parallel=True`` core with the caller's thread count, restoring Numba's setting afterwards."""
    with numba_threads(n_threads):
        return core(*args)


def run_short_regions(core, n_threads, *args):
    """:func:`run_parallel` for a core that starts one short parallel region per iteration (a jitted loop of
    half-steps, a host loop's step) and whose results do not depend on how many threads run it (rows computed on
    their own, no per-thread partial sums): on :func:`short_region_threads` of the count asked."""
    return run_parallel(core, short_region_threads(_config.n_threads(n_threads)), *args)
