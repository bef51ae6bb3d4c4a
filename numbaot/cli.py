"""The ``numbaot`` command: ``demo``, ``solve``, ``info``, ``warmup`` (also ``python -m numbaot``)."""
from __future__ import annotations

import argparse
import sys
import time
from importlib import resources

import numpy as np


class InputError(Exception):
    """A file the command cannot use; reported as one line on stderr with exit status 2."""


def _load_points(path: str, skip_header=None) -> np.ndarray:
    """The numbers of a ``.npy``, ``.csv`` or whitespace-separated ``.txt`` file: one point per row.

    ``skip_header``: rows of text to skip at the top of a text file; None looks at the first row and skips it when
    it is not numeric (a header such as ``x,y``).
    """
    import os

    if not path.endswith((".npy", ".csv", ".txt")):
        raise InputError(f"cannot read {path!r}: give a .npy, .csv or .txt file")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    if path.endswith(".npy"):
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable .npy file ({exc})") from None
    else:
        delimiter = "," if path.endswith(".csv") else None
        if skip_header is None:
            with open(path, encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
            cells = [c.strip() for c in (first.split(delimiter) if delimiter else first.split())]
            skip_header = 0
            try:
                [float(c) for c in cells if c]
            except ValueError:
                skip_header = 1  # a header row such as "x,y"
        try:
            data = np.loadtxt(path, delimiter=delimiter, ndmin=1, skiprows=skip_header)
        except ValueError as exc:
            raise InputError(f"{path}: not a table of numbers ({exc}); use --skip-header N for header rows") from None
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise InputError(f"{path}: holds {data.dtype} values; points and weights must be real numbers")
    return data


def _check_writable(path: str) -> None:
    """Refuse an output path in a missing folder (or an unwritable one) before anything is solved."""
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {path}: the folder {folder} is not writable")
    if not path.endswith((".npy", ".npz")):
        raise InputError(f"cannot write {path}: give a .npy (dense plan) or .npz (sparse plan) file")


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

    try:
        if args.plan:
            _check_writable(args.plan)
        x_a, x_b = (_load_points(path, args.skip_header) for path in (args.A, args.B))
        a = None if args.weights_a is None else _load_points(args.weights_a, args.skip_header)
        b = None if args.weights_b is None else _load_points(args.weights_b, args.skip_header)
        result, elapsed = _timed(numbaot.solve_sample, x_a, x_b, a, b, metric=args.metric, p=args.p, lazy=True)
    except (InputError, ValueError, TypeError) as exc:
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


def threading_layer() -> str:
    """The threading layer Numba runs (or will run, at the first parallel call) in this process, found without
    starting it or compiling anything: Numba's own choice, read from its settings and the libraries it can load."""
    from numba import config
    from numba.np.ufunc import parallel

    from numbaot import _threads

    _threads.load_tbb()  # as the solvers do before their first parallel call
    if parallel._is_initialized:
        import numba

        return numba.threading_layer()
    setting = str(config.THREADING_LAYER).lower()
    priority = list(config.THREADING_LAYER_PRIORITY)
    candidates = {"tbb": ["tbb"], "omp": ["omp"], "workqueue": ["workqueue"], "safe": ["tbb"],
                  "threadsafe": ["tbb", "omp"], "forksafe": ["tbb", "workqueue"] + ([] if sys.platform == "linux"
                                                                                   else ["omp"])}
    for layer in candidates.get(setting, priority):
        try:
            if layer == "tbb":
                parallel._check_tbb_version_compatible()
                from numba.np.ufunc import tbbpool  # noqa: F401 - loads the library, starts nothing
            elif layer == "omp":
                from numba.np.ufunc import omppool  # noqa: F401
            return f"{layer} (starts at the first parallel call)"
        except Exception:
            continue
    return "none loadable"


def cmd_info(args) -> int:
    import numba

    import numbaot
    from numbaot import _config, _device

    from importlib import metadata

    versions = {"numbaot": numbaot.__version__, "python": sys.version.split()[0], "numpy": np.__version__,
                "numba": numba.__version__}
    # read from the installed metadata, not by importing (importing POT alone takes seconds)
    for label, dists in (("scipy", ["scipy"]), ("llvmlite", ["llvmlite"]), ("numba_cuda", ["numba-cuda"]),
                         ("cupy", ["cupy", "cupy-cuda12x", "cupy-cuda11x", "cupy-cuda13x"]), ("tbb", ["tbb"]),
                         ("ot", ["pot"])):
        versions[label] = "not installed"
        for dist in dists:
            try:
                versions[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    for name, version in versions.items():
        print(f"{name:<12} {version}")
    print(f"{'threading':<12} {threading_layer()} with {numba.get_num_threads()} threads "
          f"(NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})")
    print(f"{'cache':<12} {_config.cache_dir() or 'off'}")
    print(f"{'cuda':<12} {'usable' if _device.cuda_available() else 'not usable'}")
    return 0


def cmd_warmup(args) -> int:
    from numbaot import _config, _warmup

    families = args.family or list(_warmup.FAMILIES)
    where = _config.cache_dir()
    print(f"numbaot warmup: compiling {len(families)} families into {where or 'nothing (caching is off)'}")
    width = max(len(name) for name in families)

    def report(index, total, name, seconds):
        bar = "#" * index + "." * (total - index)
        print(f"[{bar}] {index}/{total} {name:<{width}} {seconds:6.1f} s", flush=True)

    try:
        _warmup.warmup(families, report)
    except ValueError as exc:
        print(f"numbaot warmup: {exc}", file=sys.stderr)
        return 2
    return 0


#: The metrics of numbaot.dist and solve_sample.
METRICS = ("sqeuclidean", "euclidean", "cityblock", "minkowski", "cosine")
#: The families ``numbaot warmup`` knows (numbaot._warmup.FAMILIES; listed here so that --help imports no solver).
_WARMUP_FAMILIES = ("dist", "exact", "1d", "sinkhorn", "unbalanced", "online", "divergence", "gromov", "barycenter",
                    "sliced", "gaussian", "timeseries", "partial", "regularized")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numbaot", description="Optimal transport compiled by Numba.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve the shipped example and print values and timings")
    demo.add_argument("--n", type=int, default=1_000_000, help="size of the random 1D example (default 1e6)")
    demo.set_defaults(func=cmd_demo)
    solve = sub.add_parser("solve", help="exact OT between two point sets (1D or more) read from .npy, .csv or .txt "
                                         "files, one point per row")
    solve.add_argument("A", help="points of the first set: (n,) or (n, d)")
    solve.add_argument("B", help="points of the second set: (m,) or (m, d), the same d")
    solve.add_argument("--weights-a", help="weights of A (.npy/.csv/.txt), uniform by default")
    solve.add_argument("--weights-b", help="weights of B (.npy/.csv/.txt), uniform by default")
    solve.add_argument("--metric", default="sqeuclidean", choices=list(METRICS),
                       help="ground cost (default sqeuclidean: the value is W_2 squared)")
    solve.add_argument("--p", type=float, default=2.0, help="exponent of 'minkowski' (default 2)")
    solve.add_argument("--skip-header", type=int, default=None, metavar="N",
                       help="rows to skip at the top of text files (default: one if the first row is not numeric)")
    solve.add_argument("--plan", help="write the plan: dense to a .npy file, sparse to a .npz file")
    solve.set_defaults(func=cmd_solve)
    info = sub.add_parser("info", help="versions, threading layer, cache location, CUDA availability")
    info.set_defaults(func=cmd_info)
    warm = sub.add_parser("warmup", help="compile the solvers ahead of time into the cache folder (for container "
                                         "images and clusters)")
    warm.add_argument("--family", action="append", choices=list(_WARMUP_FAMILIES),
                      help="only this family (repeatable); default: all")
    warm.set_defaults(func=cmd_warmup)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
