"""Gromov-Wasserstein: numbaot side by side with POT (ot.gromov) in one process.

Problems: a random 2D cloud of n points against a random 3D cloud of n points, Euclidean distance matrices (float64),
uniform weights; for fused GW each point also carries a scalar feature and M is the squared feature difference.
Both libraries start from the product plan p q^T and run the same algorithm (conditional gradient with an exact line
search; mirror descent with Sinkhorn for the entropic variant), so they reach the same local minimum: the table shows
the relative difference of the values. Runs are alternated (see ``_common.race``) and medians are reported; the
ratio is POT / numbaot (above 1: numbaot is faster). numbaot runs with 1 Numba thread and with all; the BLAS
products of both libraries use OpenBLAS's own threads (set OPENBLAS_NUM_THREADS=1 for a single-core comparison).

``--cpu-time`` times with ``time.process_time`` instead of the wall clock, numbaot on one Numba thread: run it as
``OPENBLAS_NUM_THREADS=1 python bench/bench_gromov.py --cpu-time`` for a single-core comparison that a loaded
machine (other processes competing for the cores) distorts much less than wall-clock times.

Usage: python bench/bench_gromov.py [--quick] [--large] [--markdown] [--cpu-time]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402


def make_problem(n: int, seed: int = 0):
    import numbaot

    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 3))
    C1 = numbaot.dist(x, x, metric="euclidean")
    C2 = numbaot.dist(y, y, metric="euclidean")
    fx, fy = rng.random((n, 1)), rng.random((n, 1))
    M = numbaot.dist(fx, fy)
    return C1, C2, M


def contestants(kind, C1, C2, M, threads, epsilon, accelerate=None):
    import ot

    import numbaot

    if kind == "gw":
        ours = lambda t: (lambda: numbaot.gromov_wasserstein2(C1, C2, n_threads=t))  # noqa: E731
        peer = lambda: ot.gromov.gromov_wasserstein2(C1, C2)  # noqa: E731
    elif kind == "fgw":
        ours = lambda t: (lambda: numbaot.fused_gromov_wasserstein2(M, C1, C2, alpha=0.5, n_threads=t))  # noqa: E731
        peer = lambda: ot.gromov.fused_gromov_wasserstein2(M, C1, C2, alpha=0.5)  # noqa: E731
    else:
        ours = lambda t: (lambda: numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=epsilon,  # noqa: E731
                                                                       n_threads=t, warn=False,
                                                                       accelerate=accelerate))
        peer = lambda: ot.gromov.entropic_gromov_wasserstein2(C1, C2, epsilon=epsilon)  # noqa: E731
    field = [Contestant("numbaot 1 thread", ours(1))]
    if threads > 1:
        field.append(Contestant(f"numbaot {threads} threads", ours(threads)))
    return field + [Contestant("POT", peer)]


CASES = {
    # name: (kind, epsilon, accelerate); the entropic solver's default acceleration is 'momentum'
    "gromov_wasserstein": ("gw", None, None),
    "fused_gromov_wasserstein (alpha 0.5)": ("fgw", None, None),
    "entropic_gromov_wasserstein (eps 0.01)": ("egw", 0.01, "momentum"),
    "entropic_gromov_wasserstein (eps 0.1)": ("egw", 0.1, "momentum"),
    "entropic_gromov_wasserstein (eps 0.1, accelerate=None)": ("egw", 0.1, None),
    "entropic_gromov_wasserstein (eps 0.1, accelerate='anderson')": ("egw", 0.1, "anderson"),
}
#: Cases also run at n = 1000 (--large): the others take minutes there (POT's Sinkhorn at eps 0.01).
LARGE_CASES = ("gromov_wasserstein", "fused_gromov_wasserstein (alpha 0.5)", "entropic_gromov_wasserstein (eps 0.1)")


def race_cpu(contestants, repeats: int):
    """``_common.race`` with ``time.process_time``: CPU seconds of this process, alternated, after a warm-up."""
    for c in contestants:
        c.value = c.call()
    for _ in range(repeats):
        for c in contestants:
            start = time.process_time()
            c.call()
            c.times.append(time.process_time() - start)
    return contestants


def bench(sizes, repeats, markdown, cpu_time=False):
    import numba

    threads = 1 if cpu_time else numba.config.NUMBA_NUM_THREADS
    rows = []
    for n in sizes:
        C1, C2, M = make_problem(n)
        for name, (kind, epsilon, accelerate) in CASES.items():
            if n > 300 and name not in LARGE_CASES:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # POT's own convergence chatter
                timer = race_cpu if cpu_time else race
                field = timer(contestants(kind, C1, C2, M, threads, epsilon, accelerate), repeats[n])
            ours, peer = field[0], field[-1]
            best_ours = min(field[:-1], key=lambda c: c.median)
            rows.append([
                n, name, fmt_time(ours.median), fmt_time(field[-2].median), fmt_time(peer.median),
                f"{peer.median / ours.median:.2f}", f"{peer.median / best_ours.median:.2f}",
                f"{rel_diff(ours.value, peer.value):.1e}",
            ])
            print(f"  n={n} {name} done", file=sys.stderr)
    headers = ["n = m", "solver", "numbaot 1T ms", f"numbaot {threads}T ms", "POT ms", "ratio (1T)",
               "ratio (best)", "rel diff"]
    return format_table(headers, rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100 only, 3 repeats")
    parser.add_argument("--large", action="store_true", help="also n = 1000 (1 repeat)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--cpu-time", action="store_true", help="CPU time of one thread (see the docstring)")
    args = parser.parse_args(argv)
    print(machine_line())
    if args.quick:
        sizes, repeats = [100], {100: 3}
    else:
        sizes, repeats = [100, 300], {100: 5, 300: 3}
    if args.large:
        sizes.append(1000)
        repeats[1000] = 1
    start = time.perf_counter()
    print(bench(sizes, repeats, args.markdown, args.cpu_time))
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
