"""Shared helpers for numbaot's benchmarks: alternated timing, medians, value checks, machine info, tables.

Timing method
-------------
:func:`race` runs the contestants of one case round-robin (A B C A B C ...), so that slow drifts of the machine
(frequency scaling, noisy neighbours, page cache) hit every contestant alike, and reports the median of each one's
timings. Every contestant is called once before timing (this compiles the Numba cores and warms caches); the value
of that call is kept for the accuracy check.
"""
from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Contestant:
    """A named zero-argument callable and what it measured."""

    name: str
    call: object
    value: object = None
    times: list = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def race(contestants, repeats: int):
    """Warm up every contestant once, then time ``repeats`` rounds of A B C ...; returns the contestants."""
    for c in contestants:
        c.value = c.call()
    gc.collect()
    for _ in range(repeats):
        for c in contestants:
            start = time.perf_counter()
            c.call()
            c.times.append(time.perf_counter() - start)
    return contestants


def rel_diff(a, b) -> float:
    """Largest ``|a - b| / max(|a|, |b|)`` over the entries (0 where both are 0)."""
    import numpy as np

    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    return float(np.max(np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)))


def median(values) -> float:
    return statistics.median(values)


# ----------------------------------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def threading_layer() -> str:
    """Numba's threading layer; known only once a parallel core has run, so run a tiny one first (after letting
    numbaot make TBB loadable, as its first solve would: otherwise this probe would start OpenMP for the run)."""
    import numba
    import numpy as np

    from numbaot import _threads

    _threads.load_tbb()

    @numba.njit(parallel=True, cache=False)
    def _touch(x):
        s = 0.0
        for i in numba.prange(x.shape[0]):
            s += x[i]
        return s

    _touch(np.ones(4))
    try:
        return numba.threading_layer()
    except ValueError:
        return "unknown"


def machine_line() -> str:
    import numba
    import numpy
    import ot
    import scipy

    import numbaot

    return (
        f"{cpu_model()}, {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; numba {numba.__version__} (threading layer {threading_layer()}, "
        f"{numba.get_num_threads()} threads); numbaot {numbaot.__version__}, POT {ot.__version__}, "
        f"scipy {scipy.__version__}, numpy {numpy.__version__}"
    )


# ------------------------------------------------------------------------------------------------------ tables
def format_table(headers, rows, markdown: bool) -> str:
    """Rows of strings as an aligned plain-text table or a GitHub Markdown table."""
    rows = [[str(cell) for cell in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def fmt_time(seconds: float) -> str:
    """Seconds in ms with three significant digits."""
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fmt_n(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"1e{exponent}" if n == 10**exponent else str(n)


# ------------------------------------------------------------------------------------------------- POT tables
def pot_ratio_table(cases, targets, headers, title, diff, markdown: bool, wrap=None) -> list:
    """The benches' common main loop: print the machine, race numbaot against POT on each case ``(name, size,
    repeats, ours, theirs)``, and print one table of medians, POT / numbaot ratios, ``diff(ours, theirs)`` of the
    values, and the verdict against ``targets[name]`` (a ratio) where there is one. ``wrap`` wraps both callables
    (e.g. to silence warnings). Returns the rows."""
    import sys

    started = time.perf_counter()
    print(("**Machine:** " if markdown else "Machine: ") + machine_line())
    rows = []
    for name, size, repeats, ours, theirs in cases:
        if wrap is not None:
            ours, theirs = wrap(ours), wrap(theirs)
        us, peer = race([Contestant("numbaot", ours), Contestant("POT", theirs)], repeats)
        ratio = peer.median / us.median
        target = targets.get(name)
        verdict = "-" if target is None else f">= {target:g}x: {'met' if ratio >= target else 'NOT met'}"
        rows.append([name, size, fmt_time(us.median), fmt_time(peer.median), f"{ratio:.1f}x",
                     f"{diff(us.value, peer.value):.1e}", verdict])
        print(f"  done {name}", file=sys.stderr, flush=True)
    print(f"\n### {title} (median ms)\n" if markdown else f"\n== {title} (median ms) ==")
    print(format_table(headers, rows, markdown))
    print(f"(total benchmark time {time.perf_counter() - started:.0f} s)")
    return rows
