"""Benchmark the compatibility layers: ``numbaot.pot`` against numbaot's own verbs, and ``import numbaot.pot``.

Usage::

    python bench/bench_layers.py              # full run: n = m = 1000, 30 alternated rounds
    python bench/bench_layers.py --quick      # smoke run (n = 200, 5 rounds)
    python bench/bench_layers.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; ``numbaot.pot.emd2`` / ``numbaot.emd2`` and ``numbaot.pot.sinkhorn`` / ``numbaot.sinkhorn`` take
  turns (A B A B ...), each called once before timing, and the median is reported with the ratio
  ``layer / native`` (target: within 3%, i.e. <= 1.03). The values must be identical (same solver, same inputs).
* Inputs: float64 clouds of n = m points in d = 2, X ~ N(0, I), Y ~ N(1, I), uniform weights; the cost is the
  squared Euclidean distance, normalised by its max; Sinkhorn with reg = 0.05, POT's defaults (method 'sinkhorn',
  1000 iterations at most, stopThr 1e-9) mapped to numbaot's (method 'sinkhorn', max_iter 1000, tol 1e-9).
* ``import numbaot.pot``: the median over fresh interpreters of the time of the import statement (target < 0.3 s),
  with numpy already imported and not (numbaot's own import loads numpy).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Contestant, fmt_time, format_table, machine_line, median, race, rel_diff  # noqa: E402

RATIO_TARGET = 1.03
IMPORT_TARGET = 0.3
FULL = {"n": 1000, "repeats": 30, "imports": 9}
QUICK = {"n": 200, "repeats": 5, "imports": 3}
HEADERS = ["function", "n", "numbaot.pot ms", "native ms", "layer/native", "rel diff"]


def make_problem(n, seed=0):
    import numbaot

    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(1.0, 1.0, size=(n, 2))
    M = numbaot.dist(X, Y)
    M /= M.max()
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), M


def bench_verbs(n, repeats):
    import numbaot
    import numbaot.pot as ot

    a, b, M = make_problem(n)
    reg = 0.05
    cases = (
        ("emd2", lambda: ot.emd2(a, b, M), lambda: numbaot.emd2(a, b, M)),
        ("sinkhorn", lambda: ot.sinkhorn(a, b, M, reg),
         lambda: numbaot.sinkhorn(a, b, M, reg, method="sinkhorn", max_iter=1000, tol=1e-9)),
    )
    rows, ratios = [], []
    for name, layer, native in cases:
        first, second = Contestant("numbaot.pot", layer), Contestant("native", native)
        race([first, second], repeats)
        ratio = first.median / second.median
        diff = rel_diff(first.value, second.value)
        rows.append([name, str(n), fmt_time(first.median), fmt_time(second.median), f"{ratio:.3f}", f"{diff:.1e}"])
        ratios.append((name, ratio, diff))
        print(f"  done {name} n={n}", file=sys.stderr, flush=True)
    return rows, ratios


def import_time(rounds, preload_numpy):
    code = ("import time, sys\n" + ("import numpy\n" if preload_numpy else "")
            + "t = time.perf_counter()\nimport numbaot.pot\nprint(time.perf_counter() - t)\n")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(rounds)]
    return median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    md = args.markdown
    started = time.perf_counter()
    print(("Machine: " if not md else "**Machine:** ") + machine_line())
    rows, ratios = bench_verbs(config["n"], config["repeats"])
    print("\n### numbaot.pot against the native verbs (median ms)\n" if md else
          "\n== numbaot.pot against the native verbs (median ms) ==")
    print(format_table(HEADERS, rows, md))
    for name, ratio, diff in ratios:
        print(f"{name}: layer/native {ratio:.3f} ({'met' if ratio <= RATIO_TARGET else 'NOT met'}, target "
              f"<= {RATIO_TARGET}); values {'identical' if diff == 0 else f'differ by {diff:.1e}'}")
    cold = import_time(config["imports"], False)
    warm = import_time(config["imports"], True)
    print(f"\nimport numbaot.pot: {cold * 1000:.0f} ms (numpy included), {warm * 1000:.0f} ms (numpy already "
          f"imported); target < {IMPORT_TARGET * 1000:.0f} ms ({'met' if cold < IMPORT_TARGET else 'NOT met'})")
    print(f"(total benchmark time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
