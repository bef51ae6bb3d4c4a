"""Benchmark numbaot's sliced Wasserstein distances against POT (``ot.sliced_wasserstein_distance``).

Usage::

    python bench/bench_sliced.py              # full run: n = 1e4, 1e5 (both libraries) and 1e6 (numbaot only)
    python bench/bench_sliced.py --quick      # smoke run (small n, few repeats)
    python bench/bench_sliced.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the libraries take turns (A B A B ...), each called once before timing (this compiles
  numbaot's cores), and the median time is reported with the ratio ``POT / numbaot`` (> 1: numbaot is faster).
* Both get the same (d, L) directions (``projections=``), so the values must agree: the relative difference is
  shown and flagged ``!`` above 1e-10 (POT's 1D solver drifts by ~1e-13 at large n).
* Inputs: float64 clouds of n = m points in d = 10, X ~ N(0, I), Y ~ N(1, 4 I); "uniform" passes no weights,
  "random" passes weights U(0.1, 1.1) normalised to 1. L = 200 directions. Target: n = 1e5, uniform, >= 5x POT.
* max-sliced (sampled) is timed on the same inputs; the gradient variant (which POT lacks) is timed alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Contestant, fmt_n, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402

RTOL = 1e-10
SPEEDUP_TARGET = 5.0
D, L = 10, 200
FULL = {"sizes": {10**4: 10, 10**5: 5}, "alone": {10**6: 3}}
QUICK = {"sizes": {10**3: 3, 10**4: 2}, "alone": {10**5: 1}}
HEADERS = ["n", "weights", "function", "numbaot ms", "POT ms", "POT/numbaot", "rel diff"]


def make_problem(n, weighted, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = rng.normal(1.0, 2.0, size=(n, D))
    if not weighted:
        return X, Y, None, None
    a, b = rng.uniform(0.1, 1.1, n), rng.uniform(0.1, 1.1, n)
    return X, Y, a / a.sum(), b / b.sum()


def bench_pairs(sizes):
    import ot

    import numbaot

    P = numbaot.get_random_projections(D, L, seed=0)
    rows, records = [], []
    for n, repeats in sizes.items():
        for weighted in (False, True):
            X, Y, a, b = make_problem(n, weighted)
            for name, ours, theirs in (
                ("sliced", numbaot.sliced_wasserstein_distance, ot.sliced_wasserstein_distance),
                ("max_sliced", numbaot.max_sliced_wasserstein_distance, ot.max_sliced_wasserstein_distance),
            ):
                us = Contestant("numbaot", lambda f=ours: f(X, Y, a, b, projections=P))
                peer = Contestant("POT", lambda f=theirs: f(X, Y, a, b, projections=P))
                race([us, peer], repeats)
                diff = rel_diff(us.value, peer.value)
                ratio = peer.median / us.median
                rows.append([fmt_n(n), "random" if weighted else "uniform", name, fmt_time(us.median),
                             fmt_time(peer.median), f"{ratio:.1f}x", f"{diff:.1e}" + (" !" if diff > RTOL else "")])
                records.append((n, weighted, name, ratio, diff))
                print(f"  done n={fmt_n(n)} {name} weighted={weighted}", file=sys.stderr, flush=True)
    return rows, records


def bench_alone(sizes):
    import numbaot

    P = numbaot.get_random_projections(D, L, seed=0)
    rows = []
    for n, repeats in sizes.items():
        X, Y, _, _ = make_problem(n, False)
        for name, call in (
            ("sliced", lambda: numbaot.sliced_wasserstein_distance(X, Y, projections=P)),
            ("max_sliced gradient", lambda: numbaot.max_sliced_wasserstein_distance(X, Y, projections=P,
                                                                                   method="gradient")),
        ):
            (us,) = race([Contestant("numbaot", call)], repeats)
            rows.append([fmt_n(n), "uniform", name, fmt_time(us.median), "-", "-", "-"])
            print(f"  done n={fmt_n(n)} {name} (numbaot alone)", file=sys.stderr, flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    md = args.markdown
    started = time.perf_counter()
    print(("Machine: " if not md else "**Machine:** ") + machine_line())
    rows, records = bench_pairs(config["sizes"])
    rows += bench_alone(config["alone"])
    print(f"\n### Sliced Wasserstein, d = {D}, L = {L} projections (median ms)\n" if md else
          f"\n== Sliced Wasserstein, d = {D}, L = {L} projections (median ms) ==")
    print(format_table(HEADERS, rows, md))
    target = [r for r in records if r[0] == 10**5 and not r[1] and r[2] == "sliced"]
    if target:
        ratio = target[0][3]
        print(f"\nTarget n = 1e5 uniform sliced: {ratio:.1f}x POT ({'met' if ratio >= SPEEDUP_TARGET else 'NOT met'}, "
              f"target {SPEEDUP_TARGET:.0f}x)")
    worst = max(r[4] for r in records)
    print(f"Largest relative difference of the values: {worst:.1e} ({'ok' if worst <= RTOL else 'ABOVE'} {RTOL:g})")
    print(f"(total benchmark time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
