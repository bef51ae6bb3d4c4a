"""Safe where users run code: a forked child and multiprocessing pools (fork and spawn) after parallel cores ran in
the parent, several Python threads solving at once, and the cache folder (never in the package; none writable ->
one warning, uncached, still correct).

Each case runs in a fresh interpreter (the test process's own threading layer is already started), with a time
limit: a pool that deadlocks fails the test instead of hanging CI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from numbaot.cli import threading_layer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# fresh interpreters that compile: not repeated in CI's bounds-checked pass (which would compile them all again)
pytestmark = pytest.mark.slow

#: The parallel cores a script calls: dense and online Sinkhorn, a batch, the divergence, pairwise costs.
_WORK = """
import numpy as np
import numbaot

def work(seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.random((60, 2)), rng.random((50, 2))
    M = numbaot.dist(X, Y)
    return [float(numbaot.sinkhorn2(None, None, M, 0.1)),
            float(numbaot.solve_sample(X, Y, reg=0.1, lazy=True).value),
            float(numbaot.solve_batch(np.stack([M, M]), 0.1).value[1]),
            float(numbaot.sinkhorn_divergence(X, Y, reg=0.1)),
            float(M.sum())]
"""


def _run(script, tmp_path, timeout=300, **env):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(_WORK) + textwrap.dedent(script))
    full_env = dict(os.environ, PYTHONPATH=REPO, **{k: str(v) for k, v in env.items()})
    proc = subprocess.run([sys.executable, str(path)], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
fork_safe_layer = pytest.mark.skipif(
    not threading_layer().startswith(("tbb", "workqueue")),
    reason=f"threading layer {threading_layer()}: GNU OpenMP aborts forked children (install the 'tbb' wheel)")


@needs_fork
@fork_safe_layer
def test_forked_child_after_parallel_cores(tmp_path):
    out = _run("""
        import json, os
        expected = work(0)
        pid = os.fork()
        if pid == 0:
            try:
                os._exit(0 if work(0) == expected else 3)
            except BaseException:
                os._exit(4)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}))
    """, tmp_path)
    assert out == {"exit": 0}


@pytest.mark.parametrize("method", [pytest.param("fork", marks=[needs_fork, fork_safe_layer]), "spawn"])
def test_multiprocessing_pool_after_parallel_cores(tmp_path, method):
    out = _run(f"""
        import json
        import multiprocessing as mp
        if __name__ == "__main__":
            expected = [work(seed) for seed in range(3)]
            with mp.get_context({method!r}).Pool(2) as pool:
                got = pool.map(work, range(3))
            print(json.dumps({{"same": got == expected}}))
    """, tmp_path)
    assert out == {"same": True}


def test_python_threads_solve_at_once(tmp_path):
    out = _run("""
        import json
        from concurrent.futures import ThreadPoolExecutor
        expected = [work(seed) for seed in range(8)]
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(work, range(8)))
        print(json.dumps({"same": got == expected}))
    """, tmp_path)
    assert out == {"same": True}


def test_cache_goes_to_the_cache_folder_not_the_package(tmp_path):
    cache = tmp_path / "cache"
    out = _run("""
        import json, os
        from numbaot import _config
        from numbaot._costs import dist_core
        work(0)
        print(json.dumps({"dir": _config.cache_dir(), "path": dist_core._cache._cache_path}))
    """, tmp_path, NUMBAOT_CACHE_DIR=cache)
    assert out["dir"] == str(cache)
    assert out["path"].startswith(str(cache))
    assert any(name.endswith(".nbi") for _, _, files in os.walk(cache) for name in files)
    # The user's own Numba setting is left as it was (numbaot points Numba at its folder only while decorating).
    out = _run("""
        import json, numba, numbaot
        print(json.dumps({"numba": numba.config.CACHE_DIR}))
    """, tmp_path, NUMBAOT_CACHE_DIR=cache, NUMBA_CACHE_DIR="")
    assert out == {"numba": ""}


def test_no_writable_cache_folder_warns_once_and_still_solves(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would go")
    out = _run("""
        import json, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import numbaot
            from numbaot import _config
            value = work(0)
        cache_warnings = [str(w.message) for w in caught if "cache" in str(w.message)]
        print(json.dumps({"dir": _config.cache_dir(), "warnings": cache_warnings, "value": value}))
    """, tmp_path, NUMBAOT_CACHE_DIR=blocker / "cache")
    assert out["dir"] is None
    assert len(out["warnings"]) == 1 and "NUMBAOT_CACHE_DIR" in out["warnings"][0]
    assert all(v == v for v in out["value"])  # solved (no NaN)


def test_default_cache_folder_falls_back_to_temp(tmp_path):
    blocker = tmp_path / "xdg_is_a_file"
    blocker.write_text("")
    out = _run("""
        import json
        from numbaot import _config
        print(json.dumps({"dir": _config.cache_dir()}))
    """, tmp_path, XDG_CACHE_HOME=blocker, TMPDIR=tmp_path, HOME=blocker, NUMBAOT_CACHE_DIR="", NUMBA_CACHE_DIR="")
    if sys.platform.startswith("linux"):
        assert out["dir"].startswith(str(tmp_path)) and "numbaot-cache-" in out["dir"]
    else:
        assert out["dir"] is not None
