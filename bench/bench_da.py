"""Benchmark numbaot's domain adaptation estimators (``numbaot.da``) against POT's (``ot.da``).

Usage::

    python bench/bench_da.py              # full run (the issue's sizes)
    python bench/bench_da.py --quick      # smoke run (small sizes, few repeats)
    python bench/bench_da.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the libraries take turns (A B A B ...), each called once before timing (this compiles
  numbaot's cores), and the median time is reported with the ratio ``POT / numbaot`` (> 1: numbaot is faster) and
  the largest relative difference of the transported samples.
* Data: a source sample of standard Gaussians in d dimensions and a target sample of Gaussians with another
  covariance, shifted (seeded); both estimators with their default parameters unless stated.
* Cases: ``SinkhornTransport().fit(Xs, Xt)`` then ``transform(Xs)``, 2000 x 2000 in d = 10 (target >= 5x; POT's
  default out-of-sample map 'continuous' recomputes Gibbs weights, ours reads the fitted plan);
  ``EMDTransport().fit`` + ``transform``, 2000 x 2000 (target >= 3x; POT with ``max_iter=10**7``: its default of 1e5
  pivots stops this size before the optimum, ours runs to it); ``MappingTransport(kernel="gaussian").fit`` +
  ``transform`` of new points, 500 x 500 in d = 2 (target >= 2x); ``UnbalancedSinkhornTransport`` and
  ``LinearTransport`` at 2000 x 2000 for reference.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pot_ratio_table, rel_diff  # noqa: E402

FULL = {"sinkhorn": (2000, 10, 5), "emd": (2000, 10, 5), "mapping": (500, 2, 3), "unbalanced": (2000, 10, 5),
        "linear": (2000, 10, 7)}
QUICK = {"sinkhorn": (200, 10, 2), "emd": (200, 10, 2), "mapping": (80, 2, 2), "unbalanced": (200, 10, 2),
         "linear": (200, 10, 2)}
TARGETS = {"SinkhornTransport": 5.0, "EMDTransport": 3.0, "MappingTransport(gaussian)": 2.0}
HEADERS = ["estimator", "size", "numbaot ms", "POT ms", "POT/numbaot", "rel diff", "target"]


def samples(rng, n, d):
    Xs = rng.normal(size=(n, d))
    A = rng.normal(size=(d, d)) / np.sqrt(d)
    Xt = rng.normal(size=(n, d)) @ A + 1.0
    return Xs, Xt


def quiet(call):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    return run


def cases(config):
    import ot

    import numbaot.da as da

    rng = np.random.default_rng(0)
    n, d, r = config["sinkhorn"]
    Xs, Xt = samples(rng, n, d)
    yield ("SinkhornTransport", f"{n}x{n}, d={d}", r,
           lambda: da.SinkhornTransport().fit(Xs=Xs, Xt=Xt).transform(Xs),
           lambda: ot.da.SinkhornTransport().fit(Xs=Xs, Xt=Xt).transform(Xs))
    n, d, r = config["emd"]
    Xs, Xt = samples(rng, n, d)
    yield ("EMDTransport", f"{n}x{n}, d={d}", r,
           lambda: da.EMDTransport().fit(Xs=Xs, Xt=Xt).transform(Xs),
           lambda: ot.da.EMDTransport(max_iter=10**7).fit(Xs=Xs, Xt=Xt).transform(Xs))
    n, d, r = config["mapping"]
    Xs, Xt = samples(rng, n, d)
    new = Xs + 0.01
    yield ("MappingTransport(gaussian)", f"{n}x{n}, d={d}", r,
           lambda: da.MappingTransport(kernel="gaussian").fit(Xs=Xs, Xt=Xt).transform(new),
           lambda: ot.da.MappingTransport(kernel="gaussian").fit(Xs=Xs, Xt=Xt).transform(new))
    n, d, r = config["unbalanced"]
    Xs, Xt = samples(rng, n, d)
    yield ("UnbalancedSinkhornTransport", f"{n}x{n}, d={d}", r,
           lambda: da.UnbalancedSinkhornTransport(reg_e=1.0, reg_m=1.0, max_iter=100).fit(Xs=Xs, Xt=Xt).transform(Xs),
           lambda: ot.da.UnbalancedSinkhornTransport(reg_e=1.0, reg_m=1.0, max_iter=100).fit(Xs=Xs, Xt=Xt
                                                                                            ).transform(Xs))
    n, d, r = config["linear"]
    Xs, Xt = samples(rng, n, d)
    yield ("LinearTransport", f"{n}x{n}, d={d}", r,
           lambda: da.LinearTransport().fit(Xs=Xs, Xt=Xt).transform(Xs),
           lambda: ot.da.LinearTransport().fit(Xs=Xs, Xt=Xt).transform(Xs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    md = args.markdown
    pot_ratio_table(cases(QUICK if args.quick else FULL), TARGETS, HEADERS, "Domain adaptation", rel_diff, md,
                    wrap=quiet)


if __name__ == "__main__":
    main()
