"""Exact OT by the network simplex: numbaot.emd2 side by side with POT's ot.emd2 (and pynndescent's Numba
network simplex, `pynndescent.distances.kantorovich`, where it is installed), in one process.

Problems: random 2D clouds in the unit square, squared Euclidean costs (float64), uniform or random weights.
Runs are alternated between the libraries (see ``_common.race``) and medians are reported; the ratio is
peer / numbaot (above 1: numbaot is faster). numbaot runs with 1 thread and with all threads, which says how much
of the gain comes from the second core. POT's ``numThreads`` is ignored since 0.9.7 (one thread); its default
``numItermax`` of 1e5 pivots stops short of the optimum from n = 4000 on, so it is raised to 1e9 here.

``--large`` also solves n = m = 10000 in a child process and reports its time and peak memory (ru_maxrss).
``--pricing`` measures what sets ``_config.NS_BLOCK_FACTOR`` and ``NS_PARALLEL_MIN_BLOCK``: the core's time on one
problem for several block sizes, pricing serial (1 thread) and split across all threads.

Usage: python bench/bench_emd.py [--quick] [--markdown] [--large] [--pricing]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402


def make_problem(n: int, weighted: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    import numbaot

    M = numbaot.dist(x, y)  # no (n, n, 2) temporary: the n = 10000 case measures the solver's memory
    if weighted:
        a, b = rng.random(n) + 0.1, rng.random(n) + 0.1
        a, b = a / a.sum(), b / b.sum()
    else:
        a = b = np.full(n, 1.0 / n)
    return a, b, M


def contestants(a, b, M, threads: int):
    import ot

    import numbaot

    out = [
        Contestant("numbaot 1 thread", lambda: numbaot.emd2(a, b, M, n_threads=1)),
        Contestant(f"numbaot {threads} threads", lambda: numbaot.emd2(a, b, M, n_threads=threads)),
        Contestant("POT", lambda: ot.emd2(a, b, M, numItermax=10**9)),
    ]
    try:
        from pynndescent.distances import kantorovich
    except ImportError:
        return out

    def pynndescent_call():
        try:
            return kantorovich(a, b, M, max_iter=10**9)
        except ValueError:  # it reports some feasible problems as INFEASIBLE (seen at n = 4000, random weights)
            return float("nan")

    out.append(Contestant("pynndescent", pynndescent_call))
    return out


def bench(sizes, repeats, markdown):
    import numba

    threads = numba.config.NUMBA_NUM_THREADS
    rows = []
    for n in sizes:
        for weighted in (False, True):
            a, b, M = make_problem(n, weighted)
            field = race(contestants(a, b, M, threads), repeats)
            ours = field[0]
            best_ours = min(field[:2], key=lambda c: c.median)
            for peer in field[2:]:
                rows.append([
                    n, "random" if weighted else "uniform", peer.name, fmt_time(field[0].median),
                    fmt_time(field[1].median), fmt_time(peer.median), f"{peer.median / ours.median:.2f}",
                    f"{peer.median / best_ours.median:.2f}",
                    "failed" if np.isnan(peer.value) else f"{rel_diff(ours.value, peer.value):.1e}",
                ])
            print(f"  n={n} {'random' if weighted else 'uniform'} done", file=sys.stderr)
    headers = ["n = m", "weights", "peer", "numbaot 1T ms", f"numbaot {threads}T ms", "peer ms",
               "ratio (1T)", "ratio (best)", "rel diff"]
    return format_table(headers, rows, markdown)


LARGE_CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from bench_emd import make_problem
import numbaot
a, b, M = make_problem(10000, False)
numbaot.emd2(a[:10] * 1000, b[:10] * 1000, M[:10, :10])
start = time.perf_counter()
res = numbaot.solve(M, a, b)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "pivots": res.n_iter, "status": res.status.name, "value": float(res.value),
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "cost_matrix_gib": M.nbytes / 2**30}))
"""


def bench_large():
    out = subprocess.run([sys.executable, "-c", LARGE_CHILD, os.path.dirname(os.path.abspath(__file__))],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_pricing(n, markdown):
    """Core time and pivots for block = factor * sqrt(nm) arcs, serial and parallel pricing (uniform weights)."""
    import math

    import numba

    from numbaot import _config
    from numbaot.exact import _network_simplex as NS
    from numbaot.exact._driver import _artificial_costs

    a, b, M = make_problem(n, False)
    threads = numba.config.NUMBA_NUM_THREADS

    def run(factor, parallel_min_block, n_threads):
        state = NS.new_state(n, n)
        art = _artificial_costs(float(M.max()), n, n, None)
        block = int(factor * math.isqrt(n * n))
        start = time.perf_counter()
        _, pivots, _, _ = NS.solve(NS.readonly(M), a, b, art, state, False,
                                   (10**9, block, _config.NS_TOL, parallel_min_block), n_threads)
        return pivots, time.perf_counter() - start

    run(1.0, 2**62, 1)  # compile
    rows = []
    for factor in (0.25, 0.5, 1.0, 2.0, 4.0):
        pivots, serial = run(factor, 2**62, 1)
        _, parallel = run(factor, 1, threads)
        rows.append([n, factor, int(factor * n), pivots, f"{serial:.3f}", f"{parallel:.3f}",
                     f"{serial / parallel:.2f}"])
    headers = ["n = m", "block factor", "block (arcs)", "pivots", "serial s", f"parallel ({threads}T) s",
               "parallel gain"]
    return format_table(headers, rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 500 and 1000, 3 repeats")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--large", action="store_true", help="also solve n = m = 10000 in a child process")
    parser.add_argument("--pricing", action="store_true", help="only the block size / parallel pricing sweep")
    args = parser.parse_args(argv)
    print(machine_line())
    if args.pricing:
        for n in (2000, 4000):
            print(bench_pricing(n, args.markdown))
        return
    sizes, repeats = ([500, 1000], 3) if args.quick else ([1000, 2000, 4000], 5)
    start = time.perf_counter()
    print(bench(sizes, repeats, args.markdown))
    if args.large:
        print("n = m = 10000, uniform weights:", bench_large())
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
