"""Benchmark numbaot's conditional gradient solvers against POT (``ot.optim``, ``ot.da``).

Usage::

    python bench/bench_cg.py              # full run (the issue's sizes)
    python bench/bench_cg.py --quick      # smoke run (small sizes, few repeats)
    python bench/bench_cg.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the libraries take turns (A B A B ...), each called once before timing (this compiles
  numbaot's cores), and the median time is reported with the ratio ``POT / numbaot`` (> 1: numbaot is faster) and
  the largest relative difference of the plans.
* The same Python regulariser and gradient are given to both; both use Armijo's rule from 0.99 and POT's stopping
  rule, so they run the same iterations (the plans agree to rounding). numbaot's linear oracle is the network
  simplex started from the previous iteration's optimal tree (POT re-solves each LP from scratch), its passes over
  the plan are compiled and allocate nothing per iteration.
* Cases: ``cg`` with f = |G|^2 / 2, reg 0.1, n = m = 300 points in the unit square, squared Euclidean costs (target
  >= 3x); the same with reg 1e-3; ``emd_laplace`` (kNN graphs) at n = 200; ``sinkhorn_lpl1_mm`` and
  ``sinkhorn_l1l2_gl`` at n = 300 with 3 classes, POT's defaults (10 outer, 200 Sinkhorn iterations). There the
  plans differ: numbaot warm-starts each inner Sinkhorn from the previous potentials (its 200 iterations then
  reach the inner tolerance; POT's, restarted from zero, often do not), and its generalised conditional gradient's
  line search keeps the entropic term that POT's leaves out.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pot_ratio_table  # noqa: E402

FULL = {"cg": (300, 7), "cg_small_reg": (300, 5), "laplace": (200, 5), "lpl1": (300, 5), "l1l2": (300, 5)}
QUICK = {"cg": (40, 2), "cg_small_reg": (40, 2), "laplace": (30, 2), "lpl1": (40, 2), "l1l2": (40, 2)}
TARGETS = {"cg (L2, reg 0.1)": 3.0}
HEADERS = ["function", "size", "numbaot ms", "POT ms", "POT/numbaot", "plan diff", "target"]


def plan_diff(P, Q) -> float:
    """``max |P - Q| / max |Q|``: entry-wise relative differences mean nothing on sparse plans."""
    P, Q = np.asarray(P, dtype=np.float64), np.asarray(Q, dtype=np.float64)
    return float(np.abs(P - Q).max() / np.abs(Q).max())


def f(G):
    return 0.5 * float(np.sum(G * G))


def df(G):
    return G


def _problem(n, seed=0):
    import ot

    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2)) + 0.2
    return ot.unif(n), ot.unif(n), x, y, ot.dist(x, y), rng.integers(0, 3, n)


def cases(config):
    import ot

    import numbaot

    n, r = config["cg"]
    a, b, _, _, M, _ = _problem(n)
    yield ("cg (L2, reg 0.1)", f"n={n}", r,
           lambda: numbaot.cg(a, b, M, 0.1, f, df, warn=False),
           lambda: ot.optim.cg(a, b, M, 0.1, f, df))
    n, r = config["cg_small_reg"]
    yield ("cg (L2, reg 1e-3)", f"n={n}", r,
           lambda: numbaot.cg(a, b, M, 1e-3, f, df, warn=False),
           lambda: ot.optim.cg(a, b, M, 1e-3, f, df))
    n, r = config["laplace"]
    a, b, xs, xt, M, _ = _problem(n, 1)
    yield ("emd_laplace (knn, Armijo)", f"n={n}", r,
           lambda: numbaot.emd_laplace(a, b, xs, xt, M, eta=0.1, line_search="armijo", warn=False),
           lambda: ot.da.emd_laplace(a, b, xs, xt, M, eta=0.1))
    n, r = config["lpl1"]
    a, b, _, _, M, labels = _problem(n, 2)
    yield ("sinkhorn_lpl1_mm", f"n={n}", r,
           lambda: numbaot.sinkhorn_lpl1_mm(a, labels, b, M, 0.1, eta=0.5, warn=False),
           lambda: ot.da.sinkhorn_lpl1_mm(a, labels, b, M, 0.1, eta=0.5))
    n, r = config["l1l2"]
    a, b, _, _, M, labels = _problem(n, 3)
    yield ("sinkhorn_l1l2_gl", f"n={n}", r,
           lambda: numbaot.sinkhorn_l1l2_gl(a, labels, b, M, 0.1, eta=0.5, warn=False),
           lambda: ot.da.sinkhorn_l1l2_gl(a, labels, b, M, 0.1, eta=0.5))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    md = args.markdown
    warnings.simplefilter("ignore")  # POT's Sinkhorn warns when its inner loop stops at its cap
    pot_ratio_table(cases(QUICK if args.quick else FULL), TARGETS, HEADERS, "Conditional gradient", plan_diff, md)


if __name__ == "__main__":
    main()
