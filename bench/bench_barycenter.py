"""Barycenters: numbaot side by side with POT in one process.

Cases (the issue's targets): fixed-support entropic barycenters of 3 Gaussian histograms on 1000 bins of a line
(costs normalised to max 1, reg 1e-3), convolutional barycenters of 3 binary shapes on a 128 x 128 grid (reg
0.004), the free-support barycenter of 3 clouds of 500 points in 2D with 100 support points, the GW barycenter
(30 nodes) of 3 structures of 50 nodes from the same start (at most 100 outer iterations). Both libraries run the
same method with the same stopping tolerance (POT's defaults: 1e-4 on the spread of the plans' column marginals for
Bregman, 1e-7 on the squared displacement for free support); the table shows the iterations each needed and the
largest difference of the barycenters. Runs are alternated (``_common.race``), medians reported; the ratio is
POT / numbaot (above 1: numbaot is faster). ``--scale`` also times one convolutional iteration at 512 x 512 x 4.

The 1D case's cost, ``(x_i - x_j)^2`` on ``x = arange(1000)``, is constant along its diagonals, so numbaot's
scaling domain ("sinkhorn") applies the Gibbs kernel as a Toeplitz operator from its 1999 diagonals, the whole
balanced loop compiled (``barycenters._scaling.toeplitz_bregman_core``); POT multiplies the dense kernel. A second
row runs numbaot on one thread (``n_threads=1``) against the same POT call. The GW case solves its 3 couplings per
outer iteration in turn (``barycenters.gromov.THREADS_MIN_ENTRIES``), each by the compiled conditional gradient.

Usage: python bench/bench_barycenter.py [--quick] [--scale] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Contestant, fmt_time, format_table, machine_line, race  # noqa: E402


def gaussians_1d(n):
    x = np.arange(n, dtype=np.float64)
    A = np.stack([np.exp(-((x - m) ** 2) / (2 * s**2)) for m, s in ((0.2 * n, 0.05 * n), (0.5 * n, 0.08 * n),
                                                                      (0.8 * n, 0.04 * n))], axis=1)
    M = (x[:, None] - x[None, :]) ** 2
    return A / A.sum(axis=0), M / M.max()


def shapes_2d(size, k=3):
    yy, xx = np.mgrid[:size, :size] / size
    imgs = [np.hypot(xx - 0.3, yy - 0.3) < 0.15, np.abs(xx - 0.7) + np.abs(yy - 0.6) < 0.2,
            (xx - 0.5) ** 2 / 0.04 + (yy - 0.3) ** 2 / 0.01 < 1, np.abs(xx - yy) < 0.05][:k]
    A = np.stack(imgs).astype(np.float64)
    return A / A.sum(axis=(1, 2), keepdims=True)


def clouds(n_points, k_support, seed=0):
    rng = np.random.default_rng(seed)
    locs = [rng.normal(size=(n_points, 2)) * s + c for s, c in ((1.0, 0.0), (0.5, 3.0), (2.0, -2.0))]
    wts = [np.full(n_points, 1.0 / n_points) for _ in locs]
    return locs, wts, rng.normal(size=(k_support, 2))


def cases(quick):
    import ot

    import numbaot

    A, M = gaussians_1d(1000)
    imgs = shapes_2d(64 if quick else 128)
    locs, wts, X0 = clouds(500, 100)
    out = []
    iters = lambda *args, **kw: numbaot.solve_barycenter(*args, warn=False, **kw).n_iter  # noqa: E731
    for method in ("sinkhorn", "sinkhorn_log"):
        out.append((f"barycenter 1D 1000 x 3, reg 1e-3, {method}",
                    lambda m=method: numbaot.barycenter(A, M, 1e-3, method=m, tol=1e-4),
                    lambda m=method: ot.barycenter(A, M, 1e-3, method=m, stopThr=1e-4, log=True),
                    lambda r: r, lambda r: r[0], lambda r, m=method: iters(A, M, 1e-3, method=m, tol=1e-4),
                    lambda r: r[1]["niter"] + 1))
    # the same with numbaot on one thread (POT's BLAS keeps its threads): the compiled loop's speed per core, and
    # with the row above, how much the second thread adds
    out.append(("barycenter 1D 1000 x 3, reg 1e-3, sinkhorn, numbaot n_threads=1",
                lambda: numbaot.barycenter(A, M, 1e-3, method="sinkhorn", tol=1e-4, n_threads=1),
                lambda: ot.barycenter(A, M, 1e-3, method="sinkhorn", stopThr=1e-4, log=True),
                lambda r: r, lambda r: r[0], lambda r: iters(A, M, 1e-3, method="sinkhorn", tol=1e-4),
                lambda r: r[1]["niter"] + 1))
    size = imgs.shape[1]
    for method in ("sinkhorn",) if quick else ("sinkhorn", "sinkhorn_log"):
        out.append((f"convolutional_barycenter2d {size} x {size} x 3, reg 0.004, {method}",
                    lambda m=method: numbaot.convolutional_barycenter2d(imgs, 0.004, method=m, tol=1e-4),
                    lambda m=method: ot.bregman.convolutional_barycenter2d(imgs, 0.004, method=m, stopThr=1e-4,
                                                                           log=True),
                    lambda r: r, lambda r: r[0], lambda r, m=method: iters(imgs, reg=0.004, method=m, tol=1e-4),
                    lambda r: r[1]["niter"] + 1))
    out.append(("free_support_barycenter 3 x 500 points, 100 support",
                lambda: numbaot.solve_bary_sample(locs, a_list=wts, X_b_init=X0),
                lambda: ot.lp.free_support_barycenter(locs, wts, X0, log=True),
                lambda r: r.support, lambda r: r[0], lambda r: r.n_iter, lambda r: r[1]["displacement_square_norms"]
                and len(r[1]["displacement_square_norms"])))
    Cs = graphs(50)
    C0 = graphs(30, seed=9)[0]
    out.append(("gromov_barycenters 3 graphs of 50 nodes, N = 30",
                lambda: numbaot.gromov_barycenters(30, Cs, init_C=C0, max_iter=100, warn=False),
                lambda: ot.gromov.gromov_barycenters(30, Cs, init_C=C0, max_iter=100, log=True),
                lambda r: r, lambda r: r[0], lambda r: "-", lambda r: len(r[1]["err"])))
    return out


def graphs(n, k=3, seed=0):
    """Shortest-path-like structures: Euclidean distances of k random planar clouds of n points."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        x = rng.random((n, 2))
        out.append(np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)))
    return out


def bench(quick, repeats, markdown):
    rows = []
    for name, ours, peer, bar_ours, bar_peer, it_ours, it_peer in cases(quick):
        # the slowest POT case (log-domain convolutional: about 13 s a call) runs once
        reps = 1 if "sinkhorn_log" in name and "convolutional" in name else repeats
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            field = race([Contestant("numbaot", ours), Contestant("POT", peer)], reps)
        o, p = field
        diff = float(np.abs(np.asarray(bar_ours(o.value)) - np.asarray(bar_peer(p.value))).max())
        rows.append([name, fmt_time(o.median), fmt_time(p.median), f"{p.median / o.median:.2f}",
                     f"{it_ours(o.value)} / {it_peer(p.value)}", f"{diff:.1e}"])
        print(f"  {name} done", file=sys.stderr)
    headers = ["case", "numbaot ms", "POT ms", "ratio", "iterations (ours / POT)", "max abs diff"]
    return format_table(headers, rows, markdown)


def scale(markdown):
    """One convolutional iteration at 512 x 512 x 4 in float32 (ours only: the work is O(K H W (H + W)))."""
    import numbaot

    imgs = shapes_2d(512, 4).astype(np.float32)
    rows = []
    for method in ("sinkhorn", "sinkhorn_log"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            numbaot.solve_barycenter(shapes_2d(32, 4), reg=0.004, method=method, max_iter=2)  # compile
            start = time.perf_counter()
            res = numbaot.solve_barycenter(imgs, reg=0.004, method=method, max_iter=10, tol=0.0)
            per = (time.perf_counter() - start) / res.n_iter
        rows.append(["convolutional_barycenter2d 512 x 512 x 4 float32", method, fmt_time(per),
                     str(res.barycenter.dtype)])
    return format_table(["case", "method", "ms per iteration", "result dtype"], rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grid, 2 repeats")
    parser.add_argument("--scale", action="store_true", help="also time 512 x 512 x 4 convolutional iterations")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    print(machine_line())
    start = time.perf_counter()
    print(bench(args.quick, 2 if args.quick else 5, args.markdown))
    if args.scale:
        print(scale(args.markdown))
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
