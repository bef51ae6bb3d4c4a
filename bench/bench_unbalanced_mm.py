"""Unbalanced OT without Sinkhorn: numbaot side by side with POT, in one process.

``numbaot.mm_unbalanced`` (compiled multiplicative updates, one parallel pass per iteration) against
``ot.unbalanced.mm_unbalanced``, div 'kl' (reg = 0 and reg = 0.05) and 'l2', a fixed number of iterations
``--iters`` (tol = 0, POT's stopThr = 0), n = m = ``--n`` (1000); and ``numbaot.lbfgsb_unbalanced`` against
``ot.unbalanced.lbfgsb_unbalanced`` (both scipy's L-BFGS-B; ours evaluates a compiled objective and gradient),
L2 penalties, n = ``--n-lbfgsb`` (50: scipy's L-BFGS-B itself dominates, minutes at n = 300).

Problems: random 2D clouds in the unit square, squared Euclidean costs / max, float64, uniform a (mass 1), b of mass
1.5, reg_m = 1. Runs alternated, medians; ratio = POT / numbaot (above 1: numbaot is faster); the last column is the
largest relative difference of the plans' costs.

Usage: python bench/bench_unbalanced_mm.py [--quick] [--markdown] [--n N] [--iters K] [--n-lbfgsb N]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # measure this checkout's numbaot
from _common import Contestant, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402


def make_problem(n: int, seed: int = 0, mass_b: float = 1.5):
    import numbaot

    rng = np.random.default_rng(seed)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    return np.full(n, 1.0 / n), np.full(n, mass_b / n), M / M.max()


def run(n, iters, n_lbfgsb, repeats, markdown):
    import ot

    import numbaot

    rows = []
    a, b, M = make_problem(n)
    for div, reg in (("kl", 0.0), ("kl", 0.05), ("l2", 0.0)):
        field = race([
            Contestant("numbaot", lambda: numbaot.mm_unbalanced(a, b, M, 1.0, reg=reg, div=div, max_iter=iters,
                                                                tol=0.0, warn=False)),
            Contestant("POT", lambda: ot.unbalanced.mm_unbalanced(a, b, M, 1.0, reg=reg, div=div, numItermax=iters,
                                                                  stopThr=0.0)),
        ], repeats)
        ours, pot = field
        rows.append([f"mm_unbalanced div={div} reg={reg} n={n} ({iters} it.)", fmt_time(ours.median),
                     fmt_time(pot.median), f"{pot.median / ours.median:.1f}x",
                     f"{rel_diff((ours.value * M).sum(), (pot.value * M).sum()):.1e}"])
    a, b, M = make_problem(n_lbfgsb)

    def pot_lbfgsb():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ot.unbalanced.lbfgsb_unbalanced(a, b, M, 0.0, 1.0, regm_div="l2")

    field = race([
        Contestant("numbaot", lambda: numbaot.lbfgsb_unbalanced(a, b, M, 0.0, 1.0, regm_div="l2", tol=1e-15,
                                                                warn=False)),
        Contestant("POT", pot_lbfgsb),
    ], repeats)
    ours, pot = field
    rows.append([f"lbfgsb_unbalanced l2 n={n_lbfgsb}", fmt_time(ours.median), fmt_time(pot.median),
                 f"{pot.median / ours.median:.1f}x", f"{rel_diff((ours.value * M).sum(), (pot.value * M).sum()):.1e}"])
    print(machine_line())
    print(format_table(["case", "numbaot", "POT", "ratio", "value diff"], rows, markdown))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (a smoke test)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--n-lbfgsb", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.n, args.iters, args.n_lbfgsb, args.repeats = 100, 20, 20, 1
    run(args.n, args.iters, args.n_lbfgsb, args.repeats, args.markdown)


if __name__ == "__main__":
    main()
