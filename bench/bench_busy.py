"""Parallel cores on a busy machine: with other processes keeping every core busy (as on a shared server, or a
laptop running other work), a parallel core on all threads must not be slower than on one thread.

For each threading layer asked for (``--layer``, default: the ones this machine can load), a fresh process times
``sinkhorn_log`` per iteration (n = m = 1000, whole runs of I iterations, medians) on 1 thread and on all
threads, first on a quiet machine, then with ``--hogs`` busy-looping processes (default: one per core).

    python bench/bench_busy.py --markdown
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_TIMING = """
import json, statistics, time, warnings
import numpy as np
import numbaot
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
M = numbaot.dist(rng.random((1000, 2)), rng.random((1000, 2)))
reg = 0.01 * float(M.max())

def run(iters, threads):
    start = time.perf_counter()
    numbaot.sinkhorn(None, None, M, reg, max_iter=iters, tol=0.0, check_every=iters, n_threads=threads)
    return time.perf_counter() - start

out = {}
for threads in (1, THREADS):
    run(5, threads)
    slopes = []
    for _ in range(REPEATS):
        slopes.append(run(ITERS, threads) / ITERS)
    out[threads] = statistics.median(slopes) * 1e3
import numba
out["layer"] = numba.threading_layer()
print(json.dumps(out))
"""


def _hog(stop_at):
    x = 0
    while time.time() < stop_at:
        x += 1


def time_layer(layer, threads, iters, repeats, hogs):
    procs = []
    if hogs:
        stop_at = time.time() + 600
        procs = [mp.get_context("spawn").Process(target=_hog, args=(stop_at,), daemon=True) for _ in range(hogs)]
        for p in procs:
            p.start()
        time.sleep(0.5)
    try:
        env = dict(os.environ, NUMBA_THREADING_LAYER=layer, PYTHONPATH=ROOT)
        code = _TIMING.replace("THREADS", str(threads)).replace("REPEATS", str(repeats)).replace("ITERS", str(iters))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                             cwd=ROOT)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for p in procs:
            p.terminate()


def loadable_layers():
    layers = []
    for layer in ("tbb", "omp", "workqueue"):
        probe = f"from numbaot import _threads; _threads.load_tbb()\nimport numba, numpy as np\n@numba.njit(parallel=True)\ndef f(x):\n    s = 0.0\n" \
                f"    for i in numba.prange(x.shape[0]):\n        s += x[i]\n    return s\nf(np.ones(10))\n" \
                f"print(numba.threading_layer())"
        out = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ, NUMBA_THREADING_LAYER=layer,
                                                                    PYTHONPATH=ROOT),
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() == layer:
            layers.append(layer)
    return layers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", action="append", help="threading layer(s) to time (default: every loadable one)")
    parser.add_argument("--hogs", type=int, default=os.cpu_count(), help="busy processes (default: one per core)")
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    threads = os.cpu_count()
    rows = []
    for layer in args.layer or loadable_layers():
        for hogs in (0, args.hogs):
            got = time_layer(layer, threads, args.iters, args.repeats, hogs)
            one, many = got["1"], got[str(threads)]
            rows.append((layer, hogs, one, many, one / many))
            print(f"{layer:9s} hogs={hogs}: 1 thread {one:.2f} ms/iter, {threads} threads {many:.2f} ms/iter, "
                  f"speed-up {one / many:.2f}", file=sys.stderr)
    if args.markdown:
        print(f"\nsinkhorn_log, n = m = 1000, ms per iteration (runs of {args.iters} iterations, median of "
              f"{args.repeats}); {threads} CPUs\n")
        print(f"| layer | busy processes | 1 thread | {threads} threads | speed-up |")
        print("|---|---|---|---|---|")
        for layer, hogs, one, many, ratio in rows:
            print(f"| {layer} | {hogs} | {one:.2f} | {many:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
