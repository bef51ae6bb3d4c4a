"""Tunables, read on the host only and passed into jitted code as arguments.

Jitted code never reads these module globals: Numba freezes globals at compile time, and a cached function that read
them would silently keep a stale value.
"""
from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from exc


#: On-disk caching of compiled cores (``NUMBAOT_CACHE=0`` switches it off).
CACHE = os.environ.get("NUMBAOT_CACHE", "1") != "0"

#: Threads per block of the CUDA kernels; tests patch it small so that tiny inputs span several blocks.
CUDA_THREADS_PER_BLOCK = _env_int("NUMBAOT_CUDA_TPB", 256)

#: Below this many points the 1D solver sorts its two inputs one after the other; above it, on two host threads
#: (numpy's sort releases the GIL). Measured in bench/bench_1d.py: the thread hand-off costs ~50 us.
PARALLEL_SORT_MIN = _env_int("NUMBAOT_PARALLEL_SORT_MIN", 50_000)

#: Dense outputs larger than this many bytes are refused with a ValueError that suggests a sparse or lazy output.
MAX_DENSE_BYTES = _env_int("NUMBAOT_MAX_DENSE_BYTES", 8 * 2**30)


def n_threads(requested: int | None = None) -> int:
    """The thread count to pass into parallel cores: ``requested`` if given, else Numba's current setting."""
    import numba

    available = numba.config.NUMBA_NUM_THREADS
    if requested is None:
        return int(numba.get_num_threads())
    import numbers

    if isinstance(requested, bool) or not isinstance(requested, numbers.Integral):
        raise TypeError(f"n_threads must be a positive int or None, got {requested!r}")
    if requested < 1:
        raise ValueError(f"n_threads must be >= 1, got {requested}")
    return min(int(requested), int(available))

#: Network simplex: relative tolerance on negative reduced costs, and the pricing block: NS_BLOCK_FACTOR *
#: sqrt(n m) arcs, at least NS_MIN_BLOCK. A factor of 0.5 beat 0.25, 1, 2 and 4 on random 2D clouds at n = 2000
#: and 4000 (more pivots, each priced faster; bench/RESULTS.md).
NS_TOL = 64 * 2.220446049250313e-16
NS_MIN_BLOCK = 10
NS_BLOCK_FACTOR = 0.5
#: Pricing blocks of at least this many arcs are split across threads. One parallel region per pivot costs ~10 us
#: on the 2-core reference machine: with the vectorised pricing (session 5) splitting lost below ~8000 arcs and won
#: from there on (bench_emd.py --pricing; at n = m = 10000, blocks of 5000 arcs, 6.6 s serial against 6.8-6.9 s
#: split; with the older pricing the break-even was ~4000 arcs).
NS_PARALLEL_MIN_BLOCK = _env_int("NUMBAOT_NS_PARALLEL_MIN_BLOCK", 8192)
