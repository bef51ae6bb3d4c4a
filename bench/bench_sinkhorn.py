"""Dense Sinkhorn: numbaot.solve(M, a, b, reg=..., method=...) side by side with POT's ot.sinkhorn, in one process.

Problems: random 2D clouds in the unit square, squared Euclidean costs, uniform weights, reg = factor * max(M).
Per-iteration table: each pair (numbaot method and dtype, POT method and dtype) runs a fixed number of iterations
(tol = 0, stopThr = 0) at I and 2I iterations, alternated, medians; time per iteration = (t(2I) - t(I)) / I, so
set-up costs cancel out (ratio = POT / numbaot, above 1: numbaot is faster). greenkhorn's iteration is numbaot's:
n + m single updates, so POT's greenkhorn is given n + m times the iterations (its numItermax counts updates) and
its time is per n + m updates. Small-reg table: every method solved
to tol = 1e-9 at reg = 0.005 and 0.001 max(M), on the unit square and on clouds translated 20 apart (all costs
large: K = exp(-M / reg) underflows entirely), with status, iterations, L1 marginal error and plan mass.

Usage: python bench/bench_sinkhorn.py [--quick] [--markdown] [--small-reg-only]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race  # noqa: E402


def make_problem(n: int, seed: int = 0, shift: float = 0.0):
    """Random 2D clouds in the unit square, the second translated by ``shift`` along both axes."""
    import numbaot

    rng = np.random.default_rng(seed)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)) + shift)
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), M


def _ours(M, a, b, reg, method, iters):
    import numbaot

    return lambda: numbaot.solve(M, a, b, reg=reg, method=method, max_iter=iters, tol=0.0, warn=False).plan


def _pot(M, a, b, reg, method, iters):
    import ot

    def call():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return ot.sinkhorn(a, b, M, reg, method=method, numItermax=iters, stopThr=0.0)

    return call


# (numbaot method, numbaot cost dtype, POT method, POT cost dtype, iterations factor): the scaling-domain methods
# run 20x more iterations, or their ~0.5 ms iterations would drown in the set-up's timing noise
PAIRS = [
    ("sinkhorn_log", np.float64, "sinkhorn_log", np.float64, 1),
    ("sinkhorn_log", np.float32, "sinkhorn_log", np.float64, 1),
    ("sinkhorn_log", np.float32, "sinkhorn_log", np.float32, 1),
    ("sinkhorn_stabilized", np.float64, "sinkhorn_stabilized", np.float64, 20),
    ("sinkhorn_stabilized", np.float64, "sinkhorn", np.float64, 20),
    ("sinkhorn", np.float64, "sinkhorn", np.float64, 20),
    ("greenkhorn", np.float64, "greenkhorn", np.float64, 1),
]


def per_iteration(sizes, iterations, repeats, markdown):
    """Time per iteration = (time of 2 * iters - time of iters) / iters: setup (kernel, transposes, plan and
    values) cancels out for both libraries."""
    rows = []
    for n in sizes:
        a, b, M = make_problem(n)
        reg = 0.01 * M.max()
        for ours_method, ours_dtype, pot_method, pot_dtype, factor in PAIRS:
            iters = iterations[n] * factor
            updates = 2 * n if pot_method == "greenkhorn" else 1  # POT's iterations per numbaot iteration
            Mo, Mp = M.astype(ours_dtype), M.astype(pot_dtype)
            ap, bp = a.astype(pot_dtype), b.astype(pot_dtype)
            field = race([
                Contestant("ours x1", _ours(Mo, a, b, reg, ours_method, iters)),
                Contestant("pot x1", _pot(Mp, ap, bp, reg, pot_method, iters * updates)),
                Contestant("ours x2", _ours(Mo, a, b, reg, ours_method, 2 * iters)),
                Contestant("pot x2", _pot(Mp, ap, bp, reg, pot_method, 2 * iters * updates)),
            ], repeats)
            ours = (field[2].median - field[0].median) / iters
            peer = (field[3].median - field[1].median) / iters
            diff = float(np.abs(field[2].value - field[3].value).max())
            rows.append([n, f"{ours_method} ({np.dtype(ours_dtype).name})",
                         f"POT {pot_method} ({np.dtype(pot_dtype).name})", fmt_time(ours), fmt_time(peer),
                         f"{peer / ours:.2f}", f"{diff:.1e}"])
            print(f"  n={n} {ours_method} vs {pot_method} done", file=sys.stderr)
    headers = ["n = m", "numbaot", "peer", "numbaot ms/iter", "peer ms/iter", "ratio", "max |plan diff|"]
    return format_table(headers, rows, markdown)


def small_reg(n, markdown):
    import ot

    import numbaot

    rows = []
    for shift, label in ((0.0, "unit square"), (20.0, "clouds 20 apart")):
        a, b, M = make_problem(n, seed=1, shift=shift)
        for factor in (5e-3, 1e-3):
            reg = factor * M.max()
            for method in ("sinkhorn_log", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling", "sinkhorn"):
                res = numbaot.solve(M, a, b, reg=reg, method=method, max_iter=100000, tol=1e-9, warn=False)
                err = res.plan.sum(0) - b
                rows.append([label, factor, f"numbaot {method} (L1 tol)", res.status.name, res.n_iter,
                             f"{np.abs(err).sum():.1e}", f"{float(np.sum(res.plan)):.6f}"])
            for method in ("sinkhorn_log", "sinkhorn_stabilized", "sinkhorn"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with np.errstate(all="ignore"):
                        P, log = ot.sinkhorn(a, b, M, reg, method=method, numItermax=100000, stopThr=1e-9,
                                             log=True)
                err = P.sum(0) - b
                stopped = "converged" if log["err"] and log["err"][-1] <= 1e-9 else "not converged"
                rows.append([label, factor, f"POT {method} (L2 tol)", stopped,
                             log.get("niter", log.get("n_iter", "?")), f"{np.abs(err).sum():.1e}",
                             f"{float(np.sum(P)):.6f}"])
            print(f"  small reg {label} {factor} done", file=sys.stderr)
    headers = ["problem", "reg / max(M)", "solver (stopping rule)", "status", "iterations", "L1 marginal error",
               "plan mass"]
    return format_table(headers, rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--small-reg-only", action="store_true", help="skip the per-iteration timings")
    parser.add_argument("--per-iteration-only", action="store_true", help="skip the small-reg table")
    args = parser.parse_args(argv)
    print(machine_line())
    # iterations per size: POT's sinkhorn_log takes about a second per iteration at n = 4000
    sizes, iters, repeats = ([500, 1000], {500: 10, 1000: 10}, 3) if args.quick else \
        ([1000, 4000], {1000: 20, 4000: 5}, 3)
    if not args.small_reg_only:
        print(per_iteration(sizes, iters, repeats, args.markdown))
        print()
    if not args.per_iteration_only:
        print(small_reg(200 if args.quick else 500, args.markdown))


if __name__ == "__main__":
    main()
