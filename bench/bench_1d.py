"""Benchmark numbaot's exact 1D OT against POT and scipy, and numbaot's import and first-call (cold/warm) start.

Usage::

    python bench/bench_1d.py              # full run (n up to 1e6, about 2 minutes on 2 cores)
    python bench/bench_1d.py --quick      # smoke run (n up to 1e5, few repeats)
    python bench/bench_1d.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* Everything runs in one process: for each case (n, weights, function, exponent) the libraries take turns,
  A B C A B C ..., so that drifts of the machine hit them alike. Each library is called once before timing
  (this compiles numbaot's Numba cores; its value is kept for the accuracy check).
* Reported: the median time of each library, the ratio ``peer / numbaot`` (> 1 means numbaot is faster) and
  the relative difference of the values, ``|a - b| / max(|a|, |b|)``, which must be <= 1e-12 (flagged ``!``).
  To tell who is off when they disagree, each value's relative error against a reference computed in extended
  precision (numpy longdouble, see :func:`reference_value`) is shown too ("numbaot err", "peer err").
* Inputs: float64, n = m points, u ~ N(0, 1), v ~ N(1, 2^2). "uniform" passes no weights (each library's
  uniform path); "random" passes weights U(0.1, 1.1) normalized to mass 1 on both sides.
* Pairs compared: numbaot ``wasserstein_1d(u, v, wu, wv, p)`` vs ``ot.wasserstein_1d`` (p = 1, 2) and vs
  ``scipy.stats.wasserstein_distance`` (p = 1); numbaot ``emd2_1d(x, y, a, b, metric='sqeuclidean')`` vs
  ``ot.emd2_1d`` with the same arguments; a batch of k = 8 problems (one per column) vs POT's batched
  ``wasserstein_1d``.
* Start-up, in fresh processes (medians): ``python -c "import numbaot"`` wall time; the time of the first
  ``numbaot.emd_1d`` call on small inputs with a warm on-disk cache (populated by one earlier process) and with
  a cold one (a fresh ``NUMBA_CACHE_DIR`` per process, after checking that numbaot's cache honours it; also
  with ``NUMBAOT_CACHE=0``, caching off).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Contestant, fmt_n, fmt_time, format_table, machine_line, median, race, rel_diff  # noqa: E402

RTOL = 1e-12
SPEEDUP_TARGET = 2.0
IMPORT_TARGET_S = 0.5
WARM_CALL_TARGET_S = 1.0

FULL = {"repeats": {10**4: 40, 10**5: 15, 10**6: 7}, "batch": (10**5, 8, 10), "startup": (5, 3, 3)}
QUICK = {"repeats": {10**4: 5, 10**5: 3}, "batch": (10**5, 8, 3), "startup": (3, 1, 1)}

HEADERS = ["n", "weights", "function", "p / metric", "numbaot ms", "peer", "peer ms", "peer/numbaot", "rel diff",
           "numbaot err", "peer err"]


# ----------------------------------------------------------------------------------------------------- inputs
def make_problem(n: int, weighted: bool, k: int | None = None, seed: int = 0):
    """Points u, v of shape (n,) or (n, k); weights None (uniform) or random, normalized per problem."""
    rng = np.random.default_rng(seed)
    shape = (n,) if k is None else (n, k)
    u = rng.normal(0.0, 1.0, shape)
    v = rng.normal(1.0, 2.0, shape)
    if not weighted:
        return u, v, None, None
    wu = rng.uniform(0.1, 1.1, shape)
    wv = rng.uniform(0.1, 1.1, shape)
    return u, v, wu / wu.sum(axis=0), wv / wv.sum(axis=0)


def reference_value(u, v, wu, wv, p):
    """``W_p^p`` of one problem by the monotone coupling, in extended precision (numpy longdouble, 64-bit mantissa).

    Vectorized: the union of both cumulative distributions cuts [0, mass] into intervals; each interval couples the
    first point of u and of v whose cumulative mass reaches its right end. Used to tell which library is off when
    two disagree by more than 1e-12.
    """
    ld = np.longdouble
    iu, iv = np.argsort(u, kind="stable"), np.argsort(v, kind="stable")
    xs, ys = u[iu].astype(ld), v[iv].astype(ld)
    ca = np.cumsum(np.full(len(u), ld(1)) / len(u) if wu is None else wu[iu].astype(ld))
    cb = np.cumsum(np.full(len(v), ld(1)) / len(v) if wv is None else wv[iv].astype(ld))
    cuts = np.sort(np.concatenate([ca, cb]))
    mass = np.diff(np.concatenate([[ld(0)], cuts]))
    i = np.minimum(np.searchsorted(ca, cuts, side="left"), len(u) - 1)
    j = np.minimum(np.searchsorted(cb, cuts, side="left"), len(v) - 1)
    return float(np.sum(mass * np.abs(xs[i] - ys[j]) ** p))


def reference_batch(U, V, WU, WV, p):
    column = (lambda W, t: None if W is None else W[:, t])
    return np.array([reference_value(U[:, t], V[:, t], column(WU, t), column(WV, t), p) for t in range(U.shape[1])])


def warm_up_numbaot():
    """Compile (or load from cache) every numbaot core the timings use, on tiny inputs."""
    import numbaot

    u, v, wu, wv = make_problem(50, weighted=True)
    U, V, WU, WV = make_problem(50, weighted=True, k=2)
    for p in (1, 2):
        numbaot.wasserstein_1d(u, v, wu, wv, p=p)
        numbaot.wasserstein_1d(u, v, p=p)
        numbaot.wasserstein_1d(U, V, WU, WV, p=p)
        numbaot.wasserstein_1d(U, V, p=p)
    numbaot.emd2_1d(u, v, wu, wv, metric="sqeuclidean")
    numbaot.emd2_1d(u, v, metric="sqeuclidean")


# ------------------------------------------------------------------------------------------------------ cases
def wasserstein_contestants(u, v, wu, wv, p):
    import ot
    import scipy.stats

    import numbaot

    contestants = [
        Contestant("numbaot", lambda: numbaot.wasserstein_1d(u, v, wu, wv, p=p)),
        Contestant("POT", lambda: ot.wasserstein_1d(u, v, wu, wv, p=p)),
    ]
    if p == 1 and u.ndim == 1:
        contestants.append(Contestant("scipy", lambda: scipy.stats.wasserstein_distance(u, v, wu, wv)))
    return contestants


def emd2_contestants(u, v, wu, wv):
    import ot

    import numbaot

    return [
        Contestant("numbaot", lambda: numbaot.emd2_1d(u, v, wu, wv, metric="sqeuclidean")),
        Contestant("POT", lambda: ot.emd2_1d(u, v, wu, wv, metric="sqeuclidean")),
    ]


def rows_for(label, contestants, reference):
    """One row per peer: label cells, medians, ratio, value difference, and each value's error vs ``reference``."""
    ours, *peers = contestants
    rows = []
    for peer in peers:
        diff = rel_diff(ours.value, peer.value)
        flag = " !" if diff > RTOL else ""
        rows.append([*label, fmt_time(ours.median), peer.name, fmt_time(peer.median),
                     f"{peer.median / ours.median:.2f}", f"{diff:.1e}{flag}",
                     f"{rel_diff(ours.value, reference):.1e}", f"{rel_diff(peer.value, reference):.1e}"])
    return rows


def bench_single(sizes_repeats):
    """The single-problem cases; returns table rows and raw records for the summary."""
    rows, records = [], []
    for n, repeats in sizes_repeats.items():
        for weighted in (False, True):
            u, v, wu, wv = make_problem(n, weighted)
            cases = [("wasserstein_1d", "p=1", 1, wasserstein_contestants(u, v, wu, wv, 1)),
                     ("wasserstein_1d", "p=2", 2, wasserstein_contestants(u, v, wu, wv, 2)),
                     ("emd2_1d", "sqeuclidean", 2, emd2_contestants(u, v, wu, wv))]
            for function, exponent, p, contestants in cases:
                race(contestants, repeats)
                reference = reference_value(u, v, wu, wv, p)
                label = [fmt_n(n), "random" if weighted else "uniform", function, exponent]
                rows += rows_for(label, contestants, reference)
                records += [record(n, function, contestants[0], peer, reference) for peer in contestants[1:]]
                print(f"  done n={fmt_n(n)} {label[1]} {function} {exponent}", file=sys.stderr, flush=True)
    return rows, records


def bench_batch(n, k, repeats):
    rows, records = [], []
    for weighted in (False, True):
        U, V, WU, WV = make_problem(n, weighted, k=k)
        for p in (1, 2):
            contestants = race(wasserstein_contestants(U, V, WU, WV, p), repeats)
            reference = reference_batch(U, V, WU, WV, p)
            label = [f"{fmt_n(n)} x {k}", "random" if weighted else "uniform", "wasserstein_1d (batch)", f"p={p}"]
            rows += rows_for(label, contestants, reference)
            records += [record(n, "batch", contestants[0], peer, reference) for peer in contestants[1:]]
    return rows, records


def record(n, function, ours, peer, reference):
    return {"n": n, "function": function, "peer": peer.name, "ratio": peer.median / ours.median,
            "diff": rel_diff(ours.value, peer.value), "ours_err": rel_diff(ours.value, reference),
            "peer_err": rel_diff(peer.value, reference)}


# ----------------------------------------------------------------------------------------------------- start-up
FIRST_CALL = """
import json, time
t0 = time.perf_counter()
import numbaot
t1 = time.perf_counter()
numbaot.emd_1d([0.0, 1.0, 3.0], [0.5, 2.0], b=[0.25, 0.75])
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))
"""


def child_env(cache_dir=None, numbaot_cache=True):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBAOT_CACHE")}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    if not numbaot_cache:
        env["NUMBAOT_CACHE"] = "0"
    return env


def run_python(code, env=None):
    """Run ``python -c code`` in a fresh process; returns (wall seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env or child_env(), capture_output=True, text=True,
                          check=True)
    return time.perf_counter() - start, done.stdout


def wall_times(code, runs):
    return [run_python(code)[0] for _ in range(runs)]


def first_calls(runs, env_factory):
    """(first-call seconds, process wall seconds) of ``runs`` fresh processes, each with ``env_factory()``."""
    calls, walls = [], []
    for _ in range(runs):
        wall, out = run_python(FIRST_CALL, env_factory())
        calls.append(json.loads(out.strip().splitlines()[-1])["first_call_s"])
        walls.append(wall)
    return calls, walls


def bench_startup(import_runs, warm_runs, cold_runs):
    """Rows of the start-up table, and whether NUMBA_CACHE_DIR redirects numbaot's cache."""
    with tempfile.TemporaryDirectory(prefix="numbaot-bench-") as root:
        root = Path(root)
        warm_dir = root / "warm"
        run_python(FIRST_CALL, child_env(warm_dir))  # populate
        honoured = any(warm_dir.rglob("*.nbi"))
        # If NUMBA_CACHE_DIR were ignored the cache would live in the package's __pycache__ (warm there already
        # after the populate run); a cold start is then only reproducible with caching switched off.
        warm_env = (lambda: child_env(warm_dir)) if honoured else (lambda: child_env())
        counter = iter(range(10**6))
        cold_env = (lambda: child_env(root / f"cold{next(counter)}")) if honoured \
            else (lambda: child_env(root / f"cold{next(counter)}", numbaot_cache=False))
        baseline = wall_times("pass", import_runs)
        imports = wall_times("import numbaot", import_runs)
        warm = first_calls(warm_runs, warm_env)
        cold = first_calls(cold_runs, cold_env)
        off = first_calls(cold_runs, lambda: child_env(numbaot_cache=False))
    cold_label = "fresh NUMBA_CACHE_DIR" if honoured else "NUMBAOT_CACHE=0 (NUMBA_CACHE_DIR ignored)"
    rows = [
        startup_row('python -c "pass" (interpreter only)', None, baseline, None),
        startup_row('python -c "import numbaot"', None, imports, IMPORT_TARGET_S),
        startup_row("first emd_1d call, warm cache", *warm, WARM_CALL_TARGET_S),
        startup_row(f"first emd_1d call, cold cache ({cold_label})", *cold, None),
        startup_row("first emd_1d call, NUMBAOT_CACHE=0", *off, None),
    ]
    return rows, honoured, median(imports), median(warm[0])


def startup_row(label, calls, walls, target):
    measured = median(calls if calls is not None else walls)
    met = "" if target is None else ("yes" if measured < target else "NO")
    return [label, f"{measured:.3f}", "" if calls is None else f"{median(walls):.3f}", str(len(walls)),
            "" if target is None else f"< {target}", met]


STARTUP_HEADERS = ["measurement (fresh processes)", "median s", "process wall s", "runs", "target", "met"]


# ------------------------------------------------------------------------------------------------------ report
def summary(records, import_s, warm_s) -> list[str]:
    lines = []
    worst = max(r["diff"] for r in records)
    lines.append(f"values: largest relative difference numbaot vs peer {worst:.1e} (limit {RTOL:g}): "
                 f"{'OK' if worst <= RTOL else 'EXCEEDED'}")
    errors = {"numbaot": max(r["ours_err"] for r in records)}
    for r in records:
        key = f"{r['peer']} {r['function'] if r['function'] != 'batch' else 'wasserstein_1d (batch)'}"
        errors[key] = max(errors.get(key, 0.0), r["peer_err"])
    lines.append("largest relative error vs the extended-precision reference: "
                 + ", ".join(f"{name} {err:.1e}" for name, err in errors.items()))
    top = max(r["n"] for r in records if r["function"] != "batch")
    for function in ("wasserstein_1d", "emd2_1d"):
        ratios = [r["ratio"] for r in records if r["n"] == top and r["function"] == function]
        met = all(x >= SPEEDUP_TARGET for x in ratios)
        lines.append(f"{function} at n={fmt_n(top)}: slowest speed-up over peers {min(ratios):.2f}x "
                     f"(target >= {SPEEDUP_TARGET:g}x): {'met' if met else 'NOT met'}")
    lines.append(f"import numbaot {import_s:.3f} s (target < {IMPORT_TARGET_S} s): "
                 f"{'met' if import_s < IMPORT_TARGET_S else 'NOT met'}")
    lines.append(f"first emd_1d call, warm cache {warm_s:.3f} s (target < {WARM_CALL_TARGET_S} s): "
                 f"{'met' if warm_s < WARM_CALL_TARGET_S else 'NOT met'}")
    return lines


def load_average() -> str:
    """1-minute load average: above ~0 on an idle machine means other processes shared the cores."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def heading(text, markdown):
    return f"\n### {text}\n" if markdown else f"\n== {text} =="


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n up to 1e5 and few repeats (smoke run)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = QUICK if args.quick else FULL
    md = args.markdown
    started = time.perf_counter()
    load_before = load_average()
    warm_up_numbaot()
    print(("Machine: " if not md else "**Machine:** ") + machine_line())

    rows, records = bench_single(config["repeats"])
    repeats = ", ".join(f"{fmt_n(n)}: {r}" for n, r in config["repeats"].items())
    print(heading(f"Single problems (median ms; timed repeats per library: {repeats})", md))
    print(format_table(HEADERS, rows, md))

    n, k, batch_repeats = config["batch"]
    rows, batch_records = bench_batch(n, k, batch_repeats)
    print(heading(f"Batched, one problem per column ({batch_repeats} timed repeats)", md))
    print(format_table(HEADERS, rows, md))

    rows, honoured, import_s, warm_s = bench_startup(*config["startup"])
    print(heading("Start-up", md))
    print(f"numbaot's on-disk cache honours NUMBA_CACHE_DIR: {'yes' if honoured else 'no'}\n")
    print(format_table(STARTUP_HEADERS, rows, md))

    print(heading("Summary", md))
    for line in summary(records + batch_records, import_s, warm_s):
        print(f"- {line}" if md else line)
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f} s; load average at start {load_before}, "
          f"at end {load_average()})")


if __name__ == "__main__":
    main()
