"""GPU: dense log-domain Sinkhorn per iteration against the device's memory-bandwidth floor (issue 4's GPU target).

What it measures, on the first CUDA device:

* **copy rate**: a device-to-device copy of a 1 GiB buffer (bytes copied per second, median of several copies);
* **per iteration**: ``numbaot.solve(M, reg=...)`` on a device cost matrix (float32 by default), timed at two
  iteration counts with no convergence stop (``tol=0``), the slope giving the time of one iteration without the
  set-up (layouts, weights, the first two-pass half-steps) and the final plan;
* **floor**: the bytes one iteration must read over the copy rate. A half-step reads the whole cost matrix once
  (one pass per row, ``entropic._softmin.softmin_row_shifted``), so an iteration reads ``2 n m`` entries.

The ratio measured / floor is the figure the issue bounds (within 3x on an H100 at n = m = 16384, float32).
A copy both reads and writes its bytes, so this floor is a conservative one (the read bandwidth alone is higher).

A second table times domain adaptation on device arrays (issue 18): ``numbaot.da.SinkhornTransport().fit(Xs, Xt)``
then ``transform(Xs)`` on ``--da`` x ``--da`` points in d = 10 (the size of bench_da.py's case), with Numba device
arrays (the solve on the GPU, cost and projections on host copies) against the same on numpy arrays (all on the
host); ``--da 0`` skips it.

A third table times fixed-support barycenters on the device (issue 14): 3 histograms of ``--bary`` bins (dense
costs of a line) and 3 images of ``--bary-grid`` squared cells (convolutional), plain and debiased, per iteration
(the slope between the two ``--iters`` counts, ``tol=0``), against the same call on host arrays; ``--bary 0``
skips it.

A fourth table times the Gaussian closed forms on the device (issue 17): ``bures_wasserstein_distance`` between
all pairs of two stacks of ``--gauss K`` Gaussians in d = ``--gauss-d``, ``bures_wasserstein_barycenter`` of the K
Gaussians (Newton-Schulz square roots on the device, eigendecompositions on the host) and
``empirical_bures_wasserstein_distance`` of two ``--gauss-n`` point samples, against the same calls on host
arrays; ``--gauss 0`` skips it.

A fifth table times the circle and sphere paths and the max-sliced gradient ascent on the device (issue 17):
``wasserstein_circle`` of ``--circle K`` problems of ``--circle-n`` points each (p = 2), ``sliced_wasserstein_sphere``
of two ``--circle-n`` clouds on S^2 with 200 planes, and ``max_sliced_wasserstein_distance(method='gradient')`` of
two ``--circle-n`` clouds in d = 10 (50 steps at most), against the same calls on host arrays; ``--circle 0`` skips it.

A sixth table times entropic partial OT on the device (issue 16): ``entropic_partial_wasserstein`` of two
``--partial`` 2-D clouds (squared Euclidean costs, b of mass 1.2, m = 0.9, reg = 0.05 max M: the caps bind), 100
iterations (tol = 0), on device arrays (the log-domain kernels of ``cuda/partial.py``) against the host arrays (the
host's 'auto' method), and the unbalanced ``sinkhorn_unbalanced(method='sinkhorn_reg_scaling')`` on the same
problem (reg = 0.01 max M, reg_m = 1, tol 1e-6: its epsilon stages run through the GPU loop as on the host);
``--partial 0`` skips the table.

A seventh table times the spatio-temporal alignment on the device (issue 15): ``numbaot.timeseries.sta`` between
two series of ``--sta`` frames, each a histogram on a ``--sta-side`` square grid (bench_timeseries.py's drifting
blobs, gamma = 1, reg = 0.05), on device arrays (``cuda/sta.py``: one block per self-problem and per frame pair,
soft-DTW on the device) against the host arrays (the batched CPU solve); ``--sta 0`` skips it. Its second row is
``sta_barycenter`` of two series of ``--sta-bary`` frames (5 descent steps, the iterate on the device); its third
``sta`` between two series of ``--sta`` frames that are point clouds of ``--sta-points`` points in 2D (the same
drifting blobs, sampled; ``cuda/sta_clouds.py``: batched device Sinkhorn solves on cost matrices built on the
device; ``--sta-points 0`` skips it).

Runs under the CUDA simulator too (``NUMBA_ENABLE_CUDASIM=1 python bench/bench_cuda.py --n 32 --iters 2 3``) to
check the script; the simulator's times mean nothing.

Usage: python bench/bench_cuda.py [--n 16384] [--dtype float32] [--iters 20 60] [--da 2000] [--bary 4096]
       [--bary-grid 512] [--gauss 100] [--gauss-d 50] [--gauss-n 100000]
       [--circle 1000] [--circle-n 10000] [--partial 4096] [--sta 50] [--sta-side 32] [--sta-bary 10]
       [--sta-points 256] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import format_table  # noqa: E402


def device_name() -> str:
    from numba import cuda

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def copy_rate(n_bytes: int, repeats: int = 5) -> float:
    """Bytes per second of a device-to-device copy of ``n_bytes`` (median of ``repeats``)."""
    from numba import cuda

    src = cuda.device_array(n_bytes // 4, dtype=np.float32)
    dst = cuda.device_array_like(src)
    dst.copy_to_device(src)  # warm-up
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_to_device(src)
        cuda.synchronize()
        times.append(time.perf_counter() - start)
    return n_bytes / statistics.median(times)


def sinkhorn_seconds(M, reg: float, iters: int, repeats: int) -> float:
    """Median wall time of ``numbaot.solve(M, reg=reg)`` run for exactly ``iters`` iterations on the device."""
    from numba import cuda

    import numbaot

    times = []
    for _ in range(repeats):
        cuda.synchronize()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MAX_ITER_REACHED is the point here
            res = numbaot.solve(M, reg=reg, max_iter=iters, tol=0.0, warn=False)
        cuda.synchronize()
        times.append(time.perf_counter() - start)
        if res.n_iter != iters:
            raise RuntimeError(f"the solve stopped after {res.n_iter} iterations, not {iters}")
    return statistics.median(times)


def make_costs(n: int, dtype, seed: int = 0):
    """Squared distances between two random 2D clouds in the unit square, on the device, and reg = 0.01 max."""
    from numba import cuda

    import numbaot

    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    M = numbaot.dist(x, y).astype(dtype)
    return cuda.to_device(M), 0.01 * float(M.max())


def bench(n: int, dtype, iters, repeats: int, markdown: bool) -> str:
    M, reg = make_costs(n, dtype)
    sinkhorn_seconds(M, reg, iters[0], 1)  # compile and warm up
    low = sinkhorn_seconds(M, reg, iters[0], repeats)
    high = sinkhorn_seconds(M, reg, iters[1], repeats)
    per_iter = (high - low) / (iters[1] - iters[0])
    itemsize = np.dtype(dtype).itemsize
    rate = copy_rate(min(2**30, max(2**20, 4 * n * n * itemsize)))
    floor = 2 * n * n * itemsize / rate
    headers = ["device", "n = m", "dtype", "copy GB/s", "floor ms/iter", "measured ms/iter", "measured / floor"]
    row = [device_name(), n, np.dtype(dtype).name, f"{rate / 1e9:.0f}", f"{floor * 1e3:.3g}",
           f"{per_iter * 1e3:.3g}", f"{per_iter / floor:.2f}"]
    return format_table(headers, [row], markdown)


def da_seconds(call, repeats: int) -> float:
    """Median wall time of ``call()`` (device work synchronised), ConvergenceWarnings silenced."""
    from numba import cuda

    times = []
    for _ in range(repeats):
        cuda.synchronize()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
        cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_da(n: int, repeats: int, markdown: bool, d: int = 10) -> str:
    """SinkhornTransport fit + transform on device arrays against the same on host arrays."""
    from numba import cuda

    from numbaot.da import SinkhornTransport

    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(n, d))
    Xt = rng.normal(size=(n, d)) @ (rng.normal(size=(d, d)) / np.sqrt(d)) + 1.0
    Xs_dev, Xt_dev = cuda.to_device(Xs), cuda.to_device(Xt)

    def on_device():
        est = SinkhornTransport().fit(Xs=Xs_dev, Xt=Xt_dev)
        est.transform(Xs_dev)
        return est

    def on_host():
        return SinkhornTransport().fit(Xs=Xs, Xt=Xt).transform(Xs)

    ran_on = on_device().ran_on_  # compile and warm up both
    on_host()
    device = da_seconds(on_device, repeats)
    host = da_seconds(on_host, repeats)
    headers = ["device", "SinkhornTransport fit + transform", "solve ran on", "device arrays ms", "host arrays ms",
               "host / device"]
    row = [device_name(), f"{n}x{n}, d={d}", ran_on, f"{device * 1e3:.4g}", f"{host * 1e3:.4g}",
           f"{host / device:.2f}"]
    return format_table(headers, [row], markdown)


def barycenter_seconds(A, M, debias: bool, iters, on_device: bool) -> float:
    """Seconds per iteration of ``solve_barycenter`` (slope between the two iteration counts, ``tol=0``)."""
    from numba import cuda

    import numbaot

    args = (cuda.to_device(A), None if M is None else cuda.to_device(M)) if on_device else (A, M)
    reg = 0.01 if M is not None else 0.004
    times = []
    for n_iter in (iters[0], iters[0]) + tuple(iters):  # a warm-up (compiles), then the two counts
        cuda.synchronize()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            numbaot.solve_barycenter(*args, reg=reg, debias=debias, max_iter=n_iter, tol=0.0)
        cuda.synchronize()
        times.append(time.perf_counter() - start)
    return max(times[-1] - times[-2], 1e-12) / (iters[1] - iters[0])


def bench_barycenters(n: int, side: int, dtype, iters, markdown: bool) -> str:
    """Dense (n bins x 3) and convolutional (side x side x 3) barycenters, plain and debiased: device vs host."""
    x = np.linspace(0.0, 1.0, n)
    A = np.stack([np.exp(-((x - c) ** 2) / (2 * s**2)) for c, s in ((0.2, 0.05), (0.5, 0.08), (0.8, 0.04))], axis=1)
    A = (A / A.sum(axis=0)).astype(dtype)
    M = ((x[:, None] - x[None, :]) ** 2).astype(dtype)
    yy, xx = np.mgrid[:side, :side] / side
    imgs = np.stack([np.hypot(xx - 0.3, yy - 0.3) < 0.15, np.abs(xx - 0.7) + np.abs(yy - 0.6) < 0.2,
                     (xx - 0.5) ** 2 / 0.04 + (yy - 0.3) ** 2 / 0.01 < 1]).astype(dtype)
    imgs /= imgs.sum(axis=(1, 2), keepdims=True)
    rows = []
    for name, (H, C) in ((f"barycenter {n} bins x 3", (A, M)), (f"convolutional {side}x{side} x 3", (imgs, None))):
        for debias in (False, True):
            dev = barycenter_seconds(H, C, debias, iters, True)
            host = barycenter_seconds(H, C, debias, iters, False)
            rows.append([device_name(), name + (", debiased" if debias else ""), np.dtype(dtype).name,
                         f"{dev * 1e3:.4g}", f"{host * 1e3:.4g}", f"{host / dev:.2f}"])
    headers = ["device", "case", "dtype", "device ms / iteration", "host ms / iteration", "host / device"]
    return format_table(headers, rows, markdown)


def device_vs_host(cases, repeats: int, markdown: bool) -> str:
    """A table row per ``(name, verb, host_args)``: the verb on device copies of the arguments vs on the host
    arrays (each compiled and warmed up first, warnings silenced), medians in ms and their ratio."""
    from numba import cuda

    rows = []
    for name, verb, host_args in cases:
        device_args = tuple(cuda.to_device(np.ascontiguousarray(x)) for x in host_args)
        for args in (device_args, host_args):  # compile and warm up
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                verb(*args)
        dev = da_seconds(lambda: verb(*device_args), repeats)
        host = da_seconds(lambda: verb(*host_args), repeats)
        rows.append([device_name(), name, f"{dev * 1e3:.4g}", f"{host * 1e3:.4g}", f"{host / dev:.2f}"])
    headers = ["device", "case", "device arrays ms", "host arrays ms", "host / device"]
    return format_table(headers, rows, markdown)


def bench_gaussian(K: int, d: int, n: int, repeats: int, markdown: bool) -> str:
    """Bures distances (all K x K pairs), barycenter of K, empirical distance of n points: device vs host."""
    import numbaot

    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, K, d, d))
    C = A @ np.swapaxes(A, 2, 3) / d + 0.1 * np.eye(d)
    m = rng.normal(size=(2, K, d))
    xs, xt = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 2.0 + 1.0
    cases = [
        (f"bures_wasserstein_distance {K}x{K} pairs, d={d}", numbaot.bures_wasserstein_distance,
         (m[0], m[1], C[0], C[1])),
        (f"bures_wasserstein_barycenter K={K}, d={d}", numbaot.bures_wasserstein_barycenter, (m[0], C[0])),
        (f"empirical_bures_wasserstein_distance n={n}, d={d}", numbaot.empirical_bures_wasserstein_distance,
         (xs, xt)),
    ]
    return device_vs_host(cases, repeats, markdown)


def bench_circle(K: int, n: int, repeats: int, markdown: bool) -> str:
    """Batched circle OT, spherical sliced Wasserstein and max-sliced gradient ascent: device vs host."""
    import numbaot

    rng = np.random.default_rng(0)
    u, v = rng.uniform(size=(n, K)), rng.uniform(size=(n, K)) ** 2
    Xs, Xt = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + [1.0, 0.0, 0.0]
    Xs /= np.linalg.norm(Xs, axis=1, keepdims=True)
    Xt /= np.linalg.norm(Xt, axis=1, keepdims=True)
    Ys, Yt = rng.normal(size=(n, 10)), rng.normal(size=(n, 10)) * 1.5 + 0.5
    cases = [
        (f"wasserstein_circle {K} problems x {n} points, p=2", lambda *x: numbaot.wasserstein_circle(*x, p=2),
         (u, v)),
        (f"sliced_wasserstein_sphere n={n}, S^2, 200 planes",
         lambda *x: numbaot.sliced_wasserstein_sphere(*x, n_projections=200, seed=0), (Xs, Xt)),
        (f"max_sliced gradient n={n}, d=10, 50 steps",
         lambda *x: numbaot.max_sliced_wasserstein_distance(*x, seed=0, method="gradient", max_iter=50), (Ys, Yt)),
    ]
    return device_vs_host(cases, repeats, markdown)


def bench_partial(n: int, repeats: int, markdown: bool) -> str:
    """Issue 16's GPU paths: entropic partial OT, 100 iterations, and the unbalanced 'sinkhorn_reg_scaling' (its
    epsilon stages, then the last stage to tol 1e-6): device vs host."""
    import numbaot

    rng = np.random.default_rng(0)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    a, b = np.full(n, 1.0 / n), np.full(n, 1.2 / n)
    reg = 0.05 * float(M.max())
    cases = [(f"entropic_partial_wasserstein n={n}, m=0.9, 100 it.",
              lambda *x: numbaot.entropic_partial_wasserstein(*x, reg, 0.9, max_iter=100, tol=0.0, warn=False),
              (a, b, M)),
             (f"sinkhorn_unbalanced reg_scaling n={n}, reg=0.01 max M, reg_m=1, tol 1e-6",
              lambda *x: numbaot.sinkhorn_unbalanced(*x, 0.2 * reg, 1.0, method="sinkhorn_reg_scaling", tol=1e-6,
                                                     warn=False),
              (a, b, M))]
    return device_vs_host(cases, repeats, markdown)


def bench_sta(frames: int, side: int, repeats: int, markdown: bool, bary: int = 0, points: int = 0) -> str:
    """Spatio-temporal alignment of two series of histograms on a grid (all frame pairs): device vs host; with
    ``bary`` frames, also the STA barycenter of two such series (5 descent steps, each one or more objective
    evaluations of 2 x bary^2 pairs); with ``points``, STA of two series of point clouds of that many points."""
    import numbaot.timeseries as ts

    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side)), -1).reshape(-1, 2)

    def series():  # a blob drifting across the grid (bench_timeseries.py's)
        centre, step = rng.random(2) * 0.5 + 0.25, (rng.random(2) - 0.5) * 0.02
        out = [np.exp(-((grid - centre - t * step) ** 2).sum(1) / 0.02) + 1e-3 for t in range(frames)]
        return np.array([h / h.sum() for h in out])

    cases = [(f"sta {frames} x {frames} frames of {side} x {side}",
              lambda X, Y: ts.sta(X, Y, 1.0, 0.05, support=grid), (series(), series()))]
    if points > 0:
        def clouds():  # the blob's drift, each frame a sample of its points
            centre, step = rng.random(2) * 0.5 + 0.25, (rng.random(2) - 0.5) * 0.02
            return np.array([centre + t * step + 0.1 * rng.standard_normal((points, 2)) for t in range(frames)])

        cases.append((f"sta {frames} x {frames} frames of {points} points in 2D",
                      lambda X, Y: ts.sta(X, Y, 1.0, 0.05), (clouds(), clouds())))
    if bary > 0:
        frames = bary
        cases.append((f"sta_barycenter of 2 series of {bary} frames of {side} x {side}, 5 steps",
                      lambda X, Y: ts.sta_barycenter([X, Y], 1.0, 0.05, support=grid, max_iter=5, tol=0.0),
                      (series(), series())))
    return device_vs_host(cases, repeats, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16384)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--iters", type=int, nargs=2, default=[20, 60], metavar=("LOW", "HIGH"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--da", type=int, default=2000, help="points per side of the domain-adaptation row (0: skip)")
    parser.add_argument("--bary", type=int, default=4096, help="bins of the dense barycenter rows (0: skip them)")
    parser.add_argument("--bary-grid", type=int, default=512, help="side of the convolutional barycenter rows")
    parser.add_argument("--gauss", type=int, default=100, help="Gaussians per stack of the Gaussian rows (0: skip)")
    parser.add_argument("--gauss-d", type=int, default=50, help="dimension of the Gaussian rows")
    parser.add_argument("--gauss-n", type=int, default=100000, help="points per sample of the empirical row")
    parser.add_argument("--circle", type=int, default=1000, help="problems of the circle row (0: skip the table)")
    parser.add_argument("--circle-n", type=int, default=10000, help="points per measure of the circle/sphere rows")
    parser.add_argument("--partial", type=int, default=4096, help="points per side of the partial row (0: skip)")
    parser.add_argument("--sta", type=int, default=50, help="frames per series of the STA row (0: skip)")
    parser.add_argument("--sta-side", type=int, default=32, help="side of the STA row's grid")
    parser.add_argument("--sta-bary", type=int, default=10,
                        help="frames per series of the STA barycenter row (0: skip)")
    parser.add_argument("--sta-points", type=int, default=256,
                        help="points per frame of the STA point-cloud row (0: skip)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if not args.iters[0] < args.iters[1]:
        parser.error("--iters LOW HIGH needs LOW < HIGH")
    print(bench(args.n, np.dtype(args.dtype).type, args.iters, args.repeats, args.markdown))
    if args.da > 0:
        print(bench_da(args.da, args.repeats, args.markdown))
    if args.bary > 0:
        print(bench_barycenters(args.bary, args.bary_grid, np.dtype(args.dtype).type, args.iters, args.markdown))
    if args.gauss > 0:
        print(bench_gaussian(args.gauss, args.gauss_d, args.gauss_n, args.repeats, args.markdown))
    if args.circle > 0:
        print(bench_circle(args.circle, args.circle_n, args.repeats, args.markdown))
    if args.partial > 0:
        print(bench_partial(args.partial, args.repeats, args.markdown))
    if args.sta > 0:
        print(bench_sta(args.sta, args.sta_side, args.repeats, args.markdown, args.sta_bary, args.sta_points))


if __name__ == "__main__":
    main()
