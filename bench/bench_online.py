"""Online (lazy) log-domain Sinkhorn between point clouds: numbaot.solve_sample(X_a, X_b, reg=..., lazy=True) side by
side with POT's ot.bregman.empirical_sinkhorn(..., isLazy=True), and numbaot's peak memory at n = m = 20000, d = 3.

Problems: random clouds in the unit cube (d = 3), squared Euclidean costs, uniform weights, reg = 0.05. Both run a
fixed number of iterations without early stop (tol = 0, POT's stopThr = 0). The time per iteration is the slope
between a run of k1 and a run of k2 iterations, (t(k2) - t(k1)) / (k2 - k1), so that the set-up and the final value
pass cancel; runs are alternated (A B A B ...) and medians reported (ratio = POT / numbaot, above 1: numbaot is
faster). POT's lazy path takes seconds per iteration from n = 5000 on, hence the small k and sizes.

The memory figure is the peak resident set size of a fresh Python process (``VmHWM`` of its own address space on
Linux: ``ru_maxrss`` would keep the forking parent's high-water mark from before ``exec``) that imports numbaot and
solves at n = m = 20000 for a few iterations, next to that of a process that only imports numbaot and compiles
the same cores on a tiny problem (the interpreter, numpy and Numba themselves).

Usage: python bench/bench_online.py [--quick] [--markdown] [--sizes 2000 4000] [--no-memory]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race  # noqa: E402

REG = 0.05


def make_clouds(n: int, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.random((n, d))


def per_iteration(sizes, iters, repeats, markdown):
    import warnings

    import ot

    import numbaot

    rows = []
    k1, k2 = iters
    for n in sizes:
        X, Y = make_clouds(n)

        def ours(k):
            return lambda: numbaot.solve_sample(X, Y, reg=REG, lazy=True, max_iter=k, tol=0.0, warn=False)

        def pot(k):
            def call():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # POT warns that it stopped at numIterMax
                    return ot.bregman.empirical_sinkhorn(X, Y, REG, numIterMax=k, stopThr=0.0, isLazy=True,
                                                         log=True)
            return call

        contestants = race([Contestant("ours k1", ours(k1)), Contestant("pot k1", pot(k1)),
                            Contestant("ours k2", ours(k2)), Contestant("pot k2", pot(k2))], repeats)
        c = {x.name: x for x in contestants}
        ours_it = (c["ours k2"].median - c["ours k1"].median) / (k2 - k1)
        pot_it = (c["pot k2"].median - c["pot k1"].median) / (k2 - k1)
        # same iterates: POT's lazy path returns (f, g, log) with f = our potential / reg up to a constant
        f_ours = np.asarray(c["ours k2"].value.potential_a)
        f_pot = np.asarray(c["pot k2"].value[0]) * REG
        shift = np.mean(f_ours - f_pot)
        diff = f"{np.max(np.abs(f_ours - f_pot - shift)):.1e}"
        rows.append([str(n), fmt_time(ours_it), fmt_time(pot_it), f"{pot_it / ours_it:.1f}", diff])
    print(f"\nPer iteration (slope between {k1} and {k2} iterations, d = 3, reg = {REG}), medians of {repeats}:\n")
    print(format_table(["n = m", "numbaot ms/iter", "POT lazy ms/iter", "ratio", "max |f diff| after k2"], rows,
                       markdown))


_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    import numbaot
    n, iters = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    X, Y = rng.random((n, 3)), rng.random((n, 3))
    start = time.perf_counter()
    res = numbaot.solve_sample(X, Y, reg=0.05, lazy=True, max_iter=iters, tol=0.0, warn=False)
    seconds = time.perf_counter() - start
    float(res.value); res.plan_operator.matvec(np.ones(n))
    try:  # Linux: this address space's own high-water mark (ru_maxrss keeps the forking parent's from before exec)
        with open("/proc/self/status") as handle:
            peak = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(peak, seconds)
""")


def peak_memory(n, iters):
    """(peak MiB, seconds) of a fresh process solving at n = m (``iters`` iterations)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(iters)], cwd=root, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def memory(n, iters, markdown):
    base, _ = peak_memory(50, 2)
    peak, seconds = peak_memory(n, iters)
    rows = [["import + tiny solve (n = 50)", f"{base:.0f}", ""],
            [f"n = m = {n}, d = 3, {iters} iterations + value + one P @ v", f"{peak:.0f}",
             f"{seconds:.1f} s"]]
    print("\nPeak resident memory of a fresh process (VmHWM on Linux, else ru_maxrss):\n")
    print(format_table(["run", "peak MiB", "solve time"], rows, markdown))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 1000 and 2000 only, 3 repeats")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes or ([1000, 2000] if args.quick else [2000, 4000])
    repeats = 3 if args.quick else 5
    print(machine_line())
    per_iteration(sizes, (2, 6), repeats, args.markdown)
    if not args.no_memory:
        memory(20000, 2 if args.quick else 3, args.markdown)


if __name__ == "__main__":
    main()
