"""The ``numbaot`` command: ``demo``, ``solve``, ``info`` (also ``python -m numbaot``)."""
from __future__ import annotations

import argparse
import sys
import time
from importlib import resources

import numpy as np


def _load_points(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if path.endswith(".csv") or path.endswith(".txt"):
        data = np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=1)
        return data
    raise SystemExit(f"numbaot: cannot read {path!r}: give a .npy or .csv file")


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _dotmark(name: str) -> np.ndarray:
    """One of the two 32x32 DOTmark 'ClassicImages' shipped in numbaot/data (Schrieber et al. 2017)."""
    with resources.files("numbaot").joinpath("data", name).open("r") as handle:
        return np.loadtxt(handle, delimiter=",")


def cmd_demo(args) -> int:
    import numbaot

    print("numbaot demo: exact optimal transport on the DOTmark 'ClassicImages' 1001 and 1002 (32x32, shipped)")
    img_a = _dotmark("ClassicImages_data32_1001.csv")
    img_b = _dotmark("ClassicImages_data32_1002.csv")
    print("\n1. Grey levels: the 1024 pixel intensities of each image as a 1D sample (uniform weights)")
    xa, xb = img_a.ravel() / img_a.max(), img_b.ravel() / img_b.max()
    w1, first = _timed(numbaot.wasserstein_1d, xa, xb, p=1)
    w1, warm = _timed(numbaot.wasserstein_1d, xa, xb, p=1)
    print(f"   W1 = {float(w1):.6f}   (first call {first * 1e3:.1f} ms incl. compile or cache load, then "
          f"{warm * 1e3:.3f} ms)")
    print("\n2. Column profiles: the mass of each image per column x = 0..31, sqeuclidean cost")
    pos = np.arange(32.0)
    mass_a, mass_b = img_a.sum(axis=0), img_b.sum(axis=0)
    mass_a, mass_b = mass_a / mass_a.sum(), mass_b / mass_b.sum()
    res, first = _timed(numbaot.solve_sample, pos, pos, mass_a, mass_b, metric="sqeuclidean")
    res, warm = _timed(numbaot.solve_sample, pos, pos, mass_a, mass_b, metric="sqeuclidean")
    duality_gap = abs(float(res.value) - float(mass_a @ res.potential_a + mass_b @ res.potential_b))
    print(f"   W2^2 = {float(res.value):.6f} pixels^2, plan {res.plan.shape} with {np.count_nonzero(res.plan)} "
          f"non-zeros, duality gap {duality_gap:.1e}   ({first * 1e3:.1f} ms first, {warm * 1e3:.3f} ms warm)")
    print("\n3. The two images as histograms on the 32x32 grid, squared Euclidean ground cost (1024 x 1024, the "
          "DOTmark problem), exact OT by the network simplex")
    grid = np.stack(np.meshgrid(np.arange(32.0), np.arange(32.0), indexing="ij"), axis=-1).reshape(-1, 2)
    hist_a, hist_b = img_a.ravel() / img_a.sum(), img_b.ravel() / img_b.sum()
    M = numbaot.dist(grid, grid)
    res, first = _timed(numbaot.solve, M, hist_a, hist_b)
    res, warm = _timed(numbaot.solve, M, hist_a, hist_b)
    print(f"   W2^2 = {float(res.value):.6f} pixels^2, {res.n_iter} pivots, status {res.status.name}   "
          f"({first * 1e3:.1f} ms first, {warm * 1e3:.1f} ms warm)")
    n = args.n
    print(f"\n4. Two random samples of {n:,} points (normal vs. shifted exponential, random weights)")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=n), rng.exponential(size=n) - 1.0
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    numbaot.emd2_1d(x[:10], y[:10], a[:10] / a[:10].sum(), b[:10] / b[:10].sum())
    value, elapsed = _timed(numbaot.emd2_1d, x, y, a, b, metric="sqeuclidean")
    print(f"   emd2_1d = {float(value):.6f}   ({elapsed * 1e3:.1f} ms)")
    w2, elapsed = _timed(numbaot.wasserstein_1d, x, y, a, b, p=2)
    print(f"   wasserstein_1d(p=2) = {float(w2):.6f}   ({elapsed * 1e3:.1f} ms)")
    return 0


def cmd_solve(args) -> int:
    import numbaot

    x_a, x_b = _load_points(args.A), _load_points(args.B)
    a = None if args.weights_a is None else _load_points(args.weights_a)
    b = None if args.weights_b is None else _load_points(args.weights_b)
    try:
        result, elapsed = _timed(numbaot.solve_sample, x_a, x_b, a, b, metric=args.metric, p=args.p, lazy=True)
    except (ValueError, TypeError) as exc:
        print(f"numbaot solve: {exc}", file=sys.stderr)
        return 2
    print(f"value {float(result.value):.17g}")
    print(f"status {result.status.name}, {result.shape[0]} x {result.shape[1]} points, {elapsed * 1e3:.2f} ms")
    if args.plan:
        if args.plan.endswith(".npz"):
            import scipy.sparse

            scipy.sparse.save_npz(args.plan, result.plan_sparse.tocsr())
        else:
            np.save(args.plan, result.plan)
        print(f"plan written to {args.plan}")
    return 0


def cmd_info(args) -> int:
    import numba

    import numbaot
    from numbaot import _config, _device

    versions = {"numbaot": numbaot.__version__, "python": sys.version.split()[0], "numpy": np.__version__,
                "numba": numba.__version__}
    for module in ("scipy", "llvmlite", "numba_cuda", "cupy", "ot"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:
            versions[module] = "not installed"
    for name, version in versions.items():
        print(f"{name:<12} {version}")
    numbaot.dist(np.zeros((2, 1)), np.ones((2, 1)))  # run a parallel core so the threading layer is chosen
    from numbaot._costs import dist_core

    cache = getattr(getattr(dist_core, "_cache", None), "_cache_path", None)
    print(f"{'threading':<12} {numba.threading_layer()} with {numba.get_num_threads()} threads "
          f"(NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})")
    print(f"{'cache':<12} {cache if (_config.CACHE and cache) else 'off'}")
    print(f"{'cuda':<12} {'usable' if _device.cuda_available() else 'not usable'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numbaot", description="Optimal transport compiled by Numba.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve the shipped example and print values and timings")
    demo.add_argument("--n", type=int, default=1_000_000, help="size of the random 1D example (default 1e6)")
    demo.set_defaults(func=cmd_demo)
    solve = sub.add_parser("solve", help="exact OT between two 1D point sets read from .npy or .csv files")
    solve.add_argument("A")
    solve.add_argument("B")
    solve.add_argument("--weights-a", help="weights of A (.npy/.csv), uniform by default")
    solve.add_argument("--weights-b", help="weights of B (.npy/.csv), uniform by default")
    solve.add_argument("--metric", default="sqeuclidean",
                       choices=["sqeuclidean", "euclidean", "cityblock", "minkowski"])
    solve.add_argument("--p", type=float, default=1.0, help="exponent of 'minkowski' (|x - y|^p)")
    solve.add_argument("--plan", help="write the plan: dense to a .npy file, sparse to a .npz file")
    solve.set_defaults(func=cmd_solve)
    info = sub.add_parser("info", help="versions, threading layer, cache location, CUDA availability")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
