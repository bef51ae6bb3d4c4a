"""Benchmark numbaot's Gaussian (Bures-Wasserstein) OT against POT (``ot.gaussian``, ``ot.gmm``).

Usage::

    python bench/bench_gaussian.py              # full run (the issue's sizes)
    python bench/bench_gaussian.py --quick      # smoke run (small sizes, few repeats)
    python bench/bench_gaussian.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the libraries take turns (A B A B ...), each called once before timing (this compiles
  numbaot's cores), and the median time is reported with the ratio ``POT / numbaot`` (> 1: numbaot is faster) and
  the largest relative difference of the answers.
* Cases: ``bures_wasserstein_barycenter`` of K = 100 Gaussians in d = 50 (covariances A A^T / d + 0.1 I, A
  Gaussian; both libraries stop at a covariance change of 1e-7; target >= 3x); ``empirical_bures_wasserstein_distance``
  of n = 1e5 points in d = 50 (target >= 2x); all-pairs ``bures_wasserstein_distance`` between 30 and 30 Gaussians
  in d = 20; ``gmm_ot_loss`` of mixtures of 20 components in d = 10; ``bures_wasserstein_distance_hd`` of two
  Gaussians in p = 1000 with 10 principal axes each (numbaot works on the span of the axes, POT forms p x p
  matrices).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pot_ratio_table, rel_diff  # noqa: E402

FULL = {"barycenter": (100, 50, 5), "empirical": (10**5, 50, 7), "pairs": (30, 20, 7), "gmm": (20, 10, 7),
        "hd": (1000, 10, 5)}
QUICK = {"barycenter": (10, 5, 2), "empirical": (10**3, 5, 2), "pairs": (5, 3, 2), "gmm": (4, 2, 2), "hd": (50, 3, 2)}
TARGETS = {"bures_wasserstein_barycenter": 3.0, "empirical_bures_wasserstein_distance": 2.0}
HEADERS = ["function", "size", "numbaot ms", "POT ms", "POT/numbaot", "rel diff", "target"]


def spd(rng, k, d):
    A = rng.normal(size=(k, d, d))
    return A @ np.swapaxes(A, 1, 2) / d + 0.1 * np.eye(d)


def cases(config):
    import ot

    import numbaot

    rng = np.random.default_rng(0)
    K, d, r = config["barycenter"]
    m, C = rng.normal(size=(K, d)), spd(rng, K, d)
    yield ("bures_wasserstein_barycenter", f"K={K}, d={d}", r,
           lambda: numbaot.bures_wasserstein_barycenter(m, C, tol=1e-7)[1],
           lambda: ot.gaussian.bures_wasserstein_barycenter(m, C, eps=1e-7)[1])
    n, d, r = config["empirical"]
    xs, xt = rng.normal(size=(n, d)), rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) / np.sqrt(d) + 1
    yield ("empirical_bures_wasserstein_distance", f"n={n:.0e}, d={d}", r,
           lambda: numbaot.empirical_bures_wasserstein_distance(xs, xt),
           lambda: ot.gaussian.empirical_bures_wasserstein_distance(xs, xt))
    k, d, r = config["pairs"]
    ms, mt, Cs, Ct = rng.normal(size=(k, d)), rng.normal(size=(k, d)), spd(rng, k, d), spd(rng, k, d)
    yield ("bures_wasserstein_distance (all pairs)", f"{k}x{k}, d={d}", r,
           lambda: numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct),
           lambda: ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct))
    k, d, r = config["gmm"]
    ms, mt, Cs, Ct = rng.normal(size=(k, d)) * 3, rng.normal(size=(k, d)) * 3, spd(rng, k, d), spd(rng, k, d)
    w = np.full(k, 1.0 / k)
    yield ("gmm_ot_loss", f"{k} components, d={d}", r,
           lambda: numbaot.gmm_ot_loss(ms, mt, Cs, Ct, w, w),
           lambda: ot.gmm.gmm_ot_loss(ms, mt, Cs, Ct, w, w))
    p, k, r = config["hd"]
    Us, Ut = np.linalg.qr(rng.normal(size=(p, k)))[0], np.linalg.qr(rng.normal(size=(p, k)))[0]
    ls, lt = rng.uniform(1, 5, k), rng.uniform(1, 5, k)
    ms, mt = rng.normal(size=p), rng.normal(size=p)
    s2s, s2t = np.array([0.5]), np.array([0.2])
    yield ("bures_wasserstein_distance_hd", f"p={p}, {k} axes", r,
           lambda: numbaot.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, s2s, s2t),
           lambda: float(ot.gaussian.bures_wasserstein_distance_hd(ms, mt, Us, Ut, ls, lt, s2s, s2t)[0]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    md = args.markdown
    pot_ratio_table(cases(QUICK if args.quick else FULL), TARGETS, HEADERS, "Gaussian OT", rel_diff, md)


if __name__ == "__main__":
    main()
