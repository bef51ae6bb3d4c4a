"""Benchmark numbaot's smooth and sparse OT against POT (``ot.smooth``).

Usage::

    python bench/bench_smooth.py              # full run (the issue's sizes)
    python bench/bench_smooth.py --quick      # smoke run (small sizes, few repeats)
    python bench/bench_smooth.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the libraries take turns (A B A B ...), each called once before timing (this compiles
  numbaot's cores), and the median time is reported with the ratio ``POT / numbaot`` (> 1: numbaot is faster) and
  the largest relative difference of the plans.
* Both run scipy's L-BFGS-B with POT's defaults (``tol`` = 1e-9, 500 iterations) on the same objective; numbaot
  evaluates it with one compiled pass over the costs and keeps BLAS on one thread while the optimiser runs, POT
  with numpy (several (n, m) temporaries per evaluation). The optimisers' paths differ by rounding, so the plans
  agree to the optimiser's tolerance, not to machine precision.
* Cases: ``smooth_ot_dual`` with 'l2' on n = m = 1000 points in the unit square, squared Euclidean costs,
  reg 0.1 (target >= 3x); 'kl' on the same; ``smooth_ot_semi_dual`` 'l2' on n = m = 300.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pot_ratio_table  # noqa: E402

FULL = {"dual_l2": (1000, 5), "dual_kl": (1000, 5), "semi_l2": (300, 5)}
QUICK = {"dual_l2": (60, 2), "dual_kl": (60, 2), "semi_l2": (40, 2)}
TARGETS = {"smooth_ot_dual (l2)": 3.0}
HEADERS = ["function", "size", "numbaot ms", "POT ms", "POT/numbaot", "plan diff", "target"]


def plan_diff(P, Q) -> float:
    """``max |P - Q| / max |Q|``: entry-wise relative differences mean nothing on sparse plans."""
    P, Q = np.asarray(P, dtype=np.float64), np.asarray(Q, dtype=np.float64)
    return float(np.abs(P - Q).max() / np.abs(Q).max())


def _problem(n, seed=0):
    import ot

    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    return ot.unif(n), ot.unif(n), ot.dist(x, y)


def cases(config):
    import ot

    import numbaot

    n, r = config["dual_l2"]
    a, b, M = _problem(n)
    yield ("smooth_ot_dual (l2)", f"n={n}", r,
           lambda: numbaot.smooth_ot_dual(a, b, M, 0.1, "l2", warn=False),
           lambda: ot.smooth.smooth_ot_dual(a, b, M, 0.1, "l2"))
    n, r = config["dual_kl"]
    a, b, M = _problem(n, 1)
    yield ("smooth_ot_dual (kl)", f"n={n}", r,
           lambda: numbaot.smooth_ot_dual(a, b, M, 0.1, "kl", warn=False),
           lambda: ot.smooth.smooth_ot_dual(a, b, M, 0.1, "kl"))
    n, r = config["semi_l2"]
    a, b, M = _problem(n, 2)
    yield ("smooth_ot_semi_dual (l2)", f"n={n}", r,
           lambda: numbaot.smooth_ot_semi_dual(a, b, M, 0.1, "l2", warn=False),
           lambda: ot.smooth.smooth_ot_semi_dual(a, b, M, 0.1, "l2"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    md = args.markdown
    warnings.simplefilter("ignore", DeprecationWarning)  # POT passes scipy options that scipy deprecates
    pot_ratio_table(cases(QUICK if args.quick else FULL), TARGETS, HEADERS, "Smooth OT", plan_diff, md)


if __name__ == "__main__":
    main()
