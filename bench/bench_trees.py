"""Before/after a change: the same workloads timed on two checkouts of numbaot, in fresh processes that take turns
(A B A B ...), medians. This is how a refactor proves that it kept the speed (bench/RESULTS.md's ratios against
POT come from the other scripts; those runs cannot be alternated across checkouts).

    git worktree add /tmp/before <commit>
    python bench/bench_trees.py /tmp/before --markdown
    python bench/bench_trees.py . --this-env NUMBA_THREADING_LAYER=tbb --other-env NUMBA_THREADING_LAYER=omp

Each process compiles first (its cache is warm after the first round) and then times one call of each workload.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: name -> (setup, call), run after ``import numpy as np, numbaot`` with ``rng = np.random.default_rng(0)``.
WORKLOADS = {
    "sinkhorn_log n=1000, 100 it": (
        "M = numbaot.dist(rng.random((1000, 2)), rng.random((1000, 2))); reg = 0.01 * float(M.max())",
        "numbaot.sinkhorn(None, None, M, reg, max_iter=100, tol=0.0, check_every=100)"),
    "sinkhorn_log float32 n=1000, 100 it": (
        "M = numbaot.dist(rng.random((1000, 2)), rng.random((1000, 2))).astype(np.float32); "
        "reg = 0.01 * float(M.max())",
        "numbaot.sinkhorn(None, None, M, reg, max_iter=100, tol=0.0, check_every=100)"),
    "unbalanced n=1000, 100 it": (
        "M = numbaot.dist(rng.random((1000, 2)), rng.random((1000, 2))); reg = 0.05 * float(M.max())",
        "numbaot.sinkhorn_unbalanced(None, None, M, reg, 1.0, max_iter=100, tol=0.0)"),
    "translation invariant n=1000, 100 it": (
        "M = numbaot.dist(rng.random((1000, 2)), rng.random((1000, 2))); reg = 0.05 * float(M.max())",
        "numbaot.sinkhorn_unbalanced(None, None, M, reg, 1.0, method='sinkhorn_translation_invariant', "
        "max_iter=100, tol=0.0)"),
    "solve_batch B=256 n=64, 30 it": (
        "M = np.stack([numbaot.dist(rng.random((64, 2)), rng.random((64, 2))) for _ in range(256)])",
        "numbaot.solve_batch(M, 0.05, max_iter=30, tol=0.0)"),
    "solve_batch B=3 n=800, 30 it": (
        "M = np.stack([numbaot.dist(rng.random((800, 2)), rng.random((800, 2))) for _ in range(3)])",
        "numbaot.solve_batch(M, 0.05, max_iter=30, tol=0.0)"),
    "online n=2000 d=3, 10 it": (
        "X, Y = rng.random((2000, 3)), rng.random((2000, 3))",
        "numbaot.solve_sample(X, Y, reg=0.05, lazy=True, max_iter=10, tol=0.0)"),
    "sinkhorn n=200 to tol (small-call overhead)": (
        "M = numbaot.dist(rng.random((200, 2)), rng.random((150, 2)))",
        "numbaot.sinkhorn(None, None, M, 0.05)"),
    "entropic GW n=300 eps 0.01": (
        "C1 = numbaot.dist(rng.random((300, 2)), rng.random((300, 2)), metric='euclidean'); "
        "C2 = numbaot.dist(rng.random((300, 3)), rng.random((300, 3)), metric='euclidean')",
        "numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=0.01)"),
    "sinkhorn_divergence n=1000": (
        "X, Y = rng.random((1000, 2)), rng.random((800, 2))",
        "numbaot.sinkhorn_divergence(X, Y, reg=0.05)"),
    "sinkhorn_divergence 500x400 reg=0.01 to tol (issue 13)": (
        "X, Y = rng.normal(size=(500, 2)), rng.normal(size=(400, 2)) + 1.0; import warnings; "
        "warnings.simplefilter('ignore')",
        "numbaot.sinkhorn_divergence(X, Y, reg=0.01, max_iter=5000)"),
}

_SCRIPT = """
import json, time, warnings
import numpy as np, numbaot
warnings.simplefilter("ignore")
out = {}
for name, (setup, call, repeats) in json.loads(WORK).items():
    rng = np.random.default_rng(0)
    exec(setup)
    exec(call)  # compile or load from the cache; warm the caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        exec(call)
        times.append(time.perf_counter() - start)
    out[name] = min(times)
print(json.dumps(out))
"""


def run_tree(tree, work, extra_env=()):
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBAOT_CACHE_DIR=str(pathlib.Path(tree) / ".bench_cache"))
    env.update(item.split("=", 1) for item in extra_env)
    script = _SCRIPT.replace("WORK", repr(json.dumps(work)))
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tree, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="the other checkout (the 'before' tree)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="calls per process; the fastest counts")
    parser.add_argument("--only", action="append", help="substring of the workloads to run")
    parser.add_argument("--this-env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment of this tree's processes (e.g. NUMBA_THREADING_LAYER=tbb)")
    parser.add_argument("--other-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    names = [n for n in WORKLOADS if not args.only or any(s in n for s in args.only)]
    work = {n: (*WORKLOADS[n], args.repeats) for n in names}
    trees = {"this": ROOT, "other": pathlib.Path(args.other).resolve()}
    times = {t: {n: [] for n in names} for t in trees}
    for r in range(args.rounds):
        for label, tree in (trees.items() if r % 2 == 0 else reversed(trees.items())):
            extra = args.this_env if label == "this" else args.other_env
            for name, seconds in run_tree(tree, work, extra).items():
                times[label][name].append(seconds)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"\n{args.rounds} alternated rounds of fresh processes; per round the fastest of {args.repeats} calls; "
          f"medians over rounds. other = {trees['other']} {' '.join(args.other_env)}; this "
          f"{' '.join(args.this_env)}\n")
    print("| workload | this ms | other ms | other / this |")
    print("|---|---|---|---|")
    for name in names:
        this, other = (statistics.median(times[t][name]) * 1e3 for t in ("this", "other"))
        print(f"| {name} | {this:.2f} | {other:.2f} | {other / this:.2f} |")


if __name__ == "__main__":
    main()
