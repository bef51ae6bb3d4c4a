"""Time-series benchmark: numbaot.timeseries against dtaidistance (C) and tslearn, side by side in one process.

Cases (the issue's targets):
* ``dtw`` of two series of length 1000, d = 1, against dtaidistance's C ``distance_fast`` (>= 1x);
* ``cdist_dtw`` of 200 series of length 256 against dtaidistance's parallel ``distance_matrix_fast`` (>= 1x);
* ``soft_dtw`` value and gradient, length 512, d = 8, against tslearn's ``SoftDTW`` + ``SquaredEuclidean``
  jacobian product (>= 5x);
* ``cdist_soft_dtw`` of 100 series of length 128 (all pairs) against tslearn's ``cdist_soft_dtw`` (>= 5x);
* ``sta`` (spatio-temporal alignment) between two series of histograms on a square grid: its time and the share
  spent in the frame costs (the Sinkhorn divergences between frames). At the issue's size, 50 frames of 32 x 32
  (the default; ``--quick`` takes 4 frames of 6 x 6, ``--sta-full`` the issue's size even then), that is 2500
  cross problems of 1024 bins and 100 self-problems, solved in one batched loop over the grid's separable softmins
  (``timeseries._sta``; 155.8 s in session 10 with one divergence solve per pair, self-problems included; median
  of 3 runs here). Then, at a small size (10 frames of 12 x 12), point-cloud frames (36 points drawn from each
  histogram) and histograms on a support that is not a grid: batched dense solves (``timeseries._sta_clouds``),
  side by side with one run of the per-pair path they replaced (one ``solve_sample(..., debias=True)`` per pair).
  ``--sta-dense`` adds the dense case at the grid's size (2500 dense problems of 1024 bins: slow).

Runs are alternated (A B A B ...) and medians reported (see ``_common.race``); every contestant's value is compared
(dtaidistance's DTW is the square root of ours, squared here). ``--quick`` runs small sizes as a smoke test;
``--only sdtw`` the two soft-DTW rows, ``--only sta`` the STA table.

    python bench/bench_timeseries.py [--quick] [--markdown] [--sta-full] [--sta-dense] [--only {all,sdtw,sta}]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Contestant, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402

FULL = dict(dtw=1000, cdist_dtw=(200, 256), sdtw=(512, 8), cdist_sdtw=(100, 128), sta=(50, 32), repeats=7,
            slow_repeats=3)
QUICK = dict(dtw=200, cdist_dtw=(20, 64), sdtw=(64, 4), cdist_sdtw=(10, 32), sta=(4, 6), repeats=3, slow_repeats=2)
STA_FULL = (50, 32)
#: The batched point-cloud and any-support rows, timed against the per-pair path (slow: a small size).
STA_SMALL = (10, 12)
STA_HEADERS = ["case", "total (s)", "frame costs (s)", "share in frame costs", "frame problems",
               "per-pair path (s, speed-up)", "rel. diff"]
HEADERS = ["case", "numbaot (ms)", "peer", "peer (ms)", "speed-up", "target", "max rel. diff"]


def _row(case, ours, peer, target):
    ratio = peer.median / ours.median
    return [case, fmt_time(ours.median), peer.name, fmt_time(peer.median), f"{ratio:.2f}x", f">= {target}x",
            f"{rel_diff(ours.value, peer.value):.1e}"]


def bench(config, sdtw_only=False):
    import numbaot.timeseries as ts

    rows = []
    rng = np.random.default_rng(0)
    try:
        from dtaidistance import dtw as ddtw
    except ImportError:
        ddtw = None
        print("dtaidistance is not installed: pip install dtaidistance")
    try:
        import tslearn.metrics as tm
    except ImportError:
        tm = None
        print("tslearn is not installed: pip install tslearn")

    if ddtw is not None and not sdtw_only:
        n = config["dtw"]
        x, y = rng.standard_normal(n), rng.standard_normal(n)
        ours = Contestant("numbaot", lambda: ts.dtw(x, y))
        peer = Contestant("dtaidistance distance_fast", lambda: ddtw.distance_fast(x, y) ** 2)
        race([ours, peer], config["repeats"])
        rows.append(_row(f"dtw, n = {n}, d = 1", ours, peer, 1))

        N, n = config["cdist_dtw"]
        S = rng.standard_normal((N, n))
        ours = Contestant("numbaot", lambda: ts.cdist_dtw(S))
        peer = Contestant("dtaidistance distance_matrix_fast",
                          lambda: ddtw.distance_matrix_fast(S, parallel=True) ** 2)
        race([ours, peer], config["slow_repeats"])
        rows.append(_row(f"cdist_dtw, {N} series of {n}", ours, peer, 1))

    if tm is not None:
        n, d = config["sdtw"]
        X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, d))

        def tslearn_value_and_grad():
            D = tm.SquaredEuclidean(X, Y)
            sdtw = tm.SoftDTW(D, gamma=1.0)
            value = sdtw.compute()
            return np.concatenate([[value], D.jacobian_product(sdtw.grad()).ravel()])

        def ours_value_and_grad():
            value, grad = ts.soft_dtw_grad(X, Y, 1.0)
            return np.concatenate([[value], grad.ravel()])

        ours = Contestant("numbaot", ours_value_and_grad)
        peer = Contestant("tslearn SoftDTW + jacobian", tslearn_value_and_grad)
        race([ours, peer], config["repeats"])
        rows.append(_row(f"soft_dtw + gradient, n = {n}, d = {d}", ours, peer, 5))

        N, n = config["cdist_sdtw"]
        S = rng.standard_normal((N, n, 1))
        ours = Contestant("numbaot", lambda: ts.cdist_soft_dtw(S, gamma=1.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer = Contestant("tslearn cdist_soft_dtw", lambda: tm.cdist_soft_dtw(S, gamma=1.0))
            race([ours, peer], config["slow_repeats"])
        rows.append(_row(f"cdist_soft_dtw, {N} x {N} series of {n}", ours, peer, 5))
    return rows


def _per_pair_sta(A, B, gamma, reg, **kwargs):
    """STA the way it ran before the batches (one ``solve_sample(..., debias=True)`` per frame pair, self-problems
    included): the reference the batched clouds and dense rows are timed against."""
    import numbaot
    from numbaot.timeseries._soft_dtw import soft_dtw_matrix_value_core

    D = np.array([[float(numbaot.solve_sample(Pa, Pb, a, b, reg=reg, debias=True, warn=False, **kwargs).value)
                   for Pb, b in B] for Pa, a in A])
    return soft_dtw_matrix_value_core(D, gamma)


def bench_sta(frames, side, kind="grid", per_pair=False):
    """STA between two series of ``frames`` histograms on a side x side grid: time, and time in frame costs (the
    self-problems and the frame pairs' divergences; the soft-DTW on the (frames, frames) divergence matrix is the
    rest). ``kind``: 'grid'; 'dense', the grid's points moved by 1e-12, so that it is no longer a product grid and
    every divergence takes the batched dense solve over one shared cost matrix; 'clouds', the same blobs as point
    clouds of ``side**2 // 4`` points drawn from them (a cloud per frame, batched dense solves in chunks).
    ``per_pair``: also time one run of the per-pair path (one ``solve_sample`` per pair) for the speed-up."""
    import numbaot.timeseries as ts
    from numbaot.timeseries import api

    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side)), -1).reshape(-1, 2)

    def series():  # a blob drifting across the grid
        centre = rng.random(2) * 0.5 + 0.25
        step = (rng.random(2) - 0.5) * 0.02
        out = []
        for t in range(frames):
            h = np.exp(-((grid - centre - t * step) ** 2).sum(1) / 0.02) + 1e-3
            out.append(h / h.sum())
        return np.array(out)

    X, Y = series(), series()
    support = grid
    if kind == "dense":
        support = grid + 1e-12 * rng.random(grid.shape)
    elif kind == "clouds":
        n = max(1, side * side // 4)
        X = np.stack([grid[rng.choice(len(grid), n, p=h)] + 0.01 * rng.standard_normal((n, 2)) for h in X])
        Y = np.stack([grid[rng.choice(len(grid), n, p=h)] + 0.01 * rng.standard_normal((n, 2)) for h in Y])
        support = None
    inner = {name: getattr(api, name) for name in ("_frame_costs", "_self_potentials")}
    spent = [0.0]

    def timer(fn):
        def timed(*args):
            start = time.perf_counter()
            out = fn(*args)
            spent[-1] += time.perf_counter() - start
            return out
        return timed

    ts.sta(X[:1], Y[:1], 1.0, 0.05, support=support)  # compile
    for name, fn in inner.items():
        setattr(api, name, timer(fn))
    totals, spents = [], []
    try:
        for _ in range(3):
            spent[-1] = 0.0
            start = time.perf_counter()
            value = ts.sta(X, Y, 1.0, 0.05, support=support)
            totals.append(time.perf_counter() - start)
            spents.append(spent[-1])
    finally:
        for name, fn in inner.items():
            setattr(api, name, fn)
    k = int(np.argsort(totals)[1])  # the median run
    total, spent = totals[k], spents[k]
    what = {"grid": f"{side} x {side} (grid)", "dense": f"{side} x {side} (not a grid: dense)",
            "clouds": f"clouds of {X.shape[1]} points"}[kind]
    case = f"sta, {frames} frames, {what}"
    problems = f"{frames * frames} pairs + {2 * frames} self"
    row = [case, f"{total:.2f}", f"{spent:.2f}", f"{100 * spent / total:.1f} %", problems]
    if not per_pair:
        return row + ["", ""]
    frames_of = (lambda F: [(support, h) for h in F]) if support is not None else (lambda F: [(c, None) for c in F])
    start = time.perf_counter()
    reference = _per_pair_sta(frames_of(X), frames_of(Y), 1.0, 0.05, tol=1e-6, max_iter=1000)  # sta's defaults
    before = time.perf_counter() - start
    return row + [f"{before:.2f} ({before / total:.1f}x)", f"{rel_diff(value, reference):.1e}"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke run)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--sta-full", action="store_true",
                        help="STA at the issue's size (50 frames of 32 x 32) even with --quick")
    parser.add_argument("--sta-dense", action="store_true", help="also STA on a support that is not a grid")
    parser.add_argument("--only", choices=["all", "sdtw", "sta"], default="all",
                        help="sdtw: the two soft-DTW rows alone; sta: the STA table alone")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = QUICK if args.quick else FULL
    started = time.perf_counter()
    print(("**Machine:** " if args.markdown else "Machine: ") + machine_line())
    if args.only != "sta":
        rows = bench(config, sdtw_only=args.only == "sdtw")
        print("\n### Time series (median ms, alternated runs)\n" if args.markdown else "\n== Time series ==")
        print(format_table(HEADERS, rows, args.markdown))
    if args.only != "sdtw":
        frames, side = STA_FULL if args.sta_full else config["sta"]
        print("\n### Spatio-temporal alignment\n" if args.markdown else "\n== Spatio-temporal alignment ==")
        sta_rows = [bench_sta(frames, side)]
        if args.sta_dense:
            sta_rows.append(bench_sta(frames, side, "dense"))
        small, small_side = STA_SMALL if not args.quick else config["sta"]
        sta_rows.append(bench_sta(small, small_side, "clouds", per_pair=True))
        sta_rows.append(bench_sta(small, small_side, "dense", per_pair=True))
        print(format_table(STA_HEADERS, sta_rows, args.markdown))
    print(f"\n(total benchmark time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
