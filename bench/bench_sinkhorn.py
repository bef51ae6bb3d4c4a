"""Log-domain Sinkhorn: numbaot.solve(M, a, b, reg=...) side by side with POT's ot.sinkhorn(method="sinkhorn_log")
and POT's scaling-domain ot.sinkhorn / "sinkhorn_stabilized", in one process.

Problems: random 2D clouds in the unit square, squared Euclidean costs, float64, uniform weights,
reg = factor * max(M). Both libraries run a fixed number of iterations (``--iters``, no early stop: tol = 0 and
POT's stopThr = 0), so the per-iteration times compare like for like; runs are alternated and medians reported
(ratio = POT / numbaot, above 1: numbaot is faster). A second table solves to tol = 1e-9 at small reg and reports
the status and marginal error of each, where POT's scaling-domain methods overflow or return a zero plan.

Usage: python bench/bench_sinkhorn.py [--quick] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race  # noqa: E402


def make_problem(n: int, seed: int = 0):
    import numbaot

    rng = np.random.default_rng(seed)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    return np.full(n, 1.0 / n), np.full(n, 1.0 / n), M


def per_iteration(sizes, iters, repeats, markdown):
    import ot

    import numbaot

    rows = []
    for n in sizes:
        a, b, M = make_problem(n)
        reg = 0.01 * M.max()
        field = race([
            Contestant("numbaot sinkhorn_log",
                       lambda: numbaot.solve(M, a, b, reg=reg, max_iter=iters, tol=0.0, warn=False).plan),
            Contestant("POT sinkhorn_log",
                       lambda: ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=iters, stopThr=0.0)),
            Contestant("POT sinkhorn_stabilized",
                       lambda: ot.sinkhorn(a, b, M, reg, method="sinkhorn_stabilized", numItermax=iters,
                                           stopThr=0.0)),
            Contestant("POT sinkhorn",
                       lambda: ot.sinkhorn(a, b, M, reg, method="sinkhorn", numItermax=iters, stopThr=0.0)),
        ], repeats)
        ours = field[0]
        for peer in field[1:]:
            diff = float(np.abs(ours.value - peer.value).max()) if np.all(np.isfinite(peer.value)) else float("nan")
            rows.append([n, peer.name, fmt_time(ours.median / iters), fmt_time(peer.median / iters),
                         f"{peer.median / ours.median:.2f}", f"{diff:.1e}"])
        print(f"  n={n} done", file=sys.stderr)
    headers = ["n = m", "peer", "numbaot ms/iter", "peer ms/iter", "ratio", "max |plan diff|"]
    return format_table(headers, rows, markdown)


def small_reg(n, markdown):
    import ot

    import numbaot

    a, b, M = make_problem(n, seed=1)
    rows = []
    for factor in (5e-3, 1e-3):
        reg = factor * M.max()
        res = numbaot.solve(M, a, b, reg=reg, max_iter=100000, tol=1e-9, warn=False)
        err = res.plan.sum(0) - b
        rows.append([factor, "numbaot sinkhorn_log (L1 tol)", res.status.name, res.n_iter,
                     f"{np.abs(err).sum():.1e}", f"{np.linalg.norm(err):.1e}", f"{float(np.sum(res.plan)):.6f}"])
        for method in ("sinkhorn_log", "sinkhorn_stabilized", "sinkhorn"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    P, log = ot.sinkhorn(a, b, M, reg, method=method, numItermax=100000, stopThr=1e-9, log=True)
            err = P.sum(0) - b
            stopped = "converged" if log["err"] and log["err"][-1] <= 1e-9 else "not converged"
            rows.append([factor, f"POT {method} (L2 tol)", stopped, log.get("niter", log.get("n_iter", "?")),
                         f"{np.abs(err).sum():.1e}", f"{np.linalg.norm(err):.1e}", f"{float(np.sum(P)):.6f}"])
    headers = ["reg / max(M)", "solver (stopping rule)", "status", "iterations", "L1 marginal error",
               "L2 marginal error", "plan mass"]
    return format_table(headers, rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--small-reg-only", action="store_true", help="skip the per-iteration timings")
    args = parser.parse_args(argv)
    print(machine_line())
    sizes, iters, repeats = ([500, 1000], 20, 3) if args.quick else ([1000, 4000], 50, 3)
    if not args.small_reg_only:
        print(per_iteration(sizes, iters, repeats, args.markdown))
        print()
    print(small_reg(100 if args.quick else 200, args.markdown))


if __name__ == "__main__":
    main()
