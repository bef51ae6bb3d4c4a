"""``numbaot._jit``: nothing compiles or touches numba.cuda at import, the cache policy, and twins."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest

import numbaot
from numbaot import _config, _jit

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, **env_overrides) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; return its stdout (fails on error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "NUMBAOT_"))}
    env.update({k: str(v) for k, v in env_overrides.items()})
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def last_json(stdout: str):
    return json.loads(stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------- import cost
def test_import_numbaot_imports_no_numba():
    out = last_json(run_python("""
        import json, sys
        import numbaot
        names = set(dir(numbaot))
        print(json.dumps({
            "numba": "numba" in sys.modules,
            "cuda": sorted(m for m in sys.modules if m.startswith("numba.cuda") or m == "numba_cuda"),
            "public": sorted({"emd_1d", "emd2_1d", "wasserstein_1d", "solve_sample", "dist", "unif"} - names),
        }))
    """))
    assert out == {"numba": False, "cuda": [], "public": []}


def test_cpu_solve_never_imports_numba_cuda():
    out = last_json(run_python("""
        import json, sys
        import numbaot
        numbaot.emd_1d([0.0, 1.0], [0.5])
        numbaot.dist([[0.0, 1.0]], [[1.0, 1.0]])
        numbaot.wasserstein_1d([[0.0, 1.0], [1.0, 2.0]], [[0.5, 0.0]])
        print(json.dumps({"numba": "numba" in sys.modules,
                          "cuda": sorted(m for m in sys.modules if m.startswith("numba.cuda"))}))
    """))
    assert out == {"numba": True, "cuda": []}


def test_cores_compile_lazily():
    """Decorating compiles nothing: no signatures before the first call, and ``Twin.cuda`` is not built."""
    out = last_json(run_python("""
        import json, sys
        from numbaot import _costs
        from numbaot.exact import _solver_1d
        cores = [_costs.dist_core, _solver_1d.emd_1d_sorted_core, _solver_1d.wasserstein_1d_batch_core,
                 _solver_1d.wasserstein_1d_core, _costs.pair_cost.cpu, _solver_1d.ground_cost_1d.cpu]
        print(json.dumps({"signatures": [len(c.signatures) for c in cores],
                          "twin_cuda": [_costs.pair_cost._cuda is None, _solver_1d.ground_cost_1d._cuda is None],
                          "cuda": "numba.cuda" in sys.modules}))
    """))
    assert out == {"signatures": [0] * 6, "twin_cuda": [True, True], "cuda": False}


# ---------------------------------------------------------------------------------------------------- cache policy
def _locator_failing_njit(real_njit, calls):
    def njit(*args, **kwargs):
        calls.append(kwargs.get("cache"))
        if kwargs.get("cache"):
            def decorate(func):
                raise RuntimeError(
                    f"cannot cache function {func.__qualname__!r}: no locator available for file '/ro/numbaot.py'"
                )
            return decorate
        return real_njit(*args, **kwargs)

    return njit


def test_cpu_jit_falls_back_without_cache_locator(monkeypatch):
    calls = []
    monkeypatch.setattr(_config, "CACHE", True)
    monkeypatch.setattr(numba, "njit", _locator_failing_njit(numba.njit, calls))

    @_jit.cpu_jit
    def add(x, y):
        return x + y

    @_jit.cpu_jit(parallel=True)
    def total(x):
        s = 0.0
        for i in numba.prange(x.shape[0]):
            s += x[i]
        return s

    assert calls == [True, False, True, False]
    assert add(1.0, 2.0) == 3.0
    assert total(np.arange(10.0)) == 45.0
    assert type(add._cache).__name__ == "NullCache"


def test_cpu_jit_reraises_other_runtime_errors(monkeypatch):
    def njit(*args, **kwargs):
        def decorate(func):
            raise RuntimeError("something else went wrong")
        return decorate

    monkeypatch.setattr(_config, "CACHE", True)
    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else went wrong"):
        _jit.cpu_jit(lambda x: x)


def test_cpu_jit_without_cache_when_switched_off(monkeypatch):
    calls = []
    monkeypatch.setattr(_config, "CACHE", False)
    monkeypatch.setattr(numba, "njit", _locator_failing_njit(numba.njit, calls))
    f = _jit.cpu_jit(lambda x: x * 2)
    assert calls == [False] and f(2) == 4


def test_no_cache_locator_in_real_numba_still_imports():
    """Numba itself raising "no locator available" at decoration time (its locator list emptied)."""
    out = last_json(run_python("""
        import json
        from numba.core import caching
        caching.CacheImpl._locator_classes = []
        import numbaot
        from numbaot import _costs
        from numbaot.exact import _solver_1d
        value = float(numbaot.emd2_1d([0.0, 1.0], [0.5]))
        M = numbaot.dist([[0.0], [2.0]])
        print(json.dumps([value, M.tolist(), type(_costs.dist_core._cache).__name__,
                          type(_solver_1d.emd_1d_sorted_core._cache).__name__]))
    """))
    assert out == [0.25, [[0.0, 4.0], [4.0, 0.0]], "NullCache", "NullCache"]


def test_read_only_package_without_home_still_imports(tmp_path):
    """A copy of the package in a read-only folder with an unwritable HOME: numba has no cache locator."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can write to read-only folders, so numba always finds a cache locator")
    import shutil

    dest = tmp_path / "site"
    shutil.copytree(REPO / "numbaot", dest / "numbaot", ignore=shutil.ignore_patterns("__pycache__"))
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o555)
    os.chmod(dest, 0o555)
    try:
        code = f"""
            import sys; sys.path.insert(0, {str(dest)!r})
            import numbaot
            assert numbaot.__file__.startswith({str(dest)!r})
            print(float(numbaot.emd2_1d([0.0, 1.0], [0.5])))
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "NUMBAOT_"))}
        env.update(HOME=str(dest), PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                              text=True, timeout=300, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "0.25"
    finally:
        for root, dirs, files in os.walk(dest):
            os.chmod(root, 0o755)


@pytest.mark.parametrize("setting, cache_class", [("0", "NullCache"), ("1", "FunctionCache"), (None, "FunctionCache")])
def test_numbaot_cache_env(setting, cache_class):
    env = {} if setting is None else {"NUMBAOT_CACHE": setting}
    out = last_json(run_python("""
        import json
        from numbaot import _config, _costs
        from numbaot.exact import _solver_1d
        print(json.dumps([_config.CACHE, type(_costs.dist_core._cache).__name__,
                          type(_solver_1d.emd_1d_sorted_core._cache).__name__]))
    """, **env))
    assert out == [setting != "0", cache_class, cache_class]


# --------------------------------------------------------------------------------------- threads and the cache
def _batch_problem():
    rng = np.random.default_rng(5)
    U = rng.random((40, 7))
    V = rng.random((30, 7)) * 2
    W = rng.random((40, 7)) + 0.1
    return U, V, W / W.sum(axis=0)


def test_parallel_cores_identical_across_thread_counts():
    rng = np.random.default_rng(4)
    P, Q = rng.random((50, 3)), rng.random((20, 3))
    U, V, W = _batch_problem()
    max_threads = numba.config.NUMBA_NUM_THREADS
    previous = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, min(2, max_threads), max_threads}):
            numba.set_num_threads(threads)
            results.append((numbaot.dist(P, Q, metric="euclidean"), numbaot.wasserstein_1d(U, V, W, p=1.5),
                            numbaot.dist(P, Q, n_threads=threads)))
            assert numba.get_num_threads() == threads  # front-ends restore the caller's setting
    finally:
        numba.set_num_threads(previous)
    for got in results[1:]:
        for x, y in zip(got, results[0]):
            np.testing.assert_array_equal(x, y)


_CACHED_RUN = """
    import hashlib, json
    import numpy as np
    import numba, numbaot
    from numbaot import _costs
    from numbaot.exact import _solver_1d

    rng = np.random.default_rng(4)
    P, Q = rng.random((50, 3)), rng.random((20, 3))
    rng = np.random.default_rng(5)
    U, V, W = rng.random((40, 7)), rng.random((30, 7)) * 2, rng.random((40, 7)) + 0.1
    W = W / W.sum(axis=0)
    M = numbaot.dist(P, Q, metric="euclidean")
    w = numbaot.wasserstein_1d(U, V, W, p=1.5)
    hits = sum(_costs.dist_core.stats.cache_hits.values())
    hits_w = sum(_solver_1d.wasserstein_1d_batch_core.stats.cache_hits.values())
    print(json.dumps({"threads": numba.get_num_threads(), "hits": [hits, hits_w],
                      "M": hashlib.sha256(M.tobytes()).hexdigest(), "w": w.tolist()}))
"""


def test_cached_parallel_core_survives_thread_count_change(tmp_path):
    """Compile and cache with 2 threads, then load the same on-disk cache in a process with 1 thread."""
    cache = tmp_path / "numba_cache"
    first = last_json(run_python(_CACHED_RUN, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS=2))
    second = last_json(run_python(_CACHED_RUN, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS=1))
    assert first["threads"] == 2 and second["threads"] == 1
    assert first["hits"] == [0, 0]  # compiled into the empty cache
    assert second["hits"][0] >= 1 and second["hits"][1] >= 1, "the cached parallel cores were recompiled"
    assert second["M"] == first["M"]
    assert second["w"] == first["w"]
    # And the in-process answer agrees with both.
    U, V, W = _batch_problem()
    np.testing.assert_array_equal(numbaot.wasserstein_1d(U, V, W, p=1.5), np.array(first["w"]))


_EVERY_FAMILY = """
import warnings
import numba
import numpy as np
warnings.simplefilter("error", numba.NumbaWarning)  # "Cannot cache compiled function ..." among them
import numbaot
rng = np.random.default_rng(0)
x, y = rng.random((12, 2)), rng.random((10, 3))
a, b = numbaot.unif(12), numbaot.unif(10)
M = numbaot.dist(x, x[:10])
numbaot.emd2(a, b, M)
for method in ("sinkhorn", "sinkhorn_stabilized", "sinkhorn_log"):
    numbaot.sinkhorn2(a, b, M, 0.1, method=method)
numbaot.sinkhorn_unbalanced2(a, b, M, 0.1, 1.0, method="sinkhorn")
C1, C2 = numbaot.dist(x, x), numbaot.dist(y, y)
numbaot.gromov_wasserstein2(C1, C2, a, b)
numbaot.entropic_gromov_wasserstein2(C1, C2, a, b, epsilon=0.1, warn=False)
numbaot.solve_sample(x, y[:, :2], a, b, reg=0.5, lazy=True)
A = np.stack([a, a[::-1]], axis=1)
numbaot.barycenter(A, M[:, :10] @ np.ones((10, 12)) / 10 + numbaot.dist(x, x), 0.5)
numbaot.convolutional_barycenter2d(A.T.reshape(2, 3, 4), 0.1)
numbaot.sliced_wasserstein_distance(x, y[:, :2], n_projections=3, seed=0)
numbaot.empirical_bures_wasserstein_distance(x, y[:, :2])
from numbaot import timeseries
timeseries.soft_dtw_grad(x, y[:, :2], 1.0)
print("ok")
"""


def test_every_solver_family_compiles_cacheable_code():
    """No core reaches something Numba cannot cache (a ctypes call such as ``numba.get_num_threads()`` inside a
    core makes it and every compiled caller recompile in each process, with a NumbaWarning)."""
    assert run_python(_EVERY_FAMILY).strip().splitlines()[-1] == "ok"


# ------------------------------------------------------------------------------------------------------ fastmath
def test_safe_fastmath_flags():
    assert _jit.SAFE_FASTMATH == frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
    assert "nnan" not in _jit.SAFE_FASTMATH and "ninf" not in _jit.SAFE_FASTMATH
    assert "fast" not in _jit.SAFE_FASTMATH


def test_cores_compiled_with_policy():
    from numbaot import _costs
    from numbaot.exact import _solver_1d

    for core in (_costs.dist_core, _solver_1d.emd_1d_sorted_core, _solver_1d.wasserstein_1d_batch_core):
        opts = core.targetoptions
        assert set(opts["fastmath"]) == set(_jit.SAFE_FASTMATH)
        assert opts["nogil"] is True
    assert _costs.dist_core.targetoptions["parallel"] is True
    assert _solver_1d.emd_1d_sorted_core.targetoptions["parallel"] is False


def test_safe_fastmath_keeps_inf_and_nan_semantics():
    @_jit.cpu_jit
    def probe(x):
        neg = -math.inf
        return math.isinf(x), math.isnan(x), max(neg, x) == x, x != x

    assert probe(math.inf) == (True, False, True, False)
    assert probe(-math.inf) == (True, False, True, False)
    assert probe(math.nan)[1] is True and probe(math.nan)[3] is True

    @_jit.cpu_jit
    def logsumexp(v):
        top = -math.inf
        for x in v:
            top = max(top, x)
        if top == -math.inf:
            return -math.inf
        s = 0.0
        for x in v:
            s += math.exp(x - top)
        return top + math.log(s)

    assert logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert logsumexp(np.array([-np.inf, 0.0])) == 0.0


def test_cpu_jit_custom_fastmath_off():
    f = _jit.cpu_jit(lambda x: x + 1.0, fastmath=None)
    assert f.targetoptions["fastmath"] is False and f(1.0) == 2.0


# ---------------------------------------------------------------------------------------------------------- twins
_cpu_twin = None


def _scaled_diff(x, y, s):
    """Doc of the twin body."""
    return s * abs(x - y)


def test_twin_gives_cpu_and_lazy_cuda():
    t = _jit.twin(_scaled_diff)
    assert isinstance(t, _jit.Twin)
    assert t.py is _scaled_diff
    assert t.__name__ == "_scaled_diff" and t.__doc__ == "Doc of the twin body."
    assert t._cuda is None  # nothing built for CUDA until .cuda is read
    assert t.cpu(1.0, 3.5, 2.0) == 5.0
    assert t.cpu.targetoptions.get("inline") == "always"

    global _cpu_twin
    _cpu_twin = t.cpu  # a module global, as numbaot's cores call twins

    @_jit.cpu_jit
    def caller(x, y):
        return _cpu_twin(x, y, 3.0)

    assert caller(2.0, 1.0) == 3.0
    assert t._cuda is None


cuda_module = None
_DEVICE_COST = None


def _cost_kernel(x, y, metric, p, out):
    i = cuda_module.grid(1)
    if i < out.size:
        out[i] = _DEVICE_COST(x[i], y[i], metric, p)


@pytest.mark.cuda
def test_twin_cuda_device_function_matches_cpu():
    from numba import cuda

    from numbaot.exact._solver_1d import ground_cost_1d

    dev = ground_cost_1d.cuda
    assert ground_cost_1d.cuda is dev  # built once
    xs = np.array([0.0, 1.5, -2.0, 3.0, 0.25])
    ys = np.array([1.0, 1.0, 2.0, -3.0, 0.25])

    global cuda_module, _DEVICE_COST
    cuda_module, _DEVICE_COST = cuda, dev  # module globals: the simulator swaps those, not closure cells
    kernel = cuda.jit(_cost_kernel)

    for metric, p in ((0, 2.0), (1, 1.0), (2, 1.5), (2, 1.0), (2, 2.0)):
        out = cuda.to_device(np.zeros(xs.size))
        kernel[1, 32](cuda.to_device(xs), cuda.to_device(ys), metric, p, out)
        expected = [ground_cost_1d.cpu(x, y, metric, p) for x, y in zip(xs, ys)]
        np.testing.assert_allclose(out.copy_to_host(), expected, rtol=1e-14)
