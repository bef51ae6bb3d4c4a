"""First calls in fresh processes: what a new user waits for before anything is solved.

For each solver family, a fresh Python process imports numbaot and calls the solver twice on a small problem
(about 200 x 150; GW 30 x 25), timing the import, the first call and the second call. It runs once with an empty
Numba cache (everything compiles) and once more with the cache that run left (a later script of the same user).
Each family gets its own empty cache, so that no family profits from another's compiled helpers.

``--tree DIR`` (repeatable) times other checkouts of numbaot side by side with this one (before/after a change):
for each family the trees take turns, so that the machine's load drifts hit them alike. Report the machine's load
with the figures: compile time on a busy machine is two to three times the quiet figure.

    python bench/bench_startup.py --markdown
    python bench/bench_startup.py --tree /tmp/before --markdown
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: family -> (setup, call): run in a fresh process after ``import numpy as np, numbaot``.
CASES = {
    "emd2": ("X = rng.random((200, 2)); Y = rng.random((150, 2)); M = numbaot.dist(X, Y)",
             "numbaot.emd2(None, None, M)"),
    "sinkhorn": ("X = rng.random((200, 2)); Y = rng.random((150, 2)); M = numbaot.dist(X, Y)",
                 "numbaot.sinkhorn(None, None, M, 0.05)"),
    "solve_sample(lazy=True, reg)": ("X = rng.random((200, 2)); Y = rng.random((150, 2))",
                                     "numbaot.solve_sample(X, Y, reg=0.05, lazy=True)"),
    "gromov_wasserstein2": ("C1 = numbaot.dist(rng.random((30, 2)), rng.random((30, 2))); "
                            "C2 = numbaot.dist(rng.random((25, 3)), rng.random((25, 3)))",
                            "numbaot.gromov_wasserstein2(C1, C2)"),
    "sinkhorn_divergence": ("X = rng.random((200, 2)); Y = rng.random((150, 2))",
                            "numbaot.sinkhorn_divergence(X, Y, reg=0.05)"),
    "wasserstein_1d": ("x = rng.random(200); y = rng.random(150)", "numbaot.wasserstein_1d(x, y)"),
    # the divergence runs the dense solver's compiled loop: a script that calls both compiles it once
    "sinkhorn + sinkhorn_divergence": ("X = rng.random((200, 2)); Y = rng.random((150, 2)); M = numbaot.dist(X, Y)",
                                       "numbaot.sinkhorn(None, None, M, 0.05); "
                                       "numbaot.sinkhorn_divergence(X, Y, reg=0.05)"),
}

_SCRIPT = """
import time, json, warnings
t0 = time.perf_counter()
import numpy as np, numbaot
t1 = time.perf_counter()
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
{setup}
t2 = time.perf_counter()
{call}
t3 = time.perf_counter()
{call}
t4 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first": t3 - t2, "second": t4 - t3}}))
"""


def run_case(tree, family, cache_dir):
    setup, call = CASES[family]
    # both settings: NUMBAOT_CACHE_DIR (numbaot's) wins over NUMBA_CACHE_DIR, so one left in the caller's
    # environment would share a cache across the families and runs
    env = dict(os.environ, NUMBAOT_CACHE_DIR=str(cache_dir), NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(tree))
    env.pop("NUMBAOT_CACHE", None)
    out = subprocess.run([sys.executable, "-c", _SCRIPT.format(setup=setup, call=call)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], help="another numbaot checkout to time alongside")
    parser.add_argument("--family", action="append", choices=sorted(CASES), help="only these families")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    trees = [ROOT] + [pathlib.Path(t).resolve() for t in args.tree]
    families = args.family or list(CASES)
    rows = []
    for family in families:
        for tree in trees:
            with tempfile.TemporaryDirectory() as cache:
                cold = run_case(tree, family, cache)
                warm = run_case(tree, family, cache)
            rows.append((family, tree.name, cold, warm))
            print(f"{family:30s} {tree.name:10s} cold first {cold['first']:6.2f} s  warm first {warm['first']:5.2f} s"
                  f"  second {warm['second'] * 1e3:7.1f} ms  import {warm['import']:.2f} s", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if args.markdown:
        print(f"\nload average at the end: {load:.1f}; {os.cpu_count()} CPUs\n")
        print("| first call | tree | empty cache | warm cache, new process | second call | import |")
        print("|---|---|---|---|---|---|")
        for family, tree, cold, warm in rows:
            print(f"| {family} | {tree} | {cold['first']:.2f} s | {warm['first']:.2f} s | "
                  f"{warm['second'] * 1e3:.1f} ms | {warm['import']:.2f} s |")


if __name__ == "__main__":
    main()
